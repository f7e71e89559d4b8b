// `swarmwall render --backend iptables`: a node's state as text to load by
// hand on a live Docker host, safe to load again (docs/backends.md):
//   ipset restore < NODE.ipset
//   iptables-restore --noflush < NODE.v4.rules    (ip6tables-restore: .v6)
//   sh NODE.hooks.sh
// The rules files declare, empty and refill swarmwall's own chains only:
// they name no chain Docker or an administrator fills (declaring one under
// --noflush empties it). The jumps into those chains are the script's: an
// iptables-restore input cannot delete a jump only when it is there, so the
// same text loaded twice would add a second one.
#pragma once

#include <string>

#include "compile/desired_state.h"

namespace swarmwall::backend {

// The iptables-restore --noflush input of FS (a family of STATE).
std::string RenderHandRestore(const compile::DesiredState& state, const compile::FamilyState& fs);

// The sh script placing each hook of STATE: every jump from the hook point
// to the owned chain deleted (none is fine), then one inserted first.
std::string RenderHookScript(const compile::DesiredState& state);

}  // namespace swarmwall::backend
