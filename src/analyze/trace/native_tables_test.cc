// trace over native nftables tables: Docker 29's nftables layout (moby's
// generated example, tests/nftables/docker29-portmap.*), alone and under an
// administrator's own table, and the nft semantics that differ from iptables.
#include "analyze/trace/native_tables.h"

#include <gtest/gtest.h>

#include "analyze/test_host.h"
#include "analyze/trace/trace_report.h"

namespace swarmwall::analyze {
namespace {

using netfilter::IpAddress;

const char* kAddr = R"([
 {"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
 {"ifname":"eth0","addr_info":[{"family":"inet","local":"203.0.113.11","prefixlen":24}]},
 {"ifname":"docker0","addr_info":[{"family":"inet","local":"172.17.0.1","prefixlen":16}]},
 {"ifname":"bridge1","addr_info":[{"family":"inet","local":"192.0.2.1","prefixlen":24}]}])";
const char* kRoute = R"([
 {"dst":"default","gateway":"203.0.113.1","dev":"eth0"},
 {"dst":"203.0.113.0/24","dev":"eth0","prefsrc":"203.0.113.11"},
 {"dst":"172.17.0.0/16","dev":"docker0","prefsrc":"172.17.0.1"},
 {"dst":"192.0.2.0/24","dev":"bridge1","prefsrc":"192.0.2.1"}])";
const char* kNoIptables = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";

std::string Json(const std::string& name) {
  return test::ReadFile(std::string(SWARMWALL_SOURCE_DIR) + "/tests/nftables/" + name);
}

struct Host : test::HostBase<Host> {
  using HostBase::HostBase;
  TraceResult Trace(const std::string& in, const std::string& src, const std::string& dst, uint16_t proto,
                    uint16_t dport, uint8_t state = kCtNew) {
    TraceInput t;
    t.packet.src = *IpAddress::Parse(src);
    t.packet.dst = *IpAddress::Parse(dst);
    t.packet.family = t.packet.src.family;
    t.packet.protocol = proto;
    t.packet.sport = 40000;
    t.packet.dport = dport;
    t.packet.tcp_flags = state == kCtNew ? kTcpSyn : kTcpAck;
    t.state = state;
    in_ = in;
    t.packet.in = in_;
    auto r = model->Trace(t);
    EXPECT_EQ(model->Verdict(t).fate, r.outcome.fate) << TraceText(r, t, model->family());
    return r;
  }
  std::string in_;
};

TEST(NativeTables, DockerPublishedPortIsForwardedToItsContainer) {
  Host h(kNoIptables, kAddr, kRoute, "", Json("docker29-portmap.json"));
  auto r = h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 8080);
  EXPECT_EQ(r.outcome.fate, Fate::kForward) << TraceText(r, {}, h.model->family());
  EXPECT_EQ(r.outcome.final_packet.dst.ToString(), "192.0.2.2");
  EXPECT_EQ(r.outcome.final_packet.dport, 80);
  EXPECT_EQ(r.outcome.final_packet.out, "bridge1");
  ASSERT_FALSE(r.rewrites.empty());
  EXPECT_NE(r.rewrites[0].find("DNAT"), std::string::npos);
  EXPECT_TRUE(r.Definite());
  // the rule that let it through is Docker's per-bridge accept
  bool seen = false;
  for (const auto& s : r.steps)
    if (s.chain == "filter-forward-in__bridge1" && s.matched == Tri::kTrue)
      seen = s.nft_text == "ip daddr 192.0.2.2 tcp dport 80 accept";
  EXPECT_TRUE(seen) << TraceText(r, {}, h.model->family());
}

TEST(NativeTables, DirectAccessAndUnpublishedPortsAreDropped) {
  Host h(kNoIptables, kAddr, kRoute, "", Json("docker29-portmap.json"));
  auto direct = h.Trace("eth0", "198.51.100.7", "192.0.2.2", 6, 80);
  EXPECT_EQ(direct.outcome.fate, Fate::kDrop);
  EXPECT_EQ(direct.outcome.where, "ip docker-bridges raw-PREROUTING rule 1");
  auto host_port = h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 22);
  EXPECT_EQ(host_port.outcome.fate, Fate::kLocal);
}

