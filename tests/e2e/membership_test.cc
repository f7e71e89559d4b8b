// Live Swarm membership (`nodes: auto`, issue 6) on real dockerds, 20.10 and
// 28.5: a Swarm of a manager and a worker, each running `swarmwall agent`
// on one shared policy that says `nodes: auto` and `swarm: { from: nodes }`
// (the worker's agent reads the nodes through the manager's Engine API,
// --manager). A third node joins: its cluster address appears in the nodes'
// set on every node (the time from the join to that is printed, never
// judged); from it 2377/tcp (manager), 7946/tcp and 4789/udp (conntrack on
// the target) are reachable on the cluster network, only because it is a
// member, while a stranger on the public switch still reaches none; the
// applied record learns the new set (status finds no drift). A promotion
// moves 2377 (the promoted node accepts it from the nodes, the demoted one
// no longer); the node leaves (swarm leave + node rm) and its address
// leaves every set.
//
// Joining needs 2377 on a manager before the new node is a member: the
// policy first admits it through a `joining` set in swarm.from (what an
// operator does), then that set is taken out again, so that what the test
// sees afterwards is the membership's doing.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lab/agent_log.h"
#include "lab/docker_params.h"
#include "lab/lab.h"
#include "lab/owned_firewall.h"
#include "lab/rules_view.h"
#include "lab/swarm.h"

namespace swarmwall {
namespace {

using lab::DockerVersion;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kSet = "swarmwall-nodes-v4";

std::string Policy(bool joining) {
  return fmt::format(R"(version: 1
interfaces: {{ public: [eth0], cluster: [ens11] }}
sets:
  office: [198.51.100.0/24]{}
nodes: auto
host:
  allow:
    - {{ service: ssh, from: office }}
swarm: {{ from: {} }}
)",
                     joining ? "\n  joining: [10.10.10.3]" : "", joining ? "[nodes, joining]" : "nodes");
}

struct Member {
  std::string name, pub, clu;
  lab::Host* host = nullptr;
  lab::DockerNode* docker = nullptr;
  pid_t agent = -1;
  std::string dir;  // state dir and agent log live here
  DockerVersion version = DockerVersion::k29_7;
};

struct Cluster {
  std::unique_ptr<lab::Lab> lab;
  std::vector<Member> nodes;  // manager-1, node-1, node-3 (joins later)
  lab::Host* stranger = nullptr;
  std::string policy, token, error;
  Member& M() { return nodes[0]; }
  Member& W() { return nodes[1]; }
  Member& J() { return nodes[2]; }
};

using lab::ReadAll;
using lab::Records;

std::string Log(const Member& n) { return ReadAll(n.dir + "/agent.log"); }

void WritePolicy(const std::string& path, const std::string& text) {
  std::ofstream(path + ".tmp") << text;
  std::filesystem::rename(path + ".tmp", path);  // one inotify event, a whole file
}

bool SetHas(Member& n, const std::string& set, const std::string& addr) {
  return lab::SetHas(*n.host, n.version, set, addr);
}

bool SetExists(Member& n, const std::string& set) { return lab::SetExists(*n.host, n.version, set); }

// Polls PRED every 5 ms up to TIMEOUT; the time it took, or nullopt.
std::optional<double> WaitFor(const std::function<bool()>& pred, std::chrono::milliseconds timeout = 15s) {
  auto start = Clock::now();
  while (Clock::now() - start < timeout) {
    if (pred()) return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    std::this_thread::sleep_for(5ms);
  }
  return std::nullopt;
}

class Membership : public ::testing::TestWithParam<DockerVersion> {
 public:
  static std::map<DockerVersion, Cluster>& Clusters() {
    static std::map<DockerVersion, Cluster> c;
    return c;
  }

