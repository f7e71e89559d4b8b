// nodes: auto, the pure part: GET /nodes -> members -> the policy's nodes ->
// the nodes' set entries; membership diffs; set-only deltas and their
// `ipset restore` text; the membership metrics.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "agent/membership.h"
#include "agent/metrics.h"
#include "apply/swarm_members.h"
#include "apply/swarm_members_fixture.h"
#include "compile/compiler.h"

namespace swarmwall::agent {
namespace {

using apply::SwarmMember;
using netfilter::Cidr;
using netfilter::Family;
using netfilter::IpAddress;

// GET /nodes as Docker 20.10 / 28.5 answer it (the fields that matter): a
// leader whose Status.Addr is 0.0.0.0 (moby's known quirk when it listens
// on every address), a worker with labels, a node still joining.
constexpr const char* kNodes = R"([
 {"ID":"aaaaaaaaaaaaaaaaaaaaaaaaa","Spec":{"Role":"manager","Availability":"active","Labels":{}},
  "Description":{"Hostname":"manager-1"},"Status":{"State":"ready","Addr":"0.0.0.0"},
  "ManagerStatus":{"Leader":true,"Reachability":"reachable","Addr":"10.10.10.1:2377"}},
 {"ID":"bbbbbbbbbbbbbbbbbbbbbbbbb","Spec":{"Role":"worker","Availability":"active",
  "Labels":{"ingress":"","zone":"eu"}},
  "Description":{"Hostname":"node-1"},"Status":{"State":"ready","Addr":"10.10.10.2"}},
 {"ID":"ccccccccccccccccccccccccc","Spec":{"Role":"worker","Availability":"active"},
  "Description":{"Hostname":"node-9"},"Status":{"State":"unknown","Addr":""}}
])";

constexpr const char* kPolicy = apply::fixture::kAutoPolicy;

IpAddress Ip(const char* s) { return *IpAddress::Parse(s); }

std::vector<SwarmMember> Members(const std::string& body = kNodes) {
  std::string error;
  auto m = apply::ParseSwarmMembers(body, error);
  EXPECT_TRUE(m) << error;
  return m.value_or(std::vector<SwarmMember>{});
}

policy::Policy Base(const std::string& text = kPolicy) { return apply::fixture::AutoPolicy(text); }

using apply::fixture::Member;

std::vector<Cidr> NodesSet(const compile::DesiredState& d) {
  for (const auto& s : d.ipv4.sets)
    if (s.policy_name == "nodes") return *s.entries;
  return {};
}

// The snapshot a kernel holding exactly D would give.

TEST(SwarmMembers, ParsedFromNodeList) {
  std::vector<std::string> notes;
  std::string error;
  auto m = apply::ParseSwarmMembers(kNodes, error, &notes);
  ASSERT_TRUE(m) << error;
  ASSERT_EQ(m->size(), 2u);
  EXPECT_EQ((*m)[0].hostname, "manager-1");
  EXPECT_EQ((*m)[0].role, policy::Role::kManager);
  EXPECT_EQ((*m)[0].addresses, std::vector<IpAddress>{Ip("10.10.10.1")});  // 0.0.0.0 is no address
  EXPECT_EQ((*m)[1].hostname, "node-1");
  EXPECT_EQ((*m)[1].labels, (std::vector<std::string>{"ingress", "zone=eu"}));
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("node-9"), std::string::npos);
  EXPECT_FALSE(apply::ParseSwarmMembers("{\"message\":\"no\"}", error));
  EXPECT_FALSE(apply::ParseSwarmMembers("[{\"Spec\":{}}]", error));  // no ID
}

TEST(SwarmMembers, JsonRoundTrip) {
  auto m = Members();
  auto back = apply::MembersFromJson(apply::MembersToJson(m));
  ASSERT_TRUE(back);
  EXPECT_EQ(*back, m);
  EXPECT_FALSE(apply::MembersFromJson(nlohmann::json::object()));
}

