// A Swarm service published in ingress mode (the routing mesh), named by a
// containers rule (`service: web`): these kernels lack IPVS, so the lab
// cannot run one; moby's own generated rules of a Docker 29 Swarm node with
// a published port (fixtures/moby-iptablesdoc/swarm-portmap.md: DOCKER-INGRESS
// DNATs 8080 to the ingress sandbox 172.18.0.2) stand in. The rules compiled
// from the service's ingress port (as docker/published_ports.h reads it from
// GET /services) are put into DOCKER-USER, and a stranger's packets traced:
// the service's port reaches the sandbox, a name that publishes nothing
// opens nothing.
#include <gtest/gtest.h>

#include "analyze/test_host.h"
#include "analyze/trace/trace.h"
#include "compile/compiler.h"

namespace swarmwall::analyze {
namespace {

using netfilter::IpAddress;

const char* kAddr = R"([
 {"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
 {"ifname":"eth0","addr_info":[{"family":"inet","local":"203.0.113.11","prefixlen":24}]},
 {"ifname":"docker0","addr_info":[{"family":"inet","local":"172.17.0.1","prefixlen":16}]},
 {"ifname":"docker_gwbridge","addr_info":[{"family":"inet","local":"172.18.0.1","prefixlen":16}]}])";
const char* kRoute = R"([
 {"dst":"default","gateway":"203.0.113.100","dev":"eth0"},
 {"dst":"203.0.113.0/24","dev":"eth0","prefsrc":"203.0.113.11"},
 {"dst":"172.17.0.0/16","dev":"docker0","prefsrc":"172.17.0.1"},
 {"dst":"172.18.0.0/16","dev":"docker_gwbridge","prefsrc":"172.18.0.1"}])";

struct Host : test::HostBase<Host> {
  using HostBase::HostBase;
  Fate To(uint16_t port) {
    TraceInput t;
    t.packet.src = *IpAddress::Parse("198.51.100.7");
    t.packet.dst = *IpAddress::Parse("203.0.113.11");
    t.packet.family = t.packet.src.family;
    t.packet.protocol = 6;
    t.packet.sport = 40000;
    t.packet.dport = port;
    t.packet.tcp_flags = kTcpSyn;
    t.packet.in = "eth0";
    auto r = model->Trace(t);
    EXPECT_TRUE(r.Definite());
    return r.outcome.fate;
  }
};

// The moby node's rules with POLICY compiled in (chains, hooks and sets as
// apply would put them), and the model over them.
Host NodeWith(const std::string& policy_text, const std::vector<compile::PublishedPort>& published) {
  auto loaded = policy::LoadPolicyText(policy_text, "p.yaml", ".");
  if (!loaded.ok()) throw std::runtime_error(loaded.errors.front().ToString());
  const auto& p = *loaded.policy;
  compile::NodeFacts facts;
  facts.published = published;
  auto state = compile::Compile(p, *p.FindNode("m1"), facts);
  std::string filter = test::MobyRules("swarm-portmap.md", "filter");
  filter.erase(filter.rfind("COMMIT"));
  std::string sets;
  for (const auto& c : state.ipv4.chains) filter += "-N " + c.name + "\n";
  for (const auto& c : state.ipv4.chains)
    for (const auto& r : c.rules) filter += "-A " + c.name + " " + r + "\n";
  for (const auto& h : state.ipv4.hooks) filter += "-I " + h.chain + " 1 -j " + h.target + "\n";
  for (const auto& s : state.ipv4.sets) {
    sets += "create " + s.name + " hash:net family inet\n";
    for (const auto& e : *s.entries) sets += "add " + s.name + " " + e.ToString() + "\n";
  }
  return Host(filter + "COMMIT\n" + test::MobyRules("swarm-portmap.md", "nat"), kAddr, kRoute, sets);
}

const std::string kPolicy = R"(version: 1
interfaces: { public: [eth0] }
nodes: [{ name: m1, role: manager, address: 203.0.113.11 }]
containers:
  default: drop
  allow:
)";

// What GET /services gives for `docker service create --publish 8080:8080 web`.
const std::vector<compile::PublishedPort> kIngress = {{"tcp", 8080, "", "web", {}}};

TEST(IngressSelector, DockersOwnRulesLetTheStrangerIn) {
  Host h(test::MobyRules("swarm-portmap.md", "filter") + test::MobyRules("swarm-portmap.md", "nat"), kAddr,
         kRoute);
  EXPECT_EQ(h.To(8080), Fate::kForward);
}

TEST(IngressSelector, TheServicesIngressPortIsOpenAndNothingElse) {
  Host h = NodeWith(kPolicy + "    - { service: web }\n", kIngress);
  EXPECT_EQ(h.To(8080), Fate::kForward);
  EXPECT_EQ(h.To(8081), Fate::kDrop);
}

TEST(IngressSelector, ANameThatPublishesNothingOpensNothing) {
  Host h = NodeWith(kPolicy + "    - { service: other }\n", kIngress);
  EXPECT_EQ(h.To(8080), Fate::kDrop);
  // By label: the service's labels come with its ingress port.
  Host l = NodeWith(kPolicy + "    - { label: com.example.expose=public }\n",
                    {{"tcp", 8080, "", "web", {{"com.example.expose", "public"}}}});
  EXPECT_EQ(l.To(8080), Fate::kForward);
}

}  // namespace
}  // namespace swarmwall::analyze