  static void StopAgent(Member& n) {
    if (n.agent <= 0) return;
    kill(n.agent, SIGTERM);
    for (int i = 0; i < 100 && waitpid(n.agent, nullptr, WNOHANG) == 0; ++i) std::this_thread::sleep_for(50ms);
    kill(n.agent, SIGKILL);
    waitpid(n.agent, nullptr, WNOHANG);
    n.agent = -1;
  }

  static void StopAll() {
    for (auto& [v, c] : Clusters())
      for (auto& n : c.nodes) StopAgent(n);
  }

 protected:
  static void StartAgent(Cluster& c, Member& n, bool via_manager) {
    std::vector<std::string> argv = {"nsenter", "--net=/var/run/netns/" + n.host->netns(), "env",
                                     "SWARMWALL_STATE_DIR=" + n.dir + "/state",
                                     "DOCKER_HOST=unix://" + n.docker->Socket(),
                                     SWARMWALL_BINARY, "agent", c.policy,
                                     "--metrics", "127.0.0.1:9469", "--log-format", "json",
                                     "--interval-ms", "500", "--relist-ms", "2000"};
    if (via_manager) {
      argv.push_back("--manager");
      argv.push_back("unix://" + c.M().docker->Socket());
    }
    n.agent = lab::StartAgent(argv, n.dir + "/agent.log", "on " + n.name);
  }

  static Cluster& Get(DockerVersion v) {
    auto& all = Clusters();
    if (auto it = all.find(v); it != all.end()) return it->second;
    Cluster& c = all[v];
    auto start = Clock::now();
    try {
      c.lab = std::make_unique<lab::Lab>(lab::LabTag("mbr", v));
      auto& pub = c.lab->AddSwitch("pub");
      auto& clu = c.lab->AddSwitch("clu");
      c.nodes = {{"manager-1", "203.0.113.11", "10.10.10.1"},
                 {"node-1", "203.0.113.12", "10.10.10.2"},
                 {"node-3", "203.0.113.13", "10.10.10.3"}};
      for (auto& n : c.nodes) {
        n.host = &c.lab->AddHost(n.name);
        c.lab->Connect(*n.host, pub, "eth0", {n.pub + "/24"});
        c.lab->Connect(*n.host, clu, "ens11", {n.clu + "/24"});
        n.host->Sh("ip link set lo up");
        n.dir = n.host->dir();
        n.version = v;
      }
      c.stranger = &c.lab->AddHost("stranger");
      c.lab->Connect(*c.stranger, pub, "eth0", {"203.0.113.100/24"});
      for (auto& n : c.nodes) n.docker = &c.lab->StartDocker(*n.host, v);
      c.token = lab::SwarmInit(*c.M().docker, "ens11");
      lab::SwarmJoin(*c.W().docker, c.token, c.M().clu, "ens11");
      std::string report;
      if (!lab::WaitNodesReady(*c.M().docker, 2, 60s, &report)) throw std::runtime_error(report);
      c.policy = c.lab->RunDir() + "/policy.yaml";
      WritePolicy(c.policy, Policy(false));
      StartAgent(c, c.M(), false);
      StartAgent(c, c.W(), true);
    } catch (const std::exception& e) {
      c.error = e.what();
    }
    std::cout << fmt::format("[   LAB    ] Docker {}: 3 dockerds, a 2-node swarm and its agents up in {} ms\n",
                             lab::DockerVersionName(v),
                             std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count());
    return c;
  }

  Cluster& C() { return Get(GetParam()); }
  std::string V() { return lab::DockerVersionName(GetParam()); }

  ProcessResult Sw(Member& n, const std::string& args) {
    return n.host->Sh(fmt::format("SWARMWALL_STATE_DIR={}/state DOCKER_HOST=unix://{} {} {}", n.dir,
                                  n.docker->Socket(), SWARMWALL_BINARY, args));
  }

