// The HTML report: one self-contained page (nothing loaded from elsewhere)
// with the matrix, the findings, the proof and the chain graph as inline SVG.
#include "analyze/audit/report_html.h"

#include <gtest/gtest.h>

#include <regex>

#include "analyze/model/chain_graph.h"
#include "base/process.h"
#include "netfilter/parser.h"

namespace swarmwall::analyze {
namespace {

netfilter::Ruleset Parse(const std::string& text) {
  auto r = netfilter::ParseRuleset(text);
  if (!r.ruleset) throw std::runtime_error("parse");
  return std::move(*r.ruleset);
}

constexpr const char* kRules =
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
    ":DOCKER - [0:0]\n:DOCKER-USER - [0:0]\n:SWARMWALL-INPUT - [0:0]\n:SWARMWALL-USER - [0:0]\n:MINE - [0:0]\n"
    "-A INPUT -j SWARMWALL-INPUT\n-A INPUT -j MINE\n"
    "-A FORWARD -j DOCKER-USER\n-A FORWARD -o docker0 -j DOCKER\n-A FORWARD -o br-1 -j DOCKER\n"
    "-A DOCKER-USER -j SWARMWALL-USER\n-A DOCKER-USER -j RETURN\n"
    "-A SWARMWALL-INPUT -i eth0 -j DROP\n-A SWARMWALL-USER -i eth0 -j DROP\n"
    "-A MINE -p tcp -m tcp --dport 22 -j ACCEPT\n"
    "COMMIT\n";

TEST(ChainGraph, DotHasChainsJumpsWithCountsAndOwners) {
  auto rs = Parse(kRules);
  std::string dot = ChainGraphDot(&rs, nullptr);
  EXPECT_NE(dot.find("\"v4_filter:FORWARD\" -> \"v4_filter:DOCKER\" [label=\"2\"]"), std::string::npos) << dot;
  EXPECT_NE(dot.find("\"v4_filter:DOCKER-USER\" -> \"v4_filter:SWARMWALL-USER\""), std::string::npos) << dot;
  EXPECT_NE(dot.find("#d9f5d6"), std::string::npos) << "swarmwall's colour";
  EXPECT_NE(dot.find("#d6e9ff"), std::string::npos) << "Docker's colour";
  EXPECT_NE(dot.find("#ffe3c7"), std::string::npos) << "someone else's colour (MINE)";
}

TEST(ReportHtml, SelfContainedPageWithMatrixFindingsAndSvg) {
  if (!ProgramExists("dot")) GTEST_SKIP() << "graphviz is not installed";
  auto rs = Parse(kRules);
  std::vector<MatrixRow> matrix = {{netfilter::Family::kIPv4, "eth0", "198.51.100.0/24", "tcp", "8080",
                                    "container 172.17.0.2:80", "203.0.113.5/32", "exact"},
                                   {netfilter::Family::kIPv4, "eth0", "any", "tcp", "22", "host", "203.0.113.5/32", "exact"}};
  std::vector<AuditFinding> findings(1);
  findings[0].severity = AuditSeverity::kHigh;
  findings[0].code = "published-port-public";
  findings[0].title = "published port 8080/tcp <open>";
  findings[0].rules.push_back(MakeRuleRef(rs, "f.rules", "filter", "MINE", 1));
  HtmlReportInput in;
  in.title = "report of m1";
  in.v4 = &rs;
  in.matrix = &matrix;
  in.findings = &findings;
  std::string html = RenderHtmlReport(in);
  EXPECT_EQ(html.rfind("<!DOCTYPE html>", 0), 0u);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_NE(html.find("</svg>"), std::string::npos);
  EXPECT_NE(html.find("Exposure matrix"), std::string::npos);
  EXPECT_NE(html.find("container 172.17.0.2:80"), std::string::npos);
  EXPECT_NE(html.find("198.51.100.0/24"), std::string::npos);
  EXPECT_NE(html.find("published port 8080/tcp &lt;open&gt;"), std::string::npos) << "escaped";
  EXPECT_NE(html.find("-A MINE -p tcp -m tcp --dport 22 -j ACCEPT"), std::string::npos);
  EXPECT_NE(html.find(">SWARMWALL&#45;USER</text>"), std::string::npos);   // a chain in the picture (dot writes - as &#45;)
  // Self-contained: nothing fetched from elsewhere.
  EXPECT_FALSE(std::regex_search(html, std::regex(R"((src|href)\s*=\s*"(https?:)?//)")));
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  EXPECT_EQ(html.find("<link "), std::string::npos);
  EXPECT_EQ(html.find("<?xml"), std::string::npos) << "the SVG's prologue is dropped";
}

TEST(ReportHtml, WithoutFindingsOrMatrixStillHasTheGraph) {
  if (!ProgramExists("dot")) GTEST_SKIP() << "graphviz is not installed";
  auto rs = Parse(kRules);
  HtmlReportInput in;
  in.v4 = &rs;
  std::string html = RenderHtmlReport(in);
  EXPECT_NE(html.find("<svg"), std::string::npos);
  EXPECT_EQ(html.find("Exposure matrix"), std::string::npos);
}

TEST(ReportHtml, ProofThatCannotProveNamesWhatItCouldNotSee) {
  PolicyProof proof;
  proof.node = "m1";
  proof.classes_checked = 12;
  proof.blind_spots = {"table netdev <x>: not modelled"};
  proof.undecidable = {"filter INPUT rule 3: -m set --match-set a src: the host's ipsets are not known"};
  HtmlReportInput in;
  in.proof = &proof;
  std::string html = RenderHtmlReport(in);
  EXPECT_NE(html.find("Cannot prove that the ruleset implements the policy"), std::string::npos) << html;
  EXPECT_EQ(html.find("The ruleset implements the policy"), std::string::npos) << html;
  EXPECT_NE(html.find("Not seen: table netdev &lt;x&gt;: not modelled"), std::string::npos) << html;
  EXPECT_NE(html.find("Undecidable: filter INPUT rule 3"), std::string::npos) << html;
  proof.blind_spots.clear();
  proof.undecidable.clear();
  html = RenderHtmlReport(in);
  EXPECT_NE(html.find("The ruleset implements the policy"), std::string::npos) << html;
}

}  // namespace
}  // namespace swarmwall::analyze
