// The differential test of swarmwall trace against the kernel for native
// nftables (issue 14): random nftables rulesets (nft_ruleset_generator.h;
// several tables and base chains on one hook, sets, maps, vmaps, ct original
// matches, fib, NAT, some with iptables-nft tables beside them) are loaded
// into the router of router_lab.h with `nft -f`, and real packets of both
// families cross it. The kernel's fate of each packet comes from a witness
// table of the test (`inet swwitness`, base chains at priority 10000 on
// input and postrouting, after every chain under test): a packet that got
// there was delivered locally (input) or left the router (postrouting, not
// through lo: the router's packets to itself pass there on their way in); the
// router's conntrack table shows the NAT rewrites (an accepted packet without
// an entry was untracked). trace, fed what the router reports (`nft -j list
// ruleset` without the test's own tables, iptables-nft-save, `ip -j addr`,
// `ip -j route`), must predict exactly that for every packet.
//
// SWARMWALL_NFT_TRACE_SEED, SWARMWALL_NFT_TRACE_RULESETS and
// SWARMWALL_NFT_TRACE_PACKETS change the seed, the number of rulesets and the
// packets per ruleset (default 20 x 120 for CI's budget, half a minute;
// SWARMWALL_FULL_TESTS=1: 40 x 120).
// SWARMWALL_NFT_TRACE_KERNEL_ONLY=1 loads and sends without asking trace
// (for work on the generator); SWARMWALL_NFT_TRACE_FILE=F loads the nft file
// F instead of each generated ruleset (for reproducers).
//
// The figure, run once (2026-12-07):
//   SWARMWALL_NFT_TRACE_RULESETS=200 SWARMWALL_NFT_TRACE_PACKETS=500
//     build/tests/analyze/nft_trace_kernel_test
//   200 rulesets x 500 packets (100,000 compared), 583 disagreements, 12 min
//   on a loaded 2-core machine (the 400 listed fall in 10 rulesets). Of the 10 printed in
//   full, 9 are the analyzer's errors of tests/analyze/nft_reproducers/ (NAT
//   of the other family in inet tables, iifname of the router's own packets,
//   an inet reject of one family, the IPv6 fib type of an address without a
//   route); one (ruleset 9: a packet the router sends to 10.2.0.2:8080, DNATed
//   by the kernel to 10.2.0.9:22, by trace to 10.2.0.2:8080) is not explained
//   yet. The test fails until they are fixed.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "analyze/trace/trace.h"
#include "analyze/trace/trace_report.h"
#include "base/json_text.h"
#include "host/network.h"
#include "netfilter/nft_json.h"
#include "netfilter/parser.h"
#include "nft_ruleset_generator.h"
#include "router_lab.h"