  // Every node with an agent holds exactly ADDRS in the nodes' set (polled).
  void ExpectSets(const std::vector<std::string>& addrs, const std::vector<std::string>& absent) {
    for (auto& n : C().nodes) {
      if (n.agent <= 0) continue;
      auto ok = WaitFor([&] {
        for (const auto& a : addrs)
          if (!SetHas(n, kSet, a)) return false;
        for (const auto& a : absent)
          if (SetHas(n, kSet, a)) return false;
        return true;
      });
      EXPECT_TRUE(ok) << n.name << ": " << lab::ListSet(*n.host, n.version, kSet) << "\nlog:\n" << Log(n);
    }
  }

  // No drift for status: the applied record is what the kernel holds.
  void ExpectNoDrift(Member& n) {
    auto r = Sw(n, "status");
    EXPECT_EQ(r.out.find("drift"), std::string::npos) << n.name << ":\n" << r.out << r.err;
  }

  void SetUp() override {
    std::string why;
    if (!lab::LabSupported(&why)) GTEST_SKIP() << why;
    if (!lab::DockerAvailable(GetParam())) GTEST_SKIP() << lab::DockerUnavailableReason(GetParam());
    ASSERT_TRUE(C().error.empty()) << C().error;
  }
};

// The start: each node's set holds the two members, read from the Swarm.
// Neither the not-yet-member nor a stranger reaches the Swarm's ports.
TEST_P(Membership, A_StartsWithTheSwarmsNodesAndKeepsOthersOut) {
  Cluster& c = C();
  ExpectSets({"10.10.10.1", "10.10.10.2"}, {"10.10.10.3"});
  for (auto* n : {&c.M(), &c.W()}) {
    EXPECT_NE(Log(*n).find("\"nodes_auto\":true"), std::string::npos) << Log(*n);
    ExpectNoDrift(*n);
  }
  EXPECT_EQ(c.J().host->ConnectableTcp(c.M().clu, {2377, 7946}), std::vector<int>{});
  EXPECT_EQ(c.J().host->ConnectableTcp(c.W().clu, {7946}), std::vector<int>{});
  EXPECT_FALSE(c.J().host->UdpDelivered(*c.W().host, c.W().clu, 4789));
  EXPECT_EQ(c.stranger->ConnectableTcp(c.M().pub, {2377, 7946}), std::vector<int>{});
}

// Join: admitted through `joining`, then a member; its address in every
// node's set within seconds; then `joining` goes and it still reaches the
// Swarm's ports, as a member, while the stranger does not.
TEST_P(Membership, B_JoinedNodeEntersEverySetAndReachesTheSwarmPorts) {
  Cluster& c = C();
  WritePolicy(c.policy, Policy(true));
  for (auto* n : {&c.M(), &c.W()})
    ASSERT_TRUE(WaitFor([&] { return SetHas(*n, "swarmwall-joining-v4", "10.10.10.3"); })) << n->name << Log(*n);
  size_t mark_m = Log(c.M()).size(), mark_w = Log(c.W()).size();
  auto join_started = Clock::now();
  lab::SwarmJoin(*c.J().docker, c.token, c.M().clu, "ens11");
  auto joined = Clock::now();
  const double join_ms = std::chrono::duration<double, std::milli>(joined - join_started).count();
  std::map<std::string, double> seen;
  while (seen.size() < 2 && Clock::now() - joined < 20s) {
    for (auto* n : {&c.M(), &c.W()})
      if (!seen.count(n->name) && SetHas(*n, kSet, c.J().clu))
        seen[n->name] = std::chrono::duration<double, std::milli>(Clock::now() - joined).count();
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_EQ(seen.size(), 2u) << "not in every set 20 s after the join:\n" << Log(c.M()).substr(mark_m) << "\n"
                             << Log(c.W()).substr(mark_w);
  // The agents' own account: one membership record with the set change.
  std::string how;
  for (auto [n, mark] : {std::pair{&c.M(), mark_m}, std::pair{&c.W(), mark_w}}) {
    std::string found;
    for (int i = 0; i < 100 && found.empty(); ++i) {
      for (const auto& r : Records(Log(*n), mark))
        if (r.value("event", "") == "membership" && r.value("written", false)) {
          found = fmt::format("how {} since_event_ms {} duration_ms {} trigger {}", r.value("how", ""),
                              r.contains("since_event_ms") ? r["since_event_ms"].dump() : "-",
                              r["duration_ms"].dump(), r.value("trigger", ""));
          EXPECT_EQ(r.value("how", ""), lab::NftablesBackend(GetParam()) ? "nft-set" : "ipset") << r.dump();
          EXPECT_NE(r["found"].dump().find("+10.10.10.3"), std::string::npos) << r.dump();
        }
      if (found.empty()) std::this_thread::sleep_for(20ms);
    }
    EXPECT_FALSE(found.empty()) << n->name << ": no membership record\n" << Log(*n).substr(mark);
    std::cout << fmt::format("[membership {}] join -> {} in {}'s nodes set: {:.0f} ms after `docker swarm join` "
                             "returned (polled; the join itself took {:.0f} ms); agent: {}\n",
                             V(), c.J().clu, n->name, seen[n->name], join_ms, found);
  }
  // The new node's own agent (a worker: through the manager) holds all three.
  Membership::StartAgent(c, c.J(), true);
  ExpectSets({"10.10.10.1", "10.10.10.2", "10.10.10.3"}, {});
  // Admission over: only membership lets it in now.
  WritePolicy(c.policy, Policy(false));
  for (auto& n : c.nodes)
    ASSERT_TRUE(WaitFor([&] { return !SetExists(n, "swarmwall-joining-v4"); })) << n.name << Log(n);
  ASSERT_TRUE(WaitFor([&] { return lab::WaitNodesReady(*c.M().docker, 3, 1s); }, 30s));
  EXPECT_EQ(c.J().host->ConnectableTcp(c.M().clu, {2377, 7946}), (std::vector<int>{2377, 7946}));
  EXPECT_EQ(c.J().host->ConnectableTcp(c.W().clu, {7946}), std::vector<int>{7946});
  EXPECT_TRUE(c.J().host->UdpDelivered(*c.M().host, c.M().clu, 4789));
  EXPECT_TRUE(c.J().host->UdpDelivered(*c.W().host, c.W().clu, 4789));
  EXPECT_TRUE(c.J().host->UdpDelivered(*c.W().host, c.W().clu, 7946));
  EXPECT_EQ(c.stranger->ConnectableTcp(c.M().pub, {2377, 7946}), std::vector<int>{});
  EXPECT_EQ(c.stranger->ConnectableTcp(c.W().pub, {7946}), std::vector<int>{});
  EXPECT_FALSE(c.stranger->UdpDelivered(*c.M().host, c.M().pub, 4789));
  for (auto& n : c.nodes) ExpectNoDrift(n);
  auto metrics = c.M().host->Sh("curl -s --max-time 5 http://127.0.0.1:9469/metrics").out;
  EXPECT_NE(metrics.find("swarmwall_swarm_nodes 3"), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("swarmwall_membership_updates_total 0"), std::string::npos) << metrics;
}

bool Accepts2377(Member& n) {
  auto rules = lab::OwnedChain(*n.host, n.version, "SWARMWALL-INPUT");
  std::istringstream in(rules);
  for (std::string line; std::getline(in, line);)
    if (line.find("2377") != std::string::npos &&
        line.find(lab::SourceSetMatch(n.version, "swarmwall-nodes-v4")) != std::string::npos &&
        line.find(lab::AcceptVerdict(n.version)) != std::string::npos)
      return true;
  return false;
}

// Promotion moves 2377: the promoted worker accepts it from the nodes; once
// demoted, it no longer does.
TEST_P(Membership, C_PromotionAndDemotionMove2377) {
  Cluster& c = C();
  ASSERT_FALSE(Accepts2377(c.W()));
  ASSERT_TRUE(Accepts2377(c.M()));
  size_t mark = Log(c.W()).size();
  auto r = c.M().docker->Docker({"node", "promote", "node-1"});
  ASSERT_TRUE(r.ok()) << r.err;
  auto t = WaitFor([&] { return Accepts2377(c.W()); });
  ASSERT_TRUE(t) << Log(c.W()).substr(mark);
  std::cout << fmt::format("[membership {}] promote node-1 -> 2377 accepted there: {:.0f} ms\n", V(), *t);
  EXPECT_TRUE(WaitFor([&] { return !c.J().host->ConnectableTcp(c.W().clu, {2377}).empty(); }, 20s))
      << "node-3 cannot reach the promoted node-1's 2377";
  EXPECT_EQ(c.stranger->ConnectableTcp(c.W().pub, {2377}), std::vector<int>{});
  ExpectNoDrift(c.W());
  r = c.M().docker->Docker({"node", "demote", "node-1"});
  ASSERT_TRUE(r.ok()) << r.err;
  t = WaitFor([&] { return !Accepts2377(c.W()); });
  ASSERT_TRUE(t) << Log(c.W()).substr(mark);
  std::cout << fmt::format("[membership {}] demote node-1 -> 2377 closed there: {:.0f} ms\n", V(), *t);
  EXPECT_TRUE(Accepts2377(c.M()));
  // Something listening on 2377 there now is still out of the nodes' reach.
  if (WaitFor([&] { return c.W().host->Sh("ss -Hltn 'sport = :2377'").out.empty(); }, 10s)) {
    c.W().host->Listen(2377);
    EXPECT_EQ(c.J().host->ConnectableTcp(c.W().clu, {2377}), std::vector<int>{});
  }
  ExpectNoDrift(c.W());
}

// Leave: swarm leave + node rm; the address leaves every set, and the node
// no longer reaches the Swarm's ports.
TEST_P(Membership, D_LeftNodeLeavesEverySet) {
  Cluster& c = C();
  StopAgent(c.J());
  auto r = c.J().docker->Docker({"swarm", "leave"});
  ASSERT_TRUE(r.ok()) << r.err;
  auto left = Clock::now();
  ASSERT_TRUE(WaitFor([&] { return c.M().docker->Docker({"node", "rm", "--force", "node-3"}).ok(); }, 20s));
  auto removed = Clock::now();
  std::map<std::string, double> gone;
  while (gone.size() < 2 && Clock::now() - removed < 20s) {
    for (auto* n : {&c.M(), &c.W()})
      if (!gone.count(n->name) && !SetHas(*n, kSet, c.J().clu))
        gone[n->name] = std::chrono::duration<double, std::milli>(Clock::now() - removed).count();
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_EQ(gone.size(), 2u) << Log(c.M()) << Log(c.W());
  for (auto& [name, ms] : gone)
    std::cout << fmt::format("[membership {}] node rm -> {} out of {}'s nodes set: {:.0f} ms (leave to rm: {:.0f} ms)\n",
                             V(), c.J().clu, name, ms,
                             std::chrono::duration<double, std::milli>(removed - left).count());
  ExpectSets({"10.10.10.1", "10.10.10.2"}, {"10.10.10.3"});
  EXPECT_EQ(c.J().host->ConnectableTcp(c.M().clu, {2377, 7946}), std::vector<int>{});
  for (auto* n : {&c.M(), &c.W()}) ExpectNoDrift(*n);
}

INSTANTIATE_TEST_SUITE_P(Docker, Membership, lab::NewestDockers(lab::Suite::kApplies), lab::DockerParamName);

}  // namespace
}  // namespace swarmwall

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  swarmwall::Membership::StopAll();
  swarmwall::Membership::Clusters().clear();
  return rc;
}
