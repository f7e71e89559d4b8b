#include "nft_ruleset_generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <set>

namespace swarmwall::tracetest {
namespace {

const double kNatFamilyMatch = 0.7;

bool Chance(std::mt19937& rng, double p) { return std::bernoulli_distribution(p)(rng); }
int Int(std::mt19937& rng, int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); }
template <typename T>
const T& Pick(std::mt19937& rng, const std::vector<T>& v) {
  return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
}

// The same place in both families: {IPv4, IPv6}.
struct Addr {
  std::string v4, v6;
  const std::string& In(int l3) const { return l3 == 6 ? v6 : v4; }
};
const std::vector<Addr> kSources = {
    {"10.1.0.2", "2001:db8:1::2"},       {"10.1.0.0/24", "2001:db8:1::/64"},
    {"10.1.0.4/30", "2001:db8:1::4/126"}, {"10.3.0.0/24", "2001:db8:3::/64"},
    {"10.3.0.3", "2001:db8:3::3"},       {"10.0.0.0/8", "2001:db8::/32"},
    {"10.1.0.2-10.1.0.4", "2001:db8:1::2-2001:db8:1::4"}};
const std::vector<Addr> kDests = {
    {"10.1.0.1", "2001:db8:1::1"},   {"10.2.0.1", "2001:db8:2::1"},
    {"10.3.0.1", "2001:db8:3::1"},   {"10.2.0.2", "2001:db8:2::2"},
    {"10.2.0.3", "2001:db8:2::3"},   {"10.2.0.0/24", "2001:db8:2::/64"},
    {"10.2.0.0/30", "2001:db8:2::/126"}, {"192.0.2.0/24", "2001:db8:ff::/64"},
    {"10.2.0.2-10.2.0.3", "2001:db8:2::2-2001:db8:2::3"}, {"10.2.0.9", "2001:db8:2::9"}};
// Elements that never overlap (interval sets refuse overlaps).
const std::vector<Addr> kDisjoint = {
    {"10.1.0.2", "2001:db8:1::2"},     {"10.1.0.4/30", "2001:db8:1::4/126"},
    {"10.2.0.2", "2001:db8:2::2"},     {"10.2.0.1", "2001:db8:2::1"},
    {"10.3.0.3-10.3.0.4", "2001:db8:3::3-2001:db8:3::4"},
    {"192.0.2.0/24", "2001:db8:ff::/64"}, {"10.1.0.1", "2001:db8:1::1"}};
// NAT targets: one address each (a range would make the kernel pick).
const std::vector<Addr> kDnatTo = {{"10.2.0.2", "2001:db8:2::2"}, {"10.2.0.3", "2001:db8:2::3"},
                                   {"10.2.0.9", "2001:db8:2::9"}, {"10.3.0.3", "2001:db8:3::3"},
                                   {"10.1.0.1", "2001:db8:1::1"}};
const std::vector<std::string> kPorts = {"22", "53", "80", "443", "8080", "1000-2000", "8000-9000",
                                         "79-81"};
const std::vector<std::string> kDisjointPorts = {"22", "53", "80", "443", "1000-2000",
                                                 "8000-9000"};

// Up to N distinct elements of POOL.
template <typename T>
std::vector<T> Some(std::mt19937& rng, const std::vector<T>& pool, int n) {
  std::vector<T> v = pool;
  std::shuffle(v.begin(), v.end(), rng);
  v.resize(std::min<size_t>(v.size(), std::max(1, n)));
  return v;
}
std::string Join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// Which named sets and maps a table has.
struct TableSets {
  bool a4 = false, a6 = false, ports = false, ifs = false, pairs4 = false, pairs6 = false,
       vm4 = false, vm6 = false;
};

struct Chain {
  std::string name;
  std::string hook;          // "" for a regular chain
  bool nat = false;
  int priority = 0;
  std::vector<std::string> targets;   // regular chains it may jump to
  std::string owner_hook;    // regular chains: the hook of the base chain that owns them
};

class Generator {
 public:
  explicit Generator(std::mt19937& rng) : rng_(rng) {}
  NftGenerated Run();

 private:
  void Use(const std::string& feature) { ++out_.features[feature]; }
  std::string Table(int index);
  int Priority(const std::string& hook, bool nat);
  std::string Rule(const std::string& fam, const TableSets& sets, const Chain& c);
  std::string Xtables();

