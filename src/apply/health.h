// The firewall half of `swarmwall health` (a container HEALTHCHECK that runs
// every few seconds): does this node's kernel hold exactly what the policy
// renders for it? The same read (ReadHost, without the host lock, through
// the nf_tables generation cache) and the same comparison (Compare) as
// `swarmwall plan` and the agent's check, so "healthy" means "plan has
// nothing to change". Never writes to the kernel.
#pragma once

#include <string>
#include <vector>

#include "policy/policy.h"

namespace swarmwall::apply {

struct FirewallHealth {
  bool ok = false;                 // kernel == policy for NODE
  std::string node;                // the node the policy was compiled for ("" when none)
  std::string variant;             // iptables variant read ("nft", "legacy")
  std::string reason;              // one line when !ok: what differs or what failed
  std::vector<std::string> diff;   // "IPv4: + hook ...", every difference
};

// Compiles POLICY for NODE (or the node with an address on this host when
// NODE is empty) against the kernel as it is now and compares.
FirewallHealth CheckFirewall(const policy::Policy& policy, const std::string& node,
                             const std::string& state_dir);

}  // namespace swarmwall::apply
