// The differential test of swarmwall trace against the kernel. A router
// namespace gets random rulesets (ruleset_generator.h) through the real
// ipset and iptables-restore; two client namespaces send real TCP SYNs, UDP
// datagrams and ICMP echo/timestamp requests through it toward a server
// namespace. The kernel's fate of each packet is read from the router's
// conntrack table: a connection is only confirmed (listed) when its first
// packet got through INPUT or POSTROUTING, and its reply tuple shows every
// NAT rewrite. trace, fed the router's own iptables-save, `ip -j addr`,
// `ip -j route` and `ipset save`, must predict exactly that for every packet.
// The router and its clients: router_lab.h.
//
// The same for IPv6 (ip6tables, ICMPv6). SWARMWALL_TRACE_SEED and
// SWARMWALL_TRACE_RULESETS change the seed and the number of rulesets
// (default 20 IPv4 and 10 IPv6 of 120 packets: 3,600 packets, under a
// minute, for CI's budget; SWARMWALL_FULL_TESTS=1: 40 and 20).
#include <gtest/gtest.h>

#include <cstdlib>
#include <thread>

#include <fmt/format.h>

#include "host/network.h"
#include "analyze/trace/trace.h"
#include "analyze/trace/trace_report.h"
#include "lab/lab.h"
#include "netfilter/parser.h"
#include "router_lab.h"
#include "ruleset_generator.h"

namespace swarmwall::tracetest {
namespace {

using analyze::Fate;
using lab::Host;

class TraceKernel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    router_ = MakeRouterLab("trace", {"iptables-restore", "ipset", "conntrack", "python3"}, &skip_)
                  .release();
  }
  static void TearDownTestSuite() {
    delete router_;
    router_ = nullptr;
  }
  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }

  static RouterLab* router_;
  static std::string skip_;
};
RouterLab* TraceKernel::router_ = nullptr;
std::string TraceKernel::skip_;

int EnvInt(const char* name, int fallback) {
  const char* v = getenv(name);
  return v ? std::atoi(v) : fallback;
}

bool FullTests() { return std::getenv("SWARMWALL_FULL_TESTS") != nullptr; }

