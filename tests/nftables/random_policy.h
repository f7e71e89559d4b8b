// Random valid policies for the nftables table tests: both families, sets
// with overlapping and adjacent entries, every kind of rule the compiler
// turns into a rule spec (ports lists long enough to split a multiport,
// sctp, ranges, Swarm's encrypted overlay, ICMP limits, LOG on drops,
// egress), comments (with ODD_COMMENTS: double quotes, UTF-8, longer than
// nft keeps).
#pragma once

#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

namespace swarmwall::testing {

class RandomPolicy {
 public:
  explicit RandomPolicy(uint32_t seed, bool odd_comments = false) : rng_(seed), odd_(odd_comments) {}

  std::string Yaml() {
    std::string y = "version: 1\ninterfaces: { public: [eth0" + std::string(Coin() ? ", eth1" : "") +
                    "], cluster: [ens11] }\n";
    if (Int(0, 3) == 0) y += "ipv6: false\n";
    if (Coin()) y += "log_drops: true\n";
    std::vector<std::string> sets = {"nodes"};
    int n_sets = Int(0, 3);
    if (n_sets) y += "sets:\n";
    for (int s = 0; s < n_sets; ++s) {
      y += fmt::format("  s{}: [", s);
      int n = Int(1, 12);
      for (int i = 0; i < n; ++i) y += (i ? ", " : "") + Cidr();
      y += "]\n";
      sets.push_back(fmt::format("s{}", s));
    }
    y += "nodes:\n";
    int nodes = Int(1, 3);
    for (int n = 0; n < nodes; ++n)
      y += fmt::format("  - {{ name: n{}, role: {}, address: [10.9.{}.{}{}], labels: [{}] }}\n", n,
                       n == 0 || Coin() ? "manager" : "worker", n, Int(1, 254),
                       Coin() ? fmt::format(", \"2001:db8:9::{:x}\"", n + 1) : "", n == 0 ? "edge" : "x");
    auto from = [&](const char* key) -> std::string {
      switch (Int(0, 3)) {
        case 0: return "";
        case 1: return fmt::format(", {}: {}", key, Pick(sets));
        case 2: return fmt::format(", {}: [{}]", key, Cidr());
        default: return fmt::format(", {}: [{}, {}]", key, Pick(sets), Cidr());
      }
    };
    auto on = [&]() -> std::string {
      switch (Int(0, 2)) {
        case 0: return "";
        case 1: return ", on: [label:edge]";
        default: return ", on: [n0]";
      }
    };
    auto traffic = [&]() -> std::string {
      switch (Int(0, 4)) {
        case 0: return "service: " + Pick({"ssh", "http", "https", "docker-tls", "smtp"});
        case 1: return "ports: " + Ports();
        case 2: return "ports: " + Ports() + ", proto: [tcp, udp]";
        case 3: return "ports: " + Ports() + ", proto: sctp";
        default: return "ports: " + Ports() + ", proto: " + Pick({"tcp", "udp"});
      }
    };
    y += "host:\n  allow:\n";
    for (int r = Int(1, 4); r > 0; --r) y += "    - { " + traffic() + from("from") + on() + Comment() + " }\n";
    if (Coin()) y += "  deny:\n    - { " + traffic() + from("from") + on() + Comment() + " }\n";
    if (Coin()) y += fmt::format("  icmp: {{ echo_limit: {}/{} }}\n", Int(1, 100), Pick({"second", "minute", "hour"}));
    y += std::string("  cluster: ") + (Coin() ? "accept" : "swarm-only") + "\n";
    y += fmt::format("swarm: {{ from: {}, docker_machine: {}, encrypted_overlay: {} }}\n", Pick(sets),
                     Coin() ? "true" : "false", Coin() ? "true" : "false");
    y += std::string("containers:\n  default: ") + (Coin() ? "drop" : "accept") + "\n  allow:\n";
    for (int r = Int(1, 3); r > 0; --r) y += "    - { ports: " + Ports() + from("from") + on() + Comment() + " }\n";
    bool drop = Coin();
    y += std::string("egress:\n  default: ") + (drop ? "drop" : "accept") + "\n";
    y += std::string("  ") + (drop ? "allow" : "deny") + ":\n    - { to: " +
         (Coin() ? Pick(sets) : "[" + Cidr() + "]") + (Coin() ? ", ports: " + Ports() : "") + Comment() + " }\n";
    return y;
  }

 private:
  int Int(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Coin() { return Int(0, 1) == 1; }
  std::string Pick(const std::vector<std::string>& xs) { return xs[static_cast<size_t>(Int(0, static_cast<int>(xs.size()) - 1))]; }

  // Dense addresses: entries overlap and touch.
  std::string Cidr() {
    if (Coin()) return fmt::format("\"198.51.{}.{}/{}\"", Int(100, 101), Int(0, 15) * 16, Pick({"28", "29", "30", "32", "24"}));
    return fmt::format("\"2001:db8:{:x}::{:x}/{}\"", Int(0, 2), Int(0, 15) * 16, Pick({"124", "126", "128", "64", "48"}));
  }

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

  std::string Comment() {
    if (Int(0, 2) == 0) return "";
    if (!odd_) return fmt::format(", comment: \"rule {}\"", Int(1, 999));
    switch (Int(0, 2)) {
      case 0: return ", comment: 'say \"hi\" to \\ them'";
      case 1: return fmt::format(", comment: \"{}\"", std::string(static_cast<size_t>(Int(100, 250)), 'x'));
      default: return ", comment: \"caf\xc3\xa9 \xe2\x9c\x93\"";
    }
  }

  std::mt19937 rng_;
  bool odd_;
};

}  // namespace swarmwall::testing
