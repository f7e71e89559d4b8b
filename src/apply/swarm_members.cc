#include "apply/swarm_members.h"

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "base/state_file.h"
#include "base/json_text.h"
#include "docker/engine.h"
#include "docker/swarm.h"
#include "docker/swarm_json.h"

namespace swarmwall::apply {
namespace {

using nlohmann::json;
using netfilter::IpAddress;

std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

// "10.10.10.1", "10.10.10.1:2377", "[2001:db8::1]:2377" -> the address;
// nullopt for anything else and for the unspecified address.
std::optional<IpAddress> HostOf(std::string text) {
  if (text.empty()) return std::nullopt;
  if (text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) return std::nullopt;
    text = text.substr(1, close - 1);
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    text = text.substr(0, text.find(':'));
  }
  auto a = IpAddress::Parse(text);
  if (!a) return std::nullopt;
  if (*a == IpAddress{{}, a->family}) return std::nullopt;
  return a;
}

std::string MembersFile(const std::string& dir) { return dir + "/swarm-members.json"; }

// Docker's nodes as members: a worker unless Spec.Role says manager; the
// id's first 12 characters for a node without a hostname; Status.Addr and
// ManagerStatus.Addr's host as the addresses; labels as "key" or
// "key=value". Sorted by hostname then id; nodes without an address are
// left out with a word in NOTES.
std::vector<SwarmMember> MembersOf(const std::vector<docker::SwarmNode>& nodes, std::vector<std::string>* notes) {
  std::vector<SwarmMember> out;
  for (const auto& n : nodes) {
    SwarmMember m;
    m.id = n.id;
    m.role = n.role == "manager" ? policy::Role::kManager : policy::Role::kWorker;
    m.availability = n.availability;
    m.hostname = n.hostname.empty() ? m.id.substr(0, 12) : n.hostname;
    m.state = n.state;
    for (auto a : {HostOf(n.addr), HostOf(n.manager_addr)})
      if (a) m.addresses.push_back(*a);
    std::sort(m.addresses.begin(), m.addresses.end());
    m.addresses.erase(std::unique(m.addresses.begin(), m.addresses.end()), m.addresses.end());
    for (const auto& [key, value] : n.labels) m.labels.push_back(value.empty() ? key : key + "=" + value);
    std::sort(m.labels.begin(), m.labels.end());
    m.labels.erase(std::unique(m.labels.begin(), m.labels.end()), m.labels.end());
    if (m.addresses.empty()) {
      if (notes) notes->push_back("swarm node " + m.hostname + " (" + m.id + ") has no address yet: left out");
      continue;
    }
    out.push_back(std::move(m));
  }
  std::sort(out.begin(), out.end(), [](const SwarmMember& a, const SwarmMember& b) {
    return std::tie(a.hostname, a.id) < std::tie(b.hostname, b.id);
  });
  return out;
}

}  // namespace

std::optional<std::vector<SwarmMember>> ParseSwarmMembers(const std::string& body, std::string& error,
                                                          std::vector<std::string>* notes) {
  auto nodes = docker::ParseNodeList(body, error);
  if (!nodes) return std::nullopt;
  return MembersOf(*nodes, notes);
}

json MembersToJson(const std::vector<SwarmMember>& members) {
  json out = json::array();
  for (const auto& m : members) {
    json addresses = json::array();
    for (const auto& a : m.addresses) addresses.push_back(a.ToString());
    out.push_back({{"id", m.id}, {"hostname", m.hostname}, {"role", policy::RoleName(m.role)},
                   {"state", m.state}, {"availability", m.availability}, {"addresses", addresses},
                   {"labels", m.labels}});
  }
  return out;
}

