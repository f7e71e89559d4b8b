// audit: one hand-made ruleset per finding, Docker's own layouts (the 20.10
// and 28.5 fixtures: what a stranger reaches is flagged), and the policy
// proof on a small policy implemented by hand, then broken.
#include "analyze/audit/audit.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "analyze/audit/audit_classes.h"
#include "analyze/audit/scan_comparison.h"
#include "analyze/audit/policy_proof.h"
#include "analyze/test_host.h"
#include "netfilter/nft_json.h"
#include "netfilter/parser.h"

namespace swarmwall::analyze {
namespace {

using netfilter::Family;
using netfilter::Ruleset;

using test::ReadFile;
using test::Shared;

Ruleset Parse(const std::string& text, Family family = Family::kIPv4) {
  netfilter::ParseOptions o;
  o.family = family;
  auto r = netfilter::ParseRuleset(text, o);
  if (!r.ruleset) throw std::runtime_error("parse: " + (r.error ? r.error->ToString() : std::string("?")));
  return std::move(*r.ruleset);
}

std::vector<AuditFinding> Structure(const std::string& text) {
  Ruleset rs = Parse(text);
  std::vector<AuditFinding> out;
  AuditStructure(rs, "t.rules", out);
  return out;
}

const AuditFinding* Find(const std::vector<AuditFinding>& f, const std::string& code, const std::string& in_title = "") {
  for (const auto& x : f)
    if (x.code == code && x.title.find(in_title) != std::string::npos) return &x;
  return nullptr;
}

std::string Codes(const std::vector<AuditFinding>& f) {
  std::string s;
  for (const auto& x : f) s += std::string(AuditSeverityName(x.severity)) + " " + x.code + ": " + x.title + "\n";
  return s;
}

// A host with a public eth0, a cluster ens11, docker0, and a default route.
host::HostNetwork Host(bool v6 = false) {
  host::HostNetwork net;
  std::string error;
  std::string addr = R"([{"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
    {"ifname":"eth0","addr_info":[{"family":"inet","local":"203.0.113.5","prefixlen":24})" +
                     std::string(v6 ? R"(,{"family":"inet6","local":"2001:db8:5::5","prefixlen":64})" : "") + R"(]},
    {"ifname":"ens11","addr_info":[{"family":"inet","local":"10.0.0.1","prefixlen":24}]},
    {"ifname":"docker0","addr_info":[{"family":"inet","local":"172.17.0.1","prefixlen":16}]},
    {"ifname":"veth1","master":"docker0"}])";
  if (!host::ParseIpAddrJson(addr, net, error)) throw std::runtime_error(error);
  if (!host::ParseIpRouteJson(R"([{"dst":"default","gateway":"203.0.113.1","dev":"eth0"},
      {"dst":"203.0.113.0/24","dev":"eth0","prefsrc":"203.0.113.5"},
      {"dst":"10.0.0.0/24","dev":"ens11","prefsrc":"10.0.0.1"},
      {"dst":"172.17.0.0/16","dev":"docker0","prefsrc":"172.17.0.1"}])",
                        Family::kIPv4, net, error))
    throw std::runtime_error(error);
  if (v6 && !host::ParseIpRouteJson(R"([{"dst":"default","gateway":"2001:db8:5::1","dev":"eth0"},
      {"dst":"2001:db8:5::/64","dev":"eth0"}])",
                              Family::kIPv6, net, error))
    throw std::runtime_error(error);
  net.ipsets_known = true;
  return net;
}

// ------------------------------------------------------------ structure

TEST(AuditStructure, ShadowedRuleSameVerdictIsLow) {
  auto f = Structure(
      "*filter\n:INPUT ACCEPT [0:0]\n"
      "-A INPUT -p tcp -m tcp --dport 20:30 -j ACCEPT\n"
      "-A INPUT -s 192.0.2.0/24 -p tcp -m tcp --dport 22 -j ACCEPT\n"
      "COMMIT\n");
  const auto* s = Find(f, "shadowed-rule");
  ASSERT_NE(s, nullptr) << Codes(f);
  EXPECT_EQ(s->severity, AuditSeverity::kLow);
  ASSERT_EQ(s->rules.size(), 2u);
  EXPECT_EQ(s->rules[0].number, 2);
  EXPECT_EQ(s->rules[0].line, 4);
  EXPECT_EQ(s->rules[0].file, "t.rules");
  EXPECT_EQ(s->rules[1].number, 1);
}

TEST(AuditStructure, ShadowedRuleOtherVerdictIsMedium) {
  auto f = Structure(
      "*filter\n:INPUT ACCEPT [0:0]\n"
      "-A INPUT -p tcp -m multiport --dports 22,80,443 -j ACCEPT\n"
      "-A INPUT -i eth0 -p tcp -m tcp --dport 80 -m conntrack --ctstate NEW -j DROP\n"
      "COMMIT\n");
  const auto* s = Find(f, "shadowed-rule");
  ASSERT_NE(s, nullptr) << Codes(f);
  EXPECT_EQ(s->severity, AuditSeverity::kMedium);
}

TEST(AuditStructure, NotShadowedWhenTheEarlierRuleIsNarrower) {
  auto f = Structure(
      "*filter\n:INPUT ACCEPT [0:0]\n"
      "-A INPUT -s 192.0.2.0/24 -p tcp -m tcp --dport 22 -j ACCEPT\n"
      "-A INPUT -p tcp -m tcp --dport 22 -j DROP\n"
      "-A INPUT -m limit --limit 5/min -j ACCEPT\n"
      "-A INPUT -p udp -j ACCEPT\n"
      "-A INPUT ! -s 10.0.0.0/8 -p tcp -j DROP\n"
      "-A INPUT -s 10.1.0.0/16 -p tcp -j DROP\n"
      "COMMIT\n");
  EXPECT_EQ(Find(f, "shadowed-rule"), nullptr) << Codes(f);
}

