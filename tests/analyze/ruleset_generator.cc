#include "ruleset_generator.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>

namespace swarmwall::tracetest {
namespace {

std::string Pick(std::mt19937& rng, const std::vector<std::string>& v) {
  return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
}
int Pick(std::mt19937& rng, const std::vector<int>& v) {
  return v[std::uniform_int_distribution<size_t>(0, v.size() - 1)(rng)];
}
bool Chance(std::mt19937& rng, double p) { return std::bernoulli_distribution(p)(rng); }

const std::vector<std::string> kSources = {
    "10.1.0.2", "10.1.0.3/32", "10.1.0.0/24", "10.1.0.4/30", "10.3.0.0/24", "10.3.0.3",
    "10.0.0.0/8", "10.1.0.0/29"};
const std::vector<std::string> kDests = {
    "10.1.0.1", "10.2.0.1", "10.3.0.1", "10.2.0.2", "10.2.0.3/32", "10.2.0.0/24",
    "10.2.0.0/30", "192.0.2.0/24", "10.3.0.3"};
const std::vector<std::string> kPorts = {"22", "53", "80", "443", "8080", "2377", "1000:2000",
                                         "79:81", "8000:9000"};

enum Where { kRawPre, kManglePre, kNatPre, kNatPost, kFilterIn, kFilterFwd, kUser, kMangleFwd,
             kOutput };

// One random match for a rule in WHERE; PROTO is set when it adds -p.
std::string RandomMatch(std::mt19937& rng, Where where, std::string& proto) {
  int k = std::uniform_int_distribution<int>(0, 17)(rng);
  std::string neg = Chance(rng, 0.25) ? "! " : "";
  auto port_match = [&](bool src) {
    if (proto.empty()) proto = Chance(rng, 0.5) ? "tcp" : "udp";
    if (proto == "icmp") return std::string();
    if (src) return fmt::format("-m {} {}--sport {}", proto, neg, Pick(rng, {std::string("20000:30000"), std::string("30001:65535"), std::string("1:19999")}));
    return fmt::format("-m {} {}--dport {}", proto, neg, Pick(rng, kPorts));
  };
  switch (k) {
    case 0: return fmt::format("{}-s {}", neg, Pick(rng, kSources));
    case 1: return fmt::format("{}-d {}", neg, Pick(rng, kDests));
    case 2:
      if (where == kNatPost || where == kOutput) return "";
      return fmt::format("{}-i {}", neg, Pick(rng, {std::string("eth0"), std::string("eth1"), std::string("eth+"), std::string("eth2")}));
    case 3:
      if (where != kFilterFwd && where != kNatPost && where != kMangleFwd && where != kOutput)
        return "";
      return fmt::format("{}-o {}", neg, Pick(rng, {std::string("eth0"), std::string("eth1"), std::string("eth2"), std::string("eth+")}));
    case 4:
    case 5: return port_match(false);
    case 6: return port_match(true);
    case 7: {
      if (proto.empty()) proto = Chance(rng, 0.5) ? "tcp" : "udp";
      if (proto == "icmp") return "";
      return fmt::format("-m multiport {}--{} {}", neg,
                         Pick(rng, {std::string("dports"), std::string("ports"), std::string("sports")}),
                         Pick(rng, {std::string("22,80,8000:9000"), std::string("53,443"), std::string("1000:2000,8080")}));
    }
    case 8: {
      if (!proto.empty() && proto != "tcp") return "";
      proto = "tcp";
      return "-m tcp " + Pick(rng, {neg + "--syn", std::string("--tcp-flags SYN,ACK SYN"),
                                    neg + "--tcp-flags ACK ACK",
                                    std::string("--tcp-flags FIN,SYN,RST,ACK SYN")});
    }
    case 9: {
      if (!proto.empty() && proto != "icmp") return "";
      proto = "icmp";
      return fmt::format("-m icmp {}--icmp-type {}", neg, Pick(rng, {std::string("8"), std::string("13"), std::string("any"), std::string("0")}));
    }
    case 10: {
      std::string states = Pick(rng, {std::string("NEW"), std::string("DNAT"), std::string("RELATED,ESTABLISHED"),
                                      std::string("NEW,DNAT"), std::string("INVALID"), std::string("NEW,ESTABLISHED")});
      if (Chance(rng, 0.3)) return fmt::format("-m state {}--state {}", neg, states.find("DNAT") == std::string::npos ? states : "NEW");
      return fmt::format("-m conntrack {}--ctstate {}", neg, states);
    }
    case 11: {
      if (Chance(rng, 0.5)) return fmt::format("-m conntrack {}--ctorigdst {}", neg, Pick(rng, kDests));
      if (proto.empty()) proto = Chance(rng, 0.5) ? "tcp" : "udp";
      if (proto == "icmp") return "";
      return fmt::format("-m conntrack --ctproto {} {}--ctorigdstport {}", proto, neg,
                         Pick(rng, {std::string("80"), std::string("8080"), std::string("22"), std::string("1000:2000")}));
    }
    case 12:
      return fmt::format("-m set {}--match-set {}", neg,
                         Pick(rng, {std::string("swa src"), std::string("swa dst"), std::string("swn src"),
                                    std::string("swn dst"), std::string("swp dst,dst"), std::string("swp src,dst")}));
    case 13:
      return fmt::format("-m addrtype {}--{}-type {}", neg, Chance(rng, 0.7) ? "dst" : "src",
                         Pick(rng, {std::string("LOCAL"), std::string("UNICAST"), std::string("LOCAL,BROADCAST")}));
    case 14:
      return fmt::format("-m iprange {}--{}-range {}", neg, Chance(rng, 0.5) ? "src" : "dst",
                         Pick(rng, {std::string("10.1.0.2-10.1.0.4"), std::string("10.2.0.1-10.2.0.2"), std::string("10.3.0.3-10.3.0.9")}));
    case 15:
      if (where == kRawPre || where == kManglePre) return "";
      return fmt::format("-m {} {}--mark {}", Chance(rng, 0.7) ? "mark" : "connmark", neg,
                         Pick(rng, {std::string("0x1/0xff"), std::string("0x2"), std::string("0x0/0x3"),
                                    std::string("0x4/0xff")}));
    case 16: return "-m comment --comment \"generated rule\"";
    case 17: return "-m limit --limit 10000/sec --limit-burst 10000";
  }
  return "";
}

std::string RandomRule(std::mt19937& rng, Where where, const std::string& chain,
                       const std::string& target, std::string proto = "") {
  std::vector<std::string> ms;
  int n = std::uniform_int_distribution<int>(0, 3)(rng);
  std::vector<std::string> used;
  for (int i = 0; i < n; ++i) {
    std::string m = RandomMatch(rng, where, proto);
    if (m.empty()) continue;
    // Each base option and each module at most once: iptables-nft saves a
    // rule with a module twice as if it had only the last one.
    std::string flag = m.substr(m.starts_with("! ") ? 2 : 0, 2);
    if (flag == "-m") flag = m.substr(0, m.find(' ', 3));
    if (flag == "-s" || flag == "-d" || flag == "-i" || flag == "-o" || flag.starts_with("-m")) {
      if (std::find(used.begin(), used.end(), flag) != used.end()) continue;
      used.push_back(flag);
    }
    ms.push_back(m);
  }
  std::string out = "-A " + chain;
  if (!proto.empty()) out += " -p " + proto;
  for (const auto& m : ms) out += " " + m;
  return out + " " + target + "\n";
}

}  // namespace

GeneratedRuleset GenerateRuleset(std::mt19937& rng) {
  GeneratedRuleset g;
  g.ipsets =
      "create swa hash:ip family inet\n"
      "create swn hash:net family inet\n"
      "create swp hash:ip,port family inet\n";
  for (const char* a : {"10.1.0.2", "10.1.0.5", "10.2.0.2", "10.3.0.3", "10.2.0.1"})
    if (Chance(rng, 0.6)) g.ipsets += fmt::format("add swa {}\n", a);
  g.ipsets += "add swn 10.1.0.0/24\n";
  if (Chance(rng, 0.7)) g.ipsets += "add swn 10.1.0.4/30 nomatch\n";
  if (Chance(rng, 0.5)) g.ipsets += "add swn 10.2.0.0/30\n";
  for (const char* e : {"10.2.0.2,tcp:80", "10.1.0.1,udp:53", "10.2.0.1,tcp:22", "10.2.0.3,udp:8080",
                        "10.1.0.2,tcp:8080"})
    if (Chance(rng, 0.6)) g.ipsets += fmt::format("add swp {}\n", e);

  std::string& r = g.rules;
  // raw: a few direct-access drops (no NOTRACK: untracked packets leave no
  // conntrack entry for the test to observe).
  r += "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
  for (int i = std::uniform_int_distribution<int>(0, 3)(rng); i > 0; --i)
    r += RandomRule(rng, kRawPre, "PREROUTING", "-j DROP");
  if (Chance(rng, 0.3)) r += RandomRule(rng, kOutput, "OUTPUT", "-j DROP");
  r += "COMMIT\n";
  // mangle: marks in PREROUTING, the odd drop in FORWARD.
  r += "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
       ":OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n";
  for (int i = std::uniform_int_distribution<int>(0, 3)(rng); i > 0; --i)
    r += RandomRule(rng, kManglePre, "PREROUTING",
                    Pick(rng, {std::string("-j MARK --set-xmark 0x1/0xff"), std::string("-j MARK --set-xmark 0x2/0xffffffff"),
                               std::string("-j MARK --set-xmark 0x3/0x1"),
                               std::string("-j CONNMARK --set-xmark 0x4/0xff"),
                               std::string("-j CONNMARK --save-mark"),
                               std::string("-j CONNMARK --restore-mark --mask 0x3")}));
  if (Chance(rng, 0.3)) r += RandomRule(rng, kMangleFwd, "FORWARD", "-j DROP");
  if (Chance(rng, 0.3)) r += RandomRule(rng, kOutput, "OUTPUT", "-j MARK --set-xmark 0x1/0xff");
  r += "COMMIT\n";
  // nat
  r += "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
       ":POSTROUTING ACCEPT [0:0]\n:NATU - [0:0]\n";
  auto nat_target = [&](std::string& proto) {
    int k = std::uniform_int_distribution<int>(0, 7)(rng);
    if (k <= 3) {
      std::string to = Pick(rng, {std::string("10.2.0.2:80"), std::string("10.2.0.3"), std::string("10.2.0.2:8080"),
                                  std::string("10.1.0.1:22"), std::string("10.3.0.3:443"), std::string("10.2.0.9:53")});
      if (to.find(':') != std::string::npos && proto.empty()) proto = Chance(rng, 0.5) ? "tcp" : "udp";
      if (to.find(':') != std::string::npos && proto == "icmp") to = to.substr(0, to.find(':'));
      return "-j DNAT --to-destination " + to;
    }
    if (k <= 5) {
      if (proto.empty() || proto == "icmp") return std::string("-j REDIRECT");
      return "-j REDIRECT --to-ports " + Pick(rng, {std::string("22"), std::string("8080")});
    }
    if (k == 6) return std::string("-j RETURN");
    return std::string("-j NATU");
  };
  for (int i = std::uniform_int_distribution<int>(0, 4)(rng); i > 0; --i) {
    std::string proto = Chance(rng, 0.3) ? "" : Pick(rng, {std::string("tcp"), std::string("udp"), std::string("icmp")});
    std::string t = nat_target(proto);
    r += RandomRule(rng, kNatPre, "PREROUTING", t, proto);
  }
  for (int i = std::uniform_int_distribution<int>(0, 3)(rng); i > 0; --i) {
    std::string proto = Chance(rng, 0.3) ? "" : Pick(rng, {std::string("tcp"), std::string("udp")});
    std::string t = nat_target(proto);
    if (t == "-j NATU") t = "-j RETURN";
    r += RandomRule(rng, kNatPre, "NATU", t, proto);
  }
  for (int i = std::uniform_int_distribution<int>(0, 2)(rng); i > 0; --i) {
    std::string proto = Pick(rng, {std::string("tcp"), std::string("udp")});
    r += RandomRule(rng, kOutput, "OUTPUT",
                    "-j DNAT --to-destination " +
                        Pick(rng, {std::string("10.2.0.2:80"), std::string("10.2.0.3"),
                                   std::string("10.3.0.3:443")}),
                    proto);
  }
  for (int i = std::uniform_int_distribution<int>(0, 3)(rng); i > 0; --i)
    r += RandomRule(rng, kNatPost, "POSTROUTING",
                    Pick(rng, {std::string("-j MASQUERADE"), std::string("-j MASQUERADE"),
                               std::string("-j SNAT --to-source 10.2.0.1"), std::string("-j RETURN")}));
  r += "COMMIT\n";
  // filter: base chains and user chains U0..U3 (U_i calls only U_j, j > i).
  bool in_drop = Chance(rng, 0.5), fwd_drop = Chance(rng, 0.5), out_drop = Chance(rng, 0.3);
  r += fmt::format("*filter\n:INPUT {} [0:0]\n:FORWARD {} [0:0]\n:OUTPUT {} [0:0]\n",
                   in_drop ? "DROP" : "ACCEPT", fwd_drop ? "DROP" : "ACCEPT",
                   out_drop ? "DROP" : "ACCEPT");
  const int kUsers = 4;
  for (int u = 0; u < kUsers; ++u) r += fmt::format(":U{} - [0:0]\n", u);
  auto target = [&](int min_user, bool base) {
    int k = std::uniform_int_distribution<int>(0, 9)(rng);
    if (k <= 2) return std::string("-j ACCEPT");
    if (k <= 4) return std::string("-j DROP");
    if (k == 5) return Pick(rng, {std::string("-j REJECT"), std::string("-j REJECT --reject-with icmp-admin-prohibited")});
    if (k == 6) return base && Chance(rng, 0.5) ? std::string("-j ACCEPT") : std::string("-j RETURN");
    if (min_user >= kUsers) return std::string("-j ACCEPT");
    int u = std::uniform_int_distribution<int>(min_user, kUsers - 1)(rng);
    return fmt::format("-{} U{}", k == 9 ? "g" : "j", u);
  };
  for (int i = std::uniform_int_distribution<int>(1, 6)(rng); i > 0; --i)
    r += RandomRule(rng, kFilterIn, "INPUT", target(0, true));
  for (int i = std::uniform_int_distribution<int>(1, 6)(rng); i > 0; --i)
    r += RandomRule(rng, kFilterFwd, "FORWARD", target(0, true));
  for (int i = std::uniform_int_distribution<int>(0, 4)(rng); i > 0; --i)
    r += RandomRule(rng, kOutput, "OUTPUT", target(0, true));
  for (int u = 0; u < kUsers; ++u)
    for (int i = std::uniform_int_distribution<int>(0, 4)(rng); i > 0; --i)
      r += RandomRule(rng, kUser, fmt::format("U{}", u), target(u + 1, false));
  r += "COMMIT\n";
  return g;
}

std::vector<TestPacket> GeneratePackets(std::mt19937& rng, int count, int local) {
  std::vector<int> sports;
  for (int i = 0; i < count; ++i) sports.push_back(20000 + i * 331 % 40000);
  std::shuffle(sports.begin(), sports.end(), rng);
  const std::vector<int> dports = {22, 53, 80, 443, 8080, 2377, 1500, 8500, 81, 9999};
  std::vector<TestPacket> out;
  for (int i = 0; i < count; ++i) {
    TestPacket p;
    bool a = Chance(rng, 0.65);
    p.in = a ? "eth0" : "eth1";
    p.src = a ? Pick(rng, {std::string("10.1.0.2"), std::string("10.1.0.3"), std::string("10.1.0.4"), std::string("10.1.0.5"), std::string("10.1.0.6")})
              : Pick(rng, {std::string("10.3.0.2"), std::string("10.3.0.3"), std::string("10.3.0.4")});
    p.dst = Pick(rng, {std::string("10.1.0.1"), std::string("10.3.0.1"), std::string("10.2.0.1"), std::string("10.2.0.2"), std::string("10.2.0.3"),
                       std::string("10.2.0.9"), std::string("192.0.2.1"), a ? std::string("10.3.0.3") : std::string("10.1.0.4")});
    if (a && p.dst == "10.1.0.1" && Chance(rng, 0.5)) p.dst = "10.2.0.2";
    int k = std::uniform_int_distribution<int>(0, 9)(rng);
    p.proto = k < 5 ? 6 : k < 9 ? 17 : 1;
    p.sport = sports[i];
    p.dport = Pick(rng, dports);
    p.icmp_type = Chance(rng, 0.8) ? 8 : 13;
    if (i >= count - local) {
      p.in = "local";
      p.src = Pick(rng, {std::string("10.1.0.1"), std::string("10.3.0.1"), std::string("10.2.0.1")});
      p.dst = Pick(rng, {std::string("10.2.0.2"), std::string("10.2.0.3"), std::string("10.2.0.9"),
                         std::string("10.3.0.3"), std::string("10.1.0.4"), std::string("192.0.2.1")});
    }
    out.push_back(p);
  }
  return out;
}

namespace {

std::string Address6(const std::string& a, const std::string& prefix) {
  std::smatch m;
  static const std::regex kNet(R"(10\.([0-9]+)\.0\.([0-9]+))");
  std::string out;
  int bits = prefix.empty() ? 128 : std::stoi(prefix.substr(1));
  if (a == "10.0.0.0" && prefix == "/8") return "2001:db8::/32";
  if (a.starts_with("192.0.2.")) {
    out = "2001:db8:ff::" + a.substr(8);
    if (!prefix.empty()) return "2001:db8:ff::/64";
    return out;
  }
  if (std::regex_match(a, m, kNet)) {
    out = fmt::format("2001:db8:{}::{}", m[1].str(), m[2].str());
    if (out.ends_with("::0")) out.resize(out.size() - 1);
  } else {
    return a + prefix;
  }
  if (prefix.empty()) return out;
  int b6 = bits == 24 ? 64 : bits == 32 ? 128 : 128 - (32 - bits);
  return fmt::format("{}/{}", out, b6);
}

std::string Translate(std::string text) {
  // DNAT/SNAT with a port: [address]:port
  static const std::regex kNatPort(R"(--to-destination ([0-9.]+):([0-9]+))");
  text = std::regex_replace(text, kNatPort, "--to-destination [$1]:$2");
  static const std::regex kAddr(R"(([0-9]+\.[0-9]+\.[0-9]+\.[0-9]+)(/[0-9]+)?)");
  std::string out;
  auto begin = std::sregex_iterator(text.begin(), text.end(), kAddr);
  size_t last = 0;
  for (auto it = begin; it != std::sregex_iterator(); ++it) {
    out += text.substr(last, it->position() - last);
    out += Address6((*it)[1].str(), (*it)[2].str());
    last = it->position() + it->length();
  }
  out += text.substr(last);
  auto replace = [&](const std::string& from, const std::string& to) {
    for (size_t at = out.find(from); at != std::string::npos; at = out.find(from, at + to.size()))
      out.replace(at, from.size(), to);
  };
  replace("-p icmp ", "-p ipv6-icmp ");
  replace("-m icmp ", "-m icmp6 ");
  replace("--icmp-type 8", "--icmpv6-type 128");
  replace("--icmp-type 13", "--icmpv6-type 128");
  replace("--icmp-type any", "--icmpv6-type 128");
  replace("--icmp-type 0", "--icmpv6-type 129");
  replace("icmp-admin-prohibited", "icmp6-adm-prohibited");
  replace("family inet\n", "family inet6\n");
  replace("LOCAL,BROADCAST", "LOCAL");
  return out;
}

}  // namespace

GeneratedRuleset ToIPv6(const GeneratedRuleset& g) {
  return {Translate(g.ipsets), Translate(g.rules)};
}

TestPacket ToIPv6(const TestPacket& p) {
  TestPacket q = p;
  q.src = Address6(p.src, "");
  q.dst = Address6(p.dst, "");
  if (p.proto == 1) {
    q.proto = 58;
    q.icmp_type = 128;
  }
  return q;
}

}  // namespace swarmwall::tracetest
