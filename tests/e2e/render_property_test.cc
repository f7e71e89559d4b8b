// Property: every valid policy renders text the real kernel tools accept.
// Random policies (nodes, sets of both families, every kind of rule and
// selector, Swarm options) are loaded, compiled for every node, and their
// ipset and iptables/ip6tables restore inputs are loaded for real into a
// fresh network namespace holding a Docker-like skeleton.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include <fmt/format.h>

#include "backend/iptables_render.h"
#include "backend/persistent_render.h"
#include "base/process.h"
#include "compile/compiler.h"
#include "policy/policy.h"

namespace swarmwall {
namespace {

class Gen {
 public:
  explicit Gen(uint32_t seed) : rng_(seed) {}
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Coin() { return Int(0, 1) == 1; }

  std::string V4() { return fmt::format("{}.{}.{}.{}", Pick({10, 192, 198, 203}), Int(0, 255), Int(0, 255), Int(1, 254)); }
  std::string V6() { return fmt::format("2001:db8:{:x}::{:x}", Int(0, 0xffff), Int(1, 0xffff)); }
  std::string Cidr() {
    return Coin() ? fmt::format("{}/{}", V4(), Pick({8, 16, 24, 32}))
                  : fmt::format("{}/{}", V6(), Pick({32, 48, 64, 128}));
  }
  int Pick(std::initializer_list<int> xs) { return *(xs.begin() + Int(0, static_cast<int>(xs.size()) - 1)); }
  std::string PickS(std::vector<std::string> xs) { return xs[static_cast<size_t>(Int(0, static_cast<int>(xs.size()) - 1))]; }

  std::string Ports() {
    std::string s = "[";
    int n = Int(1, 18);
    for (int i = 0; i < n; ++i) {
      int p = Int(1, 60000);
      s += i ? ", " : "";
      s += Coin() ? std::to_string(p) : fmt::format("\"{}-{}\"", p, p + Int(1, 100));
    }
    return s + "]";
  }

  std::string Policy() {
    int nodes = Int(1, 4), sets = Int(0, 3);
    std::string y = "version: 1\ninterfaces: { public: [eth0" + std::string(Coin() ? ", \"eth1\"" : "") +
                    "], cluster: [ens11] }\n";
    if (Coin()) y += "ipv6: false\n";
    if (Coin()) y += "log_drops: true\n";
    std::vector<std::string> names = {"nodes"};
    if (sets) {
      y += "sets:\n";
      for (int s = 0; s < sets; ++s) {
        y += fmt::format("  s{}: [", s);
        int n = Int(1, 5);
        for (int i = 0; i < n; ++i) y += (i ? ", " : "") + Cidr();
        y += "]\n";
        names.push_back(fmt::format("s{}", s));
      }
    }
    y += "nodes:\n";
    for (int n = 0; n < nodes; ++n)
      y += fmt::format("  - {{ name: n{}, role: {}, address: [{}{}], labels: [{}] }}\n", n,
                       n == 0 ? "manager" : PickS({"manager", "worker"}), fmt::format("10.9.{}.{}", n, Int(1, 254)),
                       Coin() ? ", " + fmt::format("2001:db8:9::{:x}", n + 1) : "", n == 0 ? "edge" : "x");
    auto from = [&]() -> std::string {
      switch (Int(0, 3)) {
        case 0: return "";
        case 1: return ", from: " + PickS(names);
        case 2: return ", from: [" + Cidr() + "]";
        default: return ", from: [" + PickS(names) + ", " + Cidr() + "]";
      }
    };
    auto on = [&]() -> std::string {
      switch (Int(0, 3)) {
        case 0: return "";
        case 1: return ", on: [manager]";
        case 2: return ", on: [label:edge]";
        default: return ", on: [n0]";
      }
    };
    auto traffic = [&]() -> std::string {
      switch (Int(0, 3)) {
        case 0: return "service: " + PickS({"ssh", "http", "https", "docker-tls"});
        case 1: return "ports: " + Ports();
        case 2: return "ports: " + Ports() + ", proto: [tcp, udp]";
        default: return "ports: " + Ports() + ", proto: " + PickS({"tcp", "udp", "sctp"});
      }
    };
    y += "host:\n  allow:\n";
    int rules = Int(1, 4);
    for (int r = 0; r < rules; ++r) y += "    - { " + traffic() + from() + on() + " }\n";
    if (Coin()) y += "  deny:\n    - { " + traffic() + from() + on() + " }\n";
    y += fmt::format("  icmp: {{ echo_limit: {}/{} }}\n", Int(1, 100), PickS({"second", "minute", "hour"}));
    y += std::string("  cluster: ") + (Coin() ? "accept" : "swarm-only") + "\n";
    y += fmt::format("swarm: {{ from: {}, docker_machine: {}, encrypted_overlay: {} }}\n", PickS(names),
                     Coin() ? "true" : "false", Coin() ? "true" : "false");
    y += std::string("containers:\n  default: ") + (Coin() ? "drop" : "accept") + "\n  allow:\n";
    for (int r = 0; r < Int(1, 3); ++r) y += "    - { ports: " + Ports() + from() + on() + " }\n";
    bool drop = Coin();
    y += std::string("egress:\n  default: ") + (drop ? "drop" : "accept") + "\n";
    y += std::string("  ") + (drop ? "allow" : "deny") + ":\n    - { to: [" + Cidr() + "]" +
         (Coin() ? ", ports: " + Ports() : "") + " }\n";
    return y;
  }

