// trace on small rulesets (one semantic each) and on the Docker fixtures.
// Regression cases found by the differential test against the kernel
// (tests/analyze) are at the end.
#include "analyze/trace/trace.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "analyze/trace/trace_report.h"
#include "analyze/test_host.h"
#include "netfilter/parser.h"

namespace swarmwall::analyze {
namespace {

using netfilter::IpAddress;

using test::ReadFile;
using test::Shared;

// A ruleset, the host's facts and a model over them.
struct Host : test::HostBase<Host> {
  using HostBase::HostBase;
  TraceResult Trace(const std::string& in, const std::string& src, const std::string& dst,
                    uint16_t proto, uint16_t dport, uint8_t state = kCtNew, uint16_t sport = 40000) {
    TraceInput t = Input(in, src, dst, proto, dport, state, sport);
    auto r = model->Trace(t);
    // The fast path agrees with the full trace.
    EXPECT_EQ(model->Verdict(t).fate, r.outcome.fate);
    return r;
  }
  TraceInput Input(const std::string& in, const std::string& src, const std::string& dst,
                   uint16_t proto, uint16_t dport, uint8_t state = kCtNew, uint16_t sport = 40000) {
    TraceInput t;
    in_ = in;
    t.packet.src = *IpAddress::Parse(src);
    t.packet.dst = *IpAddress::Parse(dst);
    t.packet.family = t.packet.src.family;
    t.packet.protocol = proto;
    t.packet.sport = sport;
    t.packet.dport = dport;
    t.packet.icmp_type = static_cast<uint8_t>(dport);
    t.packet.tcp_flags = state == kCtNew ? kTcpSyn : kTcpAck;
    t.state = state;
    if (in == "local") t.local_origin = true;
    else t.packet.in = in_;
    return t;
  }
  std::string in_;
};

const char* kAddr = R"([
 {"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
 {"ifname":"eth0","addr_info":[{"family":"inet","local":"203.0.113.11","prefixlen":24}]},
 {"ifname":"eth1","addr_info":[{"family":"inet","local":"10.0.0.1","prefixlen":24}]},
 {"ifname":"docker0","addr_info":[{"family":"inet","local":"172.17.0.1","prefixlen":16}]}])";
const char* kRoute = R"([
 {"dst":"default","gateway":"203.0.113.100","dev":"eth0"},
 {"dst":"203.0.113.0/24","dev":"eth0","prefsrc":"203.0.113.11"},
 {"dst":"10.0.0.0/24","dev":"eth1","prefsrc":"10.0.0.1"},
 {"dst":"172.17.0.0/16","dev":"docker0","prefsrc":"172.17.0.1"}])";

// ---- small rulesets ----------------------------------------------------------

TEST(Trace, PolicyAndFirstMatch) {
  Host h("*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
         "-A INPUT -p udp -m multiport --dports 53,100:200 -j ACCEPT\nCOMMIT\n",
         kAddr, kRoute);
  auto r = h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 22);
  EXPECT_EQ(r.outcome.fate, Fate::kLocal);
  EXPECT_TRUE(r.Definite());
  EXPECT_EQ(h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 23).outcome.fate, Fate::kDrop);
  EXPECT_EQ(h.Trace("eth0", "198.51.100.7", "203.0.113.11", 17, 150).outcome.fate, Fate::kLocal);
  EXPECT_EQ(h.Trace("eth0", "198.51.100.7", "203.0.113.11", 17, 201).outcome.fate, Fate::kDrop);
  EXPECT_EQ(r.outcome.final_packet.dport, 22);
}

