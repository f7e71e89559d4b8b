#include "agent/membership.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <sstream>

#include <fmt/format.h>

#include "apply/diff.h"

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

std::optional<std::vector<SetDelta>> SetOnlyDeltas(const compile::DesiredState& desired,
                                                   const apply::Before& now) {
  std::vector<SetDelta> out;
  // By position: a policy with `ipv6: false` leaves desired.ipv6 default-made.
  for (int f = 0; f < 2; ++f) {
    const compile::FamilyState* pair = f == 0 ? &desired.ipv4 : &desired.ipv6;
    const auto& snap = f == 0 ? now.ipv4 : now.ipv6;
    apply::FamilyDiff d = apply::Compare(*pair, snap);
    if (d.rules || !d.stale_sets.empty()) return std::nullopt;
    for (const auto& name : d.changed_sets) {
      auto want = std::find_if(pair->sets.begin(), pair->sets.end(), [&](const auto& s) { return s.name == name; });
      auto have = std::find_if(snap.owned.sets.begin(), snap.owned.sets.end(),
                               [&](const auto& s) { return s.name == name; });
      if (want == pair->sets.end() || have == snap.owned.sets.end()) return std::nullopt;  // to create
      std::vector<Cidr> a = have->entries ? *have->entries : std::vector<Cidr>{};
      std::vector<Cidr> b = want->entries ? *want->entries : std::vector<Cidr>{};
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      SetDelta delta;
      delta.set = name;
      std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(delta.add));
      std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(delta.del));
      if (!delta.add.empty() || !delta.del.empty()) out.push_back(std::move(delta));
    }
  }
  return out;
}

std::string RenderSetDeltas(const std::vector<SetDelta>& deltas) {
  std::string out;
  for (const auto& d : deltas) {
    for (const auto& e : d.del) out += fmt::format("del {} {} -exist\n", d.set, e.ToString());
    for (const auto& e : d.add) out += fmt::format("add {} {} -exist\n", d.set, e.ToString());
  }
  return out;
}

std::vector<std::string> DescribeSetDeltas(const std::vector<SetDelta>& deltas) {
  std::vector<std::string> out;
  for (const auto& d : deltas) {
    std::string line = d.set;
    for (const auto& e : d.add) line += " +" + e.ToString();
    for (const auto& e : d.del) line += " -" + e.ToString();
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace swarmwall::agent
