#include "compile/compiler.h"

#include <gtest/gtest.h>

#include <algorithm>

#include <fmt/format.h>

#include "netfilter/parser.h"
#include "netfilter/printer.h"

namespace swarmwall::compile {
namespace {

std::string Examples() { return std::string(SWARMWALL_SOURCE_DIR) + "/examples/"; }

policy::Policy Load(const std::string& name) {
  auto r = policy::LoadPolicyFile(Examples() + name);
  for (const auto& e : r.errors) ADD_FAILURE() << e.ToString();
  return r.policy ? *r.policy : policy::Policy{};
}

const OwnedChain* Chain(const FamilyState& fs, std::string_view name) {
  for (const auto& c : fs.chains)
    if (c.name == name) return &c;
  return nullptr;
}

bool Has(const OwnedChain* c, std::string_view rule) {
  return c && std::find(c->rules.begin(), c->rules.end(), rule) != c->rules.end();
}

std::string Dump(const OwnedChain* c) {
  std::string s;
  if (c)
    for (const auto& r : c->rules) s += r + "\n";
  return s;
}

TEST(Compiler, SwarmClusterManager) {
  auto p = Load("swarm-cluster.yaml");
  auto s = Compile(p, *p.FindNode("manager-1"), NodeFacts{});
  const auto* in = Chain(s.ipv4, kInputChain);
  ASSERT_TRUE(in);
  EXPECT_EQ(in->rules.at(0), "-i lo -j ACCEPT");
  EXPECT_EQ(in->rules.at(1), "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
  EXPECT_TRUE(Has(in, "-p tcp -m multiport --dports 2377,7946 -m set --match-set swarmwall-nodes-v4 src "
                      "-m comment --comment \"swarmwall: swarm\" -j ACCEPT")) << Dump(in);
  EXPECT_TRUE(Has(in, "-i ens11 -j ACCEPT")) << Dump(in);
  EXPECT_TRUE(Has(in, "-i eth0 -p tcp -m multiport --dports 80,443 -m comment --comment "
                      "\"swarmwall: host allow #2: the ingress\" -j ACCEPT")) << Dump(in);
  EXPECT_TRUE(Has(in, "-i eth0 -p tcp -m tcp --dport 22 -m set --match-set swarmwall-admins-v4 src "
                      "-m comment --comment \"swarmwall: host allow #1\" -j ACCEPT")) << Dump(in);
  EXPECT_EQ(in->rules.back(), "-i eth0 -j DROP");
  const auto* user = Chain(s.ipv4, kUserChain);
  ASSERT_TRUE(user);
  EXPECT_EQ(user->rules.at(0), "-i eth0 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN");
  EXPECT_TRUE(Has(user, "-i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 8080 -m set "
                        "--match-set swarmwall-office-v4 src -m comment --comment "
                        "\"swarmwall: containers allow #2\" -j RETURN")) << Dump(user);
  EXPECT_TRUE(Has(user, "-i eth0 -j DROP"));
  EXPECT_TRUE(Has(user, "-i docker0 -o eth0 -j SWARMWALL-EGRESS")) << Dump(user);
  EXPECT_TRUE(Has(Chain(s.ipv4, kEgressChain),
                  "-d 169.254.169.254/32 -m comment --comment \"swarmwall: egress deny #1: cloud metadata "
                  "service\" -j DROP"))
      << Dump(Chain(s.ipv4, kEgressChain));
  ASSERT_EQ(s.ipv4.hooks.size(), 2u);
  EXPECT_EQ(s.ipv4.hooks[1].chain, "DOCKER-USER");
  std::vector<std::string> sets;
  for (const auto& set : s.ipv4.sets) sets.push_back(set.name);
  EXPECT_EQ(sets, (std::vector<std::string>{"swarmwall-admins-v4", "swarmwall-nodes-v4",
                                            "swarmwall-office-v4"}));
}

TEST(Compiler, WorkerGetsNoManagerPortsNorIngress) {
  auto p = Load("swarm-cluster.yaml");
  auto s = Compile(p, *p.FindNode("node-1"), NodeFacts{});
  const auto* in = Chain(s.ipv4, kInputChain);
  EXPECT_TRUE(Has(in, "-p tcp -m tcp --dport 7946 -m set --match-set swarmwall-nodes-v4 src "
                      "-m comment --comment \"swarmwall: swarm\" -j ACCEPT")) << Dump(in);
  for (const auto& r : in->rules) EXPECT_EQ(r.find("80,443"), std::string::npos) << r;
  // 2377 from anyone is dropped on a worker too.
  EXPECT_TRUE(Has(in, "-p tcp -m multiport --dports 2377,7946 -m comment --comment "
                      "\"swarmwall: swarm port from elsewhere\" -j DROP")) << Dump(in);
}

// ipv6: false left a default-made IPv6 state that said IPv4: its digest never
// matched the kernel's and status reported drift after every apply.
TEST(Compiler, Ipv6OffIsAnEmptyIpv6State) {
  auto p = Load("swarm-cluster.yaml");
  p.ipv6 = false;
  auto s = Compile(p, *p.FindNode("manager-1"), NodeFacts{});
  EXPECT_EQ(s.ipv6.family, netfilter::Family::kIPv6);
  EXPECT_TRUE(s.ipv6.chains.empty());
  EXPECT_FALSE(s.ipv4.chains.empty());
}

TEST(Compiler, Ipv6UsesOnlyIpv6Entries) {
  auto p = Load("swarm-cluster.yaml");
  auto s = Compile(p, *p.FindNode("manager-1"), NodeFacts{});
  const auto* in = Chain(s.ipv6, kInputChain);
  ASSERT_TRUE(in);
  EXPECT_TRUE(Has(in, "-p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT"));
  EXPECT_TRUE(Has(in, "-p ipv6-icmp -m icmp6 --icmpv6-type 128 -m limit --limit 8/sec -j ACCEPT"));
  // No node has an IPv6 address: the swarm accept rules vanish for IPv6,
  // the drops stay.
  for (const auto& r : in->rules) EXPECT_EQ(r.find("swarmwall-nodes-v6"), std::string::npos) << r;
  for (const auto& set : s.ipv6.sets) {
    EXPECT_TRUE(set.name.ends_with("-v6"));
    for (const auto& e : *set.entries) EXPECT_EQ(e.family(), netfilter::Family::kIPv6);
  }
}

TEST(Compiler, Ipv6WithoutDockerUserHooksForward) {
  auto p = Load("swarm-cluster.yaml");
  NodeFacts facts;
  facts.docker_user_ipv6 = false;
  facts.forward_ipv6 = true;
  auto s = Compile(p, *p.FindNode("manager-1"), facts);
  ASSERT_EQ(s.ipv6.hooks.size(), 2u);
  EXPECT_EQ(s.ipv6.hooks[1].chain, "FORWARD");
  EXPECT_EQ(s.ipv4.hooks[1].chain, "DOCKER-USER");
  // Before Docker starts: both, so Docker 28's own FORWARD jumps cannot
  // get ahead of ours.
  facts.docker_user_ipv6 = true;
  auto boot = Compile(p, *p.FindNode("manager-1"), facts);
  ASSERT_EQ(boot.ipv6.hooks.size(), 3u);
  EXPECT_EQ(boot.ipv6.hooks[1].chain, "DOCKER-USER");
  EXPECT_EQ(boot.ipv6.hooks[2].chain, "FORWARD");
}

// Docker 20.10 running (its IPv4 chains seen, no IPv6 ones): the IPv6 part
// is hooked in FORWARD only. A DOCKER-USER declared there would be a chain
// nothing reaches (audit: docker-user-not-hooked).
TEST(Compiler, NoIpv6DockerUserOnceDockerRunsWithoutIt) {
  auto p = Load("swarm-cluster.yaml");
  NodeFacts facts;
  facts.docker_user_ipv6 = true;   // what the IPv6 ruleset alone cannot rule out
  facts.forward_ipv6 = true;
  facts.docker_running = true;
  auto s = Compile(p, *p.FindNode("manager-1"), facts);
  ASSERT_EQ(s.ipv6.hooks.size(), 2u);
  EXPECT_EQ(s.ipv6.hooks[0].chain, "INPUT");
  EXPECT_EQ(s.ipv6.hooks[1].chain, "FORWARD");
  for (const auto& h : s.ipv6.hooks) EXPECT_FALSE(h.create_chain) << h.chain;
  // IPv4 still goes through Docker's DOCKER-USER.
  ASSERT_EQ(s.ipv4.hooks.size(), 2u);
  EXPECT_EQ(s.ipv4.hooks[1].chain, "DOCKER-USER");
}

// Every rule is written exactly as iptables-save prints it, so that what
// the kernel says back can be compared byte for byte.
TEST(Compiler, RulesAreCanonical) {
  for (const char* example : {"swarm-cluster.yaml", "docker-host-friends.yaml", "dual-stack.yaml",
                              "openshift-egress.yaml", "swarm-public-addresses.yaml"}) {
    auto p = Load(example);
    for (const auto& node : p.nodes) {
      auto s = Compile(p, node, NodeFacts{});
      for (const FamilyState* fs : {&s.ipv4, &s.ipv6}) {
        std::string text = "*filter\n";
        for (const auto& c : fs->chains) text += ":" + c.name + " - [0:0]\n";
        for (const auto& c : fs->chains)
          for (const auto& r : c.rules) text += "-A " + c.name + " " + r + "\n";
        text += "COMMIT\n";
        netfilter::ParseOptions o;
        o.family = fs->family;
        auto parsed = netfilter::ParseRuleset(text, o);
        ASSERT_TRUE(parsed.ruleset) << example << " " << node.name << ": " << parsed.error->ToString();
        std::string printed = netfilter::PrintRuleset(*parsed.ruleset);
        for (const auto& c : fs->chains)
          for (const auto& r : c.rules)
            EXPECT_NE(printed.find("-A " + c.name + " " + r + "\n"), std::string::npos)
                << example << " " << node.name << ": not canonical: " << r;
      }
    }
  }
}

// A rule's `comment:` is carried into its rules' comments (docs/policy.md),
// whatever its bytes: one restore line per rule, canonical, within
// iptables' 255 bytes, cut between characters.
TEST(Compiler, PolicyCommentsInRuleComments) {
  auto p = Load("swarm-cluster.yaml");
  ASSERT_FALSE(p.host.rules.empty());
  ASSERT_FALSE(p.containers.rules.empty());
  std::string hostile = "it's \"quoted\" \\ $(touch PWNED) `id`\nCOMMIT\n-A INPUT -j ACCEPT\t\xff\xfe end";
  p.host.rules.back().comment = hostile;
  p.containers.rules.back().comment = std::string(300, 'x') + "\xc3\xa9";   // too long, then é
  p.containers.rules.front().comment = std::string(250, 'y') + "\xe2\x82\xac\xe2\x82\xac";  // € at the cut
  auto s = Compile(p, *p.FindNode("manager-1"), NodeFacts{});
  std::string text = "*filter\n";
  for (const auto& c : s.ipv4.chains) text += ":" + c.name + " - [0:0]\n";
  for (const auto& c : s.ipv4.chains)
    for (const auto& r : c.rules) {
      EXPECT_EQ(r.find('\n'), std::string::npos) << r;
      text += "-A " + c.name + " " + r + "\n";
    }
  text += "COMMIT\n";
  netfilter::ParseOptions o;
  auto parsed = netfilter::ParseRuleset(text, o);
  ASSERT_TRUE(parsed.ruleset) << parsed.error->ToString();
  std::string printed = netfilter::PrintRuleset(*parsed.ruleset);
  for (const auto& c : s.ipv4.chains)
    for (const auto& r : c.rules)
      EXPECT_NE(printed.find("-A " + c.name + " " + r + "\n"), std::string::npos) << "not canonical: " << r;
  EXPECT_NE(text.find(R"(--comment "swarmwall: host allow #)"), std::string::npos);
  EXPECT_NE(text.find(R"(: it\'s \"quoted\" \\ $(touch PWNED) `id` COMMIT -A INPUT -j ACCEPT ?? end")"),
            std::string::npos)
      << text;
  EXPECT_EQ(printed.find("\n-A INPUT -j ACCEPT"), std::string::npos);
  // Cut to 255 bytes, never inside a character.
  int long_ones = 0;
  for (const auto& r : Chain(s.ipv4, kUserChain)->rules) {
    size_t at = r.find("--comment \"");
    if (at == std::string::npos) continue;
    std::string comment = r.substr(at + 11, r.find('"', at + 11) - at - 11);
    EXPECT_LE(comment.size(), kMaxCommentBytes) << comment;
    EXPECT_EQ(comment, CommentText(comment)) << "cut inside a character: " << comment;
    long_ones += comment.size() > 240;
  }
  EXPECT_GE(long_ones, 2) << Dump(Chain(s.ipv4, kUserChain));
  EXPECT_EQ(CommentText(std::string(254, 'a') + "\xc3\xa9"), std::string(254, 'a'));
  EXPECT_EQ(CommentText("caf\xc3\xa9"), "caf\xc3\xa9");
  EXPECT_EQ(CommentText("\xed\xa0\x80"), "???");   // a surrogate is not UTF-8
}

TEST(Compiler, Deterministic) {
  auto p = Load("swarm-cluster.yaml");
  auto a = Compile(p, *p.FindNode("manager-1"), NodeFacts{});
  auto b = Compile(Load("swarm-cluster.yaml"), *p.FindNode("manager-1"), NodeFacts{});
  EXPECT_EQ(a.Digest(), b.Digest());
  auto c = Compile(p, *p.FindNode("node-1"), NodeFacts{});
  EXPECT_NE(a.Digest(), c.Digest());
}

TEST(Compiler, SetNamesFitTheKernel) {
  EXPECT_EQ(SetName("office", netfilter::Family::kIPv4), "swarmwall-office-v4");
  std::string long_name = SetName("a-very-long-set-name-for-the-kernel", netfilter::Family::kIPv6);
  EXPECT_LE(long_name.size(), 31u);
  EXPECT_TRUE(long_name.ends_with("-v6"));
  EXPECT_NE(long_name, SetName("a-very-long-set-name-for-the-kernel-2", netfilter::Family::kIPv6));
}

TEST(Compiler, IdentifiesTheNodeByItsAddress) {
  auto p = Load("swarm-cluster.yaml");
  NodeFacts facts;
  facts.local_addresses = {*netfilter::IpAddress::Parse("127.0.0.1"),
                           *netfilter::IpAddress::Parse("10.10.10.2")};
  auto c = IdentifyNode(p, facts, std::nullopt);
  ASSERT_TRUE(c.node) << c.error;
  auto single = Load("docker-host-friends.yaml");
  auto host = IdentifyNode(single, NodeFacts{}, std::nullopt);
  ASSERT_TRUE(host.node) << host.error;
  EXPECT_EQ(host.node->name, "host");
  EXPECT_EQ(c.node->name, "node-1");
  facts.local_addresses.push_back(*netfilter::IpAddress::Parse("10.10.10.3"));
  EXPECT_NE(IdentifyNode(p, facts, std::nullopt).error.find("several"), std::string::npos);
  EXPECT_NE(IdentifyNode(p, NodeFacts{}, std::nullopt).error.find("--node"), std::string::npos);
  EXPECT_NE(IdentifyNode(p, facts, "nope").error.find("not in"), std::string::npos);
}

// The echo limit as iptables-save prints it back: iptables keeps only the
// period, so 60/minute reads back as 1/sec. Written as 60/min, every read of
// the kernel looked like drift (a found-by-a-random-policy bug: plan exit 2
// forever, the agent repairing at each check).
TEST(Compiler, EchoLimitIsWhatIptablesSavePrints) {
  for (auto [limit, want] : {std::pair{"60/minute", "1/sec"}, {"7/minute", "7/min"}, {"3600/hour", "1/sec"},
                             {"120/minute", "2/sec"}, {"8/second", "8/sec"}, {"48/day", "2/hour"}}) {
    auto r = policy::LoadPolicyText(fmt::format(R"(version: 1
interfaces: {{ public: [eth0] }}
nodes: [{{ name: n1, role: manager, address: 192.0.2.10 }}]
host: {{ icmp: {{ echo_limit: {} }} }}
containers: {{ default: drop }}
)", limit), "p.yaml", ".");
    ASSERT_TRUE(r.ok()) << limit;
    auto s = Compile(*r.policy, *r.policy->FindNode("n1"), NodeFacts{});
    std::string rule = "-p icmp -m icmp --icmp-type 8 -m limit --limit " + std::string(want) + " -j ACCEPT";
    EXPECT_TRUE(Has(Chain(s.ipv4, "SWARMWALL-INPUT"), rule)) << limit << "\n" << Dump(Chain(s.ipv4, "SWARMWALL-INPUT"));
  }
}

}  // namespace
}  // namespace swarmwall::compile
