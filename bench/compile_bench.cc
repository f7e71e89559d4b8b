// Issue 3's figure: compile and render a 1,000-node policy with 10 address
// sets of 10,000 entries each, for every node. Target: at most 1 s in total.
// Prints loading (YAML) separately, and what a node's render holds.
#include <chrono>
#include <cstdio>
#include <string>

#include <fmt/format.h>

#include "backend/iptables_render.h"
#include "compile/compiler.h"
#include "policy/policy.h"

namespace {

using Clock = std::chrono::steady_clock;

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

std::string MakePolicy(int nodes, int sets, int entries) {
  std::string y = "version: 1\ninterfaces: { public: [eth0], cluster: [ens11] }\nsets:\n";
  for (int s = 0; s < sets; ++s) {
    y += fmt::format("  set{}: [", s);
    for (int e = 0; e < entries; ++e) {
      // Distinct /32s and /24s spread over 10.0.0.0/8 and 2001:db8::/32.
      int n = s * entries + e;
      if (e % 10 == 9)
        y += fmt::format("2001:db8:{:x}:{:x}::/64", n >> 16, n & 0xffff);
      else
        y += fmt::format("10.{}.{}.{}/32", (n >> 16) & 255, (n >> 8) & 255, n & 255);
      y += e + 1 < entries ? ", " : "]\n";
    }
  }
  y += "nodes:\n";
  for (int n = 0; n < nodes; ++n)
    y += fmt::format("  - {{ name: node-{}, role: {}, address: [172.{}.{}.{}], labels: [{}] }}\n", n,
                     n < 3 ? "manager" : "worker", 16 + (n >> 16), (n >> 8) & 255, n & 255,
                     n % 10 == 0 ? "ingress" : "plain");
  y += "host:\n  allow:\n";
  for (int s = 0; s < sets; ++s) y += fmt::format("    - {{ ports: [{}], from: set{} }}\n", 1000 + s, s);
  y += "    - { ports: [80, 443], on: [label:ingress] }\n";
  y += "swarm: { from: nodes }\ncontainers:\n  default: drop\n  allow:\n";
  for (int s = 0; s < sets; ++s) y += fmt::format("    - {{ ports: [{}], from: set{} }}\n", 8000 + s, s);
  y += "egress: { default: accept, deny: [ { to: [169.254.169.254/32] } ] }\n";
  return y;
}

}  // namespace

int main(int argc, char** argv) {
  int nodes = argc > 1 ? std::atoi(argv[1]) : 1000;
  int sets = argc > 2 ? std::atoi(argv[2]) : 10;
  int entries = argc > 3 ? std::atoi(argv[3]) : 10000;
  std::string yaml = MakePolicy(nodes, sets, entries);

  auto t0 = Clock::now();
  auto loaded = swarmwall::policy::LoadPolicyText(yaml, "bench.yaml", ".");
  auto t1 = Clock::now();
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) fprintf(stderr, "%s\n", e.ToString().c_str());
    return 1;
  }
  const auto& p = *loaded.policy;
  swarmwall::compile::SetCache set_cache;
  swarmwall::backend::IpsetTextCache text_cache;
  size_t rule_bytes = 0, set_bytes_per_node = 0, rules = 0;
  double compile_ms = 0, render_ms = 0;
  for (const auto& node : p.nodes) {
    auto a = Clock::now();
    auto state = swarmwall::compile::Compile(p, node, {}, &set_cache);
    auto b = Clock::now();
    auto fresh = swarmwall::backend::FreshDockerHost();
    std::string v4 = swarmwall::backend::RenderRestore(state.ipv4, fresh);
    std::string v6 = swarmwall::backend::RenderRestore(state.ipv6, fresh);
    size_t set_bytes = 0;
    for (const auto* fs : {&state.ipv4, &state.ipv6})
      for (const auto& s : fs->sets) set_bytes += text_cache.Get(s)->size();
    auto c = Clock::now();
    compile_ms += Ms(a, b);
    render_ms += Ms(b, c);
    rule_bytes += v4.size() + v6.size();
    set_bytes_per_node = set_bytes;
    for (const auto* fs : {&state.ipv4, &state.ipv6})
      for (const auto& ch : fs->chains) rules += ch.rules.size();
  }
  double total = compile_ms + render_ms;
  printf("policy: %d nodes, %d sets x %d entries (%.1f MiB of YAML)\n", nodes, sets, entries,
         yaml.size() / 1048576.0);
  printf("load + validate (YAML)       %9.1f ms\n", Ms(t0, t1));
  printf("compile, every node          %9.1f ms\n", compile_ms);
  printf("render, every node           %9.1f ms  (iptables-restore text per family + ipset text)\n",
         render_ms);
  printf("compile + render, total      %9.1f ms  target <= 1000 ms: %s\n", total,
         total <= 1000 ? "met" : "NOT met");
  printf("per node                     %9.3f ms\n", total / nodes);
  printf("output: %zu rules, %.1f MiB of rules text in all; each node's sets: %.1f MiB, rendered "
         "once and shared by all nodes\n",
         rules, rule_bytes / 1048576.0, set_bytes_per_node / 1048576.0);
  return 0;
}