TEST(Trace, JumpGotoReturn) {
  Host h("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         ":A - [0:0]\n:B - [0:0]\n:C - [0:0]\n"
         "-A INPUT -j A\n-A INPUT -p tcp -j DROP\n"
         "-A A -s 198.51.100.0/24 -g B\n-A A -j RETURN\n"
         "-A B -p tcp -m tcp --dport 80 -j ACCEPT\n-A B -j C\n-A B -p tcp -m tcp --dport 81 -j ACCEPT\n"
         "-A C -p tcp -m tcp --dport 81 -j RETURN\n-A C -j REJECT\nCOMMIT\n",
         kAddr, kRoute);
  EXPECT_EQ(h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 80).outcome.fate, Fate::kLocal);
  // C returns to B (81 accepted there)
  EXPECT_EQ(h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 81).outcome.fate, Fate::kLocal);
  EXPECT_EQ(h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 82).outcome.fate, Fate::kReject);
  // B was reached by goto: the end of B returns to INPUT after "-j A", so DROP
  Host g("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         ":A - [0:0]\n:B - [0:0]\n"
         "-A INPUT -j A\n-A INPUT -j DROP\n-A A -g B\n-A A -j ACCEPT\n-A B -j RETURN\nCOMMIT\n",
         kAddr, kRoute);
  auto r = g.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 80);
  EXPECT_EQ(r.outcome.fate, Fate::kDrop);
  EXPECT_EQ(r.outcome.where, "filter INPUT rule 2");
}

TEST(Trace, ReturnFromBuiltinIsPolicy) {
  Host h("*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A INPUT -j RETURN\n-A INPUT -j ACCEPT\nCOMMIT\n", kAddr, kRoute);
  auto r = h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 80);
  EXPECT_EQ(r.outcome.fate, Fate::kDrop);
  EXPECT_EQ(r.outcome.where, "filter INPUT policy");
}

TEST(Trace, DnatRedirectMasquerade) {
  Host h("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         ":POSTROUTING ACCEPT [0:0]\n"
         "-A PREROUTING -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.5:80\n"
         "-A PREROUTING -p tcp -m tcp --dport 2222 -j REDIRECT --to-ports 22\n"
         "-A POSTROUTING -o eth1 -j MASQUERADE\nCOMMIT\n"
         "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A FORWARD -m conntrack --ctstate DNAT --ctorigdstport 8080 -j ACCEPT\nCOMMIT\n",
         kAddr, kRoute);
  auto r = h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 8080);
  ASSERT_EQ(r.outcome.fate, Fate::kForward);
  EXPECT_EQ(r.outcome.final_packet.dst.ToString(), "10.0.0.5");
  EXPECT_EQ(r.outcome.final_packet.dport, 80);
  EXPECT_EQ(r.outcome.final_packet.src.ToString(), "10.0.0.1");   // masqueraded
  EXPECT_EQ(r.outcome.final_packet.out, "eth1");
  EXPECT_EQ(r.rewrites.size(), 2u);
  auto red = h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 2222);
  ASSERT_EQ(red.outcome.fate, Fate::kLocal);
  EXPECT_EQ(red.outcome.final_packet.dport, 22);
  EXPECT_EQ(red.outcome.final_packet.dst.ToString(), "203.0.113.11");
  // Not DNATed: FORWARD's policy drops a packet routed through.
  EXPECT_EQ(h.Trace("eth0", "198.51.100.7", "10.0.0.5", 6, 80).outcome.fate, Fate::kDrop);
  // ESTABLISHED: the connection's NAT still applies (traced through nat as its first packet)
  auto est = h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 8080, kCtEstablished);
  EXPECT_EQ(est.outcome.fate, Fate::kForward);
}

TEST(Trace, SetsAddrtypeIprangeMark) {
  Host h("*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
         ":OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
         "-A PREROUTING -m set --match-set office src -j MARK --set-xmark 0x1/0xff\nCOMMIT\n"
         "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A INPUT -m mark --mark 0x1/0xff -m addrtype --dst-type LOCAL -j ACCEPT\n"
         "-A INPUT -m set --match-set svc dst,dst -j ACCEPT\n"
         "-A INPUT -m iprange --src-range 192.0.2.10-192.0.2.20 -j ACCEPT\nCOMMIT\n",
         kAddr, kRoute,
         "create office hash:net family inet\nadd office 198.51.100.0/24\n"
         "add office 198.51.100.128/25 nomatch\n"
         "create svc hash:ip,port family inet\nadd svc 203.0.113.11,udp:53\n");
  EXPECT_EQ(h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 1).outcome.fate, Fate::kLocal);
  EXPECT_EQ(h.Trace("eth0", "198.51.100.200", "203.0.113.11", 6, 1).outcome.fate, Fate::kDrop);
  EXPECT_EQ(h.Trace("eth0", "192.0.2.1", "203.0.113.11", 17, 53).outcome.fate, Fate::kLocal);
  EXPECT_EQ(h.Trace("eth0", "192.0.2.1", "203.0.113.11", 6, 53).outcome.fate, Fate::kDrop);
  EXPECT_EQ(h.Trace("eth0", "192.0.2.15", "203.0.113.11", 6, 1).outcome.fate, Fate::kLocal);
}