TEST(AuditStructure, RuleCoversByFields) {
  auto rs = Parse(
      "*filter\n:INPUT ACCEPT [0:0]\n"
      "-A INPUT -i eth+ -p tcp -m conntrack --ctstate NEW,ESTABLISHED -j ACCEPT\n"
      "-A INPUT -i eth0 -p tcp -m conntrack --ctstate NEW -m tcp --dport 5 -j ACCEPT\n"
      "-A INPUT -i ens3 -p tcp -j ACCEPT\n"
      "-A INPUT ! -s 10.0.0.0/8 -j ACCEPT\n"
      "-A INPUT ! -s 10.0.0.0/16 -j ACCEPT\n"
      "COMMIT\n");
  const auto& r = rs.FindChain("filter", "INPUT")->rules;
  EXPECT_TRUE(RuleCovers(r[0], r[1]));
  EXPECT_FALSE(RuleCovers(r[1], r[0]));
  EXPECT_FALSE(RuleCovers(r[0], r[2]));
  EXPECT_TRUE(RuleCovers(r[4], r[3]));    // ! 10/16 holds everything ! 10/8 does
  EXPECT_FALSE(RuleCovers(r[3], r[4]));
}

TEST(AuditStructure, RulesAfterCatchAll) {
  auto f = Structure(
      "*filter\n:INPUT ACCEPT [0:0]\n"
      "-A INPUT -j ACCEPT\n"
      "-A INPUT -p tcp -m tcp --dport 22 -j DROP\n"
      "-A INPUT -j DROP\n"
      "COMMIT\n");
  const auto* s = Find(f, "after-catch-all");
  ASSERT_NE(s, nullptr) << Codes(f);
  EXPECT_EQ(s->severity, AuditSeverity::kMedium);
  EXPECT_NE(s->title.find("rules 2-3"), std::string::npos) << s->title;
  EXPECT_EQ(Find(f, "shadowed-rule"), nullptr) << "after a catch-all is said once, not per rule";
}

TEST(AuditStructure, RulesAppendedAfterDockerUserReturnAreHigh) {
  auto f = Structure(
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:DOCKER - [0:0]\n:DOCKER-USER - [0:0]\n"
      "-A FORWARD -j DOCKER-USER\n-A FORWARD -o docker0 -j DOCKER\n"
      "-A DOCKER-USER -j RETURN\n"
      "-A DOCKER-USER -i eth0 ! -s 198.51.100.0/24 -j DROP\n"
      "COMMIT\n");
  const auto* s = Find(f, "after-catch-all");
  ASSERT_NE(s, nullptr) << Codes(f);
  EXPECT_EQ(s->severity, AuditSeverity::kHigh);
}

TEST(AuditStructure, UnreachableChain) {
  auto f = Structure(
      "*filter\n:INPUT ACCEPT [0:0]\n:MYCHAIN - [0:0]\n:EMPTY - [0:0]\n"
      "-A MYCHAIN -p tcp -m tcp --dport 22 -j DROP\n"
      "COMMIT\n");
  const auto* s = Find(f, "unreachable-chain", "MYCHAIN");
  ASSERT_NE(s, nullptr) << Codes(f);
  EXPECT_EQ(s->severity, AuditSeverity::kLow);
  const auto* e = Find(f, "unreachable-chain", "EMPTY");
  ASSERT_NE(e, nullptr);
  EXPECT_EQ(e->severity, AuditSeverity::kInfo);
}

TEST(AuditStructure, DockerUserMissingOrNotHooked) {
  auto missing = Structure(
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:DOCKER - [0:0]\n"
      "-A FORWARD -o docker0 -j DOCKER\nCOMMIT\n");
  ASSERT_NE(Find(missing, "docker-user-missing"), nullptr) << Codes(missing);

  // moby#48560: the jump is gone, DOCKER-USER still holds the user's filtering.
  auto unhooked = Structure(
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:DOCKER - [0:0]\n:DOCKER-USER - [0:0]\n"
      "-A FORWARD -o docker0 -j DOCKER\n"
      "-A DOCKER-USER -i eth0 -j DROP\n-A DOCKER-USER -j RETURN\nCOMMIT\n");
  const auto* u = Find(unhooked, "docker-user-not-hooked");
  ASSERT_NE(u, nullptr) << Codes(unhooked);
  EXPECT_EQ(u->severity, AuditSeverity::kCritical);

  auto late = Structure(
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:DOCKER - [0:0]\n:DOCKER-USER - [0:0]\n"
      "-A FORWARD -o docker0 -j ACCEPT\n-A FORWARD -j DOCKER-USER\n-A FORWARD -o docker0 -j DOCKER\n"
      "-A DOCKER-USER -j RETURN\nCOMMIT\n");
  ASSERT_NE(Find(late, "docker-user-not-first"), nullptr) << Codes(late);

  auto good = Structure(
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:DOCKER - [0:0]\n:DOCKER-USER - [0:0]\n"
      "-A FORWARD -j DOCKER-USER\n-A FORWARD -o docker0 -j DOCKER\n-A DOCKER-USER -j RETURN\nCOMMIT\n");
  EXPECT_EQ(Find(good, "docker-user-not-hooked"), nullptr) << Codes(good);
  EXPECT_EQ(Find(good, "docker-user-missing"), nullptr) << Codes(good);
}

