// The rendered rules under real packets: a real dockerd node (20.10 and
// 28.5) with host listeners and published containers, outside hosts on the
// public switch (a stranger, an office, an admin, a metadata service), the
// node's rendered ipsets and rules loaded on top of Docker's own (on Docker
// 29 in nftables mode, the rendered nftables tables: render --backend nftables). Real
// connections must pass exactly where the policy says, and containers must
// still reach the outside (but not the denied metadata address).
#include <gtest/gtest.h>

#include <fstream>

#include "lab/docker_params.h"
#include "lab/lab.h"
#include "lab/owned_firewall.h"

namespace swarmwall {
namespace {

using lab::DockerVersion;

constexpr const char* kPolicy = R"(version: 1
interfaces: { public: [eth0], cluster: [ens11] }
sets:
  office: [198.51.100.0/24]
  admins: [192.0.2.7/32]
nodes:
  - { name: manager-1, role: manager, address: 203.0.113.11, labels: [ingress] }
host:
  allow:
    - { service: ssh, from: admins }
    - { ports: [443], proto: tcp, on: [label:ingress] }
  icmp: { echo_limit: 8/second }
swarm: { from: nodes }
containers:
  default: drop
  allow:
    - { ports: [80] }
    - { ports: [8080], from: office }
egress:
  default: accept
  deny:
    - { to: [198.51.100.99/32] }
)";

struct World {
  std::unique_ptr<lab::Lab> lab;
  lab::Host *node = nullptr, *stranger = nullptr, *office = nullptr, *admin = nullptr,
            *metadata = nullptr;
  lab::DockerNode* docker = nullptr;
  std::string error;
  bool before_9000 = false;   // reachable before the rules were loaded
};

class RenderPackets : public ::testing::TestWithParam<DockerVersion> {
 protected:
  static World& Get(DockerVersion v) {
    static std::map<DockerVersion, World> worlds;
    if (auto it = worlds.find(v); it != worlds.end()) return it->second;
    World& w = worlds[v];
    try {
      w.lab = std::make_unique<lab::Lab>(lab::LabTag("rp", v));
      auto& pub = w.lab->AddSwitch("pub");
      w.node = &w.lab->AddHost("node");
      w.lab->Connect(*w.node, pub, "eth0", {"203.0.113.11/24"});
      auto outside = [&](const char* name, const std::string& addr) {
        auto& h = w.lab->AddHost(name);
        w.lab->Connect(h, pub, "eth0", {addr + "/24"});
        // One L2 segment, several subnets: everything is on-link.
        h.Sh("ip route add 203.0.113.0/24 dev eth0 2>/dev/null; ip route add default dev eth0");
        return &h;
      };
      w.stranger = outside("stranger", "203.0.113.100");
      w.office = outside("office", "198.51.100.10");
      w.admin = outside("admin", "192.0.2.7");
      w.metadata = outside("meta", "198.51.100.99");
      w.node->Sh("ip route add default dev eth0");
      w.docker = &w.lab->StartDocker(*w.node, v);
      w.docker->EnsureBusyboxImage();
      w.docker->RunWebContainer("web", {"80:80"});
      w.docker->RunWebContainer("api", {"8080:80"});
      w.docker->RunWebContainer("db", {"9000:80"});
      for (int port : {22, 443, 5000, 7946}) w.node->Listen(port);
      w.stranger->Listen(9999);
      w.metadata->Listen(9999);
      w.before_9000 = w.stranger->CanConnect("203.0.113.11", 9000);
      // Render and load: ipsets first, then the rules, on top of Docker's,
      // then the hooks (docs/backends.md); where swarmwall's nftables backend
      // runs, its tables in one `nft -f`.
      std::string dir = w.lab->RunDir();
      std::ofstream(dir + "/policy.yaml") << kPolicy;
      const bool nft = lab::NftablesBackend(v);
      // Rendered on the node itself: it reads where Docker lets it hook in.
      auto r = w.node->Sh(std::string(SWARMWALL_BINARY) + " render " + dir + "/policy.yaml --node manager-1" +
                          (nft ? " --backend nftables" : "") + " --out-dir " + dir + "/out");
      if (!r.ok()) throw std::runtime_error("render: " + r.err);
      auto load = w.node->Sh(nft ? "nft -f " + dir + "/out/manager-1.nft"
                                 : "ipset restore < " + dir + "/out/manager-1.ipset && iptables-restore --noflush < " +
                                       dir + "/out/manager-1.v4.rules && ip6tables-restore --noflush < " + dir +
                                       "/out/manager-1.v6.rules && sh " + dir + "/out/manager-1.hooks.sh");
      if (!load.ok()) throw std::runtime_error("load: " + load.err);
    } catch (const std::exception& e) {
      w.error = e.what();
    }
    return w;
  }

