// exposure on small rulesets (one semantic each) and on the Docker
// fixtures. Every test also checks the exposure against trace: random
// packets (and one point of every class) are traced, and trace's verdict
// must be the one the exposure gives the packet's class (exact), or lie
// within its over- and under-approximation when undecidable matches are met.
#include "analyze/exposure/exposure.h"
#include "base/sanitized.h"
#include "analyze/model/ipassmt.h"

#include <gtest/gtest.h>

#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include <fmt/format.h>

#include "analyze/model/addr_number.h"
#include "analyze/model/docker_layout.h"
#include "analyze/test_host.h"
#include "netfilter/parser.h"

namespace swarmwall::analyze {
namespace {

using netfilter::Cidr;
using netfilter::Family;
using netfilter::IpAddress;

using test::ReadFile;
using test::Shared;

struct Host : test::HostBase<Host> {
  using HostBase::HostBase;
};

bool InCidrs(const std::vector<Cidr>& cidrs, const IpAddress& a) {
  for (const auto& c : cidrs)
    if (c.Contains(a)) return true;
  return false;
}

bool InPorts(const std::vector<PortSpan>& ports, uint16_t p) {
  for (const auto& s : ports)
    if (p >= s.lo && p <= s.hi) return true;
  return false;
}

// The exposure's entries for one packet.
std::vector<const ExposureEntry*> EntriesFor(const FamilyExposure& e, const TraceInput& t) {
  std::vector<const ExposureEntry*> out;
  const Packet& p = t.packet;
  for (const auto& ie : e.interfaces) {
    if (ie.interface != p.in) continue;
    for (const auto& en : ie.entries) {
      if (en.protocol_last ? (p.protocol < en.protocol || p.protocol > en.protocol_last)
                           : p.protocol != en.protocol)
        continue;
      if (!InCidrs(en.sources, p.src) || !InCidrs(en.target.addresses, p.dst)) continue;
      if (p.HasPorts() && !InPorts(en.ports, p.dport)) continue;
      out.push_back(&en);
    }
  }
  return out;
}

// Does trace's outcome O land where ENTRY says?
bool SameTarget(const ExposureEntry& en, const Outcome& o, const TraceInput& t) {
  const Packet& f = o.final_packet;
  bool ports = t.packet.HasPorts();
  bool rewritten = f.dst != t.packet.dst || (ports && f.dport != t.packet.dport);
  switch (en.target.kind) {
    case ExposureTarget::kHost:
      if (o.fate != Fate::kLocal) return false;
      break;
    case ExposureTarget::kContainer:
      if (o.fate != Fate::kForward || !rewritten) return false;
      if (f.out != en.target.out_interface) return false;
      break;
    case ExposureTarget::kForward:
      if (o.fate != Fate::kForward || rewritten) return false;
      return f.out == en.target.out_interface;
  }
  if (en.target.to_address.family == t.packet.family && en.target.to_address != IpAddress{{}, t.packet.family} &&
      f.dst != en.target.to_address)
    return false;
  if (ports && en.target.to_port && f.dport != en.target.to_port) return false;
  return true;
}

// Checks one packet; returns a description of a disagreement or "".
std::string Check(const Host& h, const FamilyExposure& e, const TraceInput& t) {
  TraceResult r = h.model->Trace(t);
  std::vector<Outcome> all{r.outcome};
  for (const auto& a : r.alternatives) all.push_back(a);
  auto entries = EntriesFor(e, t);
  std::string where = fmt::format("{} {} -> {}:{} proto {} in {}", t.packet.src.ToString(), t.packet.sport,
                                  t.packet.dst.ToString(), t.packet.dport, t.packet.protocol, t.packet.in);
  bool definite = r.Definite() && r.unknowns.empty();
  for (const auto* en : entries) {
    if (definite && en->reach != Reach::kExact)
      return where + ": trace is definite but the exposure says " + ReachName(en->reach);
    bool some = false, every = true;
    for (const auto& o : all) {
      bool s = SameTarget(*en, o, t);
      some |= s;
      every &= s;
    }
    if (!some) return where + ": exposure entry (" + ReachName(en->reach) + ") but trace: " + FateName(r.outcome.fate) + " " + r.outcome.where;
    if (en->reach != Reach::kOver && !every) return where + ": under-approximation but trace has other outcomes";
  }
  // Every accepted trace outcome must be in the exposure.
  for (const auto& o : all) {
    if (!Accepted(o.fate)) continue;
    bool found = false;
    for (const auto* en : entries) found |= SameTarget(*en, o, t);
    if (!found)
      return where + ": trace " + FateName(o.fate) + " to " + o.final_packet.dst.ToString() + ":" +
             std::to_string(o.final_packet.dport) + " out " + std::string(o.final_packet.out) +
             " but no exposure entry";
  }
  if (definite && Accepted(r.outcome.fate) && entries.size() != 1)
    return where + ": " + std::to_string(entries.size()) + " entries for a definite packet";
  return "";
}

// Random packets over the interesting values of the ruleset and the host,
// plus one point of every entry's source class.
int CrossCheck(const Host& h, const FamilyExposure& e, int n, uint32_t seed = 1,
               std::vector<std::string> ifaces = {}) {
  std::mt19937 rng(seed);
  Family f = h.ruleset.family;
  std::vector<IpAddress> addrs;
  auto add = [&](const char* s) {
    auto a = IpAddress::Parse(s);
    if (a && a->family == f) addrs.push_back(*a);
  };
  for (const auto& i : h.net.interfaces)
    for (const auto& ia : i.addresses)
      if (ia.address.family == f) addrs.push_back(ia.address);
  for (const char* s : {"198.51.100.7", "198.51.100.200", "203.0.113.50", "10.0.0.5", "10.0.0.200",
                        "172.17.0.2", "172.17.0.3", "172.18.0.3", "127.0.0.1", "192.0.2.1", "8.8.8.8",
                        "2001:db8::1", "2001:db8:1::7", "2001:db8:2::5", "fd00::2", "::1", "2001:db8::11"})
    add(s);
  for (const auto& ie : e.interfaces)
    for (const auto& en : ie.entries) {
      for (const auto& c : en.sources) addrs.push_back(c.address);
      for (const auto& c : en.target.addresses) addrs.push_back(c.address);
    }
  std::vector<uint16_t> ports{22, 23, 53, 80, 81, 443, 2375, 2377, 5432, 7946, 8080, 8081, 9090, 0, 65535};
  for (const auto& ie : e.interfaces)
    for (const auto& en : ie.entries)
      for (const auto& p : en.ports) {
        ports.push_back(p.lo);
        ports.push_back(p.hi);
        if (p.lo) ports.push_back(p.lo - 1);
        if (p.hi < 65535) ports.push_back(p.hi + 1);
      }
  if (ifaces.empty())
    for (const auto& ie : e.interfaces) ifaces.push_back(ie.interface);
  std::vector<uint16_t> protos{6, 6, 6, 17, 17, 132, 47, static_cast<uint16_t>(f == Family::kIPv4 ? 1 : 58)};
  int failures = 0, entered = 0;
  for (int i = 0; i < n && failures < 5; ++i) {
    TraceInput t;
    Packet& p = t.packet;
    p.family = f;
    p.src = addrs[rng() % addrs.size()];
    p.dst = addrs[rng() % addrs.size()];
    if (rng() % 4 == 0) {
      U128 x = ToNumber(p.src) ^ (rng() % 256);
      p.src = FromNumber(x, f);
    }
    p.protocol = protos[rng() % protos.size()];
    p.sport = rng() % 3 ? 40000 : ports[rng() % ports.size()];
    p.dport = ports[rng() % ports.size()];
    if (!p.HasPorts()) p.sport = p.dport = 0;
    p.icmp_type = f == Family::kIPv4 ? 8 : 128;
    p.tcp_flags = kTcpSyn;
    p.in = ifaces[rng() % ifaces.size()];
    std::string d = Check(h, e, t);
    if (!d.empty()) {
      ADD_FAILURE() << d;
      ++failures;
    }
    entered += !EntriesFor(e, t).empty();
  }
  return entered;
}

std::string Dump(const FamilyExposure& e) {
  std::string s;
  for (const auto& ie : e.interfaces)
    for (const auto& en : ie.entries) {
      std::string src, dst, ports;
      for (const auto& c : en.sources) src += c.ToString() + ",";
      if (src.size() > 80) src = src.substr(0, 80) + "...";
      for (const auto& c : en.target.addresses) dst += c.ToString() + ",";
      for (const auto& p : en.ports) ports += fmt::format("{}-{},", p.lo, p.hi);
      s += fmt::format("{} {} p{}{} [{}] -> {} {} {}:{} {} {}\n", ie.interface, src, en.protocol,
                       en.protocol_last ? "-" + std::to_string(en.protocol_last) : "", ports,
                       static_cast<int>(en.target.kind), dst, en.target.to_address.ToString(),
                       en.target.to_port, en.target.out_interface, ReachName(en.reach));
    }
  return s;
}

const char* kAddr = R"([
 {"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8},{"family":"inet6","local":"::1","prefixlen":128}]},
 {"ifname":"eth0","addr_info":[{"family":"inet","local":"203.0.113.11","prefixlen":24},{"family":"inet6","local":"2001:db8::11","prefixlen":64}]},
 {"ifname":"eth1","addr_info":[{"family":"inet","local":"10.0.0.1","prefixlen":24},{"family":"inet6","local":"2001:db8:1::1","prefixlen":64}]},
 {"ifname":"docker0","addr_info":[{"family":"inet","local":"172.17.0.1","prefixlen":16},{"family":"inet6","local":"2001:db8:2::1","prefixlen":64}]}])";
const char* kRoute = R"([
 {"dst":"default","gateway":"203.0.113.100","dev":"eth0"},
 {"dst":"203.0.113.0/24","dev":"eth0","prefsrc":"203.0.113.11"},
 {"dst":"10.0.0.0/24","dev":"eth1","prefsrc":"10.0.0.1"},
 {"dst":"172.17.0.0/16","dev":"docker0","prefsrc":"172.17.0.1"}])";