TEST(AuditStructure, SwarmwallChainsNotHooked) {
  auto f = Structure(
      "*filter\n:INPUT ACCEPT [0:0]\n:SWARMWALL-INPUT - [0:0]\n"
      "-A INPUT -i lo -j ACCEPT\n-A INPUT -j SWARMWALL-INPUT\n"
      "-A SWARMWALL-INPUT -i eth0 -j DROP\nCOMMIT\n");
  const auto* s = Find(f, "swarmwall-not-hooked");
  ASSERT_NE(s, nullptr) << Codes(f);
  EXPECT_EQ(s->rules[0].number, 2);
}

TEST(AuditStructure, EstablishedAndInvalid) {
  auto none = Structure(
      "*filter\n:INPUT DROP [0:0]\n"
      "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n");
  EXPECT_NE(Find(none, "established-missing"), nullptr) << Codes(none);
  EXPECT_NE(Find(none, "invalid-not-dropped"), nullptr) << Codes(none);

  auto late = Structure(
      "*filter\n:INPUT DROP [0:0]\n"
      "-A INPUT -i lo -j ACCEPT\n"
      "-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\n"
      "-A INPUT -m state --state RELATED,ESTABLISHED -j ACCEPT\n"
      "-A INPUT -m conntrack --ctstate INVALID -j DROP\nCOMMIT\n");
  const auto* l = Find(late, "established-not-first");
  ASSERT_NE(l, nullptr) << Codes(late);
  EXPECT_EQ(l->severity, AuditSeverity::kLow);
  EXPECT_EQ(Find(late, "invalid-not-dropped"), nullptr);

  // swarmwall's own layout: INPUT jumps to SWARMWALL-INPUT, which starts right
  // and ends with a drop on the public interface.
  auto good = Structure(
      "*filter\n:INPUT ACCEPT [0:0]\n:SWARMWALL-INPUT - [0:0]\n"
      "-A INPUT -j SWARMWALL-INPUT\n"
      "-A SWARMWALL-INPUT -i lo -j ACCEPT\n"
      "-A SWARMWALL-INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
      "-A SWARMWALL-INPUT -m conntrack --ctstate INVALID -j DROP\n"
      "-A SWARMWALL-INPUT -i eth0 -p tcp -m tcp --dport 22 -j ACCEPT\n"
      "-A SWARMWALL-INPUT -i eth0 -j DROP\nCOMMIT\n");
  EXPECT_TRUE(good.empty()) << Codes(good);

  // An open INPUT: nothing to say about states.
  auto open = Structure("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n");
  EXPECT_EQ(Find(open, "established-missing"), nullptr);
}

// --------------------------------------------------------- reachability

TEST(AuditReach, NoHostFactsSaysSo) {
  Ruleset rs = Parse("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n");
  AuditInput in;
  in.v4 = &rs;
  auto f = Audit(in);
  ASSERT_NE(Find(f, "reachability-skipped"), nullptr) << Codes(f);
  EXPECT_EQ(WorstSeverity(f), AuditSeverity::kInfo);
}

TEST(AuditReach, SwarmPortsAndDockerApiOpenToTheWorld) {
  Ruleset rs = Parse("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp -m tcp --dport 2377 -s 10.0.0.0/24 -j ACCEPT\n"
                     "-A INPUT -p tcp -m tcp --dport 2377 -j DROP\nCOMMIT\n");
  host::HostNetwork host = Host();
  AuditInput in;
  in.v4 = &rs;
  in.host = &host;
  in.public_interfaces = {"eth0"};
  auto f = Audit(in);
  const auto* api = Find(f, "docker-api-public", "2375/tcp");
  ASSERT_NE(api, nullptr) << Codes(f);
  EXPECT_EQ(api->severity, AuditSeverity::kCritical);
  ASSERT_FALSE(api->examples.empty());
  EXPECT_EQ(api->examples[0].dst, "203.0.113.5");
  EXPECT_EQ(api->examples[0].in, "eth0");
  EXPECT_NE(Find(f, "swarm-port-public", "4789/udp"), nullptr);
  EXPECT_NE(Find(f, "swarm-port-public", "7946/tcp"), nullptr);
  EXPECT_EQ(Find(f, "swarm-port-public", "2377/tcp"), nullptr) << "2377 is closed to strangers";
}

// Seed 002: INPUT drops, but a published port is DNATed and forwarded.
constexpr const char* kSeed002 =
    "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
    ":DOCKER - [0:0]\n"
    "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n"
    "-A DOCKER -i docker0 -j RETURN\n"
    "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 443 -j DNAT --to-destination 172.17.0.4:443\n"
    "COMMIT\n"
    "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER - [0:0]\n:DOCKER-USER - [0:0]\n"
    "-A INPUT -i lo -j ACCEPT\n"
    "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
    "-A INPUT -m conntrack --ctstate INVALID -j DROP\n"
    "-A INPUT -i eth0 -s 192.0.2.9/32 -p tcp -j ACCEPT\n"
    "-A FORWARD -j DOCKER-USER\n"
    "-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
    "-A FORWARD -o docker0 -j DOCKER\n"
    "-A FORWARD -i docker0 ! -o docker0 -j ACCEPT\n"
    "-A DOCKER -d 172.17.0.4/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 443 -j ACCEPT\n"
    "-A DOCKER-USER -j RETURN\n"
    "COMMIT\n";