TEST(Trace, UnknownMatchGivesBothVerdicts) {
  Host h("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A INPUT -p tcp -m statistic --mode random --probability 0.5 -j DROP\n"
         "-A INPUT -m set --match-set nosuch src -j ACCEPT\nCOMMIT\n",
         kAddr, kRoute);
  auto r = h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 80);
  EXPECT_FALSE(r.Definite());
  EXPECT_EQ(VerdictText(r), "ACCEPT or DROP");
  EXPECT_EQ(r.unknowns.size(), 2u);
  // A rule whose other match is false is decided whatever the unknown says.
  auto udp = h.Trace("eth0", "198.51.100.7", "203.0.113.11", 17, 80);
  EXPECT_EQ(udp.outcome.fate, Fate::kLocal);
}

TEST(Trace, UnknownMatchOnNatKeepsEveryDestination) {
  Host h("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         ":POSTROUTING ACCEPT [0:0]\n"
         "-A PREROUTING -p tcp -m statistic --mode random --probability 0.5 -j REDIRECT --to-ports 81\n"
         "-A PREROUTING -p tcp -j REDIRECT --to-ports 82\nCOMMIT\n",
         kAddr, kRoute);
  auto r = h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 80);
  EXPECT_EQ(r.outcome.final_packet.dport, 82);
  ASSERT_EQ(r.alternatives.size(), 1u);
  EXPECT_EQ(r.alternatives[0].final_packet.dport, 81);
  EXPECT_EQ(VerdictText(r), "ACCEPT");
}

TEST(Trace, RoutingAndMartians) {
  Host h("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n",
         kAddr, kRoute);
  EXPECT_EQ(h.Trace("eth0", "198.51.100.7", "127.0.0.1", 6, 80).outcome.fate, Fate::kMartian);
  EXPECT_EQ(h.Trace("eth0", "10.0.0.1", "203.0.113.11", 6, 80).outcome.fate, Fate::kMartian);
  auto f = h.Trace("eth1", "10.0.0.9", "192.0.2.1", 6, 80);
  EXPECT_EQ(f.outcome.fate, Fate::kForward);
  EXPECT_EQ(f.outcome.final_packet.out, "eth0");
  auto l = h.Trace("local", "127.0.0.1", "127.0.0.1", 6, 5432);
  EXPECT_EQ(l.outcome.fate, Fate::kLocal);
}

TEST(Trace, RawNotrackSkipsNat) {
  Host h("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A PREROUTING -p udp -j CT --notrack\nCOMMIT\n"
         "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         ":POSTROUTING ACCEPT [0:0]\n-A PREROUTING -j DNAT --to-destination 10.0.0.5\nCOMMIT\n"
         "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A INPUT -m conntrack --ctstate UNTRACKED -j ACCEPT\nCOMMIT\n",
         kAddr, kRoute);
  EXPECT_EQ(h.Trace("eth0", "198.51.100.7", "203.0.113.11", 17, 53).outcome.fate, Fate::kLocal);
  auto t = h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 53);
  EXPECT_EQ(t.outcome.fate, Fate::kForward);
}