const char* kRoute6 = R"([
 {"dst":"default","gateway":"2001:db8::100","dev":"eth0"},
 {"dst":"2001:db8::/64","dev":"eth0"},
 {"dst":"2001:db8:1::/64","dev":"eth1"},
 {"dst":"2001:db8:2::/64","dev":"docker0"}])";

ExposureOptions Outside() {
  ExposureOptions o;
  return o;
}

TEST(Exposure, InputAllowList) {
  Host h("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
         "-A INPUT -s 10.0.0.0/24 -p tcp -m tcp --dport 22 -j ACCEPT\n"
         "-A INPUT -p tcp -m multiport --dports 80,443 -j ACCEPT\n"
         "-A INPUT -i eth1 -p udp -j ACCEPT\n"
         "-A INPUT ! -s 198.51.100.0/25 -p tcp -m tcp --dport 8000:8100 -j ACCEPT\n"
         "-A INPUT -p icmp -j ACCEPT\nCOMMIT\n",
         kAddr, kRoute);
  auto e = ComputeExposure(*h.model, Outside());
  EXPECT_TRUE(e.Exact());
  ASSERT_EQ(e.interfaces.size(), 3u);   // eth0 eth1 docker0 (lo excluded)
  // From 10.0.0.5 on eth0: 22, 80, 443, 8000-8100, icmp.
  TraceInput t;
  t.packet.src = *IpAddress::Parse("10.0.0.5");
  t.packet.dst = *IpAddress::Parse("203.0.113.11");
  t.packet.in = "eth0";
  t.packet.dport = 22;
  auto en = EntriesFor(e, t);
  ASSERT_EQ(en.size(), 1u) << Dump(e);
  EXPECT_EQ(en[0]->target.kind, ExposureTarget::kHost);
  EXPECT_EQ(en[0]->reach, Reach::kExact);
  std::string ports;
  for (const auto& p : en[0]->ports) ports += fmt::format("{}-{} ", p.lo, p.hi);
  EXPECT_EQ(ports, "22-22 80-80 443-443 8000-8100 ") << Dump(e);
  EXPECT_TRUE(InCidrs(en[0]->target.addresses, *IpAddress::Parse("10.0.0.1")));
  EXPECT_FALSE(InCidrs(en[0]->target.addresses, *IpAddress::Parse("8.8.8.8")));
  CrossCheck(h, e, 3000);
}