TEST(AuditReach, PublishedPortBypassesInput) {
  Ruleset rs = Parse(kSeed002);
  host::HostNetwork host = Host();
  AuditInput in;
  in.v4 = &rs;
  in.host = &host;
  in.public_interfaces = {"eth0"};
  auto f = Audit(in);
  const auto* p = Find(f, "published-port-public", "443/tcp");
  ASSERT_NE(p, nullptr) << Codes(f);
  EXPECT_EQ(p->severity, AuditSeverity::kHigh);
  EXPECT_NE(p->title.find("although INPUT is closed"), std::string::npos);
  ASSERT_FALSE(p->examples.empty());
  EXPECT_NE(p->examples[0].fate.find("172.17.0.4:443"), std::string::npos) << p->examples[0].fate;
  // The deciding rule is Docker's accept in filter DOCKER.
  bool docker_rule = false;
  for (const auto& r : p->rules) docker_rule |= r.chain == "DOCKER" && r.table == "filter" && r.number == 1;
  EXPECT_TRUE(docker_rule) << Codes(f);
  EXPECT_EQ(Find(f, "docker-api-public"), nullptr) << Codes(f);
}

TEST(AuditReach, Ipv6OpenWhereIpv4IsClosed) {
  Ruleset v4 = Parse(
      "*filter\n:INPUT DROP [0:0]\n-A INPUT -i lo -j ACCEPT\n"
      "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
      "-A INPUT -m conntrack --ctstate INVALID -j DROP\n"
      "-A INPUT -p tcp -m tcp --dport 443 -j ACCEPT\nCOMMIT\n");
  Ruleset v6 = Parse("*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n", Family::kIPv6);
  host::HostNetwork host = Host(true);
  AuditInput in;
  in.v4 = &v4;
  in.v6 = &v6;
  in.host = &host;
  in.public_interfaces = {"eth0"};
  auto f = Audit(in);
  const auto* s = Find(f, "ipv6-open");
  ASSERT_NE(s, nullptr) << Codes(f);
  EXPECT_EQ(s->severity, AuditSeverity::kHigh);
  EXPECT_NE(s->title.find("2377/tcp"), std::string::npos) << s->title;
  EXPECT_EQ(s->title.find("443/tcp"), std::string::npos) << "443 is open on both: " << s->title;
}

// ------------------------------------------------------- Docker fixtures

struct Fixture {
  Ruleset v4, v6;
  host::HostNetwork host;
};

Fixture LoadFixture(const std::string& dir, const std::string& node) {
  std::string d = Shared() + "/fixtures/" + dir + "/" + node;
  Fixture f{Parse(ReadFile(d + ".iptables-save")), Parse(ReadFile(d + ".ip6tables-save"), Family::kIPv6), {}};
  std::string error;
  if (!host::ParseIpAddrJson(ReadFile(d + ".ip-addr.json"), f.host, error)) throw std::runtime_error(error);
  if (!host::ParseIpRouteJson(ReadFile(d + ".ip-route.json"), Family::kIPv4, f.host, error))
    throw std::runtime_error(error);
  return f;
}

TEST(AuditFixtures, Docker2010StrangerReachesSwarmPortsApiAndPublishedPorts) {
  Fixture fx = LoadFixture("docker-20.10-swarm", "m1");
  AuditInput in;
  in.v4 = &fx.v4;
  in.v6 = &fx.v6;
  in.host = &fx.host;
  auto f = Audit(in);
  for (const char* t : {"2377/tcp", "7946/tcp", "7946/udp", "4789/udp"})
    EXPECT_NE(Find(f, "swarm-port-public", t), nullptr) << t << "\n" << Codes(f);
  EXPECT_NE(Find(f, "docker-api-public", "2375/tcp"), nullptr) << Codes(f);
  const auto* p80 = Find(f, "published-port-public", "port 80/tcp");
  const auto* p443 = Find(f, "published-port-public", "port 443/tcp");
  ASSERT_NE(p80, nullptr) << Codes(f);
  ASSERT_NE(p443, nullptr) << Codes(f);
  EXPECT_NE(p443->title.find("172.17.0.3:80"), std::string::npos);
  bool eth0 = false;
  for (const auto& e : p443->examples) eth0 |= e.in == "eth0" && e.dst == "203.0.113.11";
  EXPECT_TRUE(eth0);
  EXPECT_EQ(WorstSeverity(f), AuditSeverity::kCritical);
}

TEST(AuditFixtures, Docker285PublishedPortsButNotLoopbackOnes) {
  Fixture fx = LoadFixture("docker-28.5-swarm", "node");
  AuditInput in;
  in.v4 = &fx.v4;
  in.v6 = &fx.v6;
  in.host = &fx.host;
  auto f = Audit(in);
  // The fixture has no public interface: one is assumed, and said.
  EXPECT_NE(Find(f, "public-interface-assumed"), nullptr) << Codes(f);
  EXPECT_NE(Find(f, "published-port-public", "port 8080/tcp"), nullptr) << Codes(f);
  EXPECT_NE(Find(f, "published-port-public", "port 9090/tcp"), nullptr) << Codes(f);
  EXPECT_EQ(Find(f, "published-port-public", "5432"), nullptr) << "published on 127.0.0.1 only\n" << Codes(f);
  EXPECT_NE(Find(f, "swarm-port-public", "2377/tcp"), nullptr) << Codes(f);
}

// ------------------------------------------------------------ classes

TEST(AuditClasses, ClassesSplitAtEveryNamedRangeAndPort) {
  Ruleset rs = Parse("*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -s 192.0.2.0/24 -p tcp -m tcp --dport 20:30 -j DROP\nCOMMIT\n");
  ClassBuilder b(Family::kIPv4);
  b.AddRuleset(rs);
  auto ports = b.Ports();
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(ports[0].Text(), "1-19");
  EXPECT_EQ(ports[1].Text(), "20-30");
  EXPECT_EQ(ports[2].Text(), "31-65535");
  bool found = false;
  for (const auto& c : b.Addresses(nullptr)) found |= c.Text() == "192.0.2.0/24";
  EXPECT_TRUE(found);
  auto stranger = PickStranger(Family::kIPv4, &rs, nullptr, {});
  ASSERT_TRUE(stranger);
  EXPECT_FALSE(netfilter::Cidr::Parse("192.0.2.0/24")->Contains(*stranger));
}

