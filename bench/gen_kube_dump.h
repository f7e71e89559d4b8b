// A deterministic generator of kube-proxy-like iptables rulesets, for the
// parser benchmarks. The text has the shape of what kube-proxy (iptables
// mode) keeps in a node's *nat and *filter tables: KUBE-SERVICES jumping to
// one KUBE-SVC-<hash> chain per service port, statistic-balanced jumps to
// one KUBE-SEP-<hash> chain per endpoint, DNAT to the pod, KUBE-MARK-MASQ /
// KUBE-POSTROUTING masquerading, node ports through KUBE-EXT-<hash>, and the
// filter side (KUBE-FORWARD, KUBE-FIREWALL with conntrack states, REJECT for
// services without endpoints).
//
// Rules are written in the argument order kube-proxy itself passes to
// iptables-restore (`-m comment --comment ... -m tcp -p tcp -d IP --dport P`,
// `-j MARK --or-mark 0x4000`), not in iptables-save's canonical order, so a
// parser has to do the same reordering work iptables-restore does. Chains are
// declared and listed as iptables-save lists them (built-ins first, then user
// chains by name). The output is accepted by `iptables-restore --test`
// (nf_tables and legacy, 1.8.9); parse_bench checks that on every run.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace swarmwall::bench {

struct KubeDump {
  std::string text;
  size_t rules = 0;        // "-A" lines, exactly the number asked for
  size_t services = 0;     // service ports (one KUBE-SVC chain each, or a REJECT)
  size_t endpoints = 0;    // KUBE-SEP chains
  size_t chains = 0;       // user chains declared, both tables
};

// RULES must be at least kMinKubeRules (the fixed kube-proxy scaffolding).
// The same (RULES, SEED) always gives the same text, on any platform.
inline constexpr size_t kMinKubeRules = 20;
KubeDump GenerateKubeDump(size_t rules, uint64_t seed = 1);

}  // namespace swarmwall::bench