std::optional<std::vector<SwarmMember>> MembersFromJson(const json& j) {
  if (!j.is_array()) return std::nullopt;
  std::vector<SwarmMember> out;
  for (const json& e : j) {
    if (!e.is_object()) return std::nullopt;
    SwarmMember m;
    m.id = Str(e, "id");
    m.hostname = Str(e, "hostname");
    m.role = Str(e, "role") == "manager" ? policy::Role::kManager : policy::Role::kWorker;
    m.state = Str(e, "state");
    m.availability = Str(e, "availability");
    if (auto it = e.find("addresses"); it != e.end() && it->is_array())
      for (const auto& a : *it)
        if (auto ip = a.is_string() ? IpAddress::Parse(a.get<std::string>()) : std::nullopt) m.addresses.push_back(*ip);
    if (auto it = e.find("labels"); it != e.end() && it->is_array())
      for (const auto& l : *it)
        if (l.is_string()) m.labels.push_back(l.get<std::string>());
    if (m.id.empty() || m.addresses.empty()) return std::nullopt;
    out.push_back(std::move(m));
  }
  return out;
}

policy::LoadResult PolicyWithMembers(const policy::Policy& base, const std::vector<SwarmMember>& members,
                                     std::vector<std::string>* notes) {
  if (!base.auto_nodes) return policy::Validate(base);
  policy::Policy p = base;
  std::set<std::string> names;
  std::set<IpAddress> addresses;
  for (const auto& n : base.nodes) {
    names.insert(n.name);
    addresses.insert(n.addresses.begin(), n.addresses.end());
  }
  std::map<std::string, int> hostnames;
  for (const auto& m : members) ++hostnames[m.hostname];
  for (const auto& m : members) {
    std::string name = hostnames[m.hostname] > 1 ? m.hostname + "." + m.id.substr(0, 12) : m.hostname;
    bool listed = names.count(name) > 0;
    for (const auto& a : m.addresses) listed |= addresses.count(a) > 0;
    if (listed) {
      if (notes) notes->push_back("swarm node " + name + " is listed in the policy: the listed node is used");
      continue;
    }
    policy::Node n;
    n.name = name;
    n.role = m.role;
    n.addresses = m.addresses;
    n.labels = m.labels;
    n.comment = "from the Swarm (" + m.id + ")";
    names.insert(name);
    addresses.insert(m.addresses.begin(), m.addresses.end());
    p.nodes.push_back(std::move(n));
  }
  return policy::Validate(std::move(p));
}

std::optional<std::vector<SwarmMember>> ReadSwarmMembers(const std::string& manager_host, std::string& error,
                                                         std::string* used) {
  docker::Engine engine(manager_host);
  if (!engine.config_error().empty()) {
    error = engine.config_error();
    return std::nullopt;
  }
  if (manager_host.empty()) {
    auto manager = docker::IsManager(engine, error);
    if (!manager) return std::nullopt;
    if (!*manager) {
      error = "the Docker daemon at " + engine.host() +
              " is a swarm worker: the Swarm's nodes are read through a manager's Engine API (--manager HOST)";
      return std::nullopt;
    }
  }
  if (used) *used = engine.host();
  auto nodes = docker::ListNodes(engine, error);
  if (!nodes) return std::nullopt;
  return MembersOf(*nodes, nullptr);
}

bool SaveMembers(const std::string& state_dir, const std::vector<SwarmMember>& members, std::string& error) {
  return WriteFileAtomically(MembersFile(state_dir), JsonText(MembersToJson(members), 2) + "\n", error);
}

std::optional<std::vector<SwarmMember>> LoadMembers(const std::string& state_dir) {
  std::ifstream in(MembersFile(state_dir));
  if (!in) return std::nullopt;
  auto j = json::parse(in, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return MembersFromJson(j);
}

std::optional<policy::Policy> WithSwarmNodes(policy::Policy policy, const std::string& manager_host,
                                             const std::string& state_dir, std::ostream& messages) {
  if (!policy.auto_nodes) return policy;
  std::string error;
  auto members = ReadSwarmMembers(manager_host, error);
  if (!members) {
    members = LoadMembers(state_dir);
    if (!members) {
      messages << policy.file << ": nodes: auto: " << error << "\n";
      return std::nullopt;
    }
    messages << policy.file << ": warning: nodes: auto: " << error << "; using the Swarm's nodes the agent saw last ("
             << MembersFile(state_dir) << ")\n";
  }
  auto merged = PolicyWithMembers(policy, *members);
  for (const auto& e : merged.errors) messages << e.ToString() << " (with the Swarm's nodes)\n";
  if (!merged.ok()) return std::nullopt;
  return std::move(merged.policy);
}

}  // namespace swarmwall::apply