// A port or address only a native nftables table names (the nftables
// backend's own rules, Docker 29's) splits the classes too: without it an
// `accept` of 9100 inside a class of dropped ports went unseen.
TEST(AuditClasses, NativeTablesSplitClasses) {
  auto parsed = netfilter::ParseNftJson(R"({"nftables": [
    {"table": {"family": "ip", "name": "swarmwall", "handle": 1}},
    {"set": {"family": "ip", "name": "s", "table": "swarmwall", "type": "ipv4_addr", "handle": 2,
             "flags": ["interval"], "elem": [{"prefix": {"addr": "198.51.100.0", "len": 24}}]}},
    {"chain": {"family": "ip", "table": "swarmwall", "name": "SWARMWALL-INPUT", "handle": 3}},
    {"rule": {"family": "ip", "table": "swarmwall", "chain": "SWARMWALL-INPUT", "handle": 4, "expr": [
      {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": 9100}},
      {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "@s"}},
      {"accept": null}]}}]})");
  ASSERT_TRUE(parsed.ruleset) << (parsed.error ? parsed.error->ToString() : "");
  ClassBuilder b(Family::kIPv4);
  b.AddNft(*parsed.ruleset);
  std::vector<std::string> ports;
  for (const auto& p : b.Ports()) ports.push_back(p.Text());
  EXPECT_EQ(ports, (std::vector<std::string>{"1-9099", "9100", "9101-65535"}));
  bool found = false;
  for (const auto& c : b.Addresses(nullptr)) found |= c.Text() == "198.51.100.0/24";
  EXPECT_TRUE(found);
}

// --------------------------------------------------------- policy proof

constexpr const char* kPolicy = R"(version: 1
interfaces: { public: [eth0], cluster: [ens11] }
ipv6: false
sets:
  admins: [192.0.2.0/28]
nodes:
  - { name: n1, role: manager, address: 10.0.0.1 }
  - { name: n2, role: worker, address: 10.0.0.2 }
host:
  allow:
    - { service: ssh, from: admins }
swarm: { from: nodes }
containers:
  default: drop
  allow:
    - { ports: [8080] }
)";

// n1's rules, written by hand the way the policy means them.
std::string N1Rules(bool user_drop = true, const std::string& admins = "192.0.2.0/28") {
  return std::string(
             "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\n"
             ":DOCKER - [0:0]\n"
             "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n"
             "-A DOCKER -i docker0 -j RETURN\n"
             "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80\n"
             "-A DOCKER ! -i docker0 -p tcp -m tcp --dport 9000 -j DNAT --to-destination 172.17.0.3:80\n"
             "COMMIT\n"
             "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER - [0:0]\n"
             ":DOCKER-USER - [0:0]\n"
             "-A INPUT -i lo -j ACCEPT\n"
             "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
             "-A INPUT -m conntrack --ctstate INVALID -j DROP\n"
             "-A INPUT -s 10.0.0.1/32 -p tcp -m multiport --dports 2377,7946 -j ACCEPT\n"
             "-A INPUT -s 10.0.0.2/32 -p tcp -m multiport --dports 2377,7946 -j ACCEPT\n"
             "-A INPUT -s 10.0.0.1/32 -p udp -m multiport --dports 4789,7946 -j ACCEPT\n"
             "-A INPUT -s 10.0.0.2/32 -p udp -m multiport --dports 4789,7946 -j ACCEPT\n"
             "-A INPUT -p tcp -m multiport --dports 2377,7946 -j DROP\n"
             "-A INPUT -p udp -m multiport --dports 4789,7946 -j DROP\n"
             "-A INPUT -i ens11 -j ACCEPT\n"
             "-A INPUT -i eth0 -s ") +
         admins +
         " -p tcp -m tcp --dport 22 -j ACCEPT\n"
         "-A INPUT -i eth0 -j DROP\n"
         "-A FORWARD -j DOCKER-USER\n"
         "-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
         "-A FORWARD -o docker0 -j DOCKER\n"
         "-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT\n"
         "-A DOCKER -d 172.17.0.3/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT\n"
         "-A DOCKER-USER -i eth0 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN\n"
         "-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 8080 -j RETURN\n" +
         (user_drop ? "-A DOCKER-USER -i eth0 -j DROP\n" : "") +
         "-A DOCKER-USER -j RETURN\n"
         "COMMIT\n";
}

// What a proof is given besides n1's IPv4 rules.
struct ProofOptions {
  bool ipv6 = false;                    // the policy has `ipv6: true`, the host an IPv6 address
  std::optional<std::string> rules6;    // an IPv6 ruleset
  bool host = true;                     // host facts given
  bool ipsets_known = true;
  std::vector<std::string> blind_spots;
};