TEST(SwarmMembers, NodeListBecomesTheNodesSet) {
  auto merged = apply::PolicyWithMembers(Base(), Members());
  ASSERT_TRUE(merged.ok()) << merged.errors.front().ToString();
  const auto& p = *merged.policy;
  ASSERT_EQ(p.nodes.size(), 2u);
  EXPECT_EQ(p.FindNode("node-1")->labels, (std::vector<std::string>{"ingress", "zone=eu"}));
  EXPECT_EQ(p.FindSet("nodes")->ipv4,
            (std::vector<Cidr>{*Cidr::Parse("10.10.10.1/32"), *Cidr::Parse("10.10.10.2/32")}));
  // Compiled for each node: the nodes' set holds both; 2377 only on the manager;
  // label:ingress selects node-1.
  compile::NodeFacts facts;
  auto m = compile::Compile(p, *p.FindNode("manager-1"), facts);
  auto w = compile::Compile(p, *p.FindNode("node-1"), facts);
  EXPECT_EQ(NodesSet(m), p.FindSet("nodes")->ipv4);
  EXPECT_EQ(NodesSet(w), p.FindSet("nodes")->ipv4);
  auto text = [](const compile::DesiredState& d) {
    std::string t;
    for (const auto& c : d.ipv4.chains)
      for (const auto& r : c.rules) t += r + "\n";
    return t;
  };
  auto accepts_2377 = [&](const compile::DesiredState& d) {
    std::string t = text(d);
    for (size_t at = 0; (at = t.find("2377", at)) != std::string::npos; ++at) {
      auto line = t.substr(t.rfind('\n', at) + 1, t.find('\n', at) - t.rfind('\n', at) - 1);
      if (line.find("match-set swarmwall-nodes-v4") != std::string::npos && line.find("ACCEPT") != std::string::npos)
        return true;
    }
    return false;
  };
  EXPECT_TRUE(accepts_2377(m)) << text(m);
  EXPECT_FALSE(accepts_2377(w)) << text(w);
  EXPECT_EQ(text(m).find("--dport 80 "), std::string::npos);
  EXPECT_NE(text(w).find("--dport 80 "), std::string::npos) << text(w);
}

TEST(SwarmMembers, ListedNodesWinAndDuplicateHostnamesAreToldApart) {
  auto base = Base(R"(version: 1
interfaces: { public: [eth0] }
nodes:
  - { name: manager-1, role: manager, address: [10.10.10.1, 203.0.113.11] }
  - auto
swarm: { from: nodes }
)");
  auto members = Members();
  members.push_back(Member("ddddddddddddddddd", "node-1", "10.10.10.4"));
  std::vector<std::string> notes;
  auto merged = apply::PolicyWithMembers(base, members, &notes);
  ASSERT_TRUE(merged.ok()) << merged.errors.front().ToString();
  const auto& p = *merged.policy;
  ASSERT_EQ(p.nodes.size(), 3u);
  EXPECT_EQ(p.nodes[0].addresses.size(), 2u);  // the listed manager-1, as written
  EXPECT_TRUE(p.FindNode("node-1.bbbbbbbbbbbb"));
  EXPECT_TRUE(p.FindNode("node-1.dddddddddddd"));
  EXPECT_EQ(p.FindSet("nodes")->ipv4.size(), 4u);
  ASSERT_EQ(notes.size(), 1u);
  EXPECT_NE(notes[0].find("manager-1"), std::string::npos);
  // Without auto: the policy as it was.
  auto fixed = Base(R"(version: 1
interfaces: { public: [eth0] }
nodes: [{ name: a, role: manager, address: 10.10.10.1 }]
swarm: { from: nodes }
)");
  auto same = apply::PolicyWithMembers(fixed, members);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same.policy->nodes.size(), 1u);
}