TEST(Exposure, DnatPublish) {
  Host h("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
         ":DOCKER - [0:0]\n"
         "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n"
         "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n"
         "-A DOCKER -i docker0 -j RETURN\n"
         "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\n"
         "-A DOCKER -d 127.0.0.1/32 ! -i docker0 -p tcp -m tcp --dport 5432 -j DNAT --to-destination 172.17.0.3:5432\n"
         "COMMIT\n"
         "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER - [0:0]\n"
         "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
         "-A FORWARD -o docker0 -j DOCKER\n"
         "-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT\n"
         "-A DOCKER -d 172.17.0.3/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 5432 -j ACCEPT\n"
         "COMMIT\n",
         kAddr, kRoute);
  auto e = ComputeExposure(*h.model, Outside());
  EXPECT_TRUE(e.Exact());
  // 8080 on any local address from eth0 -> 172.17.0.2:80, though INPUT only allows 22.
  bool published = false, loopback = false;
  for (const auto& ie : e.interfaces)
    for (const auto& en : ie.entries)
      if (en.target.kind == ExposureTarget::kContainer) {
        if (en.target.to_address == *IpAddress::Parse("172.17.0.2") && ie.interface == "eth0") {
          published = true;
          EXPECT_EQ(en.target.to_port, 80);
          ASSERT_EQ(en.ports.size(), 1u);
          EXPECT_EQ(en.ports[0].lo, 8080);
          EXPECT_TRUE(InCidrs(en.target.addresses, *IpAddress::Parse("203.0.113.11")));
          EXPECT_TRUE(InCidrs(en.sources, *IpAddress::Parse("198.51.100.7")));
          EXPECT_NE(ExposedControlPort(en), 2375);
        }
        if (en.target.to_address == *IpAddress::Parse("172.17.0.3")) loopback = true;
      }
  EXPECT_TRUE(published) << Dump(e);
  // 127.0.0.1:5432 from outside: DNAT in PREROUTING happens before the
  // routing decision's martian check, so the loopback-only publish is
  // reachable from a neighbour (what Docker 28's raw PREROUTING drop fixes).
  EXPECT_TRUE(loopback) << Dump(e);
  CrossCheck(h, e, 3000);
}

