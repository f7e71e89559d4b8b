// Live Swarm membership (`nodes: auto`), the pure part: what changed between
// two readings of the Swarm's node list (for the log and the metrics), and
// how to bring the kernel's sets to a new desired state by adding and
// deleting only the entries that changed, when nothing else differs (no rule
// to re-render). The agent (agent.cc) reads the list and Keeper applies it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "apply/kernel_state.h"
#include "apply/swarm_members.h"
#include "compile/desired_state.h"

namespace swarmwall::agent {

struct MembershipChange {
  std::vector<std::string> joined;   // "node-3 (10.10.10.3, worker)"
  std::vector<std::string> left;     // "node-3 (10.10.10.3)"
  std::vector<std::string> changed;  // "node-1: role worker -> manager", addresses, labels
  bool empty() const { return joined.empty() && left.empty() && changed.empty(); }
};

// The Swarm's nodes an earlier run saved (STATE_DIR/swarm-members.json),
// read back as untrusted: nullopt with ERROR "" when there is no file, with
// ERROR saying why when it is unreadable, not JSON, of the wrong shape or
// empty (a Swarm has at least one manager), so that it is reported and not
// used.
std::optional<std::vector<apply::SwarmMember>> LoadSavedMembers(const std::string& state_dir,
                                                                std::string& error);

// BEFORE -> AFTER, matched by node id.
MembershipChange DiffMembers(const std::vector<apply::SwarmMember>& before,
                             const std::vector<apply::SwarmMember>& after);

// The entries to add to and delete from one owned set.
struct SetDelta {
  std::string set;                  // "swarmwall-nodes-v4"
  std::vector<netfilter::Cidr> add, del;
  bool operator==(const SetDelta&) const = default;
};

// How DESIRED differs from NOW when only set entries differ: one delta per
// set whose entries differ. nullopt when anything else differs (a rule, a
// hook, a set to create or to destroy): then the rules must be rendered
// again and the agent goes through the whole transaction instead. An empty
// vector: nothing differs.
std::optional<std::vector<SetDelta>> SetOnlyDeltas(const compile::DesiredState& desired,
                                                   const apply::Before& now);

// `ipset restore` text for DELTAS: "del SET CIDR -exist" then
// "add SET CIDR -exist" lines (in place: no twin, no swap).
std::string RenderSetDeltas(const std::vector<SetDelta>& deltas);

// For the log: "swarmwall-nodes-v4 +10.10.10.3/32 -10.10.10.9/32".
std::vector<std::string> DescribeSetDeltas(const std::vector<SetDelta>& deltas);

}  // namespace swarmwall::agent