namespace swarmwall::tracetest {
namespace {

using analyze::Fate;
using lab::Host;

// Sets "<proto><family><hook>" (tcp4in, icmp6out, ...) of the source ports
// (echo ids) of the packets that reached the end of input or postrouting.
std::string WitnessTable() {
  std::string sets, rules;
  for (const char* hook : {"in", "out"})
    for (int fam : {4, 6}) {
      std::string nf = fam == 4 ? "ipv4" : "ipv6";
      sets += fmt::format("  set tcp{0}{1} {{ type inet_service; flags dynamic; size 65535; }}\n"
                          "  set udp{0}{1} {{ type inet_service; flags dynamic; size 65535; }}\n"
                          "  set icmp{0}{1} {{ typeof {2} id; flags dynamic; size 65535; }}\n",
                          fam, hook, fam == 4 ? "icmp" : "icmpv6");
      rules += fmt::format(
          "  chain see{1}{0} {{\n"
          "    meta l4proto tcp update @tcp{0}{1} {{ tcp sport }}\n"
          "    meta l4proto udp update @udp{0}{1} {{ udp sport }}\n"
          "    {2} type {3} update @icmp{0}{1} {{ {2} id }}\n"
          "  }}\n",
          fam, hook, fam == 4 ? "icmp" : "icmpv6", fam == 4 ? "echo-request" : "echo-request");
    }
  return "table inet swwitness {\n" + sets + rules +
         "  chain in {\n    type filter hook input priority 10000; policy accept;\n"
         "    meta nfproto ipv4 jump seein4\n    meta nfproto ipv6 jump seein6\n  }\n"
         "  chain out {\n    type filter hook postrouting priority 10000; policy accept;\n"
         "    oifname \"lo\" accept\n"
         "    meta nfproto ipv4 jump seeout4\n    meta nfproto ipv6 jump seeout6\n  }\n}\n";
}

// Witness set name -> the ports (ids) in it.
std::map<std::string, std::set<int>> ReadWitness(const std::string& json) {
  std::map<std::string, std::set<int>> out;
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object() || !j.contains("nftables")) return out;
  for (const auto& e : j["nftables"]) {
    if (!e.contains("set")) continue;
    const auto& s = e["set"];
    auto& ports = out[s.value("name", "")];
    if (!s.contains("elem")) continue;
    for (const auto& el : s["elem"]) {
      if (el.is_number()) ports.insert(el.get<int>());
      else if (el.is_object() && el.contains("elem") && el["elem"].contains("val"))
        ports.insert(el["elem"]["val"].get<int>());
    }
  }
  return out;
}

// `nft -j list ruleset` without the test's own tables.
std::string WithoutHarness(const std::string& json) {
  auto j = nlohmann::json::parse(json, nullptr, false);
  if (!j.is_object() || !j.contains("nftables")) return json;
  nlohmann::json kept = nlohmann::json::array();
  for (const auto& e : j["nftables"]) {
    if (!e.is_object() || e.empty()) continue;
    const auto& v = e.begin().value();
    std::string table = e.begin().key() == "table" ? v.value("name", "") : v.value("table", "");
    if (table == "swquiet" || table == "swwitness") continue;
    kept.push_back(e);
  }
  j["nftables"] = kept;
  return JsonText(j);
}

int EnvInt(const char* name, int fallback) {
  const char* v = getenv(name);
  return v ? std::atoi(v) : fallback;
}

class NftTraceKernel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    router_ = MakeRouterLab("nftrace", {"nft", "iptables-nft-restore", "ip6tables-nft-restore",
                                        "conntrack", "python3"},
                            &skip_)
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
RouterLab* NftTraceKernel::router_ = nullptr;
std::string NftTraceKernel::skip_;

// What the router's tables are, as trace reads them, for one family.
struct FamilyModel {
  netfilter::Ruleset xtables;
  host::HostNetwork net;
  std::unique_ptr<analyze::TraceModel> model;
};

TEST_F(NftTraceKernel, RandomNftablesRulesetsAgreeWithTheKernel) {
  RouterLab& router = *router_;
  Host* rt = router.rt;
  unsigned seed = static_cast<unsigned>(EnvInt("SWARMWALL_NFT_TRACE_SEED", 20261207));
  // 20 rulesets for CI's budget; SWARMWALL_FULL_TESTS=1: 40.
  int rulesets = EnvInt("SWARMWALL_NFT_TRACE_RULESETS", std::getenv("SWARMWALL_FULL_TESTS") ? 40 : 20);
  int packets_per = EnvInt("SWARMWALL_NFT_TRACE_PACKETS", 120);
  bool kernel_only = getenv("SWARMWALL_NFT_TRACE_KERNEL_ONLY") != nullptr;
  std::mt19937 rng(seed);
  // A reproducer: this nft file instead of the generated rulesets.
  std::string only_file;
  if (const char* f = getenv("SWARMWALL_NFT_TRACE_FILE")) {
    std::ifstream in(f);
    std::stringstream text;
    text << in.rdbuf();
    only_file = text.str();
    ASSERT_FALSE(only_file.empty()) << f;
  }
  const std::string witness = WitnessTable();
  auto addr = rt->Exec({"ip", "-j", "addr"});
  auto route4 = rt->Exec({"ip", "-4", "-j", "route"});
  auto route6 = rt->Exec({"ip", "-6", "-j", "route"});
  ASSERT_TRUE(addr.ok() && route4.ok() && route6.ok());

  NftCoverage coverage;
  int cases = 0, disagreements = 0, shown = 0, shown_in = -1;
  std::vector<std::string> summary;   // one line per disagreement (the first 400)
  for (int n = 0; n < rulesets; ++n) {
    NftGenerated g = GenerateNftRuleset(rng);
    if (!only_file.empty()) g = NftGenerated{only_file, "", "", {}};
    std::vector<TestPacket> packets = GenerateNftPackets(rng, packets_per);
    coverage.Add(g);
    auto ruleset_text = [&]() {
      return fmt::format("ruleset {} (seed {}):\n{}{}{}{}{}", n, seed, g.nft,
                         g.xtables4.empty() ? "" : "# iptables-nft-restore:\n", g.xtables4,
                         g.xtables6.empty() ? "" : "# ip6tables-nft-restore:\n", g.xtables6);
    };

    // The kernel: the test's tables, then the ruleset under test.
    ASSERT_TRUE(rt->Exec({"nft", "flush", "ruleset"}).ok());
    auto base = rt->Exec({"nft", "-f", "-"}, {.input = std::string(kQuietTable) + witness});
    ASSERT_TRUE(base.ok()) << base.err << witness;
    auto loaded = rt->Exec({"nft", "-f", "-"}, {.input = g.nft});
    ASSERT_TRUE(loaded.ok()) << loaded.err << ruleset_text();
    if (!g.xtables4.empty()) {
      auto x = rt->Exec({"iptables-nft-restore"}, {.input = g.xtables4});
      ASSERT_TRUE(x.ok()) << x.err << ruleset_text();
    }
    if (!g.xtables6.empty()) {
      auto x = rt->Exec({"ip6tables-nft-restore"}, {.input = g.xtables6});
      ASSERT_TRUE(x.ok()) << x.err << ruleset_text();
    }
    rt->Exec({"conntrack", "-F", "-f", "ipv4"});
    rt->Exec({"conntrack", "-F", "-f", "ipv6"});

    // trace: from what the router reports.
    FamilyModel fam[2];
    std::string nft_json;
    if (!kernel_only) {
      auto listed = rt->Exec({"nft", "-j", "list", "ruleset"});
      ASSERT_TRUE(listed.ok()) << listed.err;
      nft_json = WithoutHarness(listed.out);
      auto nft = netfilter::ParseNftJson(nft_json, "router");
      ASSERT_TRUE(nft.ruleset) << nft.error->ToString() << "\n" << nft_json << "\n" << ruleset_text();
      for (int i = 0; i < 2; ++i) {
        netfilter::Family family = i == 0 ? netfilter::Family::kIPv4 : netfilter::Family::kIPv6;
        auto saved = rt->Exec({i == 0 ? "iptables-nft-save" : "ip6tables-nft-save"});
        ASSERT_TRUE(saved.ok()) << saved.err;
        FamilyModel& f = fam[i];
        if (saved.out.find("*") != std::string::npos) {
          auto parsed = netfilter::ParseRuleset(saved.out);
          ASSERT_TRUE(parsed.ruleset) << parsed.error->ToString() << "\n" << saved.out;
          f.xtables = *parsed.ruleset;
        }
        f.xtables.family = family;
        std::string error;
        ASSERT_TRUE(host::ParseIpAddrJson(addr.out, f.net, error)) << error;
        ASSERT_TRUE(host::ParseIpRouteJson(i == 0 ? route4.out : route6.out, family, f.net, error))
            << error;
        f.net.nftables = *nft.ruleset;
        f.net.nftables_known = true;
        f.model = std::make_unique<analyze::TraceModel>(f.xtables, f.net);
      }
    }

    // The kernel's fates.
    std::string send_error;
    ASSERT_TRUE(SendPackets(router, packets, &send_error)) << send_error;
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    auto wit = rt->Exec({"nft", "-j", "list", "table", "inet", "swwitness"});
    ASSERT_TRUE(wit.ok()) << wit.err;
    auto seen_at = ReadWitness(wit.out);
    std::map<std::string, Seen> conns;
    for (const char* f : {"ipv4", "ipv6"}) {
      auto ct = rt->Exec({"conntrack", "-L", "-f", f, "-o", "extended"});
      conns.merge(ParseConntrack(ct.out));
    }

    for (const auto& p : packets) {
      bool v6 = p.src.find(':') != std::string::npos;
      std::string proto = p.proto == 6 ? "tcp" : p.proto == 17 ? "udp" : "icmp";
      auto in_set = [&](const char* hook) {
        auto it = seen_at.find(fmt::format("{}{}{}", proto, v6 ? 6 : 4, hook));
        return it != seen_at.end() && it->second.contains(p.sport);
      };
      bool kernel_local = in_set("in"), kernel_out = in_set("out");
      auto conn = conns.find(ConntrackKey(p));
      bool tracked = conn != conns.end();

      analyze::TraceInput in;
      netfilter::Family family = v6 ? netfilter::Family::kIPv6 : netfilter::Family::kIPv4;
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

      std::string kernel = !kernel_local && !kernel_out ? "dropped"
                           : kernel_local               ? "delivered locally"
                           : in.local_origin            ? "sent"
                                                        : "forwarded";
      ++coverage.fates[fmt::format("IPv{} {}", v6 ? 6 : 4, kernel)];
      if (kernel_local || kernel_out) {
        if (!tracked) ++coverage.fates["accepted untracked"];
        else if (conn->second.repl_src != p.dst || conn->second.repl_dst != p.src ||
                 (p.proto != 1 && p.proto != 58 && conn->second.repl_sport != p.dport))
          ++coverage.fates["accepted, rewritten by NAT"];
      }
      if (kernel_only) continue;

      const FamilyModel& f = fam[v6 ? 1 : 0];
      auto result = f.model->Trace(in);
      const auto& o = result.outcome;
      ++cases;
      auto fast = f.model->Verdict(in);
      std::string why;
      if (!(fast.fate == o.fate && fast.final_packet.dst == o.final_packet.dst &&
            fast.final_packet.src == o.final_packet.src &&
            fast.final_packet.dport == o.final_packet.dport))
        why = fmt::format("the fast path says {}, the full trace {}", analyze::FateName(fast.fate),
                          analyze::FateName(o.fate));
      else if (!result.Definite())
        why = "trace is not definite";
      else if ((o.fate == Fate::kLocal) != kernel_local ||
               ((o.fate == Fate::kForward || o.fate == Fate::kSent) != kernel_out))
        why = fmt::format("kernel: {}, trace: {}", kernel, analyze::FateName(o.fate));
      else if (kernel_local || kernel_out) {
        // what the kernel rewrote: the reply tuple, or nothing when untracked
        std::string dst = p.dst, src = p.src;
        int dport = p.dport, sport = p.sport;
        if (tracked) {
          dst = conn->second.repl_src;
          src = conn->second.repl_dst;
          dport = conn->second.repl_sport;
          sport = conn->second.repl_dport;
        }
        const auto& fp = o.final_packet;
        bool icmp = p.proto == 1 || p.proto == 58;
        if (dst != fp.dst.ToString() || src != fp.src.ToString() ||
            (!icmp && (dport != fp.dport || sport != fp.sport)))
          why = fmt::format("kernel{} rewrote to {}:{} from {}:{}, trace to {}:{} from {}:{}",
                            tracked ? "" : " (untracked)", dst, dport, src, sport,
                            fp.dst.ToString(), fp.dport, fp.src.ToString(), fp.sport);
      }
      if (why.empty()) continue;
      ++disagreements;
      std::string packet = fmt::format("{} {} {}:{} -> {}:{} in {}", v6 ? "IPv6" : "IPv4", proto,
                                       p.src, p.sport, p.dst, p.dport, p.in);
      if (summary.size() < 400) summary.push_back(fmt::format("ruleset {}: {}: {}", n, packet, why));
      // the first disagreement of each ruleset in full (the first ten)
      if (shown_in != n && shown++ < 10 && (shown_in = n) == n)
        ADD_FAILURE() << ruleset_text() << "packet: " << packet << "\n"
                      << why << "\n"
                      << analyze::TraceText(result, in, family);
    }
  }
  std::cout << coverage.Text();
  for (const auto& line : summary) std::cout << "disagreement: " << line << "\n";
  std::cout << fmt::format(
      "nftables trace vs kernel: {} rulesets x {} packets, {} compared, {} disagreements (seed "
      "{})\n",
      rulesets, packets_per, cases, disagreements, seed);
  EXPECT_EQ(disagreements, 0);
}

}  // namespace
}  // namespace swarmwall::tracetest