TEST(Exposure, DockerUserCtOrigDstAndSets) {
  const char* sets =
      "create admins hash:net family inet hashsize 1024 maxelem 65536\n"
      "add admins 198.51.100.0/24\nadd admins 198.51.100.128/25 nomatch\n"
      "create pub bitmap:port range 0-65535\nadd pub tcp:8080\n";
  Host h("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
         ":DOCKER - [0:0]\n"
         "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n"
         "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\n"
         "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 9090 -j DNAT --to-destination 172.17.0.2:90\n"
         "COMMIT\n"
         "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n"
         "-A FORWARD -j DOCKER-USER\n"
         "-A FORWARD -o docker0 -p tcp -j ACCEPT\n"
         "-A DOCKER-USER -m set --match-set admins src -j RETURN\n"
         "-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctorigdstport 8080 --ctstate DNAT -j DROP\n"
         "-A DOCKER-USER -i eth0 -m conntrack --ctorigdst 203.0.113.11 -p tcp -m tcp --dport 90 -j RETURN\n"
         "-A DOCKER-USER -i eth0 -j DROP\n"
         "-A DOCKER-USER -j RETURN\nCOMMIT\n",
         kAddr, kRoute, sets);
  auto e = ComputeExposure(*h.model, Outside());
  EXPECT_TRUE(e.Exact());
  CrossCheck(h, e, 4000);
  // 198.51.100.7 (admin) reaches 8080; 198.51.100.200 (nomatch) does not.
  TraceInput t;
  t.packet.dst = *IpAddress::Parse("203.0.113.11");
  t.packet.in = "eth0";
  t.packet.dport = 8080;
  t.packet.src = *IpAddress::Parse("198.51.100.7");
  EXPECT_EQ(EntriesFor(e, t).size(), 1u) << Dump(e);
  t.packet.src = *IpAddress::Parse("198.51.100.200");
  EXPECT_EQ(EntriesFor(e, t).size(), 0u);
  t.packet.dport = 9090;   // original destination 203.0.113.11: allowed
  EXPECT_EQ(EntriesFor(e, t).size(), 1u);
  t.packet.dst = *IpAddress::Parse("10.0.0.1");
  EXPECT_EQ(EntriesFor(e, t).size(), 0u);
}

TEST(Exposure, ReturnGotoAndMarks) {
  Host h("*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
         "-A PREROUTING -i eth1 -j MARK --set-xmark 0x1/0xffffffff\nCOMMIT\n"
         "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         ":A - [0:0]\n:B - [0:0]\n:C - [0:0]\n"
         "-A INPUT -m mark --mark 0x1 -p udp -j ACCEPT\n"
         "-A INPUT -j A\n-A INPUT -p tcp -j DROP\n-A INPUT -p udp -j ACCEPT\n"
         "-A A -s 198.51.100.0/24 -g B\n-A A -j RETURN\n"
         "-A B -p tcp -m tcp --dport 80 -j ACCEPT\n-A B -j C\n-A B -p tcp -m tcp --dport 81 -j ACCEPT\n"
         "-A C -p tcp -m tcp --dport 81 -j RETURN\n-A C -p tcp -m tcp --dport 82 -j REJECT\n"
         "-A C -p tcp -m tcp --dport 83 -j ACCEPT\nCOMMIT\n",
         kAddr, kRoute);
  auto e = ComputeExposure(*h.model, Outside());
  EXPECT_TRUE(e.Exact());
  CrossCheck(h, e, 4000);
}

TEST(Exposure, Ipv6) {
  Host h("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
         "-A PREROUTING -d 2001:db8::11/128 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [2001:db8:2::2]:80\n"
         "COMMIT\n"
         "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A INPUT -p ipv6-icmp -j ACCEPT\n"
         "-A INPUT -s 2001:db8:1::/48 -p tcp -m tcp --dport 22 -j ACCEPT\n"
         "-A FORWARD -d 2001:db8:2::2/128 -p tcp -m tcp --dport 80 -j ACCEPT\n"
         "-A FORWARD -s 2001:db8::/64 -o eth1 -j ACCEPT\nCOMMIT\n",
         kAddr, kRoute6);
  auto e = ComputeExposure(*h.model, Outside());
  EXPECT_EQ(e.family, Family::kIPv6);
  EXPECT_TRUE(e.Exact());
  bool container = false;
  for (const auto& ie : e.interfaces)
    for (const auto& en : ie.entries)
      container |= en.target.kind == ExposureTarget::kContainer &&
                   en.target.to_address == *IpAddress::Parse("2001:db8:2::2");
  EXPECT_TRUE(container) << Dump(e);
  CrossCheck(h, e, 3000);
}

