#include "compile/workloads.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "compile/compiler.h"

namespace swarmwall::compile {
namespace {

const char* kPolicy = R"(version: 1
interfaces: { public: [eth0] }
nodes: [{ name: n1, role: manager, address: 192.0.2.10 }]
sets: { office: [198.51.100.0/24] }
containers:
  default: drop
  deny:
    - { container: db, from: office }
  allow:
    - { service: web }
    - { container: api, from: office }
    - { label: com.example.expose=public }
    - { label: com.example.any }
    - { container: gone }
)";

policy::Policy Load() {
  auto r = policy::LoadPolicyText(kPolicy, "p.yaml", ".");
  for (const auto& e : r.errors) ADD_FAILURE() << e.ToString();
  return r.policy ? *r.policy : policy::Policy{};
}

std::vector<PublishedPort> Published() {
  return {
      {"tcp", 8082, "web.1.abc", "web", {{"com.docker.swarm.service.name", "web"}}},
      {"udp", 8082, "web.1.abc", "web", {}},
      {"tcp", 8080, "", "web", {}},  // its ingress port
      {"tcp", 8081, "api", "", {}},
      {"tcp", 8083, "api", "", {}},
      {"tcp", 5432, "db", "", {}},
      {"tcp", 9000, "front", "", {{"com.example.expose", "public"}}},
      {"tcp", 9001, "back", "", {{"com.example.expose", "private"}, {"com.example.any", ""}}},
  };
}

TEST(Workloads, EachNameResolvesToItsPublishedPorts) {
  auto p = Load();
  auto r = ResolveWorkloads(p, Published());
  ASSERT_EQ(r.matches.size(), 6u);
  EXPECT_EQ(r.matches[0].rule, "containers deny #1");
  EXPECT_EQ(r.matches[0].traffic.ToString(), "5432/tcp");
  EXPECT_EQ(r.matches[1].selector, "service web");
  EXPECT_EQ(r.matches[1].traffic.ToString(), "8080,8082/tcp 8082/udp");
  EXPECT_EQ(r.matches[1].owners, (std::vector<std::string>{"service web (ingress)", "web.1.abc"}));
  // Adjacent ports merge into a range.
  EXPECT_EQ(r.matches[2].traffic.ToString(), "8081,8083/tcp");
  EXPECT_EQ(r.matches[3].traffic.ToString(), "9000/tcp");  // the value must match
  EXPECT_EQ(r.matches[4].traffic.ToString(), "9001/tcp");  // any value
  EXPECT_TRUE(r.matches[5].traffic.Any());                 // nothing: no container "gone"
  // Every rule gets its ports; the rule of nothing gets none (it is left
  // out when compiled), the others are ordinary port sets.
  ASSERT_EQ(r.traffic.size(), 6u);
  for (const auto& rule : p.containers.rules) {
    const policy::Traffic* t = r.TrafficOf(rule);
    ASSERT_NE(t, nullptr);
    EXPECT_EQ(t->Any(), rule.index == 4 && rule.action == policy::Action::kAccept) << rule.Describe();
  }
  auto warnings = UnresolvedWarnings(r.matches);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_EQ(warnings[0].ToString(), "p.yaml:14:20: warning: containers allow #5: container gone publishes no port on "
                         "this node (the rule matches nothing here)");
}

TEST(Workloads, RangesMerge) {
  auto p = Load();
  std::vector<PublishedPort> ports;
  for (uint16_t port : {7000, 7001, 7002, 7004}) ports.push_back({"tcp", port, "api", "", {}});
  auto r = ResolveWorkloads(p, ports);
  EXPECT_EQ(r.matches[2].traffic.ToString(), "7000-7002,7004/tcp");
}

std::string Rules(const DesiredState& s) {
  std::string out;
  for (const auto& c : s.ipv4.chains)
    for (const auto& r : c.rules) out += "-A " + c.name + " " + r + "\n";
  return out;
}

// Compiled: the same original-destination rules as ports would give, and a
// name that publishes nothing never turns into "every port".
TEST(Workloads, CompileMatchesTheEquivalentPortsPolicy) {
  auto p = Load();
  NodeFacts facts;
  facts.published = Published();
  auto by_name = Compile(p, *p.FindNode("n1"), facts);
  auto same = policy::LoadPolicyText(R"(version: 1
interfaces: { public: [eth0] }
nodes: [{ name: n1, role: manager, address: 192.0.2.10 }]
sets: { office: [198.51.100.0/24] }
containers:
  default: drop
  deny:
    - { ports: 5432, from: office }
  allow:
    - { ports: [8080, 8082] }
    - { ports: 8082, proto: udp }
    - { ports: [8081, 8083], from: office }
    - { ports: 9000 }
    - { ports: 9001 }
)",
                                     "p.yaml", ".");
  ASSERT_TRUE(same.ok());
  auto by_port = Compile(*same.policy, *same.policy->FindNode("n1"), NodeFacts{});
  auto strip = [](std::string s) {  // the comments name rules by number
    std::string out;
    std::istringstream lines(s);
    for (std::string l; std::getline(lines, l);) {
      auto c = l.find(" -m comment");
      out += (c == std::string::npos ? l : l.substr(0, c)) + "\n";
    }
    return out;
  };
  EXPECT_EQ(strip(Rules(by_name)), strip(Rules(by_port)));
  // Nothing published: no rule of them at all, the default drops.
  auto nothing = Compile(p, *p.FindNode("n1"), NodeFacts{});
  EXPECT_EQ(Rules(nothing).find("ctorigdstport"), std::string::npos) << Rules(nothing);
  EXPECT_EQ(Rules(nothing).find("--ctstate DNAT -j RETURN"), std::string::npos) << Rules(nothing);
}

}  // namespace
}  // namespace swarmwall::compile