  World& Ready() {
    std::string why;
    if (!lab::LabSupported(&why)) {
      skip_ = why;
      return empty_;
    }
    if (!lab::DockerAvailable(GetParam())) {
      skip_ = lab::DockerUnavailableReason(GetParam());
      return empty_;
    }
    return Get(GetParam());
  }
  std::string skip_;
  World empty_;
};

#define WORLD()                                 \
  World& w = Ready();                           \
  if (!skip_.empty()) GTEST_SKIP() << skip_;    \
  ASSERT_TRUE(w.error.empty()) << w.error

TEST_P(RenderPackets, PublishedPortWasOpenBefore) {
  WORLD();
  EXPECT_TRUE(w.before_9000) << "without a firewall every published port is open (seed 002)";
}

TEST_P(RenderPackets, StrangerReachesOnlyWhatThePolicyAllows) {
  WORLD();
  const std::string node = "203.0.113.11";
  EXPECT_TRUE(w.stranger->CanConnect(node, 443)) << "host service for everyone";
  EXPECT_TRUE(w.stranger->CanConnect(node, 80)) << "published port for everyone";
  EXPECT_FALSE(w.stranger->CanConnect(node, 22)) << "ssh is for admins";
  EXPECT_FALSE(w.stranger->CanConnect(node, 5000)) << "host listener not in the policy";
  EXPECT_FALSE(w.stranger->CanConnect(node, 7946)) << "swarm port from a non-node";
  EXPECT_FALSE(w.stranger->CanConnect(node, 8080)) << "published port for the office only";
  EXPECT_FALSE(w.stranger->CanConnect(node, 9000)) << "published port not in the policy";
}

TEST_P(RenderPackets, AllowlistedSourcesGetTheirPorts) {
  WORLD();
  const std::string node = "203.0.113.11";
  EXPECT_TRUE(w.office->CanConnect(node, 8080));
  EXPECT_FALSE(w.office->CanConnect(node, 9000));
  EXPECT_FALSE(w.office->CanConnect(node, 22));
  EXPECT_TRUE(w.admin->CanConnect(node, 22));
  EXPECT_FALSE(w.admin->CanConnect(node, 8080));
}

TEST_P(RenderPackets, ContainersStillReachTheOutsideButNotDeniedAddresses) {
  WORLD();
  auto out = w.docker->Docker({"exec", "web", "nc", "-w", "2", "203.0.113.100", "9999"},
                              {.input = "", .timeout = std::chrono::seconds(20)});
  EXPECT_EQ(out.exit_code, 0) << out.err;
  auto meta = w.docker->Docker({"exec", "web", "nc", "-w", "2", "198.51.100.99", "9999"},
                               {.input = "", .timeout = std::chrono::seconds(20)});
  EXPECT_NE(meta.exit_code, 0) << "egress deny";
}

TEST_P(RenderPackets, DockersOwnChainsAreStillThere) {
  WORLD();
  if (lab::NftablesBackend(GetParam())) {
    // swarmwall's base chains jump to its chains; Docker's table is untouched.
    EXPECT_TRUE(lab::InputJumpFirst(*w.node, GetParam()));
    auto forward = w.node->Exec({"nft", "list", "chain", "ip", "swarmwall", "forward"});
    EXPECT_NE(forward.out.find("jump SWARMWALL-USER"), std::string::npos) << forward.out << forward.err;
    auto docker = w.node->Exec({"nft", "list", "table", "ip", "docker-bridges"});
    EXPECT_NE(docker.out.find("tcp dport 80 "), std::string::npos) << "Docker's per-port accept\n" << docker.out;
    return;
  }
  auto saved = w.node->Exec({"iptables-save", "-t", "filter"});
  EXPECT_NE(saved.out.find("-A DOCKER-USER -j SWARMWALL-USER"), std::string::npos) << saved.out;
  EXPECT_NE(saved.out.find("-A INPUT -j SWARMWALL-INPUT"), std::string::npos);
  EXPECT_NE(saved.out.find("--dport 80 -j ACCEPT"), std::string::npos) << "Docker's per-port ACCEPT";
}

INSTANTIATE_TEST_SUITE_P(Docker, RenderPackets, lab::NewestDockers(lab::Suite::kApplies), lab::DockerParamName);

}  // namespace
}  // namespace swarmwall
