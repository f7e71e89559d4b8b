#include "gen_kube_dump.h"

#include <cmath>
#include <cstdlib>
#include <iterator>
#include <map>
#include <stdexcept>
#include <string_view>
#include <vector>

#include <fmt/format.h>

namespace swarmwall::bench {
namespace {

// splitmix64: tiny, fast and the same everywhere (std:: distributions are
// implementation-defined, which would make the dumps differ between libcs).
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  size_t Below(size_t n) { return static_cast<size_t>(Next() % n); }
  bool Chance(unsigned percent) { return Below(100) < percent; }

 private:
  uint64_t state_;
};

uint64_t Fnv1a(std::string_view s, uint64_t h = 0xcbf29ce484222325ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

// kube-proxy names chains PREFIX + the first 16 base32 characters of a
// sha256 of the service port (and endpoint); any well-mixed 80 bits look the
// same to a parser.
std::string ChainName(std::string_view prefix, std::string_view key) {
  static constexpr char kBase32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  Rng mix(Fnv1a(key));
  uint64_t a = mix.Next(), b = mix.Next();
  std::string name(prefix);
  for (int i = 0; i < 12; ++i) name += kBase32[(a >> (5 * i)) & 31];
  for (int i = 0; i < 4; ++i) name += kBase32[(b >> (5 * i)) & 31];
  return name;
}

// kube-proxy writes "%0.10f" of 1/n; the kernel keeps lround(p * 2^31) and
// iptables-save prints that back with "%.11f" (1/3 -> 0.33333333349).
std::string Probability(size_t n) {
  double written = std::strtod(fmt::format("{:.10f}", 1.0 / static_cast<double>(n)).c_str(),
                               nullptr);
  double kept = static_cast<double>(std::lround(written * 2147483648.0)) / 2147483648.0;
  return fmt::format("{:.11f}", kept);
}

struct Table {
  std::vector<std::string_view> builtin;           // in iptables-save order
  std::map<std::string, std::string> rules;        // chain -> its "-A" lines
  size_t count = 0;

  std::string& Chain(const std::string& name) { return rules[name]; }
  template <typename... Args>
  void Add(const std::string& chain, fmt::format_string<Args...> spec, Args&&... args) {
    std::string& out = rules[chain];
    out += "-A ";
    out += chain;
    out += ' ';
    fmt::format_to(std::back_inserter(out), spec, std::forward<Args>(args)...);
    out += '\n';
    ++count;
  }
  void Write(std::string_view name, std::string& out) const {
    out += '*';
    out += name;
    out += '\n';
    for (std::string_view c : builtin) fmt::format_to(std::back_inserter(out), ":{} ACCEPT [0:0]\n", c);
    for (const auto& [c, text] : rules) {
      bool is_builtin = false;
      for (std::string_view b : builtin) is_builtin |= b == c;
      if (!is_builtin) fmt::format_to(std::back_inserter(out), ":{} - [0:0]\n", c);
    }
    for (std::string_view c : builtin) {
      auto it = rules.find(std::string(c));
      if (it != rules.end()) out += it->second;
    }
    for (const auto& [c, text] : rules) {
      bool is_builtin = false;
      for (std::string_view b : builtin) is_builtin |= b == c;
      if (!is_builtin) out += text;
    }
    out += "COMMIT\n";
  }
  size_t UserChains() const {
    size_t n = 0;
    for (const auto& [c, text] : rules) {
      bool is_builtin = false;
      for (std::string_view b : builtin) is_builtin |= b == c;
      n += !is_builtin;
    }
    return n;
  }
};

constexpr std::string_view kNamespaces[] = {
    "default", "kube-system", "monitoring", "ingress-nginx", "cert-manager",
    "logging", "payments", "checkout", "search", "identity", "media", "batch"};
constexpr std::string_view kWords[] = {
    "api", "web", "frontend", "backend", "cart", "orders", "users", "auth",
    "catalog", "billing", "redis", "postgres", "kafka", "metrics", "gateway",
    "worker", "search", "cache", "mailer", "reports"};
struct PortKind {
  std::string_view name;
  uint16_t port;
  uint16_t target;
  bool udp;
};
constexpr PortKind kPorts[] = {
    {"http", 80, 8080, false},     {"https", 443, 8443, false},
    {"grpc", 9000, 9000, false},   {"metrics", 9090, 9090, false},
    {"http-alt", 8080, 8080, false}, {"db", 5432, 5432, false},
    {"redis", 6379, 6379, false},  {"dns", 53, 53, true},
    {"dns-tcp", 53, 53, false},    {"syslog", 514, 5514, true}};

}  // namespace

KubeDump GenerateKubeDump(size_t rules, uint64_t seed) {
  if (rules < kMinKubeRules)
    throw std::invalid_argument(fmt::format("a kube-proxy dump has at least {} rules",
                                            kMinKubeRules));
  Rng rng(seed);
  KubeDump dump;
  Table nat{{"PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"}, {}, 0};
  Table filter{{"INPUT", "FORWARD", "OUTPUT"}, {}, 0};

  // The fixed scaffolding: 9 nat rules + 11 filter rules = kMinKubeRules.
  nat.Add("PREROUTING", "-m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES");
  nat.Add("OUTPUT", "-m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES");
  nat.Add("POSTROUTING", "-m comment --comment \"kubernetes postrouting rules\" -j KUBE-POSTROUTING");
  nat.Add("KUBE-MARK-DROP", "-j MARK --or-mark 0x8000");
  nat.Add("KUBE-MARK-MASQ", "-j MARK --or-mark 0x4000");
  nat.Add("KUBE-POSTROUTING", "-m mark ! --mark 0x4000/0x4000 -j RETURN");
  nat.Add("KUBE-POSTROUTING", "-j MARK --xor-mark 0x4000");
  nat.Add("KUBE-POSTROUTING",
          "-m comment --comment \"kubernetes service traffic requiring SNAT\" -j MASQUERADE "
          "--random-fully");
  nat.Chain("KUBE-NODEPORTS");
  nat.Chain("KUBE-SERVICES");
  filter.Add("INPUT", "-m comment --comment \"kubernetes health check service ports\" -j KUBE-NODEPORTS");
  filter.Add("INPUT",
             "-m conntrack --ctstate NEW -m comment --comment \"kubernetes externally-visible "
             "service portals\" -j KUBE-EXTERNAL-SERVICES");
  filter.Add("INPUT", "-j KUBE-FIREWALL");
  filter.Add("FORWARD", "-m comment --comment \"kubernetes forwarding rules\" -j KUBE-FORWARD");
  filter.Add("FORWARD",
             "-m conntrack --ctstate NEW -m comment --comment \"kubernetes service portals\" "
             "-j KUBE-SERVICES");
  filter.Add("OUTPUT", "-j KUBE-FIREWALL");
  filter.Add("KUBE-FORWARD", "-m conntrack --ctstate INVALID -j DROP");
  filter.Add("KUBE-FORWARD",
             "-m comment --comment \"kubernetes forwarding rules\" -m mark --mark 0x4000/0x4000 "
             "-j ACCEPT");
  filter.Add("KUBE-FORWARD",
             "-m comment --comment \"kubernetes forwarding conntrack rule\" -m conntrack "
             "--ctstate RELATED,ESTABLISHED -j ACCEPT");
  filter.Add("KUBE-FIREWALL",
             "-m comment --comment \"block incoming localnet connections\" -d 127.0.0.0/8 ! -s "
             "127.0.0.0/8 -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP");
  filter.Add("KUBE-FIREWALL",
             "-m comment --comment \"kubernetes firewall for dropping marked packets\" -m mark "
             "--mark 0x8000/0x8000 -j DROP");
  filter.Chain("KUBE-EXTERNAL-SERVICES");
  filter.Chain("KUBE-NODEPORTS");
  filter.Chain("KUBE-SERVICES");
  // Appended last: it must stay the last rule of nat KUBE-SERVICES.
  const size_t fixed = nat.count + filter.count + 1;

  size_t pod = 0;          // next pod address in 10.244.0.0/16 (skipping .0)
  uint32_t node_port = 30000;
  auto next_pod = [&]() {
    ++pod;
    if ((pod & 0xff) == 0) ++pod;
    return fmt::format("10.244.{}.{}", (pod >> 8) & 0xff, pod & 0xff);
  };
  auto add_service = [&](size_t index, size_t endpoints, bool node_port_service) {
    std::string ns(kNamespaces[rng.Below(std::size(kNamespaces))]);
    std::string name = fmt::format("{}-{}-{}", kWords[rng.Below(std::size(kWords))],
                                   kWords[rng.Below(std::size(kWords))], index);
    const PortKind& port = kPorts[rng.Below(std::size(kPorts))];
    std::string_view proto = port.udp ? "udp" : "tcp";
    std::string svc_port = fmt::format("{}/{}:{}", ns, name, port.name);
    size_t ip = index + 1;   // cluster IPs in 10.96.0.0/12, one per service port
    std::string cluster_ip = fmt::format("10.{}.{}.{}", 96 + ((ip >> 16) & 15), (ip >> 8) & 0xff,
                                         ip & 0xff);
    ++dump.services;
    if (endpoints == 0) {
      filter.Add("KUBE-SERVICES",
                 "-m comment --comment \"{} has no endpoints\" -m {} -p {} -d {}/32 --dport {} "
                 "-j REJECT",
                 svc_port, proto, proto, cluster_ip, port.port);
      return;
    }
    std::string svc = ChainName("KUBE-SVC-", fmt::format("{}{}", svc_port, proto));
    nat.Add("KUBE-SERVICES",
            "-m comment --comment \"{} cluster IP\" -m {} -p {} -d {}/32 --dport {} -j {}",
            svc_port, proto, proto, cluster_ip, port.port, svc);
    nat.Add(svc,
            "-m comment --comment \"{} cluster IP\" -m {} -p {} -d {}/32 --dport {} ! -s "
            "10.244.0.0/16 -j KUBE-MARK-MASQ",
            svc_port, proto, proto, cluster_ip, port.port);
    if (node_port_service) {
      std::string ext = ChainName("KUBE-EXT-", fmt::format("{}{}", svc_port, proto));
      uint32_t np = node_port++;
      nat.Add("KUBE-NODEPORTS", "-m comment --comment {} -m {} -p {} --dport {} -j {}", svc_port,
              proto, proto, np, ext);
      nat.Add(ext,
              "-m comment --comment \"masquerade traffic for {} external destinations\" -j "
              "KUBE-MARK-MASQ",
              svc_port);
      nat.Add(ext, "-j {}", svc);
    }
    for (size_t e = 0; e < endpoints; ++e) {
      std::string pod_ip = next_pod();
      std::string sep = ChainName("KUBE-SEP-", fmt::format("{}{}{}", svc_port, proto, pod_ip));
      if (e + 1 < endpoints)
        nat.Add(svc,
                "-m comment --comment \"{} -> {}:{}\" -m statistic --mode random --probability "
                "{} -j {}",
                svc_port, pod_ip, port.target, Probability(endpoints - e), sep);
      else
        nat.Add(svc, "-m comment --comment \"{} -> {}:{}\" -j {}", svc_port, pod_ip, port.target,
                sep);
      nat.Add(sep, "-m comment --comment {} -s {}/32 -j KUBE-MARK-MASQ", svc_port, pod_ip);
      nat.Add(sep, "-m comment --comment {} -m {} -p {} -j DNAT --to-destination {}:{}", svc_port,
              proto, proto, pod_ip, port.target);
      ++dump.endpoints;
    }
  };

  // Services until the next one would not fit, then services without
  // endpoints (one REJECT rule each) to hit the count exactly.
  size_t left = rules - fixed;
  for (size_t index = 0;; ++index) {
    size_t endpoints;
    size_t r = rng.Below(100);
    if (r < 3) endpoints = 0;
    else if (r < 40) endpoints = 1;
    else if (r < 70) endpoints = 2;
    else if (r < 88) endpoints = 3;
    else if (r < 97) endpoints = 4 + rng.Below(3);
    else endpoints = 8 + rng.Below(8);
    bool node_port_service = endpoints > 0 && rng.Chance(10) && node_port < 32768;
    size_t cost = endpoints == 0 ? 1 : 2 + 3 * endpoints + (node_port_service ? 3 : 0);
    if (cost > left) {
      for (; left > 0; --left) add_service(index++, 0, false);
      break;
    }
    add_service(index, endpoints, node_port_service);
    left -= cost;
  }
  nat.Add("KUBE-SERVICES",
          "-m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule "
          "in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS");

  dump.rules = nat.count + filter.count;
  dump.chains = nat.UserChains() + filter.UserChains();
  if (dump.rules != rules)
    throw std::logic_error(fmt::format("generator made {} rules, not {}", dump.rules, rules));
  dump.text.reserve(rules * 190);
  dump.text += fmt::format("# Generated by iptables-save v1.8.9 (swarmwall kube-proxy-like dump, "
                           "{} rules, seed {})\n", rules, seed);
  filter.Write("filter", dump.text);
  nat.Write("nat", dump.text);
  return dump;
}

}  // namespace swarmwall::bench
