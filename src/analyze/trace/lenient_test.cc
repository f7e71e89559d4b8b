// The --lenient reading of shared, anonymised dumps (MACs as
// XX:XX:XX:XX:XX:XX, <private_ip>, host names, reversed port ranges old
// kernels printed): the strict reading refuses them; the lenient one reads
// each unreadable value as a match the analysis cannot decide, says where,
// and trace and exposure answer with both outcomes.
#include <gtest/gtest.h>

#include "analyze/exposure/exposure.h"
#include "analyze/test_host.h"
#include "analyze/trace/trace.h"
#include "netfilter/parser.h"
#include "netfilter/printer.h"

namespace swarmwall::analyze {
namespace {

using netfilter::Family;
using netfilter::IpAddress;

// Made for this test, after the shapes seen in shared dumps.
const char* kDump =
    "*nat\n"
    ":PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
    "-A PREROUTING -d <public_ip>/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination <private_ip>:80\n"
    "COMMIT\n"
    "*filter\n"
    ":INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
    "-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT\n"
    "-A INPUT -m mac --mac-source XX:XX:XX:XX:XX:XX -j ACCEPT\n"           // line 13
    "-A INPUT -s <private_ip>/24 -p tcp -m tcp --dport 22 -j ACCEPT\n"     // line 14
    "-A INPUT -s gateway.example.org -p udp -m udp --dport 53 -j ACCEPT\n" // line 15
    "-A INPUT -p tcp -m tcp --dport 80:22 -j ACCEPT\n"                     // line 16
    "-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT\n"
    "COMMIT\n";

netfilter::ParseResult Parse(bool lenient) {
  netfilter::ParseOptions o;
  o.file_name = "shared.rules";
  o.family = Family::kIPv4;
  o.lenient = lenient;
  return netfilter::ParseRuleset(kDump, o);
}

TEST(Lenient, StrictRefusesTheDump) {
  auto r = Parse(false);
  ASSERT_FALSE(r.ruleset);
  EXPECT_NE(r.error->ToString().find("shared.rules:6:"), std::string::npos) << r.error->ToString();
}

TEST(Lenient, EachUnreadableValueIsSaidWithFileLineColumn) {
  auto r = Parse(true);
  ASSERT_TRUE(r.ruleset) << r.error->ToString();
  std::vector<std::string> where;
  for (const auto& w : r.warnings) where.push_back(w.ToString());
  ASSERT_EQ(where.size(), 6u) << testing::PrintToString(where);
  EXPECT_NE(where[0].find("shared.rules:6:"), std::string::npos) << where[0];   // -d <public_ip>
  EXPECT_NE(where[1].find("shared.rules:6:"), std::string::npos) << where[1];   // --to-destination
  EXPECT_NE(where[1].find("target"), std::string::npos) << where[1];
  EXPECT_NE(where[2].find("shared.rules:13:"), std::string::npos) << where[2];
  EXPECT_NE(where[3].find("shared.rules:14:"), std::string::npos) << where[3];
  EXPECT_NE(where[4].find("shared.rules:15:"), std::string::npos) << where[4];
  EXPECT_NE(where[5].find("shared.rules:16:"), std::string::npos) << where[5];
  EXPECT_NE(where[5].find("bad port \"80:22\""), std::string::npos) << where[5];
  const auto* input = r.ruleset->FindChain("filter", "INPUT");
  ASSERT_NE(input, nullptr);
  ASSERT_EQ(input->rules.size(), 6u);
  EXPECT_NE(input->rules[1].FindMatch(netfilter::kUnreadableModule), nullptr);
  EXPECT_TRUE(r.ruleset->FindChain("nat", "PREROUTING")->rules[0].target_unreadable);
}

const char* kAddr = R"([
 {"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
 {"ifname":"eth0","addr_info":[{"family":"inet","local":"203.0.113.11","prefixlen":24}]}])";
const char* kRoute = R"([{"dst":"default","gateway":"203.0.113.100","dev":"eth0"},
 {"dst":"203.0.113.0/24","dev":"eth0","prefsrc":"203.0.113.11"}])";

TraceInput Tcp(uint16_t dport) {
  TraceInput in;
  in.packet.family = Family::kIPv4;
  in.packet.src = *IpAddress::Parse("198.51.100.7");
  in.packet.dst = *IpAddress::Parse("203.0.113.11");
  in.packet.protocol = 6;
  in.packet.sport = 40000;
  in.packet.dport = dport;
  in.packet.in = "eth0";
  return in;
}

TEST(Lenient, TraceAndExposureTakeUnreadableValuesAsUndecidable) {
  auto r = Parse(true);
  ASSERT_TRUE(r.ruleset);
  host::HostNetwork net;
  std::string error;
  ASSERT_TRUE(host::ParseIpAddrJson(kAddr, net, error)) << error;
  ASSERT_TRUE(host::ParseIpRouteJson(kRoute, Family::kIPv4, net, error)) << error;
  TraceModel model(*r.ruleset, net);
  // 443 is accepted whatever the unreadable values are; 22 only if the
  // MAC, <private_ip> or the reversed range match: both outcomes.
  auto https = model.Trace(Tcp(443));
  EXPECT_EQ(https.outcome.fate, Fate::kLocal);
  auto ssh = model.Trace(Tcp(22));
  bool dropped = ssh.outcome.fate == Fate::kDrop, accepted = ssh.outcome.fate == Fate::kLocal;
  for (const auto& o : ssh.alternatives) {
    dropped |= o.fate == Fate::kDrop;
    accepted |= o.fate == Fate::kLocal;
  }
  EXPECT_TRUE(dropped && accepted);
  bool said = false;
  for (const auto& u : ssh.unknowns) said |= u.why.find("--lenient") != std::string::npos;
  EXPECT_TRUE(said);
  // Exposure: 443 under (surely open), 22 only over.
  ExposureOptions o;
  o.protocol = 6;
  auto e = ComputeExposure(model, o);
  EXPECT_FALSE(e.Exact());
  bool lenient_unknown = false;
  for (const auto& u : e.unknowns) lenient_unknown |= u.why.find("--lenient") != std::string::npos;
  EXPECT_TRUE(lenient_unknown);
}

TEST(Lenient, WellFormedDumpsReadTheSame) {
  const char* text =
      "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      "-A INPUT -s 10.0.0.0/8 -p tcp -m tcp --dport 22:25 -m mac --mac-source 00:11:22:33:44:55 -j ACCEPT\n"
      "COMMIT\n";
  netfilter::ParseOptions strict, lenient;
  lenient.lenient = true;
  auto a = netfilter::ParseRuleset(text, strict), b = netfilter::ParseRuleset(text, lenient);
  ASSERT_TRUE(a.ruleset && b.ruleset);
  EXPECT_TRUE(b.warnings.empty());
  EXPECT_EQ(netfilter::PrintRuleset(*a.ruleset), netfilter::PrintRuleset(*b.ruleset));
}

}  // namespace
}  // namespace swarmwall::analyze