TEST(Exposure, UnknownMatchesGiveOverAndUnder) {
  Host h("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A INPUT -p tcp -m tcp --dport 22 -m recent --rcheck --seconds 60 --name ssh -j DROP\n"
         "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
         "-A INPUT -p tcp -m tcp --dport 80 -m statistic --mode random --probability 0.5 -j ACCEPT\n"
         "-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT\nCOMMIT\n",
         kAddr, kRoute);
  auto e = ComputeExposure(*h.model, Outside());
  EXPECT_FALSE(e.Exact());
  EXPECT_EQ(e.unknowns.size(), 2u);
  int over = 0, exact = 0;
  for (const auto& en : e.interfaces[0].entries) {
    if (en.reach == Reach::kOver) ++over;
    if (en.reach == Reach::kExact) {
      ++exact;
      ASSERT_EQ(en.ports.size(), 1u);
      EXPECT_EQ(en.ports[0].lo, 443);
    }
  }
  EXPECT_EQ(over, 1) << Dump(e);   // 22 and 80, only in the over-approximation
  EXPECT_EQ(exact, 1) << Dump(e);
  CrossCheck(h, e, 2000);
}

TEST(Exposure, UnknownButSureIsUnder) {
  // Whatever `recent` answers, 22 is accepted (both branches accept).
  Host h("*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A INPUT -p tcp -m tcp --dport 22 -m recent --rcheck --name x -j ACCEPT\n"
         "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n",
         kAddr, kRoute);
  auto e = ComputeExposure(*h.model, Outside());
  bool under = false;
  for (const auto& en : e.interfaces[0].entries) under |= en.reach == Reach::kUnder;
  EXPECT_TRUE(under) << Dump(e);
  CrossCheck(h, e, 1000);
}

TEST(Exposure, ServiceMatrix) {
  Host h("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A FORWARD -s 10.0.0.0/24 -d 172.17.0.0/16 -p tcp -m tcp --dport 22 -j ACCEPT\n"
         "-A FORWARD -s 10.0.0.0/24 -d 203.0.113.0/24 -p tcp -j ACCEPT\n"
         "-A FORWARD -d 172.17.0.5/32 -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n",
         "[]", "[]");
  ExposureOptions o;
  o.scope = ExposureOptions::Scope::kFilterForward;
  auto m = ComputeServiceMatrix(*h.model, 6, 22, o);
  EXPECT_TRUE(m.unknowns.empty());
  // Classes: 10.0.0.0/24, 172.17.0.5, 172.17/16 minus .5 with 203.0.113/24
  // (both reached from 10.0.0.0/24 only), the rest.
  std::string classes;
  for (const auto& c : m.classes) {
    for (const auto& x : c) classes += x.ToString() + " ";
    classes += "| ";
  }
  EXPECT_EQ(m.classes.size(), 4u) << classes;
  EXPECT_EQ(m.edges.size(), m.edges_under.size());
  auto class_of = [&](const char* a) {
    for (size_t i = 0; i < m.classes.size(); ++i)
      if (InCidrs(m.classes[i], *IpAddress::Parse(a))) return static_cast<int>(i);
    return -1;
  };
  auto edge = [&](const char* a, const char* b) {
    for (auto [x, y] : m.edges)
      if (x == class_of(a) && y == class_of(b)) return true;
    return false;
  };
  EXPECT_EQ(class_of("172.17.0.9"), class_of("203.0.113.1"));
  EXPECT_TRUE(edge("10.0.0.1", "172.17.0.9"));
  EXPECT_TRUE(edge("10.0.0.1", "203.0.113.1"));
  EXPECT_TRUE(edge("8.8.8.8", "172.17.0.5"));
  EXPECT_FALSE(edge("8.8.8.8", "172.17.0.9"));
  EXPECT_FALSE(edge("172.17.0.9", "10.0.0.1"));
}

TEST(Exposure, World) {
  auto w = WorldRanges(Family::kIPv4);
  EXPECT_TRUE(InCidrs(w, *IpAddress::Parse("198.51.100.7")));
  EXPECT_FALSE(InCidrs(w, *IpAddress::Parse("10.1.2.3")));
  EXPECT_FALSE(InCidrs(w, *IpAddress::Parse("192.168.1.1")));
  EXPECT_TRUE(TouchesWorld({*Cidr::Parse("0.0.0.0/0")}));
  EXPECT_FALSE(TouchesWorld({*Cidr::Parse("10.0.0.0/8")}));
  EXPECT_TRUE(TouchesWorld({*Cidr::Parse("2001:db8::/32")}));
  ExposureEntry en;
  en.sources = {*Cidr::Parse("0.0.0.0/0")};
  en.protocol = 6;
  en.ports = {{2377, 2377}};
  EXPECT_EQ(ExposedControlPort(en), 2377);
  en.sources = {*Cidr::Parse("10.0.0.0/8")};
  EXPECT_EQ(ExposedControlPort(en), 0);
}

// ---- the Docker fixtures ------------------------------------------------------