void RunDifferential(RouterLab& router, netfilter::Family family, int default_rulesets) {
  Host* rt_ = router.rt;
  bool v6 = family == netfilter::Family::kIPv6;
  const std::string save = v6 ? "ip6tables-save" : "iptables-save";
  const std::string restore = v6 ? "ip6tables-restore" : "iptables-restore";
  unsigned seed = static_cast<unsigned>(EnvInt("SWARMWALL_TRACE_SEED", 20261123));
  int rulesets = EnvInt("SWARMWALL_TRACE_RULESETS", default_rulesets);
  const int kPackets = 120;
  std::mt19937 rng(seed);
  const std::string empty =
      "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
      "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
      ":OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
      "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      ":POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
  auto addr = rt_->Exec({"ip", "-j", "addr"});
  auto route = rt_->Exec({"ip", v6 ? "-6" : "-4", "-j", "route"});
  // Neither family's rules may still use a set when the sets are replaced.
  ASSERT_TRUE(rt_->Exec({"iptables-restore"}, {.input = empty}).ok());
  ASSERT_TRUE(rt_->Exec({"ip6tables-restore"}, {.input = empty}).ok());
  ASSERT_TRUE(addr.ok() && route.ok());

  int cases = 0, disagreements = 0, accepted = 0, nat = 0, local = 0, sent_locally = 0;
  for (int n = 0; n < rulesets; ++n) {
    GeneratedRuleset g = GenerateRuleset(rng);
    std::vector<TestPacket> packets = GeneratePackets(rng, kPackets, kPackets / 5);
    if (v6) {
      g = ToIPv6(g);
      for (auto& p : packets) p = ToIPv6(p);
    }
    ASSERT_TRUE(rt_->Exec({restore}, {.input = empty}).ok());
    rt_->Exec({"ipset", "destroy"});
    auto ips = rt_->Exec({"ipset", "restore"}, {.input = g.ipsets});
    ASSERT_TRUE(ips.ok()) << ips.err << g.ipsets;
    auto rr = rt_->Exec({restore}, {.input = g.rules});
    ASSERT_TRUE(rr.ok()) << rr.err << "\n" << g.rules;
    rt_->Exec({"conntrack", "-F", "-f", v6 ? "ipv6" : "ipv4"});

    // What trace says, from what the router itself reports.
    auto saved = rt_->Exec({save});
    auto sets = rt_->Exec({"ipset", "save"});
    ASSERT_TRUE(saved.ok() && sets.ok());
    auto parsed = netfilter::ParseRuleset(saved.out);
    ASSERT_TRUE(parsed.ruleset) << parsed.error->ToString() << "\n" << saved.out;
    host::HostNetwork net;
    std::string error;
    ASSERT_TRUE(host::ParseIpAddrJson(addr.out, net, error)) << error;
    ASSERT_TRUE(host::ParseIpRouteJson(route.out, family, net, error)) << error;
    ASSERT_TRUE(host::ParseIpsetSave(sets.out, net, error)) << error;
    analyze::TraceModel model(*parsed.ruleset, net);

    // What the kernel does.
    std::string send_error;
    ASSERT_TRUE(SendPackets(router, packets, &send_error)) << send_error;
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    auto ct = rt_->Exec({"conntrack", "-L", "-f", v6 ? "ipv6" : "ipv4", "-o", "extended"});
    auto seen = ParseConntrack(ct.out);
    if (getenv("SWARMWALL_TRACE_DEBUG"))
      std::cout << ct.out << ct.err << router.ca->Sh("ip -6 neigh; ip -6 route; ip -6 addr").out
                << rt_->Sh("ip -6 neigh; ip -6 route").out;

    int shown = 0;
    for (const auto& p : packets) {
      ++cases;
      analyze::TraceInput in;
      in.packet.family = family;
      in.packet.src = *netfilter::IpAddress::Parse(p.src);
      in.packet.dst = *netfilter::IpAddress::Parse(p.dst);
      in.packet.protocol = static_cast<uint16_t>(p.proto);
      in.packet.sport = static_cast<uint16_t>(p.sport);
      in.packet.dport = static_cast<uint16_t>(p.dport);
      in.packet.icmp_type = static_cast<uint8_t>(p.icmp_type);
      in.packet.tcp_flags = analyze::kTcpSyn;
      if (p.in == "local") in.local_origin = true;
      else in.packet.in = p.in;
      auto result = model.Trace(in);
      const auto& o = result.outcome;
      // The router's packets to itself: conntrack confirms them on the way
      // out through lo, before INPUT, so the table cannot tell their fate.
      if (in.local_origin && net.IsLocal(o.final_packet.dst)) continue;
      sent_locally += in.local_origin;
      // The fast path (indexed, nothing recorded) says the same.
      auto fast = model.Verdict(in);
      EXPECT_TRUE(fast.fate == o.fate && fast.final_packet.dst == o.final_packet.dst &&
                  fast.final_packet.src == o.final_packet.src &&
                  fast.final_packet.dport == o.final_packet.dport)
          << analyze::TraceText(result, in, family);
      auto it = seen.find(ConntrackKey(p));
      bool kernel_accepts = it != seen.end();
      bool trace_accepts = analyze::Accepted(o.fate);
      std::string why;
      if (!result.Definite()) why = "trace is not definite";
      else if (kernel_accepts != trace_accepts)
        why = fmt::format("kernel {}, trace {}", kernel_accepts ? "accepts" : "drops",
                          analyze::FateName(o.fate));
      else if (kernel_accepts) {
        const Seen& s = it->second;
        const auto& f = o.final_packet;
        bool same = s.repl_src == f.dst.ToString() && s.repl_dst == f.src.ToString() &&
                    (p.proto == 1 || p.proto == 58 ||
                     (s.repl_sport == f.dport && s.repl_dport == f.sport));
        if (!same)
          why = fmt::format("kernel rewrote to {}:{} from {}:{}, trace to {}:{} from {}:{}",
                            s.repl_src, s.repl_sport, s.repl_dst, s.repl_dport, f.dst.ToString(),
                            f.dport, f.src.ToString(), f.sport);
      }
      if (kernel_accepts) {
        ++accepted;
        if (o.fate == Fate::kLocal) ++local;
        if (!result.rewrites.empty()) ++nat;
      }
      // The command line on the live router says the same (first ruleset).
      if (n == 0 && cases <= 12) {
        std::vector<std::string> argv = {SWARMWALL_BINARY, "trace", "--live", "--in", p.in,
                                         "--src", p.src, "--dst", p.dst, "--output", "json",
                                         "--sport", std::to_string(p.sport)};
        if (p.proto == 1 || p.proto == 58) {
          argv.insert(argv.end(), {"--proto", v6 ? "icmpv6" : "icmp", "--icmp-type",
                                   std::to_string(p.icmp_type)});
        } else {
          argv.insert(argv.end(), {"--proto", p.proto == 6 ? "tcp" : "udp", "--dport",
                                   std::to_string(p.dport)});
        }
        auto live = rt_->Exec(argv);
        EXPECT_EQ(live.exit_code, trace_accepts ? 0 : 2) << live.out << live.err;
        EXPECT_NE(live.out.find(fmt::format("\"fate\": \"{}\"", analyze::FateName(o.fate))),
                  std::string::npos)
            << live.out;
      }
      if (why.empty()) continue;
      ++disagreements;
      if (shown++ < 3)
        ADD_FAILURE() << "ruleset " << n << " (seed " << seed << "): " << why << "\n"
                      << g.ipsets << g.rules << "\n"
                      << analyze::TraceText(result, in, family);
    }
  }
  std::cout << fmt::format(
      "trace vs kernel, {}: {} rulesets, {} packets ({} sent by the router), {} accepted by the "
      "kernel ({} delivered locally, {} rewritten by NAT), {} disagreements (seed {})\n",
      v6 ? "IPv6" : "IPv4", rulesets, cases, sent_locally, accepted, local, nat, disagreements,
      seed);
  EXPECT_EQ(disagreements, 0);
}

TEST_F(TraceKernel, RandomIpv4RulesetsAgreeWithTheKernel) {
  RunDifferential(*router_, netfilter::Family::kIPv4, FullTests() ? 40 : 20);
}

TEST_F(TraceKernel, RandomIpv6RulesetsAgreeWithTheKernel) {
  RunDifferential(*router_, netfilter::Family::kIPv6, FullTests() ? 20 : 10);
}

}  // namespace
}  // namespace swarmwall::tracetest