  std::mt19937& rng_;
  NftGenerated out_;
  std::map<std::string, std::set<int>> used_;   // hook -> priorities taken
  bool equal_ = false, mixed_ = false;
  std::set<std::string> table_names_;
};

// A rule under construction: what it has fixed so far.
struct RuleState {
  int l3 = 0;                // 0: either family (inet), 4, 6
  std::string l4;            // "", tcp, udp, l4 (tcp or udp), icmp, icmpv6
  std::vector<std::string> parts;
  std::set<int> kinds;       // match kinds used (each at most once)
  bool address_payload = false;   // has an ip/ip6 saddr/daddr match
};

int Generator::Priority(const std::string& hook, bool nat) {
  std::vector<int> pool;
  if (equal_) {
    pool = nat ? std::vector<int>{-10, 0, 10} : std::vector<int>{-10, 0, 10};
  } else if (nat) {
    // NAT chains: after conntrack (-200); the kernel runs them all at the
    // NAT core's own priority, in their order.
    if (hook == "prerouting" || hook == "output") pool = {-150, -100, -90, -10, 0, 10, 100};
    else pool = {50, 100, 110, 90, 200, -50, 0};
  } else {
    // Not -200 (conntrack), -100/100 (the NAT core's own hooks), 300
    // (helpers): equal priorities there run in an order we cannot know.
    pool = {-300, -150, -10, 0, 10, 50, -250, -5, 5, 150, 250};
  }
  if (mixed_) {
    // iptables-nft's base chains sit at the standard priorities.
    std::erase_if(pool, [](int p) {
      return p == -300 || p == -150 || p == -100 || p == 0 || p == 50 || p == 100;
    });
  }
  if (!equal_) {
    std::vector<int> free;
    for (int p : pool)
      if (!used_[hook].contains(p)) free.push_back(p);
    if (free.empty()) return 1000000;   // caller: no chain
    pool = free;
  }
  int p = Pick(rng_, pool);
  if (used_[hook].contains(p)) Use("equal priorities on one hook");
  used_[hook].insert(p);
  return p;
}

std::string Generator::Rule(const std::string& fam, const TableSets& sets, const Chain& c) {
  RuleState r;
  r.l3 = fam == "ip" ? 4 : fam == "ip6" ? 6 : 0;
  const std::string hook = c.hook.empty() ? c.owner_hook : c.hook;
  auto l3 = [&]() {
    if (r.l3 == 0) r.l3 = Chance(rng_, 0.55) ? 4 : 6;
    return r.l3;
  };
  auto ip = [&]() { return l3() == 6 ? std::string("ip6") : std::string("ip"); };
  auto neg = [&]() {
    if (!Chance(rng_, 0.2)) return std::string();
    Use("negation (!=)");
    return std::string("!= ");
  };
  // Fixes the transport protocol for a port match; false when it cannot be.
  auto need_ports = [&]() {
    if (r.l4 == "icmp" || r.l4 == "icmpv6") return false;
    if (r.l4.empty()) {
      int k = Int(rng_, 0, 2);
      r.l4 = k == 0 ? "tcp" : k == 1 ? "udp" : "l4";
      if (r.l4 == "l4") r.parts.push_back("meta l4proto { tcp, udp }");
    }
    return true;
  };
  auto port_sel = [&](const char* dir) {
    if (r.l4 == "l4") {
      Use("th sport/dport");
      return fmt::format("th {}", dir);
    }
    Use("tcp/udp sport/dport");
    return fmt::format("{} {}", r.l4, dir);
  };
  auto addr_match = [&](bool src) {
    std::string sel = fmt::format("{} {}", ip(), src ? "saddr" : "daddr");
    r.address_payload = true;
    Use(r.l3 == 6 ? "ip6 saddr/daddr" : "ip saddr/daddr");
    int k = Int(rng_, 0, 9);
    bool named = r.l3 == 6 ? sets.a6 : sets.a4;
    if (k <= 5) {
      const Addr& a = Pick(rng_, src ? kSources : kDests);
      const std::string& v = a.In(r.l3);
      if (v.find('/') != std::string::npos) Use("address prefix");
      if (v.find('-') != std::string::npos) Use("address range");
      return fmt::format("{} {}{}", sel, neg(), v);
    }
    if (k <= 7 || !named) {
      std::vector<std::string> es;
      for (const auto& a : Some(rng_, kDisjoint, Int(rng_, 2, 3))) es.push_back(a.In(r.l3));
      Use("anonymous set");
      return fmt::format("{} {}{{ {} }}", sel, neg(), Join(es));
    }
    Use(r.l3 == 6 ? "named set ipv6_addr (interval)" : "named set ipv4_addr (interval)");
    return fmt::format("{} {}@{}", sel, neg(), r.l3 == 6 ? "a6" : "a4");
  };

  // (a rule without a match is rare: a terminal one hides the rest)
  int matches = Chance(rng_, 0.1) ? 0 : Int(rng_, 1, 3);
  for (int i = 0; i < matches; ++i) {
    int k = Int(rng_, 0, 19);
    if (r.kinds.contains(k)) continue;
    r.kinds.insert(k);
    switch (k) {
      case 0: r.parts.push_back(addr_match(true)); break;
      case 1: case 2: r.parts.push_back(addr_match(false)); break;
      case 3: case 4: {
        if (!need_ports()) break;
        bool dst = Chance(rng_, 0.8);
        std::string sel = port_sel(dst ? "dport" : "sport");
        int j = Int(rng_, 0, 5);
        if (!dst) {
          r.parts.push_back(fmt::format("{} {}{}", sel, neg(),
                                        Pick(rng_, std::vector<std::string>{
                                                       "20000-30000", "30001-65535", "1-19999"})));
        } else if (j <= 2) {
          r.parts.push_back(fmt::format("{} {}{}", sel, neg(), Pick(rng_, kPorts)));
        } else if (j <= 4 || !sets.ports) {
          Use("anonymous set");
          r.parts.push_back(fmt::format("{} {}{{ {} }}", sel, neg(),
                                        Join(Some(rng_, kDisjointPorts, Int(rng_, 2, 3)))));
        } else {
          Use("named set inet_service (interval)");
          r.parts.push_back(fmt::format("{} {}@ports", sel, neg()));
        }
        break;
      }
      case 5: {
        if (!r.l4.empty()) break;
        bool six = l3() == 6;
        r.l4 = six ? "icmpv6" : "icmp";
        Use(six ? "icmpv6 type" : "icmp type");
        std::string t = Pick(rng_, std::vector<std::string>{
                                       "echo-request", "!= echo-request", "echo-reply",
                                       "{ echo-request, destination-unreachable }"});
        r.parts.push_back(fmt::format("{} type {}", r.l4, t));
        break;
      }
      case 6: {
        Use("meta iifname");
        int j = Int(rng_, 0, 5);
        std::string v;
        if (j <= 1) v = Pick(rng_, std::vector<std::string>{"\"eth0\"", "\"eth1\"", "\"eth2\""});
        else if (j == 2) { v = "\"eth*\""; Use("ifname wildcard"); }
        else if (j == 3) { v = "{ \"eth0\", \"eth1\" }"; Use("anonymous set"); }
        else if (j == 4 && sets.ifs) { v = "@ifs"; Use("named set ifname"); }
        else v = "\"lo\"";
        r.parts.push_back(fmt::format("iifname {}{}", neg(), v));
        break;
      }
      case 7: {
        if (hook != "forward" && hook != "output" && hook != "postrouting") break;
        Use("meta oifname");
        int j = Int(rng_, 0, 4);
        std::string v;
        if (j <= 1) v = Pick(rng_, std::vector<std::string>{"\"eth0\"", "\"eth1\"", "\"eth2\""});
        else if (j == 2) { v = "\"eth*\""; Use("ifname wildcard"); }
        else if (j == 3 && sets.ifs) { v = "@ifs"; Use("named set ifname"); }
        else { v = "{ \"eth2\", \"lo\" }"; Use("anonymous set"); }
        r.parts.push_back(fmt::format("oifname {}{}", neg(), v));
        break;
      }
      case 8: {
        if (!r.l4.empty()) break;
        Use("meta l4proto");
        int j = Int(rng_, 0, 3);
        if (j == 0) { r.l4 = "tcp"; r.parts.push_back("meta l4proto tcp"); }
        else if (j == 1) { r.l4 = "udp"; r.parts.push_back("meta l4proto udp"); }
        else if (j == 2) { r.l4 = "l4"; r.parts.push_back("meta l4proto { tcp, udp }"); }
        else {
          bool six = l3() == 6;
          r.l4 = six ? "icmpv6" : "icmp";
          r.parts.push_back(six ? "meta l4proto ipv6-icmp" : "meta l4proto icmp");
        }
        break;
      }
      case 9: {
        if (fam != "inet" || r.l3 != 0) break;
        Use("meta nfproto");
        r.l3 = Chance(rng_, 0.5) ? 4 : 6;
        r.parts.push_back(r.l3 == 4 ? "meta nfproto ipv4" : "meta nfproto ipv6");
        break;
      }
      case 10: {
        if (Chance(rng_, 0.5)) {
          Use("meta mark & mask");
          r.parts.push_back(fmt::format("meta mark & 0xff {}0x1", Chance(rng_, 0.2) ? "!= " : "== "));
        } else {
          Use("meta mark");
          r.parts.push_back(fmt::format("meta mark {}{}", neg(), Chance(rng_, 0.5) ? "0x1" : "0x0"));
        }
        break;
      }
      case 11: {
        Use("meta pkttype");
        r.parts.push_back(Pick(rng_, std::vector<std::string>{
                                         "meta pkttype host", "meta pkttype != host",
                                         "meta pkttype { broadcast, multicast }"}));
        break;
      }
      case 12: {
        Use("ct state");
        std::string s = Pick(rng_, std::vector<std::string>{
                                       "new", "{ established, related }", "!= new", "invalid",
                                       "untracked", "{ new, untracked }", "!= established"});
        if (s.find("untracked") != std::string::npos) Use("ct state untracked");
        if (hook == "prerouting" || hook == "output") Use("ct match (any hook that sees no conntrack yet)");
        r.parts.push_back("ct state " + s);
        break;
      }
      case 13: {
        Use("ct status dnat");
        r.parts.push_back(Chance(rng_, 0.7) ? "ct status dnat" : "ct status != dnat");
        break;
      }
      case 14: {
        bool six = l3() == 6;
        Use(six ? "ct original ip6 daddr" : "ct original ip daddr");
        r.parts.push_back(fmt::format("ct original {} daddr {}{}", six ? "ip6" : "ip", neg(),
                                      Pick(rng_, kDests).In(r.l3)));
        break;
      }
      case 15: {
        // nft 1.0.6 lists `meta nfproto X ... ct protocol P` without the
        // nfproto match (it takes it for a dependency): trace would not see it.
        if (r.kinds.contains(9)) break;
        if (!need_ports()) break;
        Use("ct original proto-dst");
        if (fam == "inet" && !r.address_payload) {
          // nft needs a network header match to type the port
          r.parts.push_back(l3() == 4 ? "ip saddr 10.0.0.0/8" : "ip6 saddr 2001:db8::/32");
          r.address_payload = true;
        }
        std::string proto = r.l4 == "l4" ? (Chance(rng_, 0.5) ? "tcp" : "udp") : r.l4;
        r.parts.push_back(fmt::format(
            "ct original protocol {} ct original proto-dst {}{}", proto, neg(),
            // (not a set: nft 1.0.6 lists its elements as "[invalid type]")
            Pick(rng_, std::vector<std::string>{"80", "8080", "22", "53", "1000-2000"})));
        break;
      }
      case 16: {
        Use("ct mark");
        r.parts.push_back(Pick(rng_, std::vector<std::string>{"ct mark 0x4", "ct mark != 0x4",
                                                             "ct mark & 0x3 == 0x1", "ct mark 0x0"}));
        break;
      }
      case 17: {
        Use("fib daddr type");
        r.parts.push_back(Pick(rng_, std::vector<std::string>{
                                         "fib daddr type local", "fib daddr type != local",
                                         "fib daddr type unicast", "fib daddr type { local, broadcast }"}));
        break;
      }
      case 18: {
        // a concatenation: address . port
        if (r.l4 == "icmp" || r.l4 == "icmpv6" || r.l4 == "l4") break;
        if (r.l4.empty()) r.l4 = Chance(rng_, 0.5) ? "tcp" : "udp";
        bool six = l3() == 6;
        r.address_payload = true;
        bool named = six ? sets.pairs6 : sets.pairs4;
        if (named && Chance(rng_, 0.6)) {
          Use("concatenation, named set (interval)");
          r.parts.push_back(fmt::format("{} daddr . {} dport {}@{}", ip(), r.l4, neg(),
                                        six ? "pairs6" : "pairs4"));
        } else {
          Use("concatenation, anonymous set");
          std::vector<std::string> es;
          for (int e = Int(rng_, 1, 3); e > 0; --e) {
            // distinct ports per element: no overlaps
            es.push_back(fmt::format("{} . {}", Pick(rng_, kSources).In(r.l3),
                                     std::vector<std::string>{"22", "80", "8080"}[e - 1]));
          }
          r.parts.push_back(
              fmt::format("{} saddr . {} dport {}{{ {} }}", ip(), r.l4, neg(), Join(es)));
        }
        break;
      }
      case 19: {
        if (!r.l4.empty() && r.l4 != "tcp") break;
        r.l4 = "tcp";
        Use("tcp flags");
        r.parts.push_back(Pick(rng_, std::vector<std::string>{
                                         "tcp flags syn", "tcp flags & (syn | ack) == syn",
                                         "tcp flags & (fin | syn | rst | ack) == syn",
                                         "tcp flags ack"}));
        break;
      }
    }
  }

  // Non-final statements.
  if (Chance(rng_, 0.15)) { Use("counter"); r.parts.push_back("counter"); }
  if (!c.nat && Chance(rng_, 0.12)) {
    int j = Int(rng_, 0, 3);
    if (j == 0) { Use("meta mark set"); r.parts.push_back("meta mark set 0x1"); }
    else if (j == 1) { Use("ct mark set"); r.parts.push_back("ct mark set 0x4"); }
    else if (j == 2) { Use("ct mark set meta mark"); r.parts.push_back("ct mark set meta mark"); }
    else { Use("meta mark set ct mark"); r.parts.push_back("meta mark set ct mark"); }
  }

  // The verdict.
  std::string fin;
  int k = Int(rng_, 0, 11);
  auto jump = [&]() -> std::string {
    if (c.targets.empty()) return "";
    bool go = Chance(rng_, 0.3);
    Use(go ? "goto" : "jump");
    return fmt::format("{} {}", go ? "goto" : "jump", Pick(rng_, c.targets));
  };
  if (c.nat && k <= 5) {
    bool dst = c.hook == "prerouting" || c.hook == "output" ||
               c.owner_hook == "prerouting" || c.owner_hook == "output";
    if (fam == "inet" && r.l3 == 0 && Chance(rng_, kNatFamilyMatch)) {
      // most NAT in an inet table says its family; the rest leaves the
      // other family's packets alone (the kernel ignores them)
      r.l3 = Chance(rng_, 0.55) ? 4 : 6;
      r.parts.push_back(r.l3 == 4 ? "meta nfproto ipv4" : "meta nfproto ipv6");
    }
    int six = fam == "inet" ? l3() : r.l3;
    std::string famword = fam == "inet" ? (six == 6 ? " ip6" : " ip") : "";
    bool port = Chance(rng_, 0.4) && r.l4 != "icmp" && r.l4 != "icmpv6";
    if (port && r.l4.empty()) {
      r.l4 = Chance(rng_, 0.5) ? "tcp" : "udp";
      r.parts.push_back("meta l4proto " + r.l4);
    }
    std::string p = Pick(rng_, std::vector<std::string>{"80", "22", "8080", "53"});
    if (dst) {
      if (k <= 3) {
        Use("dnat");
        const std::string& a = Pick(rng_, kDnatTo).In(six);
        if (port) {
          Use("dnat with port");
          fin = six == 6 ? fmt::format("dnat{} to [{}]:{}", famword, a, p)
                         : fmt::format("dnat{} to {}:{}", famword, a, p);
        } else {
          fin = fmt::format("dnat{} to {}", famword, a);
        }
      } else {
        Use("redirect");
        if (port) Use("redirect to port");
        fin = port ? "redirect to :" + p : "redirect";
      }
    } else {
      if (k <= 3 || hook == "input") {
        Use("snat");
        fin = fmt::format("snat{} to {}", famword, six == 6 ? "2001:db8:2::1" : "10.2.0.1");
      } else {
        Use("masquerade");
        fin = "masquerade";
      }
    }
  } else if (k <= 2 || (c.nat && k == 6)) {
    Use("accept");
    fin = "accept";
  } else if (k <= 5) {
    Use("drop");
    fin = "drop";
  } else if (k == 6) {
    if (hook == "postrouting") {
      Use("drop");
      fin = "drop";
    } else {
      Use("reject");
      int j = Int(rng_, 0, 2);
      if (j == 1 && r.l4 == "tcp") fin = "reject with tcp reset";
      else if (j == 2) fin = fam == "inet" ? "reject with icmpx type admin-prohibited"
                                          : fam == "ip" ? "reject with icmp type admin-prohibited"
                                                        : "reject with icmpv6 type admin-prohibited";
      else fin = "reject";
    }
  } else if (k <= 8) {
    fin = jump();
  } else if (k == 9) {
    // a verdict map
    std::string target = c.targets.empty() ? "accept" : "jump " + Pick(rng_, c.targets);
    bool icmp = r.l4 == "icmp" || r.l4 == "icmpv6";
    bool six = r.l3 == 6 || (r.l3 == 0 && Chance(rng_, 0.5));
    bool named = (six ? sets.vm6 : sets.vm4) && (r.l4.empty() || r.l4 == "tcp");
    int j = Int(rng_, 0, 2);
    if (j == 1 && !icmp && r.l4 != "l4") {
      if (r.l4.empty()) r.l4 = "tcp";
      Use("vmap, anonymous (port)");
      fin = fmt::format("{} dport vmap {{ 22 : drop, 80 : {}, 8000-9000 : {} }}", r.l4,
                        Chance(rng_, 0.5) ? "accept" : target, Chance(rng_, 0.5) ? "drop" : target);
    } else if (j == 2 && named) {
      r.l4 = "tcp";
      Use("vmap, named map, concatenation");
      fin = fmt::format("{} saddr . tcp dport vmap @{}", six ? "ip6" : "ip", six ? "vm6" : "vm4");
    } else {
      Use("vmap, anonymous (iifname)");
      fin = fmt::format("iifname vmap {{ \"eth0\" : {}, \"eth1\" : {}, \"lo\" : accept }}",
                        Chance(rng_, 0.5) ? target : "drop", Chance(rng_, 0.5) ? "accept" : target);
    }
  } else if (k == 10) {
    if ((hook == "prerouting" || hook == "output") && !c.nat) {
      Use("notrack");
      fin = "notrack";
    }
  } else {
    Use("return");
    fin = "return";
  }
  if (!fin.empty()) r.parts.push_back(fin);
  if (Chance(rng_, 0.1)) {
    Use("comment");
    r.parts.push_back("comment \"generated\"");
  }
  if (r.parts.empty()) r.parts.push_back("counter");
  return "    " + Join(r.parts, " ") + "\n";
}

std::string Generator::Table(int index) {
  std::string fam = Pick(rng_, std::vector<std::string>{"ip", "ip6", "inet", "inet", "inet"});
  std::string name = fmt::format("t{}", index);
  // an inet table may take a name iptables-nft uses for its own ip tables
  if (fam == "inet" && Chance(rng_, 0.3) && !table_names_.contains("filter")) name = "filter";
  table_names_.insert(name);
  Use("table family " + fam);
  TableSets s;
  std::string text = fmt::format("table {} {} {{\n", fam, name);
  bool has4 = fam != "ip6", has6 = fam != "ip";
  auto elems = [&](int l3) {
    std::vector<std::string> es;
    for (const auto& a : Some(rng_, kDisjoint, Int(rng_, 1, 4))) es.push_back(a.In(l3));
    return Join(es);
  };
  if (has4 && Chance(rng_, 0.5)) {
    s.a4 = true;
    text += fmt::format("  set a4 {{ type ipv4_addr; flags interval; elements = {{ {} }} }}\n", elems(4));
  }
  if (has6 && Chance(rng_, 0.5)) {
    s.a6 = true;
    text += fmt::format("  set a6 {{ type ipv6_addr; flags interval; elements = {{ {} }} }}\n", elems(6));
  }
  if (Chance(rng_, 0.4)) {
    s.ports = true;
    text += fmt::format("  set ports {{ type inet_service; flags interval; elements = {{ {} }} }}\n",
                        Join(Some(rng_, kDisjointPorts, Int(rng_, 1, 4))));
  }
  if (Chance(rng_, 0.3)) {
    s.ifs = true;
    text += fmt::format("  set ifs {{ type ifname; elements = {{ {} }} }}\n",
                        Join(Some(rng_, std::vector<std::string>{"\"eth0\"", "\"eth1\"", "\"eth2\""},
                                  Int(rng_, 1, 2))));
  }
  auto pairs = [&](int l3) {
    // one element per port: never overlapping
    std::vector<std::string> es;
    for (const auto& port : Some(rng_, std::vector<std::string>{"22", "53", "80", "8080", "1000-2000"},
                                 Int(rng_, 1, 3)))
      es.push_back(fmt::format("{} . {}", Pick(rng_, kDests).In(l3), port));
    return Join(es);
  };
  if (has4 && Chance(rng_, 0.3)) {
    s.pairs4 = true;
    text += fmt::format(
        "  set pairs4 {{ type ipv4_addr . inet_service; flags interval; elements = {{ {} }} }}\n",
        pairs(4));
  }
  if (has6 && Chance(rng_, 0.3)) {
    s.pairs6 = true;
    text += fmt::format(
        "  set pairs6 {{ type ipv6_addr . inet_service; flags interval; elements = {{ {} }} }}\n",
        pairs(6));
  }
  auto vmap = [&](int l3) {
    std::vector<std::string> es;
    for (const auto& port : Some(rng_, std::vector<std::string>{"22", "53", "80", "8080", "1000-2000"},
                                 Int(rng_, 1, 3)))
      es.push_back(fmt::format("{} . {} : {}", Pick(rng_, kSources).In(l3), port,
                               Pick(rng_, std::vector<std::string>{"accept", "drop", "continue",
                                                                   "return"})));
    return Join(es);
  };
  if (has4 && Chance(rng_, 0.3)) {
    s.vm4 = true;
    text += fmt::format(
        "  map vm4 {{ type ipv4_addr . inet_service : verdict; flags interval; elements = {{ {} }} }}\n",
        vmap(4));
  }
  if (has6 && Chance(rng_, 0.3)) {
    s.vm6 = true;
    text += fmt::format(
        "  map vm6 {{ type ipv6_addr . inet_service : verdict; flags interval; elements = {{ {} }} }}\n",
        vmap(6));
  }

  // Base chains, each with up to two regular chains of its own.
  std::vector<Chain> bases;
  for (int n = Int(rng_, 1, 4), i = 0; i < n; ++i) {
    Chain c;
    c.hook = Pick(rng_, std::vector<std::string>{"prerouting", "input", "forward", "forward",
                                                 "output", "postrouting"});
    c.nat = c.hook != "forward" && Chance(rng_, 0.35);
    c.priority = Priority(c.hook, c.nat);
    if (c.priority == 1000000) continue;
    c.name = fmt::format("{}{}", c.nat ? "nat_" : "", c.hook.substr(0, 3)) + std::to_string(i);
    Use(fmt::format("base chain {} {}", c.nat ? "nat" : "filter", c.hook));
    Use(fmt::format("priority {}", c.priority));
    bases.push_back(c);
  }
  std::string chains;
  for (auto& b : bases) {
    std::vector<Chain> regs;
    for (int n = Int(rng_, 0, 2), i = 0; i < n; ++i) {
      Chain r;
      r.name = fmt::format("{}_r{}", b.name, i);
      r.nat = b.nat;
      r.owner_hook = b.hook;
      regs.push_back(r);
    }
    // regular chain i jumps only to j > i: no loops
    for (size_t i = 0; i < regs.size(); ++i)
      for (size_t j = i + 1; j < regs.size(); ++j) regs[i].targets.push_back(regs[j].name);
    for (const auto& r : regs) b.targets.push_back(r.name);
    for (const auto& r : regs) {
      Use("regular chain");
      chains += fmt::format("  chain {} {{\n", r.name);
      for (int n = Int(rng_, 0, 4); n > 0; --n) chains += Rule(fam, s, r);
      chains += "  }\n";
    }
    bool drop = Chance(rng_, b.nat ? 0.05 : 0.3);
    if (drop) Use("policy drop");
    chains += fmt::format("  chain {} {{\n    type {} hook {} priority {}; policy {};\n", b.name,
                          b.nat ? "nat" : "filter", b.hook, b.priority, drop ? "drop" : "accept");
    for (int n = Int(rng_, 1, 6); n > 0; --n) chains += Rule(fam, s, b);
    chains += "  }\n";
  }
  return text + chains + "}\n";
}

// A small iptables-nft ruleset beside the native tables.
std::string Generator::Xtables() {
  std::string filter, nat, mangle;
  for (int n = Int(rng_, 1, 3); n > 0; --n) {
    int k = Int(rng_, 0, 5);
    std::string src = Pick(rng_, std::vector<std::string>{"", "-s 10.3.0.0/24 ", "-s 10.1.0.2 ",
                                                          "! -s 10.1.0.0/29 "});
    std::string port = Pick(rng_, std::vector<std::string>{"22", "80", "8080", "53", "1000:2000"});
    std::string proto = Chance(rng_, 0.5) ? "tcp" : "udp";
    if (k <= 1) {
      Use("iptables-nft filter FORWARD");
      filter += fmt::format("-A FORWARD {}-p {} -m {} --dport {} -j {}\n", src, proto, proto, port,
                            Pick(rng_, std::vector<std::string>{"DROP", "ACCEPT", "REJECT"}));
    } else if (k == 2) {
      Use("iptables-nft filter INPUT");
      filter += fmt::format("-A INPUT {}-m conntrack --ctstate NEW -j {}\n", src,
                            Pick(rng_, std::vector<std::string>{"DROP", "ACCEPT"}));
    } else if (k == 3) {
      Use("iptables-nft nat PREROUTING");
      nat += fmt::format("-A PREROUTING {}-p {} -m {} --dport {} -j DNAT --to-destination {}\n",
                         src, proto, proto, port,
                         Pick(rng_, std::vector<std::string>{"10.2.0.2:80", "10.2.0.3", "10.2.0.9:53"}));
    } else if (k == 4) {
      Use("iptables-nft nat POSTROUTING");
      nat += fmt::format("-A POSTROUTING {}-o eth2 -j MASQUERADE\n", src);
    } else {
      Use("iptables-nft mangle PREROUTING");
      mangle += fmt::format("-A PREROUTING {}-j MARK --set-xmark 0x1/0xff\n", src);
    }
  }
  std::string out;
  if (!mangle.empty()) out += "*mangle\n:PREROUTING ACCEPT [0:0]\n" + mangle + "COMMIT\n";
  if (!nat.empty())
    out += "*nat\n:PREROUTING ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n" + nat + "COMMIT\n";
  if (!filter.empty()) {
    bool drop = Chance(rng_, 0.3);
    if (drop) Use("iptables-nft policy DROP");
    out += fmt::format("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD {} [0:0]\n", drop ? "DROP" : "ACCEPT") +
           filter + "COMMIT\n";
  }
  return out;
}

NftGenerated Generator::Run() {
  mixed_ = Chance(rng_, 0.3);
  equal_ = !mixed_ && Chance(rng_, 0.2);
  if (equal_) Use("ruleset with equal priorities allowed");
  std::string text;
  for (int n = Int(rng_, 1, 4), i = 0; i < n; ++i) text += Table(i);
  out_.nft = text;
  if (mixed_) {
    Use("iptables-nft tables beside native ones");
    std::string x = Xtables();
    int which = Int(rng_, 0, 2);
    if (which != 1) out_.xtables4 = x;
    if (which != 0) out_.xtables6 = ToIPv6(GeneratedRuleset{"", x}).rules;
  }
  return out_;
}

}  // namespace

