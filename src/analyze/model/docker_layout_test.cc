#include "analyze/model/docker_layout.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "analyze/explain/explain_report.h"
#include "analyze/test_host.h"
#include "netfilter/parser.h"

namespace swarmwall::analyze {
namespace {

using test::ReadFile;
using test::Shared;

netfilter::Ruleset Load(const std::string& text, netfilter::Family family) {
  netfilter::ParseOptions o;
  o.family = family;
  auto r = netfilter::ParseRuleset(text, o);
  EXPECT_TRUE(r.ruleset) << (r.error ? r.error->ToString() : "");
  return r.ruleset ? std::move(*r.ruleset) : netfilter::Ruleset();
}

netfilter::Ruleset Fixture(const std::string& rel, netfilter::Family family) {
  std::string text = ReadFile(Shared() + "/fixtures/" + rel);
  if (text.empty()) ADD_FAILURE() << "missing fixture " << rel;
  return Load(text, family);
}

const PublishedPort* FindPort(const DockerExplanation& e, std::string_view port) {
  for (const auto& p : e.ports)
    if (p.host_ports == port) return &p;
  return nullptr;
}

TEST(Explain, Docker2010Worker) {
  auto v4 = Fixture("docker-20.10-swarm/w1.iptables-save", netfilter::Family::kIPv4);
  auto e = ExplainDocker(v4);
  EXPECT_EQ(e.layout, DockerLayout::kLegacy);
  EXPECT_TRUE(e.swarm);
  EXPECT_TRUE(e.docker_user_first_in_forward);
  const auto* p = FindPort(e, "8080");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->container, "172.17.0.3:80");
  EXPECT_EQ(p->protocol, "tcp");
  EXPECT_EQ(p->bridge, "docker_gwbridge");
  EXPECT_FALSE(p->loopback_only);
  bool gw = false;
  for (const auto& b : e.bridges)
    if (b.name == "docker_gwbridge") {
      gw = true;
      EXPECT_FALSE(b.icc);
      EXPECT_TRUE(b.swarm_gateway);
      EXPECT_TRUE(b.isolated);
    }
  EXPECT_TRUE(gw);
  EXPECT_TRUE(e.foreign_rules.empty());
}

TEST(Explain, Docker2010ManagerPublishesTwoPorts) {
  auto e = ExplainDocker(Fixture("docker-20.10-swarm/m1.iptables-save", netfilter::Family::kIPv4));
  ASSERT_TRUE(FindPort(e, "80"));
  ASSERT_TRUE(FindPort(e, "443"));
  EXPECT_EQ(FindPort(e, "443")->container, "172.17.0.3:80");
}

TEST(Explain, Docker285Node) {
  auto v4 = Fixture("docker-28.5-swarm/node.iptables-save", netfilter::Family::kIPv4);
  auto v6 = Fixture("docker-28.5-swarm/node.ip6tables-save", netfilter::Family::kIPv6);
  auto e = ExplainDocker(v4, &v6);
  EXPECT_EQ(e.layout, DockerLayout::k28_1);
  const auto* lo = FindPort(e, "5432");
  ASSERT_TRUE(lo);
  EXPECT_TRUE(lo->loopback_only);
  EXPECT_EQ(lo->host_address, "127.0.0.1");
  ASSERT_TRUE(FindPort(e, "8080"));
  EXPECT_EQ(FindPort(e, "8080")->container, "172.17.0.2:80");
  ASSERT_TRUE(FindPort(e, "9090"));
  EXPECT_EQ(FindPort(e, "9090")->bridge, "docker_gwbridge");
  EXPECT_GE(e.direct_access_drops.size(), 4u);
  EXPECT_TRUE(e.foreign_rules.empty()) << e.foreign_rules[0].rule;
  bool internal = false;
  for (const auto& b : e.bridges) internal |= b.internal;
  EXPECT_TRUE(internal) << "the internal bridge network";
  std::string text = ExplainText(e, {"fixture", "", ""});
  EXPECT_NE(text.find("127.0.0.1:5432/tcp -> 172.17.0.3:80  loopback only"), std::string::npos)
      << text;
}

using test::MobyRules;

TEST(Explain, Moby29SwarmPortmap) {
  std::string text = MobyRules("swarm-portmap.md", "filter");
  std::string nat = MobyRules("swarm-portmap.md", "nat");
  auto rs = Load(text + nat, netfilter::Family::kIPv4);
  auto e = ExplainDocker(rs);
  EXPECT_EQ(e.layout, DockerLayout::k29);
  EXPECT_TRUE(e.swarm);
  const auto* p = FindPort(e, "8080");
  ASSERT_TRUE(p) << ExplainText(e, {});
  EXPECT_TRUE(p->swarm_ingress);
}

TEST(Explain, Moby29UserNetworkPortmap) {
  auto rs = Load(MobyRules("usernet-portmap.md", "filter") + MobyRules("usernet-portmap.md", "nat"),
                 netfilter::Family::kIPv4);
  auto e = ExplainDocker(rs);
  EXPECT_EQ(e.layout, DockerLayout::k29);
  const auto* p = FindPort(e, "8080");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->container, "192.0.2.2:80");
  EXPECT_EQ(p->bridge, "bridge1");
}