TEST(Trace, IndexedFastPathAgreesWithFullTrace) {
  // Long chains get a RuleIndex; the fast path skips rules by it, the full
  // trace meets every rule. Both must end the same for every packet.
  std::string rules = "*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                      ":L - [0:0]\n:M - [0:0]\n-A INPUT -j L\n-A INPUT -p udp -j M\n";
  for (int i = 0; i < 200; ++i) {
    rules += fmt::format("-A L -s 198.51.100.{}/32 -p tcp -m tcp --dport {} -j {}\n", i % 100,
                         20 + i % 7, i % 3 == 0 ? "DROP" : i % 3 == 1 ? "ACCEPT" : "M");
    if (i % 50 == 0) rules += "-A L -p tcp -m tcp --dport 22 -j RETURN\n";
    rules += fmt::format("-A M -p udp -m udp --dport {} -j {}\n", 1000 + i % 40,
                         i % 2 ? "ACCEPT" : "RETURN");
    if (i % 30 == 0) rules += fmt::format("-A M -d 203.0.113.11 -m udp -p udp --sport {} -j DROP\n", i);
  }
  rules += "COMMIT\n";
  Host h(rules, kAddr, kRoute);
  ASSERT_NE(h.model->table("filter")->chains[h.model->table("filter")->Find("L")].index, nullptr);
  for (int i = 0; i < 2000; ++i) {
    uint16_t proto = i % 2 ? 6 : 17;
    uint16_t port = static_cast<uint16_t>(i % 3 ? 20 + i % 9 : 1000 + i % 45);
    auto in = h.Input(i % 5 ? "eth0" : "eth1", fmt::format("198.51.100.{}", i % 110), "203.0.113.11",
                      proto, port, kCtNew, static_cast<uint16_t>(i % 200));
    auto full = h.model->Trace(in);
    auto fast = h.model->Verdict(in);
    ASSERT_EQ(fast.fate, full.outcome.fate) << i;
  }
}

// Regression (found by tests/analyze): a chain entered by -g from a built-in
// chain ends in the built-in chain's policy, not its own (user chains have none).
TEST(Trace, GotoFromBuiltinChainEndsInItsPolicy) {
  Host h("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:U1 - [0:0]\n"
         "-A FORWARD -g U1\n-A FORWARD -j ACCEPT\nCOMMIT\n",
         kAddr, kRoute);
  auto r = h.Trace("eth1", "10.0.0.9", "192.0.2.1", 6, 80);
  EXPECT_EQ(r.outcome.fate, Fate::kDrop);
  EXPECT_EQ(r.outcome.where, "filter FORWARD policy");
}

// xt_conntrack without a connection: an instance with --ctstate answers by
// the state alone; one without answers no, negated or not.
TEST(Trace, ConntrackOptionsWithoutAConnection) {
  Host h("*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A PREROUTING -m conntrack ! --ctorigdst 10.9.9.9 -j DROP\n"
         "-A PREROUTING -p tcp -m tcp --dport 81 -m conntrack --ctstate INVALID ! --ctorigdst 203.0.113.11 -j DROP\n"
         "COMMIT\n", kAddr, kRoute);
  EXPECT_EQ(h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 80).outcome.fate, Fate::kLocal);
  // --ctstate INVALID holds in raw; the other option is then ignored.
  auto r = h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 81);
  EXPECT_EQ(r.outcome.fate, Fate::kDrop);
  EXPECT_EQ(r.outcome.where, "raw PREROUTING rule 2");
}

// Regression (found by tests/analyze): a DNAT in nat OUTPUT re-routes the
// packet, but filter OUTPUT's -o still sees the interface of the first route
// (the hook's output device is fixed when the hook is called); POSTROUTING
// sees the new one.
TEST(Trace, OutputKeepsTheFirstRoutesInterface) {
  Host h("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         ":POSTROUTING ACCEPT [0:0]\n-A OUTPUT -p udp -j DNAT --to-destination 10.0.0.5\n"
         "-A POSTROUTING -o eth1 -j MASQUERADE\nCOMMIT\n"
         "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT DROP [0:0]\n"
         "-A OUTPUT -o eth0 -j ACCEPT\nCOMMIT\n",
         kAddr, kRoute);
  auto r = h.Trace("local", "203.0.113.11", "198.51.100.7", 17, 53);
  ASSERT_EQ(r.outcome.fate, Fate::kSent);
  EXPECT_EQ(r.outcome.final_packet.out, "eth1");
  EXPECT_EQ(r.outcome.final_packet.dst.ToString(), "10.0.0.5");
  EXPECT_EQ(r.outcome.final_packet.src.ToString(), "10.0.0.1");
}

