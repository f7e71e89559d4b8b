// Policy load + validate time (src/policy): the policies of the apply
// benchmark (1,000 container port rules on a set of 500 or 100,000 entries,
// inline or in an address file) and compile_bench's 1,000-node policy.
// Prints best and median of N runs, and the ratio to the time before the
// policy-speed work (this bench at fb22632, one run each, on this shared
// 2-core machine under load).
//   policy_bench [RUNS [CASE]]   (default 5 runs; CASE 1-5 runs only that one,
//                                  e.g. under perf)
#include <fmt/format.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "policy/policy.h"

namespace {

using Clock = std::chrono::steady_clock;

// The i-th of N distinct /32s in 10.100.0.0/14.
std::string Entry(int i) {
  return fmt::format("10.{}.{}.{}/32", 100 + i / 65536, (i / 256) % 256, i % 256);
}

// 1,000 container port rules from set `office` (ENTRIES entries, inline as a
// block list, or in FILE when not empty), plus a host rule on a small set.
std::string RulesPolicy(int entries, const std::string& file) {
  std::string y = "version: 1\ninterfaces: { public: [eth0] }\nsets:\n";
  if (file.empty()) {
    y += "  office:\n";
    for (int i = 0; i < entries; ++i) y += "    - " + Entry(i) + "\n";
  } else {
    y += "  office: { file: " + file + " }\n";
  }
  y += "  admins: [198.51.100.0/24]\n";
  y += "nodes:\n  - { name: n1, role: manager, address: 192.0.2.1 }\n";
  y += "host:\n  allow:\n    - { service: ssh, from: admins }\n";
  y += "containers:\n  default: drop\n  allow:\n";
  for (int p = 20000; p < 21000; ++p) y += fmt::format("    - {{ ports: [{}], from: office }}\n", p);
  return y;
}

// compile_bench's policy: NODES nodes, SETS flow-style sets of ENTRIES.
std::string NodesPolicy(int nodes, int sets, int entries) {
  std::string y = "version: 1\ninterfaces: { public: [eth0], cluster: [ens11] }\nsets:\n";
  for (int s = 0; s < sets; ++s) {
    y += fmt::format("  set{}: [", s);
    for (int e = 0; e < entries; ++e) {
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

struct Case {
  std::string name;
  std::string yaml;
  double before_ms;  // median at fb22632; 0 = not measured
};

}  // namespace

int main(int argc, char** argv) {
  int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 5;
  int only = argc > 2 ? std::atoi(argv[2]) : 0;
  char dir_template[] = "/tmp/policy_bench.XXXXXX";
  std::string dir = mkdtemp(dir_template);
  for (int n : {500, 100000}) {
    std::ofstream out(dir + fmt::format("/office{}.txt", n));
    for (int i = 0; i < n; ++i) out << Entry(i) << "\n";
  }
  std::vector<Case> cases = {
      {"1,000 rules on a 500-entry set (inline)", RulesPolicy(500, ""), 113.9},
      {"1,000 rules on a 500-entry set (file)", RulesPolicy(0, "office500.txt"), 83.2},
      {"1,000 rules on a 100,000-entry set (inline)", RulesPolicy(100000, ""), 22739.0},
      {"1,000 rules on a 100,000-entry set (file)", RulesPolicy(0, "office100000.txt"), 17438.8},
      {"1,000 nodes, 10 sets x 10,000 entries (compile_bench)", NodesPolicy(1000, 10, 10000), 800.4},
  };
  printf("policy load + validate, %d runs each (best / median ms)\n", runs);
  for (size_t k = 0; k < cases.size(); ++k) {
    const Case& c = cases[k];
    if (only > 0 && static_cast<size_t>(only) != k + 1) continue;
    std::string path = dir + "/p.yaml";
    std::ofstream(path) << c.yaml;
    std::vector<double> ms;
    size_t warnings = 0;
    bool ok = true;
    for (int r = 0; r < runs; ++r) {
      auto t0 = Clock::now();
      auto loaded = swarmwall::policy::LoadPolicyFile(path);
      auto t1 = Clock::now();
      ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      ok = loaded.policy.has_value();
      warnings = loaded.warnings.size();
      for (const auto& d : loaded.errors) fprintf(stderr, "  %s\n", d.ToString().c_str());
    }
    std::sort(ms.begin(), ms.end());
    double median = ms[ms.size() / 2];
    std::string ratio =
        c.before_ms > 0 ? fmt::format("  ({:.1f}x faster than {:.1f} ms before)", c.before_ms / median,
                                      c.before_ms)
                        : "";
    printf("%-56s %8.1f / %8.1f ms  %.1f MiB, %zu warnings%s%s\n", c.name.c_str(), ms.front(),
           median, c.yaml.size() / 1048576.0, warnings, ok ? "" : " LOAD FAILED", ratio.c_str());
  }
  for (int n : {500, 100000}) unlink((dir + fmt::format("/office{}.txt", n)).c_str());
  unlink((dir + "/p.yaml").c_str());
  rmdir(dir.c_str());
}