TEST(NativeTables, AnAcceptInOneTableDoesNotOverrideADropInAnother) {
  // An own table accepts everything at prerouting priority -400; Docker's
  // drop of direct access to a container (raw, -300) still applies.
  std::string own = Json("docker29-portmap.json");
  auto doc = own.substr(0, own.rfind(']'));
  doc += R"(, {"table": {"family": "inet", "name": "own", "handle": 9}},
 {"chain": {"family": "inet", "table": "own", "name": "pre", "handle": 1, "type": "filter", "hook": "prerouting", "prio": -400, "policy": "accept"}},
 {"rule": {"family": "inet", "table": "own", "chain": "pre", "handle": 2, "expr": [{"accept": null}]}}]})";
  Host h(kNoIptables, kAddr, kRoute, "", doc);
  auto r = h.Trace("docker0", "172.17.0.5", "192.0.2.2", 6, 80);
  EXPECT_EQ(r.outcome.fate, Fate::kDrop) << TraceText(r, {}, h.model->family());
  EXPECT_EQ(r.outcome.where, "ip docker-bridges raw-PREROUTING rule 1");
  EXPECT_EQ(h.model->tables()[h.model->Schedule(0)[0].table].name, "inet own");
}

TEST(NativeTables, AnOwnTableDropsAPublishedPortOnTheOriginalDestination) {
  std::string own = Json("docker29-portmap.json");
  auto doc = own.substr(0, own.rfind(']'));
  doc += R"(, {"table": {"family": "inet", "name": "own", "handle": 9}},
 {"set": {"family": "inet", "name": "office", "table": "own", "type": "ipv4_addr", "handle": 3, "flags": ["interval"], "elem": [{"prefix": {"addr": "198.51.100.0", "len": 28}}]}},
 {"chain": {"family": "inet", "table": "own", "name": "fwd", "handle": 1, "type": "filter", "hook": "forward", "prio": -10, "policy": "accept"}},
 {"rule": {"family": "inet", "table": "own", "chain": "fwd", "handle": 2, "expr": [
   {"match": {"op": "in", "left": {"ct": {"key": "status"}}, "right": "dnat"}},
   {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "tcp"}},
   {"match": {"op": "==", "left": {"ct": {"key": "proto-dst", "dir": "original"}}, "right": 8080}},
   {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "@office"}},
   {"drop": null}]}}]})";
  Host h(kNoIptables, kAddr, kRoute, "", doc);
  EXPECT_EQ(h.Trace("eth0", "198.51.100.200", "203.0.113.11", 6, 8080).outcome.fate, Fate::kDrop);
  EXPECT_EQ(h.Trace("eth0", "198.51.100.3", "203.0.113.11", 6, 8080).outcome.fate, Fate::kForward);
}

TEST(NativeTables, SideEffectsInTheMiddleOfARule) {
  // meta mark set 1 then a match on the new mark, in one rule: the second
  // part applies only where the first hit.
  std::string doc = R"({"nftables": [{"table": {"family": "ip", "name": "t", "handle": 1}},
 {"chain": {"family": "ip", "table": "t", "name": "in", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}},
 {"rule": {"family": "ip", "table": "t", "chain": "in", "handle": 2, "expr": [
   {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 22}},
   {"mangle": {"key": {"meta": {"key": "mark"}}, "value": 1}},
   {"match": {"op": "==", "left": {"meta": {"key": "mark"}}, "right": 1}},
   {"drop": null}]}}]})";
  Host h(kNoIptables, kAddr, kRoute, "", doc);
  EXPECT_EQ(h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 22).outcome.fate, Fate::kDrop);
  EXPECT_EQ(h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 23).outcome.fate, Fate::kLocal);
}

TEST(NativeTables, PrioritiesOrderBaseChainsAcrossTables) {
  // A drop at priority 10 in one table after an accept at 0 in another:
  // dropped; the iptables filter table (priority 0) runs before it as well.
  std::string doc = R"({"nftables": [{"table": {"family": "ip", "name": "late", "handle": 1}},
 {"chain": {"family": "ip", "table": "late", "name": "in", "handle": 1, "type": "filter", "hook": "input", "prio": 10, "policy": "drop"}},
 {"table": {"family": "ip", "name": "early", "handle": 2}},
 {"chain": {"family": "ip", "table": "early", "name": "in", "handle": 1, "type": "filter", "hook": "input", "prio": -5, "policy": "accept"}},
 {"rule": {"family": "ip", "table": "early", "chain": "in", "handle": 2, "expr": [{"accept": null}]}}]})";
  Host h("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n",
         kAddr, kRoute, "", doc);
  auto r = h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 22);
  EXPECT_EQ(r.outcome.fate, Fate::kDrop);
  EXPECT_EQ(r.outcome.where, "ip late in policy");
  const auto& input = h.model->Schedule(1);
  ASSERT_EQ(input.size(), 3u);
  EXPECT_EQ(h.model->tables()[input[0].table].name, "ip early");
  EXPECT_EQ(h.model->tables()[input[1].table].name, "filter");
  EXPECT_EQ(h.model->tables()[input[2].table].name, "ip late");
}