// The seed-003 article: `iptables -S` listings of a 20.10-era Swarm node
// before and after a service with a published port.
TEST(Explain, Seed003SwarmIngress) {
  std::string text = ReadFile(Shared() + "/seeds/003_d15ed16207e63f90.txt");
  ASSERT_FALSE(text.empty());
  std::istringstream in(text);
  std::string line, filter, nat, decl_filter, decl_nat;
  bool in_nat = false;
  while (std::getline(in, line)) {
    if (line.find("-t nat") != std::string::npos || line.rfind("nat table", 0) == 0) in_nat = true;
    if (line.rfind("filter (default)", 0) == 0 || line == "$ iptables -S") in_nat = false;
    if (line.rfind("-N ", 0) == 0) (in_nat ? decl_nat : decl_filter) += ":" + line.substr(3) + " - [0:0]\n";
    if (line.rfind("-A ", 0) == 0) (in_nat ? nat : filter) += line + "\n";
  }
  auto rs = Load("*filter\n" + decl_filter + filter + "COMMIT\n*nat\n" + decl_nat + nat + "COMMIT\n",
                 netfilter::Family::kIPv4);
  auto e = ExplainDocker(rs);
  EXPECT_EQ(e.layout, DockerLayout::kLegacy);
  EXPECT_TRUE(e.swarm);
  const auto* p = FindPort(e, "80");
  ASSERT_TRUE(p) << ExplainText(e, {});
  EXPECT_TRUE(p->swarm_ingress);
  EXPECT_EQ(p->container, "172.18.0.2:80");
  bool ingress_chain = false;
  for (const auto& c : e.chains)
    ingress_chain |= c.chain == "DOCKER-INGRESS" && c.owner == Owner::kSwarm;
  EXPECT_TRUE(ingress_chain);
}

TEST(Explain, ForeignRulesAndMissingHook) {
  auto rs = Load("*filter\n:DOCKER - [0:0]\n:DOCKER-USER - [0:0]\n:f2b-sshd - [0:0]\n"
                 "-A INPUT -p tcp -m tcp --dport 22 -j f2b-sshd\n"
                 "-A FORWARD -o docker0 -j DOCKER\nCOMMIT\n",
                 netfilter::Family::kIPv4);
  auto e = ExplainDocker(rs);
  EXPECT_FALSE(e.docker_user_first_in_forward);
  ASSERT_EQ(e.foreign_rules.size(), 1u);
  EXPECT_EQ(e.foreign_rules[0].chain, "INPUT");
  bool f2b = false;
  for (const auto& c : e.chains)
    f2b |= c.chain == "f2b-sshd" && c.purpose.find("fail2ban") != std::string::npos;
  EXPECT_TRUE(f2b);
  bool warned = false;
  for (const auto& a : e.advice) warned |= a.find("48560") != std::string::npos;
  EXPECT_TRUE(warned);
}

}  // namespace
}  // namespace swarmwall::analyze
