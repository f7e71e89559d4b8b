#include "agent/membership.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>


namespace swarmwall::agent {
namespace {

using apply::SwarmMember;
using netfilter::Cidr;

std::string Addresses(const SwarmMember& m) {
  std::string out;
  for (const auto& a : m.addresses) out += (out.empty() ? "" : ", ") + a.ToString();
  return out;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out.empty() ? "none" : out;
}

}  // namespace

std::optional<std::vector<SwarmMember>> LoadSavedMembers(const std::string& state_dir, std::string& error) {
  error.clear();
  std::string path = state_dir + "/swarm-members.json";
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  auto j = nlohmann::json::parse(text.str(), nullptr, false);
  std::optional<std::vector<SwarmMember>> members;
  if (j.is_discarded()) error = "not JSON";
  else if (!(members = apply::MembersFromJson(j)))
    error = "not a list of nodes each with an id and an address";
  else if (members->empty())
    error = "no node in it";
  if (error.empty()) return members;
  error = path + ": " + error;
  return std::nullopt;
}

MembershipChange DiffMembers(const std::vector<SwarmMember>& before, const std::vector<SwarmMember>& after) {
  MembershipChange c;
  std::map<std::string, const SwarmMember*> old;
  for (const auto& m : before) old[m.id] = &m;
  for (const auto& m : after) {
    auto it = old.find(m.id);
    if (it == old.end()) {
      c.joined.push_back(fmt::format("{} ({}, {})", m.hostname, Addresses(m), policy::RoleName(m.role)));
      continue;
    }
    const SwarmMember& o = *it->second;
    if (o.role != m.role)
      c.changed.push_back(fmt::format("{}: role {} -> {}", m.hostname, policy::RoleName(o.role),
                                      policy::RoleName(m.role)));
    if (o.addresses != m.addresses)
      c.changed.push_back(fmt::format("{}: addresses {} -> {}", m.hostname, Addresses(o), Addresses(m)));
    if (o.labels != m.labels)
      c.changed.push_back(fmt::format("{}: labels {} -> {}", m.hostname, Join(o.labels), Join(m.labels)));
    if (o.hostname != m.hostname)
      c.changed.push_back(fmt::format("{}: hostname {} -> {}", m.id.substr(0, 12), o.hostname, m.hostname));
    old.erase(it);
  }
  for (const auto& m : before)
    if (old.count(m.id)) c.left.push_back(fmt::format("{} ({})", m.hostname, Addresses(m)));
  return c;
}

}  // namespace swarmwall::agent
