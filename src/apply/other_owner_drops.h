// Ports the policy allows on a node that a rule of another owner (not
// swarmwall's chains or tables) still drops: swarmwall cannot open them
// from its own rules. With nftables an accept in swarmwall's table never
// overrides a drop in another table (a distro's catch-all REJECT in
// iptables' INPUT, firewalld's zones); with iptables a REJECT before
// swarmwall's jump wins the same way. Found by the policy proof
// (analyze/audit/policy_proof.h) over the host's rules and tables, each
// with its fix, for plan, apply and doctor.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "apply/rules_after.h"
#include "policy/policy.h"

namespace swarmwall::apply {

struct OtherOwnerDrop {
  // "host 80/tcp from 198.51.100.0/24 in eth0: dropped by filter INPUT rule 3 (iptables)"
  std::string what;
  std::string fix;
};

// Over RULES' after-state, for NODE of POLICY.
std::vector<OtherOwnerDrop> OtherOwnerDrops(const policy::Policy& policy, const policy::Node& node,
                                            const RulesAfter& rules);

// The same over the live host with swarmwall's part as DESIRED makes it
// (plan before a commit; apply and doctor with what is in place).
std::optional<std::vector<OtherOwnerDrop>> OtherOwnerDropsAfter(const policy::Policy& policy,
                                                                const backend::Firewall& firewall,
                                                                const backend::FirewallView& view,
                                                                const compile::DesiredState& desired,
                                                                std::string& error);

// The same for what swarmwall applied here (STATE_DIR's record: its policy
// and node, the rules in place as they are): doctor's check. nullopt with
// ERROR when nothing was applied or it cannot be read.
std::optional<std::vector<OtherOwnerDrop>> OtherOwnerDropsApplied(const std::string& state_dir, std::string& error);

}  // namespace swarmwall::apply