struct Proof {
  policy::Policy policy;
  Ruleset rs;
  std::optional<Ruleset> rs6;
  host::HostNetwork host;
  std::optional<PolicyProof> proof;
  // With RULES6, the policy has `ipv6: true` and the host an IPv6 address on eth0.
  explicit Proof(const std::string& rules, const std::optional<std::string>& rules6 = std::nullopt)
      : Proof(rules, ProofOptions{.ipv6 = rules6.has_value(), .rules6 = rules6}) {}
  Proof(const std::string& rules, const ProofOptions& o)
      : policy(Load(o.ipv6)), rs(Parse(rules)), host(Host(o.ipv6)) {
    if (o.rules6) rs6 = Parse(*o.rules6, Family::kIPv6);
    host.ipsets_known = o.ipsets_known;
    AuditInput in;
    in.v4 = &rs;
    in.v6 = rs6 ? &*rs6 : nullptr;
    in.host = o.host ? &host : nullptr;
    in.blind_spots = o.blind_spots;
    proof.emplace(ProvePolicy(policy, *policy.FindNode("n1"), in));
  }
  static policy::Policy Load(bool ipv6 = false) {
    std::string text = kPolicy;
    if (ipv6) text.replace(text.find("ipv6: false"), 11, "ipv6: true");
    auto r = policy::LoadPolicyText(text, "p.yaml", ".");
    if (!r.ok()) throw std::runtime_error(r.errors.empty() ? "?" : r.errors[0].ToString());
    return std::move(*r.policy);
  }
};

TEST(AuditPolicy, RulesetThatImplementsThePolicyHasNoDifference) {
  Proof p(N1Rules());
  EXPECT_TRUE(p.proof->differences.empty()) << ProofText(*p.proof);
  EXPECT_TRUE(p.proof->blind_spots.empty()) << ProofText(*p.proof);
  EXPECT_TRUE(p.proof->undecidable.empty()) << ProofText(*p.proof);
  EXPECT_EQ(Verdict(*p.proof), ProofVerdict::kImplements);
  EXPECT_NE(ProofText(*p.proof).find("the ruleset implements it"), std::string::npos);
  EXPECT_EQ(ProofJson(*p.proof)["verdict"], "implements");
  EXPECT_GT(p.proof->classes_checked, 100u);
}

// audit --policy never says "implements it" of what it could not see: each
// blind spot and undecidable match is named and the verdict is "cannot prove".
bool Says(const PolicyProof& p, const std::string& text) { return ProofText(p).find(text) != std::string::npos; }

TEST(AuditPolicy, CannotProveWithoutHostFacts) {
  Proof p(N1Rules(), ProofOptions{.host = false});
  EXPECT_EQ(Verdict(*p.proof), ProofVerdict::kCannotProve);
  EXPECT_FALSE(Says(*p.proof, "implements it")) << ProofText(*p.proof);
  EXPECT_TRUE(Says(*p.proof, "not seen: no host facts")) << ProofText(*p.proof);
}

TEST(AuditPolicy, CannotProveWithoutTheIpv6RulesetThePolicyAsksFor) {
  Proof p(N1Rules(), ProofOptions{.ipv6 = true});
  EXPECT_TRUE(p.proof->differences.empty()) << ProofText(*p.proof);
  EXPECT_EQ(Verdict(*p.proof), ProofVerdict::kCannotProve);
  EXPECT_FALSE(Says(*p.proof, "implements it")) << ProofText(*p.proof);
  EXPECT_TRUE(Says(*p.proof, "not seen: no IPv6 ruleset: IPv6 was not checked")) << ProofText(*p.proof);
  auto j = ProofJson(*p.proof);
  EXPECT_EQ(j["verdict"], "cannot-prove");
  EXPECT_EQ(j["equal"], false);
  EXPECT_EQ(j["incomplete"], true);
}

TEST(AuditPolicy, CannotProveWithoutRoutesOfAFamily) {
  const char* closed6 = "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
  Proof p(N1Rules(), ProofOptions{.ipv6 = true, .rules6 = closed6});
  EXPECT_EQ(Verdict(*p.proof), ProofVerdict::kImplements) << ProofText(*p.proof);
  std::erase_if(p.host.routes, [](const host::Route& r) { return r.destination.family() == Family::kIPv6; });
  AuditInput in;
  in.v4 = &p.rs;
  in.v6 = &*p.rs6;
  in.host = &p.host;
  auto proof = ProvePolicy(p.policy, *p.policy.FindNode("n1"), in);
  EXPECT_EQ(Verdict(proof), ProofVerdict::kCannotProve);
  EXPECT_TRUE(Says(proof, "not seen: no IPv6 route in the host's facts (--route6)")) << ProofText(proof);
}

TEST(AuditPolicy, CallersBlindSpotsAreNamed) {
  Proof p(N1Rules(), ProofOptions{.blind_spots = {"nftables tables not read", "table netdev x: not modelled"}});
  EXPECT_TRUE(p.proof->differences.empty()) << ProofText(*p.proof);
  EXPECT_EQ(Verdict(*p.proof), ProofVerdict::kCannotProve);
  EXPECT_FALSE(Says(*p.proof, "implements it")) << ProofText(*p.proof);
  EXPECT_TRUE(Says(*p.proof, "policy for node n1: cannot prove it: 2 not seen, 0 undecidable")) << ProofText(*p.proof);
  EXPECT_TRUE(Says(*p.proof, "  not seen: nftables tables not read\n")) << ProofText(*p.proof);
  EXPECT_TRUE(Says(*p.proof, "  not seen: table netdev x: not modelled\n")) << ProofText(*p.proof);
  auto j = ProofJson(*p.proof);
  ASSERT_EQ(j["blind_spots"].size(), 2u);
  EXPECT_EQ(j["blind_spots"][0], "nftables tables not read");
}