TEST(ExposureFixture, Docker2010EveryPublishedPort) {
  for (const char* node : {"m1", "w1", "w2"}) {
    Host h = Host::Fixture("docker-20.10-swarm", node);
    auto e = ComputeExposure(*h.model, Outside());
    auto docker = ExplainDocker(h.ruleset);
    ASSERT_FALSE(docker.ports.empty()) << node;
    for (const auto& p : docker.ports) {
      auto to = netfilter::IpAddress::Parse(p.container.substr(0, p.container.find(':')));
      uint16_t to_port = static_cast<uint16_t>(std::stoi(p.container.substr(p.container.find(':') + 1)));
      uint16_t port = static_cast<uint16_t>(std::stoi(p.host_ports));
      bool found = false;
      for (const auto& ie : e.interfaces)
        for (const auto& en : ie.entries)
          if (ie.interface == "eth0" && en.target.kind == ExposureTarget::kContainer &&
              en.target.to_address == *to && en.target.to_port == to_port && InPorts(en.ports, port) &&
              InCidrs(en.sources, *IpAddress::Parse("198.51.100.7")))
            found = true;
      EXPECT_TRUE(found) << node << " " << p.host_ports << " -> " << p.container << "\n" << Dump(e);
    }
    CrossCheck(h, e, 1500, 7);
  }
}

TEST(ExposureFixture, Docker285RawDropsAndLoopback) {
  Host h = Host::Fixture("docker-28.5-swarm", "node");
  ExposureOptions o;
  o.interfaces = {"eth0", "docker0", "docker_gwbridge"};
  auto e = ComputeExposure(*h.model, o);
  bool web = false, api = false;
  for (const auto& ie : e.interfaces) {
    for (const auto& en : ie.entries) {
      if (ie.interface != "eth0") continue;
      // Containers are not reachable directly from outside (raw PREROUTING drops).
      if (en.target.kind == ExposureTarget::kForward) {
        for (const char* c : {"172.17.0.2", "172.17.0.3", "172.18.0.2", "172.18.0.3"}) {
          EXPECT_FALSE(InCidrs(en.target.addresses, *IpAddress::Parse(c))) << c << "\n" << Dump(e);
        }
      }
      if (en.target.kind == ExposureTarget::kContainer) {
        // The loopback-only publish is not reachable from outside.
        EXPECT_NE(en.target.to_address, *IpAddress::Parse("172.17.0.3")) << Dump(e);
        if (en.target.to_address == *IpAddress::Parse("172.17.0.2") && InPorts(en.ports, 8080)) web = true;
        if (en.target.to_address == *IpAddress::Parse("172.18.0.3") && InPorts(en.ports, 9090)) api = true;
      }
    }
  }
  EXPECT_TRUE(web) << Dump(e);
  EXPECT_TRUE(api) << Dump(e);
  CrossCheck(h, e, 3000, 3);
  // The IPv6 rules.
  Host h6 = Host::Fixture("docker-28.5-swarm", "node", true);
  auto e6 = ComputeExposure(*h6.model, o);
  CrossCheck(h6, e6, 1000, 5);
}

}  // namespace
}  // namespace swarmwall::analyze