NftGenerated GenerateNftRuleset(std::mt19937& rng) { return Generator(rng).Run(); }

std::vector<TestPacket> GenerateNftPackets(std::mt19937& rng, int count) {
  int six = count * 2 / 5;
  std::vector<TestPacket> out = GeneratePackets(rng, count - six, (count - six) / 5);
  for (auto& p : GeneratePackets(rng, six, six / 5)) out.push_back(ToIPv6(p));
  // echo requests only: the test's witness sees ICMP by echo id
  for (auto& p : out) {
    if (p.proto == 1) p.icmp_type = 8;
    if (p.proto == 58) p.icmp_type = 128;
  }
  return out;
}

void NftCoverage::Add(const NftGenerated& g) {
  ++rulesets;
  for (const auto& [f, n] : g.features) {
    ++features[f].first;
    features[f].second += n;
  }
}

std::string NftCoverage::Text() const {
  std::string out = fmt::format("generator coverage over {} rulesets (feature: rulesets, uses):\n",
                                rulesets);
  for (const auto& [f, n] : features) out += fmt::format("  {:<52} {:>5} {:>7}\n", f, n.first, n.second);
  out += "kernel fates (packets):\n";
  for (const auto& [f, n] : fates) out += fmt::format("  {:<52} {:>7}\n", f, n);
  return out;
}

}  // namespace swarmwall::tracetest
