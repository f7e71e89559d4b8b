#include "backend/firewalld_render.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "compile/compiler.h"

namespace swarmwall::backend {
namespace {

namespace fs = std::filesystem;

const std::string kSource = SWARMWALL_SOURCE_DIR;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// An example loaded under a stable name ("examples/NAME.yaml"), so the
// golden files do not depend on where the tree is.
policy::Policy LoadExample(const std::string& file) {
  auto r = policy::LoadPolicyText(ReadFile(kSource + "/examples/" + file), "examples/" + file,
                                  kSource + "/examples");
  for (const auto& e : r.errors) ADD_FAILURE() << e.ToString();
  return r.policy ? *r.policy : policy::Policy{};
}

policy::Policy LoadYaml(const std::string& yaml) {
  auto r = policy::LoadPolicyText(yaml, "p.yaml", kSource + "/examples");
  for (const auto& e : r.errors) ADD_FAILURE() << e.ToString();
  return r.policy ? *r.policy : policy::Policy{};
}

// The policy's nodes; a policy without nodes (one Docker host) gets one
// worker named "host".
std::vector<policy::Node> NodesOf(const policy::Policy& p) {
  if (!p.nodes.empty()) return p.nodes;
  policy::Node host;
  host.name = "host";
  host.role = policy::Role::kWorker;
  host.addresses = {*netfilter::IpAddress::Parse("192.0.2.1")};
  return {host};
}

std::string Render(const policy::Policy& p, const policy::Node& n,
                   const compile::NodeFacts& facts = {}) {
  return RenderFirewalld(p, n, compile::Compile(p, n, facts));
}

std::string Render(const policy::Policy& p, const std::string& node) {
  const policy::Node* n = p.FindNode(node);
  if (!n) {
    ADD_FAILURE() << "no node " << node;
    return "";
  }
  return Render(p, *n);
}

bool Contains(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

size_t Count(const std::string& text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

bool Has(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

std::string Join(const std::vector<std::string>& list) {
  std::string s;
  for (const auto& i : list) s += "  " + i + "\n";
  return s;
}

TEST(FirewalldSplit, WordsAndQuotedComments) {
  EXPECT_EQ(SplitRuleSpec("-i eth0 -m comment --comment \"swarmwall: host allow #1\" -j ACCEPT"),
            (std::vector<std::string>{"-i", "eth0", "-m", "comment", "--comment",
                                      "swarmwall: host allow #1", "-j", "ACCEPT"}));
  EXPECT_EQ(SplitRuleSpec("-j LOG --log-prefix \"swarmwall input: \""),
            (std::vector<std::string>{"-j", "LOG", "--log-prefix", "swarmwall input: "}));
  EXPECT_EQ(SplitRuleSpec("--comment \"a \\\"b\\\" c\\\\d\" -j DROP"),
            (std::vector<std::string>{"--comment", "a \"b\" c\\d", "-j", "DROP"}));
  EXPECT_EQ(SplitRuleSpec("  -j   DROP "), (std::vector<std::string>{"-j", "DROP"}));
  EXPECT_TRUE(SplitRuleSpec("").empty());
}

TEST(FirewalldSplit, ShellQuote) {
  EXPECT_EQ(ShellQuote("--add-entry=10.0.0.0/8"), "--add-entry=10.0.0.0/8");
  EXPECT_EQ(ShellQuote("br-+"), "br-+");
  EXPECT_EQ(ShellQuote("swarmwall: host allow #1"), "'swarmwall: host allow #1'");
  EXPECT_EQ(ShellQuote("it's"), "'it'\\''s'");
  EXPECT_EQ(ShellQuote(""), "''");
  EXPECT_EQ(ShellQuote("$x"), "'$x'");
}

TEST(Firewalld, ManagerGetsItsPortsFromTheNodesOnly) {
  auto p = LoadExample("swarm-cluster.yaml");
  const policy::Node& m = *p.FindNode("manager-1");
  auto r = FirewalldRules(p, m, compile::Compile(p, m, {}));
  // The Swarm ports from the `nodes` set, on every interface (the policy).
  for (const char* rule :
       {"rule priority=\"-2\" family=\"ipv4\" source ipset=\"swarmwall-nodes-v4\" port port=\"2377\" "
        "protocol=\"tcp\" accept",
        "rule priority=\"-2\" family=\"ipv4\" source ipset=\"swarmwall-nodes-v4\" port port=\"7946\" "
        "protocol=\"tcp\" accept",
        "rule priority=\"-2\" family=\"ipv4\" source ipset=\"swarmwall-nodes-v4\" port port=\"4789\" "
        "protocol=\"udp\" accept",
        "rule priority=\"-1\" family=\"ipv4\" port port=\"2377\" protocol=\"tcp\" drop",
        "rule priority=\"-1\" family=\"ipv6\" port port=\"4789\" protocol=\"udp\" drop"})
    EXPECT_TRUE(Has(r.swarm_policy, rule)) << rule << "\n" << Join(r.swarm_policy);
  // The nodes have no IPv6 address: no IPv6 accept at all.
  for (const auto& rule : r.swarm_policy)
    EXPECT_FALSE(Contains(rule, "ipv6\" source")) << rule;
  for (const char* rule :
       {"rule family=\"ipv4\" source ipset=\"swarmwall-admins-v4\" port port=\"22\" protocol=\"tcp\" accept",
        "rule family=\"ipv6\" source ipset=\"swarmwall-admins-v6\" port port=\"22\" protocol=\"tcp\" accept",
        "rule family=\"ipv4\" port port=\"80\" protocol=\"tcp\" accept",
        "rule family=\"ipv6\" port port=\"443\" protocol=\"tcp\" accept",
        "rule priority=\"-1\" family=\"ipv4\" icmp-type name=\"echo-request\" accept limit value=\"8/s\"",
        "rule priority=\"-1\" family=\"ipv6\" icmp-type name=\"neighbour-solicitation\" accept"})
    EXPECT_TRUE(Has(r.public_zone, rule)) << rule << "\n" << Join(r.public_zone);
}

TEST(Firewalld, WorkerGetsNoManagerPortNorIngress) {
  auto p = LoadExample("swarm-cluster.yaml");
  const policy::Node& w = *p.FindNode("node-1");
  auto r = FirewalldRules(p, w, compile::Compile(p, w, {}));
  for (const auto& rule : r.swarm_policy) {
    if (Contains(rule, "2377")) {
      EXPECT_TRUE(Contains(rule, "drop")) << rule;
    }
  }
  EXPECT_TRUE(Has(r.swarm_policy, "rule priority=\"-2\" family=\"ipv4\" source ipset=\"swarmwall-nodes-v4\" "
                                  "port port=\"7946\" protocol=\"udp\" accept"));
  for (const auto& rule : r.public_zone) EXPECT_FALSE(Contains(rule, "port=\"80\"")) << rule;
}

TEST(Firewalld, ScriptLayout) {
  auto p = LoadExample("swarm-cluster.yaml");
  std::string s = Render(p, "manager-1");
  EXPECT_TRUE(s.starts_with("#!/bin/sh\n")) << s;
  EXPECT_TRUE(Contains(s, "\nset -eu\n"));
  EXPECT_TRUE(Contains(s, "fw() { ${FIREWALL_CMD:-firewall-offline-cmd} \"$@\"; }"));
  EXPECT_TRUE(Contains(s, "fw --new-ipset=swarmwall-admins-v4 --type=hash:net --option=family=inet\n"));
  EXPECT_TRUE(Contains(s, "fw --new-ipset=swarmwall-admins-v6 --type=hash:net --option=family=inet6\n"));
  EXPECT_TRUE(Contains(s, "fw --ipset=swarmwall-admins-v4 \\\n  --add-entry=203.0.113.7/32 \\\n"
                          "  --add-entry=203.0.113.64/28\n")) << s;
  EXPECT_TRUE(Contains(s, "fw --new-zone=swarmwall-public\nfw --zone=swarmwall-public --set-target=DROP\n"
                          "fw --zone=swarmwall-public --change-interface=eth0\n"));
  EXPECT_TRUE(Contains(s, "  '--add-rich-rule=rule family=\"ipv4\" source ipset=\"swarmwall-admins-v4\" "
                          "port port=\"22\" protocol=\"tcp\" accept' \\\n"));
  EXPECT_TRUE(Contains(s, "fw --zone=swarmwall-cluster --set-target=ACCEPT\n"
                          "fw --zone=swarmwall-cluster --change-interface=ens11\n"));
  EXPECT_TRUE(Contains(s, "fw --policy=swarmwall-swarm --set-priority=-100\n"
                          "fw --policy=swarmwall-swarm --add-ingress-zone=ANY\n"
                          "fw --policy=swarmwall-swarm --add-egress-zone=HOST\n"));
  // Cleanup comes before anything is made.
  EXPECT_LT(s.find("--delete-zone"), s.find("--new-zone"));
  EXPECT_LT(s.find("--delete-ipset"), s.find("--new-ipset"));
}

TEST(Firewalld, DirectRulesAreTheCompiledChains) {
  auto p = LoadExample("swarm-cluster.yaml");
  const policy::Node& m = *p.FindNode("manager-1");
  auto state = compile::Compile(p, m, {});
  std::string s = RenderFirewalld(p, m, state);
  for (const auto* fs : {&state.ipv4, &state.ipv6}) {
    std::string ipv = fs == &state.ipv4 ? "ipv4" : "ipv6";
    for (const auto& c : fs->chains) {
      if (c.name == compile::kInputChain) {
        // INPUT is the zones' and the policy's job.
        EXPECT_FALSE(Contains(s, "--add-chain " + ipv + " filter SWARMWALL-INPUT"));
        continue;
      }
      EXPECT_TRUE(Contains(s, "fw --direct --add-chain " + ipv + " filter " + c.name + "\n"));
      EXPECT_EQ(Count(s, "fw --direct --add-rule " + ipv + " filter " + c.name + " 0 "), c.rules.size())
          << c.name;
    }
    EXPECT_TRUE(Contains(s, "fw --direct --query-chain " + ipv + " filter DOCKER-USER >/dev/null || "
                            "fw --direct --add-chain " + ipv + " filter DOCKER-USER\n"));
    EXPECT_TRUE(Contains(s, "fw --direct --add-rule " + ipv + " filter DOCKER-USER 0 -j SWARMWALL-USER\n"));
  }
  EXPECT_TRUE(Contains(s, "fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i eth0 -p tcp -m conntrack "
                          "--ctstate DNAT --ctorigdstport 8080 -m set --match-set swarmwall-office-v4 src "
                          "-m comment --comment 'swarmwall: containers allow #2' -j RETURN\n")) << s;
  EXPECT_TRUE(Contains(s, "fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i docker0 -o eth0 "
                          "-j SWARMWALL-EGRESS\n"));
  EXPECT_TRUE(Contains(s, "fw --direct --add-rule ipv4 filter SWARMWALL-EGRESS 0 -d 169.254.169.254/32 "
                          "-m comment --comment 'swarmwall: egress deny #1: cloud metadata service' -j DROP\n"));
  // Chains are declared before the hooks that jump to them.
  EXPECT_LT(s.find("--add-chain ipv4 filter SWARMWALL-USER"), s.find("filter DOCKER-USER 0 -j"));
}

TEST(Firewalld, ForwardHookWithoutDockerUser) {
  auto p = LoadExample("swarm-cluster.yaml");
  compile::NodeFacts facts;
  facts.docker_user_ipv6 = false;
  facts.forward_ipv6 = true;
  std::string s = Render(p, *p.FindNode("node-1"), facts);
  EXPECT_TRUE(Contains(s, "fw --direct --add-rule ipv6 filter FORWARD 0 -j SWARMWALL-USER\n"));
  EXPECT_FALSE(Contains(s, "--query-chain ipv6 filter DOCKER-USER"));
  EXPECT_TRUE(Contains(s, "fw --direct --add-rule ipv4 filter DOCKER-USER 0 -j SWARMWALL-USER\n"));
}

TEST(Firewalld, SwarmOnlyClusterAndLogDrops) {
  auto p = LoadExample("openshift-egress.yaml");
  std::string s = Render(p, "master-1");
  EXPECT_TRUE(Contains(s, "fw --zone=swarmwall-cluster --set-target=DROP\n"));
  EXPECT_TRUE(Contains(s, "fw --zone=swarmwall-cluster --change-interface=eth1\n"));
  EXPECT_TRUE(Contains(s, "'--add-rich-rule=rule priority=\"32767\" log prefix=\"swarmwall input: \" "
                          "limit value=\"5/m\"'")) << s;
  EXPECT_TRUE(Contains(s, "'--add-rich-rule=rule priority=\"-1\" family=\"ipv4\" port port=\"2377\" "
                          "protocol=\"tcp\" log prefix=\"swarmwall swarm: \" limit value=\"5/m\" drop'"));
  // The web console from anywhere, ssh from a CIDR.
  EXPECT_TRUE(Contains(s, "rule family=\"ipv4\" port port=\"8443\" protocol=\"tcp\" accept"));
  EXPECT_TRUE(Contains(s, "rule family=\"ipv4\" source address=\"10.20.0.0/16\" port port=\"22\" "
                          "protocol=\"tcp\" accept"));
  // ... which has no IPv6 counterpart.
  EXPECT_FALSE(Contains(s, "family=\"ipv6\" source address=")) << s;
  // The LOG rules of the compiled chains keep their prefix as one argument.
  EXPECT_TRUE(Contains(s, "-m limit --limit 5/min -j LOG --log-prefix 'swarmwall containers: '\n")) << s;
  std::string other = Render(p, "app-1");
  EXPECT_FALSE(Contains(other, "port=\"8443\""));
}

TEST(Firewalld, NoSwarmNoCluster) {
  auto p = LoadExample("docker-host-friends.yaml");
  std::string s = Render(p, NodesOf(p)[0]);
  EXPECT_FALSE(Contains(s, "--new-policy"));
  EXPECT_FALSE(Contains(s, "swarmwall-cluster"));
  EXPECT_TRUE(Contains(s, "# 5. No swarm section: no Swarm policy.\n"));
  EXPECT_TRUE(Contains(s, "rule family=\"ipv4\" source ipset=\"swarmwall-friends-v4\" port port=\"22\" "
                          "protocol=\"tcp\" accept"));
  // friends.txt has no IPv6 entry: no IPv6 set and no IPv6 ssh rule.
  EXPECT_FALSE(Contains(s, "swarmwall-friends-v6"));
}

TEST(Firewalld, EncryptedOverlayNeedsIpsecThroughADirectChain) {
  auto p = LoadYaml(R"(version: 1
interfaces: { public: [eth0] }
nodes:
  - { name: m, role: manager, address: 10.0.0.1 }
  - { name: w, role: worker, address: [10.0.0.2, 2001:db8::2] }
swarm: { from: nodes, encrypted_overlay: true }
)");
  std::string s = Render(p, "w");
  for (const char* ipv : {"ipv4", "ipv6"}) {
    EXPECT_TRUE(Contains(s, fmt::format("fw --direct --add-chain {} filter SWARMWALL-INPUT\n", ipv)));
    EXPECT_TRUE(Contains(s, fmt::format("fw --direct --add-rule {} filter SWARMWALL-INPUT 0 -p udp -m udp "
                                        "--dport 4789 -m policy --dir in --pol none -m comment --comment "
                                        "'swarmwall: swarm encrypted overlay' -j DROP\n", ipv)))
        << s;
    EXPECT_TRUE(Contains(s, fmt::format("fw --direct --add-rule {} filter INPUT 0 -j SWARMWALL-INPUT\n", ipv)));
  }
  EXPECT_TRUE(Contains(s, "rule priority=\"-2\" family=\"ipv4\" source ipset=\"swarmwall-nodes-v4\" "
                          "protocol value=\"esp\" accept"));
  EXPECT_TRUE(Contains(s, "rule priority=\"-2\" family=\"ipv6\" source ipset=\"swarmwall-nodes-v6\" "
                          "port port=\"4789\" protocol=\"udp\" accept"));
  EXPECT_TRUE(Contains(s, "rule priority=\"-1\" family=\"ipv4\" port port=\"4789\" protocol=\"udp\" drop"));
}

TEST(Firewalld, Ipv6Off) {
  auto p = LoadYaml(R"(version: 1
ipv6: false
interfaces: { public: [eth0] }
sets: { office: [198.51.100.0/24, 2001:db8:100::/48] }
host:
  allow: [{ service: ssh, from: office }]
)");
  policy::Node n;
  n.name = "host";
  n.addresses = {*netfilter::IpAddress::Parse("192.0.2.1")};
  std::string s = Render(p, n);
  EXPECT_FALSE(Contains(s, "ipv6")) << s;
  EXPECT_FALSE(Contains(s, "inet6"));
  EXPECT_TRUE(Contains(s, "source ipset=\"swarmwall-office-v4\""));
}

TEST(Firewalld, OverlappingEntriesKeepTheWidest) {
  auto p = LoadYaml(R"(version: 1
interfaces: { public: [eth0] }
sets: { office: [10.0.0.0/16, 10.1.2.3, 10.0.0.0/8, 192.0.2.0/24, 2001:db8::/32, 2001:db8:1::/48] }
host:
  allow: [{ service: ssh, from: office }]
)");
  policy::Node n;
  n.name = "host";
  n.addresses = {*netfilter::IpAddress::Parse("192.0.2.1")};
  std::string s = Render(p, n);
  EXPECT_TRUE(Contains(s, "fw --ipset=swarmwall-office-v4 \\\n  --add-entry=10.0.0.0/8 \\\n"
                          "  --add-entry=192.0.2.0/24\n")) << s;
  EXPECT_TRUE(Contains(s, "fw --ipset=swarmwall-office-v6 --add-entry=2001:db8::/32\n")) << s;
}

TEST(Firewalld, LargeSetsAreAddedInChunks) {
  auto p = LoadExample("swarm-cluster.yaml");
  for (auto& set : p.sets)
    if (set.name == "admins") {
      set.ipv4.clear();
      for (int i = 0; i < 2500; ++i)
        set.ipv4.push_back(*netfilter::Cidr::Parse(fmt::format("100.{}.{}.0/24", 64 + i / 256, i % 256)));
    }
  std::string s = Render(p, "manager-1");
  EXPECT_EQ(Count(s, "fw --ipset=swarmwall-admins-v4 \\\n"), 3u);
  EXPECT_EQ(Count(s, "--add-entry=100."), 2500u);
  EXPECT_FALSE(Contains(s, "maxelem"));
}

TEST(Firewalld, Deterministic) {
  auto a = LoadExample("dual-stack.yaml");
  auto b = LoadExample("dual-stack.yaml");
  EXPECT_EQ(Render(a, "web-1"), Render(b, "web-1"));
}

// Every example and node against tests/golden/firewalld/EXAMPLE/NODE.sh,
// byte for byte. SWARMWALL_UPDATE_GOLDEN=1 rewrites them.
TEST(Firewalld, Golden) {
  const char* env = std::getenv("SWARMWALL_UPDATE_GOLDEN");
  bool update = env && std::string(env) == "1";
  std::vector<fs::path> examples;
  for (const auto& e : fs::directory_iterator(kSource + "/examples"))
    if (e.path().extension() == ".yaml") examples.push_back(e.path());
  std::sort(examples.begin(), examples.end());
  ASSERT_FALSE(examples.empty());
  int checked = 0;
  for (const auto& path : examples) {
    auto p = LoadExample(path.filename().string());
    for (const auto& node : NodesOf(p)) {
      std::string got = Render(p, node);
      fs::path golden = fs::path(kSource) / "tests/golden/firewalld" / path.stem() / (node.name + ".sh");
      if (update) {
        fs::create_directories(golden.parent_path());
        std::ofstream(golden, std::ios::binary) << got;
        continue;
      }
      ASSERT_TRUE(fs::exists(golden)) << golden << " is missing; run with SWARMWALL_UPDATE_GOLDEN=1";
      EXPECT_EQ(ReadFile(golden), got) << golden << " differs; if intended, run with "
                                       << "SWARMWALL_UPDATE_GOLDEN=1 and review the diff";
      ++checked;
    }
  }
  if (!update) {
    EXPECT_GE(checked, 12);
  }
}

}  // namespace
}  // namespace swarmwall::backend