// Regression (found by tests/analyze): IPv6 address types are not exclusive
// as IPv4's are: the host's own address is UNICAST and LOCAL.
TEST(Trace, Ipv6AddrtypeLocalIsAlsoUnicast) {
  const char* addr = R"([{"ifname":"lo","addr_info":[{"family":"inet6","local":"::1","prefixlen":128}]},
    {"ifname":"eth0","addr_info":[{"family":"inet6","local":"2001:db8:1::1","prefixlen":64}]}])";
  const char* route = R"([{"dst":"2001:db8:1::/64","dev":"eth0"}])";
  Host h("*filter\n:INPUT DROP [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
         "-A INPUT -m addrtype --dst-type UNICAST -m addrtype --dst-type LOCAL -j ACCEPT\nCOMMIT\n",
         addr, route);
  EXPECT_EQ(h.Trace("eth0", "2001:db8:1::7", "2001:db8:1::1", 6, 22).outcome.fate, Fate::kLocal);
}

// ---- Docker fixtures -----------------------------------------------------------

TEST(TraceFixtures, Docker2010StrangerReachesPublishedPortThroughDnat) {
  auto h = Host::Fixture("docker-20.10-swarm", "m1");
  auto r = h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 80);
  ASSERT_EQ(r.outcome.fate, Fate::kForward) << TraceText(r, h.Input("eth0", "198.51.100.7", "203.0.113.11", 6, 80), h.ruleset.family);
  EXPECT_EQ(r.outcome.final_packet.dst.ToString(), "172.17.0.3");
  EXPECT_EQ(r.outcome.final_packet.dport, 80);
  EXPECT_EQ(r.outcome.final_packet.out, "docker_gwbridge");
  EXPECT_EQ(r.outcome.final_packet.src.ToString(), "198.51.100.7");
  auto r443 = h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 443);
  EXPECT_EQ(r443.outcome.final_packet.dport, 80);
  EXPECT_EQ(DescribeOutcome(r443.outcome),
            "forwarded out of docker_gwbridge to 172.17.0.3:80/tcp (source 198.51.100.7:40000)");
}

TEST(TraceFixtures, Docker2010SwarmManagementPortReachesHost) {
  auto h = Host::Fixture("docker-20.10-swarm", "m1");
  auto r = h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 2377);
  EXPECT_EQ(r.outcome.fate, Fate::kLocal);
  EXPECT_EQ(DescribeOutcome(r.outcome), "delivered to this host: 203.0.113.11:2377/tcp");
  EXPECT_TRUE(r.Definite());
}

TEST(TraceFixtures, Docker285RawDropsDirectAccessToContainer) {
  auto h = Host::Fixture("docker-28.5-swarm", "node");
  auto r = h.Trace("eth0", "198.51.100.7", "172.17.0.2", 6, 80);
  EXPECT_EQ(r.outcome.fate, Fate::kDrop);
  EXPECT_EQ(r.outcome.where, "raw PREROUTING rule 1");
  // Through the published port it passes.
  auto p = h.Trace("eth0", "198.51.100.7", "172.17.0.1", 6, 8080);
  EXPECT_EQ(p.outcome.fate, Fate::kForward);
  EXPECT_EQ(p.outcome.final_packet.dst.ToString(), "172.17.0.2");
  EXPECT_EQ(p.outcome.final_packet.out, "docker0");
}

TEST(TraceFixtures, Docker285LoopbackOnlyPublish) {
  auto h = Host::Fixture("docker-28.5-swarm", "node");
  auto r = h.Trace("eth0", "198.51.100.7", "127.0.0.1", 6, 5432);
  EXPECT_EQ(r.outcome.fate, Fate::kDrop);
  EXPECT_EQ(r.outcome.where, "raw PREROUTING rule 5");
  // From the host itself it reaches the loopback listener (docker-proxy).
  auto l = h.Trace("local", "127.0.0.1", "127.0.0.1", 6, 5432);
  EXPECT_EQ(l.outcome.fate, Fate::kLocal);
  EXPECT_EQ(l.outcome.final_packet.dport, 5432);
}

TEST(TraceFixtures, Docker285Ipv6) {
  auto h = Host::Fixture("docker-28.5-swarm", "node", true);
  auto r = h.Trace("eth0", "2001:db8::7", "2001:db8::1", 6, 80);
  EXPECT_NE(r.outcome.fate, Fate::kForward);
}

}  // namespace
}  // namespace swarmwall::analyze
