// The firewalld backend: one node's policy as firewalld's own permanent
// configuration, written by a shell script of firewall-cmd commands (the
// seed-000 method, done right). See docs/backends.md.
//
// What the script makes, all named swarmwall-* (zones, policy, ipsets) or
// SWARMWALL-* (direct chains):
//   ipsets   swarmwall-NAME-v4 / -v6     hash:net, the compiled sets
//   zone     swarmwall-public            the public interfaces, target DROP:
//                                        ICMP and the host rules as rich rules
//   zone     swarmwall-cluster           the cluster interfaces, target ACCEPT
//                                        (host.cluster: accept) or DROP
//   policy   swarmwall-swarm             ANY -> HOST, priority -100: the Swarm
//                                        ports from swarm.from only, on every
//                                        interface
//   direct   SWARMWALL-USER, SWARMWALL-EGRESS (and SWARMWALL-INPUT for the
//            encrypted overlay's IPsec check): the compiled chains rule by
//            rule, hooked first in DOCKER-USER (or FORWARD) as the
//            DesiredState says.
//
// The script runs `firewall-offline-cmd` (firewalld stopped) unless
// FIREWALL_CMD says otherwise, e.g. FIREWALL_CMD="firewall-cmd --permanent"
// against a running daemon (then `firewall-cmd --reload`). It first removes
// what an earlier run made, so running it again converges.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "compile/desired_state.h"
#include "policy/policy.h"

namespace swarmwall::backend {

// The script for NODE. STATE is the node's compiled DesiredState
// (compile::Compile(policy, node, facts)); its families, sets, hooks and
// DOCKER-USER chains are used as they are, the INPUT part is rebuilt from
// POLICY as zones, a policy and rich rules. Deterministic.
std::string RenderFirewalld(const policy::Policy& policy, const policy::Node& node,
                            const compile::DesiredState& state);

// The names the script uses.
inline constexpr const char* kFirewalldPublicZone = "swarmwall-public";
inline constexpr const char* kFirewalldClusterZone = "swarmwall-cluster";
inline constexpr const char* kFirewalldSwarmPolicy = "swarmwall-swarm";

// Helpers, public for tests and other renderers.

// Splits a compiled rule spec (iptables-save form: words separated by
// spaces, "double quoted" words with \" \\ \' escapes as QuoteText writes
// them) into iptables arguments.
std::vector<std::string> SplitRuleSpec(std::string_view spec);

// One word for sh: as is when it needs no quoting, else in single quotes.
std::string ShellQuote(std::string_view word);

// The firewalld rich rules (in firewalld's canonical text, as
// `firewall-cmd --list-rich-rules` prints them) of each object, in the
// order the script adds them. For tests and docs.
struct FirewalldRichRules {
  std::vector<std::string> public_zone;
  std::vector<std::string> swarm_policy;
};
FirewalldRichRules FirewalldRules(const policy::Policy& policy, const policy::Node& node,
                                  const compile::DesiredState& state);

}  // namespace swarmwall::backend