namespace swarmwall::analyze {
namespace {

// Random rulesets (nat DNAT/REDIRECT with a user chain, filter user chains
// with jumps, gotos and RETURN, marks, sets, conntrack original-destination
// matches, interfaces, ports, multiport, addrtype, one undecidable match
// now and then), each cross-checked against trace on random packets.
std::string RandomRuleset(std::mt19937& rng, bool v6) {
  auto pick = [&](std::initializer_list<const char*> l) { return *(l.begin() + rng() % l.size()); };
  auto cidr = [&] {
    return v6 ? std::string(pick({"2001:db8::/64", "2001:db8:1::/48", "2001:db8::11/128", "2001:db8:2::2/128",
                                  "2001:db8:1::5/128", "::/1"}))
              : std::string(pick({"198.51.100.0/24", "198.51.100.0/25", "10.0.0.0/24", "10.0.0.5/32",
                                  "203.0.113.11/32", "172.17.0.2/32", "172.17.0.0/16", "0.0.0.0/1"}));
  };
  auto cond = [&](bool nat, bool out_ok = false) {
    std::string s;
    if (rng() % 3 == 0) s += fmt::format(" {}-s {}", rng() % 4 == 0 ? "! " : "", cidr());
    if (rng() % 4 == 0) s += fmt::format(" {}-d {}", rng() % 4 == 0 ? "! " : "", cidr());
    if (rng() % 3 == 0) s += fmt::format(" {}-i {}", rng() % 4 == 0 ? "! " : "", pick({"eth0", "eth1", "eth+", "docker0"}));
    if (out_ok && rng() % 5 == 0) s += fmt::format(" -o {}", pick({"eth0", "eth1", "docker0"}));
    int p = rng() % 5;
    if (p == 0 || p == 1) {
      s += fmt::format(" -p {} -m {} --dport {}", p ? "tcp" : "udp", p ? "tcp" : "udp",
                       pick({"22", "80", "8080", "1000:2000", "2377", "443"}));
    } else if (p == 2) {
      s += fmt::format(" -p tcp -m multiport {}--dports {}", rng() % 4 == 0 ? "! " : "", pick({"80,443", "22,8000:8100"}));
    } else if (p == 3 && rng() % 2) {
      s += " -p tcp";
    }
    if (!nat && rng() % 6 == 0) s += fmt::format(" -m mark --mark {}", pick({"0x1", "0x0"}));
    if (!nat && rng() % 7 == 0) s += fmt::format(" -m conntrack --ctorigdstport {}", pick({"8080", "80"}));
    if (!nat && rng() % 8 == 0) s += " -m conntrack --ctstate DNAT";
    if (rng() % 8 == 0) s += fmt::format(" -m set {}--match-set allow src", rng() % 3 == 0 ? "! " : "");
    if (rng() % 9 == 0) s += " -m addrtype --dst-type LOCAL";
    if (rng() % 15 == 0) s += " -m statistic --mode random --probability 0.5";
    return s;
  };
  std::string nat = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n:PUB - [0:0]\n";
  nat += "-A PREROUTING -m addrtype --dst-type LOCAL -j PUB\n";
  for (int i = rng() % 4; i > 0; --i) {
    std::string c = cond(true);
    bool ports = c.find("-p ") != std::string::npos;
    nat += fmt::format("-A PUB{} -j DNAT --to-destination {}\n", c,
                       !ports ? (v6 ? "2001:db8:2::2" : "172.17.0.2")
                       : v6   ? pick({"[2001:db8:2::2]:80", "[2001:db8:2::3]:8080"})
                              : pick({"172.17.0.2:80", "172.17.0.3:8080"}));
  }
  if (rng() % 3 == 0)
    nat += fmt::format("-A PREROUTING -i {} -p tcp -m tcp --dport {} -j REDIRECT --to-ports 2222\n",
                       pick({"eth0", "eth1"}), pick({"80", "22", "1000:2000"}));
  nat += "-A POSTROUTING -o eth0 -j MASQUERADE\nCOMMIT\n";
  std::string mangle = "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n";
  if (rng() % 2) mangle += fmt::format("-A PREROUTING{} -j MARK --set-xmark 0x1/0xffffffff\n", cond(true));
  mangle += "COMMIT\n";
  std::string filter = fmt::format("*filter\n:INPUT {} [0:0]\n:FORWARD {} [0:0]\n:OUTPUT ACCEPT [0:0]\n:A - [0:0]\n:B - [0:0]\n",
                                   pick({"ACCEPT", "DROP"}), pick({"ACCEPT", "DROP"}));
  auto target = [&](const char* self) {
    std::string t = pick({"ACCEPT", "DROP", "REJECT", "RETURN", "A", "B", "goto", "LOG"});
    if (t == "goto") return std::string(" -g ") + (std::string(self) == "B" ? "A" : "B");
    if ((t == "A" || t == "B") && (std::string(self) == "A" || std::string(self) == "B")) t = std::string(self) == "A" ? "B" : "ACCEPT";
    if (t == "A" && std::string(self) == "A") t = "ACCEPT";
    return " -j " + t;
  };
  // A may jump to B, B never to A (no loops).
  for (const char* chain : {"INPUT", "FORWARD", "A", "B"}) {
    for (int i = 2 + rng() % 5; i > 0; --i) {
      std::string t = target(chain);
      if (std::string(chain) == "B" && (t == " -j A" || t == " -g A" || t == " -j B" || t == " -g B")) t = " -j RETURN";
      if (std::string(chain) == "A" && (t == " -g A" || t == " -j A")) t = " -j DROP";
      if ((std::string(chain) == "INPUT" || std::string(chain) == "FORWARD") && t == " -j RETURN") t = " -j DROP";
      filter += fmt::format("-A {}{}{}\n", chain, cond(false, std::string(chain) == "FORWARD"), t);
    }
  }
  filter += "COMMIT\n";
  return mangle + nat + filter;
}

TEST(ExposureRandom, AgreesWithTrace) {
  const char* sets4 = "create allow hash:net family inet hashsize 1024 maxelem 65536\n"
                      "add allow 198.51.100.0/25\nadd allow 10.0.0.0/24\nadd allow 10.0.0.5 nomatch\n";
  const char* sets6 = "create allow hash:net family inet6 hashsize 1024 maxelem 65536\n"
                      "add allow 2001:db8:1::/48\n";
  int n = 0, entered = 0;
  const int seeds = kSanitized ? 50 : 200;   // base/sanitized.h
  for (uint32_t seed = 1; seed <= static_cast<uint32_t>(seeds); ++seed) {
    std::mt19937 rng(seed);
    bool v6 = seed % 3 == 0;
    std::string rules = RandomRuleset(rng, v6);
    Host h(rules, kAddr, v6 ? kRoute6 : kRoute, v6 ? sets6 : sets4);
    auto e = ComputeExposure(*h.model, ExposureOptions{});
    SCOPED_TRACE(rules);
    entered += CrossCheck(h, e, 500, seed);
    ++n;
    if (HasFailure()) break;
  }
  EXPECT_EQ(n, seeds);
  EXPECT_GT(entered, seeds * 500 / 10);   // a good part of the packets get in somewhere
  std::cout << entered << " of " << seeds * 500 << " random packets got in\n";
}

}  // namespace
}  // namespace swarmwall::analyze