 private:
  std::mt19937 rng_;
};

// Every example, every node: ipset, iptables-restore --noflush and
// ip6tables-restore --noflush take the rendered text on a Docker-like host.
TEST(RenderExamples, RealToolsAcceptEveryExampleAndNode) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
  const std::string ns = fmt::format("swlex{}", getpid());
  auto sh = [&](const std::string& cmd, const std::string& input = "") {
    return RunProcess({"ip", "netns", "exec", ns, "sh", "-c", cmd}, {.input = input});
  };
  int renders = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(SWARMWALL_SOURCE_DIR) + "/examples")) {
    if (entry.path().extension() != ".yaml") continue;
    auto loaded = policy::LoadPolicyFile(entry.path().string());
    ASSERT_TRUE(loaded.ok()) << entry.path();
    std::vector<policy::Node> nodes = loaded.policy->nodes;
    if (nodes.empty()) nodes.push_back(*compile::IdentifyNode(*loaded.policy, {}, std::nullopt).node);
    for (const auto& node : nodes) {
      Shell("ip netns del " + ns + " 2>/dev/null");
      ASSERT_TRUE(Shell("ip netns add " + ns).ok());
      for (const char* tool : {"iptables-restore", "ip6tables-restore"})
        ASSERT_TRUE(sh(tool, "*filter\n:DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\nCOMMIT\n").ok());
      auto state = compile::Compile(*loaded.policy, node, {});
      auto fresh = backend::FreshDockerHost();
      auto r = sh("ipset restore", backend::RenderIpsetRestore(state.ipv4) + backend::RenderIpsetRestore(state.ipv6));
      ASSERT_TRUE(r.ok()) << entry.path() << " " << node.name << ": " << r.err;
      r = sh("iptables-restore --noflush", backend::RenderRestore(state.ipv4, fresh));
      ASSERT_TRUE(r.ok()) << entry.path() << " " << node.name << ": " << r.err;
      if (!state.ipv6.empty()) {
        r = sh("ip6tables-restore --noflush", backend::RenderRestore(state.ipv6, fresh));
        ASSERT_TRUE(r.ok()) << entry.path() << " " << node.name << ": " << r.err;
      }
      ++renders;
    }
  }
  Shell("ip netns del " + ns + " 2>/dev/null");
  printf("examples: %d node renders loaded by the real tools\n", renders);
  EXPECT_GE(renders, 12);
}