// apply / plan: a manager that does not answer -> the members the agent
// saved; neither -> an error naming the daemon.
TEST(SwarmMembers, WithSwarmNodesFallsBackToTheSavedList) {
  std::string dir = std::filesystem::temp_directory_path() / ("swarmwall-members-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  const std::string nowhere = "unix:///nonexistent/swarmwall-test.sock";
  std::ostringstream messages;
  EXPECT_FALSE(apply::WithSwarmNodes(Base(), nowhere, dir, messages));
  EXPECT_NE(messages.str().find("nodes: auto"), std::string::npos) << messages.str();
  std::string error;
  ASSERT_TRUE(apply::SaveMembers(dir, Members(), error)) << error;
  messages.str("");
  auto p = apply::WithSwarmNodes(Base(), nowhere, dir, messages);
  ASSERT_TRUE(p) << messages.str();
  EXPECT_EQ(p->nodes.size(), 2u);
  EXPECT_NE(messages.str().find("warning"), std::string::npos) << messages.str();
  // A policy without auto is left alone, no daemon asked.
  auto fixed = Base(R"(version: 1
interfaces: { public: [eth0] }
nodes: [{ name: a, role: manager, address: 10.10.10.1 }]
swarm: { from: nodes }
)");
  messages.str("");
  EXPECT_EQ(apply::WithSwarmNodes(fixed, nowhere, dir, messages), fixed);
  EXPECT_EQ(messages.str(), "");
  std::filesystem::remove_all(dir);
}

// swarm-members.json of the wrong shape: reported, not used, no crash.
TEST(Membership, SavedMembersOfTheWrongShapeAreNotUsed) {
  std::string dir = std::filesystem::temp_directory_path() / ("swarmwall-saved-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  std::string error;
  EXPECT_FALSE(LoadSavedMembers(dir, error));
  EXPECT_EQ(error, "");  // no file: nothing to say
  for (const std::string text : {R"({"pid":"x"})", "[]", R"({"state":5})", "not json", "", "[5]",
                                 R"([{"id":5,"addresses":["10.0.0.1"]}])", R"([{"id":"a","addresses":"10.0.0.1"}])",
                                 R"([{"id":"a","addresses":["not an address"]}])", "[[]]", "null"}) {
    SCOPED_TRACE(text);
    std::ofstream(dir + "/swarm-members.json", std::ios::binary) << text;
    std::optional<std::vector<SwarmMember>> got;
    ASSERT_NO_THROW(got = LoadSavedMembers(dir, error));
    EXPECT_FALSE(got);
    EXPECT_TRUE(error.starts_with(dir + "/swarm-members.json: ")) << error;
  }
  ASSERT_TRUE(apply::SaveMembers(dir, Members(), error)) << error;
  auto good = LoadSavedMembers(dir, error);
  ASSERT_TRUE(good) << error;
  EXPECT_EQ(*good, Members());
  std::filesystem::remove_all(dir);
}

TEST(Membership, Diff) {
  std::vector<SwarmMember> before = {Member("m", "manager-1", "10.10.10.1", policy::Role::kManager),
                                     Member("w1", "node-1", "10.10.10.2"), Member("w2", "node-2", "10.10.10.3")};
  auto after = before;
  after.erase(after.begin() + 2);                  // node-2 left
  after.push_back(Member("w3", "node-3", "10.10.10.4"));  // node-3 joined
  after[1].role = policy::Role::kManager;         // node-1 promoted
  after[1].labels = {"ingress"};
  auto c = DiffMembers(before, after);
  EXPECT_EQ(c.joined, std::vector<std::string>{"node-3 (10.10.10.4, worker)"});
  EXPECT_EQ(c.left, std::vector<std::string>{"node-2 (10.10.10.3)"});
  EXPECT_EQ(c.changed, (std::vector<std::string>{"node-1: role worker -> manager", "node-1: labels none -> ingress"}));
  EXPECT_TRUE(DiffMembers(before, before).empty());
  EXPECT_EQ(DiffMembers({}, before).joined.size(), 3u);
}

TEST(Membership, Metrics) {
  Metrics m;
  std::string text = RenderPrometheus(m.Snapshot());
  EXPECT_NE(text.find("swarmwall_membership_updates_total 0\n"), std::string::npos);
  EXPECT_EQ(text.find("swarmwall_swarm_nodes"), std::string::npos);
  m.AddMembershipUpdate();
  m.SetSwarmNodes(3);
  text = RenderPrometheus(m.Snapshot());
  EXPECT_NE(text.find("swarmwall_membership_updates_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("swarmwall_swarm_nodes 3\n"), std::string::npos);
}

}  // namespace
}  // namespace swarmwall::agent
