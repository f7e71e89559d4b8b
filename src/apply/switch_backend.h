// A host that switches firewalls (iptables to nftables when Docker moves to
// its nftables backend, or back): after an apply through one, whatever of
// swarmwall's the other still holds is taken away, in its own transaction,
// once the new rules are in. For that moment both filter (each only
// narrows what Docker accepts), so no port either closes is ever open.
#pragma once

#include <string>
#include <vector>

#include "apply/workflow_steps.h"
#include "backend/firewall.h"

namespace swarmwall::apply {

// Takes away what the firewall other than KIND holds here (nothing there:
// nothing done). Steps it took are added to STEPS; failures noted. The
// record of the apply just made stays.
bool RetireOtherFirewall(const std::string& state_dir, backend::FirewallKind kind, const Notes& note,
                         std::vector<std::string>& steps);

}  // namespace swarmwall::apply