// Found by the kernel differential test (tests/analyze/nft_reproducers):
// an inet table's `dnat ip to` leaves IPv6 packets alone.
TEST(NativeTables, InetNatOfOneFamilyLeavesTheOtherAlone) {
  const char* addr6 = R"([
 {"ifname":"lo","addr_info":[{"family":"inet6","local":"::1","prefixlen":128}]},
 {"ifname":"eth0","addr_info":[{"family":"inet6","local":"2001:db8:1::11","prefixlen":64}]}])";
  const char* route6 = R"([{"dst":"2001:db8:1::/64","dev":"eth0"}])";
  std::string doc = R"({"nftables": [{"table": {"family": "inet", "name": "t", "handle": 1}},
 {"chain": {"family": "inet", "table": "t", "name": "pre", "handle": 1, "type": "nat", "hook": "prerouting", "prio": -100, "policy": "accept"}},
 {"rule": {"family": "inet", "table": "t", "chain": "pre", "handle": 2, "expr": [{"dnat": {"family": "ip", "addr": "10.2.0.3"}}]}}]})";
  Host v6("# Generated by ip6tables-save v1.8.9\n*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
          ":OUTPUT ACCEPT [0:0]\nCOMMIT\n",
          addr6, route6, "", doc);
  ASSERT_EQ(v6.model->family(), netfilter::Family::kIPv6);
  auto r = v6.Trace("eth0", "2001:db8:1::7", "2001:db8:1::11", 6, 22);
  EXPECT_EQ(r.outcome.fate, Fate::kLocal);
  EXPECT_EQ(r.outcome.final_packet.dst.ToString(), "2001:db8:1::11");
  Host v4(kNoIptables, kAddr, kRoute, "", doc);
  EXPECT_EQ(v4.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 22).outcome.final_packet.dst.ToString(), "10.2.0.3");
}

// ... and `reject with icmp` in an inet table rejects IPv4 only; `reject
// with tcp reset` only TCP; iifname of a packet the host sends is "".
TEST(NativeTables, HiddenDependenciesOfRejectAndEmptyInterfaceNames) {
  std::string doc = R"({"nftables": [{"table": {"family": "inet", "name": "t", "handle": 1}},
 {"chain": {"family": "inet", "table": "t", "name": "in", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}},
 {"rule": {"family": "inet", "table": "t", "chain": "in", "handle": 2, "expr": [{"reject": {"type": "icmpv6", "expr": "port-unreachable"}}]}},
 {"rule": {"family": "inet", "table": "t", "chain": "in", "handle": 3, "expr": [{"reject": {"type": "tcp reset"}}]}}]})";
  Host h(kNoIptables, kAddr, kRoute, "", doc);
  EXPECT_EQ(h.Trace("eth0", "198.51.100.7", "203.0.113.11", 17, 53).outcome.fate, Fate::kLocal);
  auto tcp = h.Trace("eth0", "198.51.100.7", "203.0.113.11", 6, 22);
  EXPECT_EQ(tcp.outcome.fate, Fate::kReject);
  EXPECT_EQ(tcp.outcome.where, "inet t in rule 2");

  std::string post = R"({"nftables": [{"table": {"family": "ip", "name": "t", "handle": 1}},
 {"chain": {"family": "ip", "table": "t", "name": "out", "handle": 1, "type": "filter", "hook": "output", "prio": 0, "policy": "accept"}},
 {"rule": {"family": "ip", "table": "t", "chain": "out", "handle": 2, "expr": [
   {"match": {"op": "!=", "left": {"meta": {"key": "iifname"}}, "right": "lo"}}, {"drop": null}]}}]})";
  Host o(kNoIptables, kAddr, kRoute, "", post);
  TraceInput t;
  t.local_origin = true;
  t.packet.src = *IpAddress::Parse("203.0.113.11");
  t.packet.dst = *IpAddress::Parse("203.0.113.1");
  t.packet.protocol = 6;
  t.packet.dport = 22;
  EXPECT_EQ(o.model->Trace(t).outcome.fate, Fate::kDrop);
}

}  // namespace
}  // namespace swarmwall::analyze