namespace swarmwall::analyze {
namespace {

TEST(ExposureMatrix, ClassesFromTheOverApproximationOnly) {
  // 10/8 reaches 172.16/12 for sure, the rest only under `recent`: over,
  // every address reaches 172.16/12 alike (2 classes, as fffuu has them).
  Host h("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A FORWARD -s 10.0.0.0/8 -d 172.16.0.0/12 -p tcp -m tcp --dport 22 -j ACCEPT\n"
         "-A FORWARD -d 172.16.0.0/12 -p tcp -m tcp --dport 22 -m recent --rcheck --name x -j ACCEPT\n"
         "COMMIT\n",
         "[]", "[]");
  ExposureOptions o;
  o.scope = ExposureOptions::Scope::kFilterForward;
  auto m = ComputeServiceMatrix(*h.model, 6, 22, o);
  ASSERT_EQ(m.classes.size(), 2u);
  EXPECT_EQ(m.edges.size(), 2u);        // both classes -> 172.16/12 (which is in one of them)
  EXPECT_TRUE(m.edges_under.empty());   // not every member of a class reaches for sure
  EXPECT_EQ(m.unknowns.size(), 1u);
}

TEST(ExposureMatrix, MarksAreUndecidableInAFilterChainAlone) {
  Host h("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A FORWARD -m mark --mark 0x2 -j ACCEPT\nCOMMIT\n",
         "[]", "[]");
  ExposureOptions o;
  o.scope = ExposureOptions::Scope::kFilterForward;
  auto m = ComputeServiceMatrix(*h.model, 6, 22, o);
  EXPECT_EQ(m.edges.size(), 1u);
  EXPECT_TRUE(m.edges_under.empty());
  ASSERT_EQ(m.unknowns.size(), 1u);
  EXPECT_EQ(m.unknowns[0].what, "-m mark");
}

TEST(ExposureMatrix, SourcePorts) {
  Host h("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A FORWARD -d 192.0.2.5/32 -p tcp -m tcp --sport 443 -j ACCEPT\nCOMMIT\n",
         "[]", "[]");
  ExposureOptions o;
  o.scope = ExposureOptions::Scope::kFilterForward;
  EXPECT_EQ(ComputeServiceMatrix(*h.model, 6, 22, o).edges.size(), 2u);   // everyone (itself too) -> 192.0.2.5
  o.sports = {{10000, 10000}};
  EXPECT_EQ(ComputeServiceMatrix(*h.model, 6, 22, o).edges.size(), 0u);
}

// The undecidable -i match says which interface it is about, and why.
TEST(ExposureMatrix, UnknownInterfaceIsNamed) {
  const char* rules =
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      "-A FORWARD -i eth7 -j ACCEPT\nCOMMIT\n";
  Host h(rules, "[]", "[]");
  ExposureOptions o;
  o.scope = ExposureOptions::Scope::kFilterForward;
  auto m = ComputeServiceMatrix(*h.model, 6, 22, o);
  ASSERT_EQ(m.unknowns.size(), 1u);
  EXPECT_NE(m.unknowns[0].why.find("no host facts, no ipassmt): it may or may not be eth7"), std::string::npos)
      << m.unknowns[0].why;
  IpAssignment a;
  std::string error;
  ASSERT_TRUE(ParseIpAssignment("eth0 = [10.0.0.0/8]\n", a, error)) << error;
  o.ipassmt = &a;
  m = ComputeServiceMatrix(*h.model, 6, 22, o);
  ASSERT_EQ(m.unknowns.size(), 1u);
  EXPECT_NE(m.unknowns[0].why.find("the ipassmt does not list eth7"), std::string::npos) << m.unknowns[0].why;
}

// fffuu's generic assignment (exposure --fffuu-lo): lo carries loopback
// sources only, so an accept of everything on lo reaches from 127/8 only.
TEST(ExposureMatrix, GenericLoAssignment) {
  Host h("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A FORWARD -i lo -j ACCEPT\nCOMMIT\n",
         "[]", "[]");
  ExposureOptions o;
  o.scope = ExposureOptions::Scope::kFilterForward;
  o.ipassmt = &GenericLoAssignment(netfilter::Family::kIPv4);
  auto m = ComputeServiceMatrix(*h.model, 6, 22, o);
  EXPECT_TRUE(m.unknowns.empty());
  ASSERT_EQ(m.classes.size(), 2u);   // 127.0.0.0/8 and the rest
  EXPECT_EQ(m.edges.size(), 2u);     // from 127/8 to both classes
}

}  // namespace
}  // namespace swarmwall::analyze
