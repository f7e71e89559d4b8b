// Owned set entries changed in place: when a desired state differs from the
// kernel's only in the entries of sets that exist already (the agent's
// `nodes: auto` membership: a node joins or leaves), `ipset restore` of
// add/del lines does it without rendering or touching a rule.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "backend/firewall.h"
#include "backend/iptables/kernel_state.h"
#include "compile/desired_state.h"

namespace swarmwall::backend {

// The entry changes taking NOW to DESIRED, or nullopt when anything else
// differs (a rule, a hook, a set to create or destroy). Families by
// position: a policy with `ipv6: false` leaves desired.ipv6 default-made.
std::optional<std::vector<SetEntryChange>> SetOnlyChanges(const compile::DesiredState& desired,
                                                          const Before& now);

// `ipset restore` text for CHANGES: "del SET CIDR -exist" then
// "add SET CIDR -exist" per set.
std::string RenderSetEntryChanges(const std::vector<SetEntryChange>& changes);

}  // namespace swarmwall::backend