TEST(AuditPolicy, UndecidableMatchesAreNamed) {
  // SSH from the admins' ipset, whose entries the facts do not hold.
  std::string rules = N1Rules();
  std::string from = "-A INPUT -i eth0 -s 192.0.2.0/28 -p tcp";
  rules.replace(rules.find(from), from.size(), "-A INPUT -i eth0 -p tcp -m set --match-set admins src");
  Proof p(rules, ProofOptions{.ipsets_known = false});
  EXPECT_EQ(Verdict(*p.proof), ProofVerdict::kCannotProve) << ProofText(*p.proof);
  EXPECT_FALSE(Says(*p.proof, "implements it")) << ProofText(*p.proof);
  ASSERT_EQ(p.proof->undecidable.size(), 1u) << ProofText(*p.proof);
  EXPECT_NE(p.proof->undecidable[0].find("filter INPUT rule 11"), std::string::npos) << p.proof->undecidable[0];
  EXPECT_NE(p.proof->undecidable[0].find("the host's ipsets are not known"), std::string::npos)
      << p.proof->undecidable[0];
  for (const auto& d : p.proof->differences) EXPECT_TRUE(d.undecided) << ProofText(*p.proof);
}

TEST(AuditPolicy, ADecidedDifferenceDiffersWhateverIsUnseen) {
  Proof p(N1Rules(false), ProofOptions{.blind_spots = {"nftables tables not read"}});
  EXPECT_EQ(Verdict(*p.proof), ProofVerdict::kDiffers);
  EXPECT_TRUE(Says(*p.proof, "1 difference(s)")) << ProofText(*p.proof);
  EXPECT_TRUE(Says(*p.proof, "not seen: nftables tables not read")) << ProofText(*p.proof);
}

// CheckAllows: one packet per allow, the cheap check plan and apply run.
// The same ruleset with a REJECT of another owner before SSH's accept: the
// policy's SSH allow is dropped there, and nothing else is reported.
TEST(AuditPolicy, CheckAllowsFindsTheAllowAnotherRuleDrops) {
  Proof clean(N1Rules());
  AuditInput in;
  in.v4 = &clean.rs;
  in.host = &clean.host;
  const policy::Node& n1 = *clean.policy.FindNode("n1");
  for (const auto& d : CheckAllows(clean.policy, n1, in))
    ADD_FAILURE() << d.kind << " " << d.ports << "/" << d.proto << " from " << d.sources << " in " << d.iface << ": "
                  << d.example.fate << " by " << d.example.decided_by;
  std::string rules = N1Rules();
  rules.replace(rules.find("-A INPUT -i lo -j ACCEPT\n"), 0, "-A INPUT -p tcp -m tcp --dport 22 -j REJECT\n");
  Proof dropped(rules);
  in.v4 = &dropped.rs;
  in.host = &dropped.host;
  auto found = CheckAllows(dropped.policy, *dropped.policy.FindNode("n1"), in);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].kind, "host");
  EXPECT_EQ(found[0].ports, "22");
  EXPECT_EQ(found[0].proto, "tcp");
  EXPECT_EQ(found[0].example.decided_by, "filter INPUT rule 1");
  EXPECT_NE(OtherOwnerFix(found[0]).find("allow 22/tcp there too"), std::string::npos) << OtherOwnerFix(found[0]);
}

// A port the policy allows that another owner's rule drops (a distro's
// catch-all REJECT, firewalld's zone, a drop in another nftables table):
// swarmwall's rules cannot override it, and the proof says what to do.
TEST(AuditPolicy, AllowedButDroppedByAnotherOwnerSaysTheFix) {
  PolicyDifference d;
  d.kind = "host";
  d.ports = "22";
  d.proto = "tcp";
  d.policy_accepts = true;
  d.ruleset_accepts = false;
  d.example.decided_by = "filter INPUT rule 3";
  EXPECT_NE(OtherOwnerFix(d).find("filter INPUT rule 3 drops it, a rule swarmwall does not own"), std::string::npos)
      << OtherOwnerFix(d);
  EXPECT_NE(OtherOwnerFix(d).find("allow 22/tcp there too"), std::string::npos) << OtherOwnerFix(d);
  d.example.decided_by = "ip swarmwall SWARMWALL-INPUT rule 12";
  EXPECT_EQ(OtherOwnerFix(d), "") << "swarmwall's own drop: the policy's, not another owner's";
  d.example.decided_by = "filter SWARMWALL-INPUT rule 12";
  EXPECT_EQ(OtherOwnerFix(d), "");
  d.example.decided_by = "routing: no route";
  EXPECT_EQ(OtherOwnerFix(d), "") << "routing is no owner's rule";
  d.example.decided_by = "inet firewalld filter_INPUT rule 9";
  d.undecided = true;
  EXPECT_EQ(OtherOwnerFix(d), "") << "undecided: no claim";
  d.undecided = false;
  d.policy_accepts = false;
  EXPECT_EQ(OtherOwnerFix(d), "") << "the policy drops it too";
}

TEST(AuditPolicy, PublishedPortLeftOpenIsADifferenceWithAPacket) {
  Proof p(N1Rules(false));
  ASSERT_EQ(p.proof->differences.size(), 1u) << ProofText(*p.proof);
  const auto& d = p.proof->differences[0];
  EXPECT_EQ(d.kind, "container");
  EXPECT_EQ(d.ports, "9000");
  EXPECT_EQ(d.proto, "tcp");
  EXPECT_EQ(d.iface, "eth0");
  EXPECT_FALSE(d.policy_accepts);
  EXPECT_TRUE(d.ruleset_accepts);
  EXPECT_EQ(d.policy_why, "containers default: drop");
  EXPECT_EQ(d.example.dst, "203.0.113.5");
  EXPECT_EQ(d.example.dport, 9000);
  EXPECT_NE(d.example.fate.find("172.17.0.3:80"), std::string::npos) << d.example.fate;
  ASSERT_FALSE(d.rules.empty());
  EXPECT_EQ(d.rules[0].chain, "DOCKER");
  EXPECT_EQ(d.rules[0].number, 2);
}