TEST(RenderProperty, RealToolsAcceptEveryRandomValidPolicy) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
  const std::string ns = fmt::format("swlprop{}", getpid());
  auto sh = [&](const std::string& cmd, const std::string& input = "") {
    return RunProcess({"ip", "netns", "exec", ns, "sh", "-c", cmd}, {.input = input});
  };
  int valid = 0, nodes = 0;
  const int kPolicies = 60;
  for (int i = 0; i < kPolicies; ++i) {
    Gen gen(1000 + static_cast<uint32_t>(i));
    std::string yaml = gen.Policy();
    auto loaded = policy::LoadPolicyText(yaml, fmt::format("random-{}.yaml", i), ".");
    if (!loaded.ok()) continue;  // the generator may write a shadowed rule
    ++valid;
    for (const auto& node : loaded.policy->nodes) {
      ++nodes;
      Shell("ip netns del " + ns + " 2>/dev/null");
      ASSERT_TRUE(Shell("ip netns add " + ns).ok());
      // Docker's hook points, as a Docker host has them.
      ASSERT_TRUE(sh("iptables-restore", "*filter\n:DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\nCOMMIT\n").ok());
      ASSERT_TRUE(sh("ip6tables-restore", "*filter\n:DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\nCOMMIT\n").ok());
      auto state = compile::Compile(*loaded.policy, node, {});
      auto fresh = backend::FreshDockerHost();
      std::string sets = backend::RenderIpsetRestore(state.ipv4) + backend::RenderIpsetRestore(state.ipv6);
      auto r = sh("ipset restore", sets);
      ASSERT_TRUE(r.ok()) << "ipset: " << r.err << "\n" << yaml << "\n" << sets;
      std::string v4 = backend::RenderRestore(state.ipv4, fresh);
      r = sh("iptables-restore --noflush", v4);
      ASSERT_TRUE(r.ok()) << "iptables-restore: " << r.err << "\n" << yaml << "\n" << v4;
      if (!state.ipv6.empty()) {
        std::string v6 = backend::RenderRestore(state.ipv6, fresh);
        r = sh("ip6tables-restore --noflush", v6);
        ASSERT_TRUE(r.ok()) << "ip6tables-restore: " << r.err << "\n" << yaml << "\n" << v6;
      }
      // The persistent files, as the boot-time restorers load them: on an
      // empty kernel (before Docker), netfilter-persistent with --noflush,
      // then iptables-services' whole-table file.
      auto files = backend::RenderPersistent(state);
      Shell("ip netns del " + ns + " 2>/dev/null");
      ASSERT_TRUE(Shell("ip netns add " + ns).ok());
      r = sh("ipset restore", files["etc/iptables/ipsets"]);
      ASSERT_TRUE(r.ok()) << "ipsets: " << r.err;
      for (const char* f : {"etc/iptables/rules.v4", "etc/iptables/rules.v6"}) {
        if (!files.count(f)) continue;
        bool v6 = std::string(f).ends_with("v6");
        r = sh(std::string(v6 ? "ip6tables" : "iptables") + "-restore --noflush", files[f]);
        ASSERT_TRUE(r.ok()) << f << ": " << r.err << "\n" << files[f];
      }
      for (const char* f : {"etc/sysconfig/iptables", "etc/sysconfig/ip6tables"}) {
        if (!files.count(f)) continue;
        bool v6 = std::string(f).ends_with("ip6tables");
        r = sh(std::string(v6 ? "ip6tables" : "iptables") + "-restore", files[f]);
        ASSERT_TRUE(r.ok()) << f << ": " << r.err << "\n" << files[f];
      }
    }
  }
  Shell("ip netns del " + ns + " 2>/dev/null");
  printf("random policies: %d generated, %d valid, %d node renders loaded by the real tools\n",
         kPolicies, valid, nodes);
  EXPECT_GE(valid, kPolicies / 2) << "the generator makes too many invalid policies";
}

}  // namespace
}  // namespace swarmwall
