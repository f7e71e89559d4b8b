// Loops of jumps and gotos (issue 12, item 8): found in linear time, and
// every walker (trace, exposure, audit) gives an answer in bounded time and
// memory on them instead of growing without end. The kernel refuses such
// tables, so these are saved texts, not something a host runs.
#include "analyze/model/chain_loops.h"

#include <gtest/gtest.h>

#include "analyze/audit/audit.h"
#include "analyze/exposure/exposure.h"
#include "analyze/test_host.h"
#include "analyze/trace/trace.h"

namespace swarmwall::analyze {
namespace {

struct Host : test::HostBase<Host> {
  using HostBase::HostBase;
};

const char* kAddr = R"([
 {"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
 {"ifname":"eth0","addr_info":[{"family":"inet","local":"203.0.113.11","prefixlen":24}]}])";
const char* kRoute = R"([{"dst":"default","gateway":"203.0.113.100","dev":"eth0"},
 {"dst":"203.0.113.0/24","dev":"eth0","prefsrc":"203.0.113.11"}])";

std::string Filter(const std::string& chains, const std::string& rules) {
  return "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" + chains + rules +
         "COMMIT\n";
}

const std::string kGotoSelf = Filter(":A - [0:0]\n", "-A INPUT -g A\n-A A -g A\n");
const std::string kMixed = Filter(":A - [0:0]\n:B - [0:0]\n", "-A INPUT -j A\n-A A -j B\n-A B -g A\n");
const std::string kJumps = Filter(":A - [0:0]\n:B - [0:0]\n", "-A INPUT -j A\n-A A -j B\n-A B -j A\n");
// Conditional gotos in a circle: each hop splits the packet sets.
const std::string kConditional =
    Filter(":A - [0:0]\n:B - [0:0]\n",
           "-A INPUT -p tcp -g A\n-A A -p tcp -m tcp --dport 1:30000 -g B\n-A A -p udp -j ACCEPT\n"
           "-A B -s 10.0.0.0/8 -g A\n-A B -p tcp -m tcp --dport 22 -g A\n");

TEST(ChainLoops, FoundForGotosJumpsAndBoth) {
  for (const auto& [text, path] : {std::pair{kGotoSelf, "INPUT -> A -> A"},
                                   std::pair{kMixed, "INPUT -> A -> B -> A"},
                                   std::pair{kJumps, "INPUT -> A -> B -> A"}}) {
    Host h(text, kAddr, kRoute);
    auto loop = FindChainLoop(h.ruleset);
    ASSERT_TRUE(loop) << text;
    EXPECT_EQ(loop->table, "filter");
    EXPECT_NE(loop->Text().find(path), std::string::npos) << loop->Text();
  }
}

TEST(ChainLoops, NoneInADagNorAmongUnreachedChains) {
  // A reached twice (diamond), and a loop no built-in chain reaches.
  Host h(Filter(":A - [0:0]\n:B - [0:0]\n:C - [0:0]\n:X - [0:0]\n",
                "-A INPUT -j A\n-A INPUT -j B\n-A A -g C\n-A B -j C\n-A X -g X\n"),
         kAddr, kRoute);
  EXPECT_FALSE(FindChainLoop(h.ruleset));
}

TEST(ChainLoops, TraceEndsOnAGotoLoop) {
  for (const auto& text : {kGotoSelf, kMixed, kJumps, kConditional}) {
    Host h(text, kAddr, kRoute);
    TraceInput in;
    in.packet.family = netfilter::Family::kIPv4;
    in.packet.src = *netfilter::IpAddress::Parse("10.1.2.3");
    in.packet.dst = *netfilter::IpAddress::Parse("203.0.113.11");
    in.packet.protocol = 6;
    in.packet.sport = 40000;
    in.packet.dport = 22;
    in.packet.in = "eth0";
    auto fast = h.model->Verdict(in);
    auto full = h.model->Trace(in);
    EXPECT_EQ(full.outcome.fate, Fate::kDrop) << text;   // as for jump loops: refused
    EXPECT_LT(full.steps.size(), 1000u) << text;
    EXPECT_EQ(fast.fate, full.outcome.fate);
  }
}

TEST(ChainLoops, ExposureEndsOnALoop) {
  for (const auto& text : {kGotoSelf, kMixed, kJumps, kConditional}) {
    Host h(text, kAddr, kRoute);
    for (auto scope : {ExposureOptions::Scope::kHost, ExposureOptions::Scope::kFilterInput}) {
      ExposureOptions o;
      o.scope = scope;
      auto e = ComputeExposure(*h.model, o);
      EXPECT_LE(e.flows, o.max_flows + 1) << text;
    }
  }
}

TEST(ChainLoops, AuditSaysItOnceAndWalksNothing) {
  for (const auto& text : {kGotoSelf, kMixed}) {
    Host h(text, kAddr, kRoute);
    AuditInput in;
    in.v4 = &h.ruleset;
    in.file4 = "loop.rules";
    in.host = &h.net;
    auto findings = Audit(in);
    ASSERT_EQ(findings.size(), 1u);
    EXPECT_EQ(findings[0].code, "chain-loop");
    EXPECT_EQ(findings[0].severity, AuditSeverity::kCritical);
    EXPECT_NE(findings[0].title.find("INPUT -> A"), std::string::npos) << findings[0].title;
    ASSERT_EQ(findings[0].rules.size(), 1u);
    EXPECT_EQ(findings[0].rules[0].text, text == kGotoSelf ? "-A A -g A" : "-A B -g A");
  }
}

// Not a loop, but the same worry: unconditional jumps fanning out (400 to
// A, 400 from A to B, 400 from B to C: 64 million rules inlined) are
// bounded where audit inlines them.
TEST(ChainLoops, AuditStructureBoundsAFanOut) {
  std::string rules;
  for (int i = 0; i < 400; ++i) rules += "-A INPUT -j A\n-A A -j B\n-A B -j C\n";
  rules += "-A C -j ACCEPT\n";
  Host h(Filter(":A - [0:0]\n:B - [0:0]\n:C - [0:0]\n", rules), kAddr, kRoute);
  std::vector<AuditFinding> out;
  AuditStructure(h.ruleset, "fan.rules", out);   // returns (before: tens of GB)
  SUCCEED();
}

}  // namespace
}  // namespace swarmwall::analyze