TEST(AuditPolicy, SshFromTooManyIsADifference) {
  Proof p(N1Rules(true, "192.0.2.0/24"));
  ASSERT_EQ(p.proof->differences.size(), 1u) << ProofText(*p.proof);
  const auto& d = p.proof->differences[0];
  EXPECT_EQ(d.kind, "host");
  EXPECT_EQ(d.ports, "22");
  EXPECT_EQ(d.sources, "192.0.2.16-192.0.2.255");
  EXPECT_FALSE(d.policy_accepts);
  EXPECT_TRUE(d.ruleset_accepts);
  EXPECT_EQ(d.example.src, "192.0.2.16");
}

// Both families differ from the policy: each family's differences keep
// their own sources (the IPv6 pass once indexed its ranges by the proof's
// whole list, which held IPv4's already: out of bounds, SIGSEGV).
TEST(AuditPolicy, BothFamiliesDiffer) {
  const char* open6 = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
  Proof p(N1Rules(false), open6);
  const auto& diffs = p.proof->differences;
  ASSERT_GE(diffs.size(), 3u) << ProofText(*p.proof);
  const auto& d4 = diffs[0];
  EXPECT_EQ(d4.example.family, Family::kIPv4);
  EXPECT_EQ(d4.kind, "container");
  EXPECT_EQ(d4.ports, "9000");
  EXPECT_EQ(d4.sources.find(':'), std::string::npos) << d4.sources;
  size_t v6 = 0;
  for (const auto& d : diffs) {
    if (d.example.family != Family::kIPv6) continue;
    ++v6;
    EXPECT_NE(d.sources.find(':'), std::string::npos) << d.sources;
    EXPECT_EQ(d.iface, "eth0");
    EXPECT_FALSE(d.policy_accepts);
    EXPECT_TRUE(d.ruleset_accepts);
  }
  EXPECT_EQ(v6, diffs.size() - 1) << ProofText(*p.proof);
}

TEST(AuditPolicy, IntendedFindingsBecomeInfo) {
  Proof p(N1Rules());
  AuditInput in;
  in.v4 = &p.rs;
  in.host = &p.host;
  in.public_interfaces = {"eth0"};
  auto f = Audit(in);
  const auto* open = Find(f, "published-port-public", "8080");
  ASSERT_NE(open, nullptr) << Codes(f);
  EXPECT_EQ(open->severity, AuditSeverity::kHigh);
  DowngradeIntended(*p.proof, f);
  open = Find(f, "published-port-public", "8080");
  ASSERT_NE(open, nullptr);
  EXPECT_EQ(open->severity, AuditSeverity::kInfo);
  EXPECT_EQ(Find(f, "published-port-public", "9000"), nullptr) << "closed by DOCKER-USER";
}

// --------------------------------------------------------------- verify

constexpr const char* kNmapXml = R"(<?xml version="1.0"?>
<nmaprun scanner="nmap" args="nmap -oX - 203.0.113.5">
<host><address addr="203.0.113.5" addrtype="ipv4"/>
<ports><extraports state="filtered" count="65532">
<extrareasons reason="no-response" count="65532" proto="tcp" ports="1-21,23-8079,8081-9099,9101-65535"/>
</extraports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack"/></port>
<port protocol="tcp" portid="8080"><state state="open" reason="syn-ack"/></port>
<port protocol="tcp" portid="9100"><state state="closed" reason="reset"/></port>
<port protocol="udp" portid="4789"><state state="open|filtered" reason="no-response"/></port>
</ports></host></nmaprun>
)";

TEST(AuditVerify, ParsesNmapXmlWithCondensedPorts) {
  ScanResult scan;
  std::string error;
  ASSERT_TRUE(ParseNmapXml(kNmapXml, scan, error)) << error;
  EXPECT_EQ(scan.size(), 65536u);
  EXPECT_EQ((scan[{"tcp", 22}]), "open");
  EXPECT_EQ((scan[{"tcp", 9100}]), "closed");
  EXPECT_EQ((scan[{"tcp", 23}]), "filtered");
  EXPECT_EQ((scan[{"udp", 4789}]), "open|filtered");
  EXPECT_FALSE(ParseNmapXml("hello", scan, error));
}

TEST(AuditVerify, ComparesWithWhatThePolicyLetsTheVantagePointReach) {
  auto pol = Proof::Load();
  PolicyIntent intent(pol, *pol.FindNode("n1"));
  ScanResult scan;
  std::string error;
  ASSERT_TRUE(ParseNmapXml(kNmapXml, scan, error));
  // An admin: 22 is allowed (open), 8080 is a published port the policy
  // opens to anyone (fine either way), 9100 answered (closed): the host let
  // it in although the policy drops it.
  auto admin = CompareScan(intent, *netfilter::IpAddress::Parse("192.0.2.3"), "public", scan);
  ASSERT_EQ(admin.differences.size(), 1u) << ScanComparisonText(admin);
  EXPECT_EQ(admin.differences[0].ports, "9100");
  EXPECT_EQ(admin.differences[0].expected, "dropped");
  // A stranger: 22 open is a difference too.
  auto stranger = CompareScan(intent, *netfilter::IpAddress::Parse("198.51.100.7"), "public", scan);
  ASSERT_EQ(stranger.differences.size(), 2u) << ScanComparisonText(stranger);
  EXPECT_EQ(stranger.differences[0].ports, "22");
  auto ports = UdpPortsToScan(intent);
  EXPECT_EQ(ports, (std::vector<uint16_t>{4789, 7946}));
}

}  // namespace
}  // namespace swarmwall::analyze
