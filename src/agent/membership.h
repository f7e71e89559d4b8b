// Live Swarm membership (`nodes: auto`), the pure part: what changed between
// two readings of the Swarm's node list (for the log and the metrics), and
// the list is written in place by apply::ApplySetEntries when only set
// entries change. The agent (agent.cc) reads the list and Keeper applies it.
#pragma once

#include <optional>
#include <string>
#include <vector>

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

}  // namespace swarmwall::agent
