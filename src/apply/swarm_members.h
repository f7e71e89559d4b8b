// `nodes: auto`: the Swarm's node list (GET /nodes on a manager) turned into
// the policy's nodes, for the agent (live membership) and for apply / plan
// (resolved once). GET /nodes is read by docker::ParseNodeList; turning its
// nodes into members and the merge are pure and tested on JSON samples;
// ReadSwarmMembers and WithSwarmNodes talk to a daemon.
//
// A member becomes a policy::Node named after its hostname, with its role,
// its addresses (Status.Addr, and a manager's ManagerStatus.Addr host when it
// differs; 0.0.0.0 is never an address) and its Spec.Labels ("key" for an
// empty value, else "key=value"). A member whose name or an address is
// already a listed node's is that node: the listed one wins. Two members of
// one hostname are told apart by their ids ("host.ID12").
#pragma once

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policy/policy.h"

namespace swarmwall::apply {

struct SwarmMember {
  std::string id;
  std::string hostname;
  policy::Role role = policy::Role::kWorker;
  std::string state;         // Status.State: "ready", "down", ...
  std::string availability;  // Spec.Availability
  std::vector<netfilter::IpAddress> addresses;  // sorted, unique
  std::vector<std::string> labels;              // sorted, unique
  bool operator==(const SwarmMember&) const = default;
};

// GET /nodes' answer; sorted by hostname then id. Members without a usable
// address are left out (a node still joining), with a word in NOTES.
std::optional<std::vector<SwarmMember>> ParseSwarmMembers(const std::string& body, std::string& error,
                                                          std::vector<std::string>* notes = nullptr);

nlohmann::json MembersToJson(const std::vector<SwarmMember>& members);
std::optional<std::vector<SwarmMember>> MembersFromJson(const nlohmann::json& j);

// BASE (a loaded policy with auto_nodes) plus MEMBERS, validated again (the
// `nodes` set recomputed). Members that are listed nodes are skipped (a
// word in NOTES). BASE without auto_nodes comes back unchanged.
policy::LoadResult PolicyWithMembers(const policy::Policy& base, const std::vector<SwarmMember>& members,
                                     std::vector<std::string>* notes = nullptr);

// The Swarm's members read from a manager: MANAGER_HOST (a DOCKER_HOST value)
// when given, else the local daemon ($DOCKER_HOST) when it is a manager. A
// worker without MANAGER_HOST is an error that says to give one. USED: the
// daemon that answered.
std::optional<std::vector<SwarmMember>> ReadSwarmMembers(const std::string& manager_host, std::string& error,
                                                         std::string* used = nullptr);

// The last members the agent read, kept in STATE_DIR/swarm-members.json.
bool SaveMembers(const std::string& state_dir, const std::vector<SwarmMember>& members, std::string& error);
std::optional<std::vector<SwarmMember>> LoadMembers(const std::string& state_dir);

// For apply and plan: POLICY with the Swarm's nodes when it says `nodes:
// auto` (unchanged otherwise). Read from a manager as ReadSwarmMembers;
// when no manager answers, the members the agent last saved in STATE_DIR
// (with a warning); else nullopt. Warnings and errors go to MESSAGES.
std::optional<policy::Policy> WithSwarmNodes(policy::Policy policy, const std::string& manager_host,
                                             const std::string& state_dir, std::ostream& messages);

}  // namespace swarmwall::apply
