// The seed-004 cluster (tests/lab/seed004.h: three Swarm nodes with real
// dockerds, a public and a cluster network, a stranger, an office and an
// admin outside) under examples/swarm-cluster.yaml, for Docker 20.10 and
// 28.5. Judged with real traffic: full nmap TCP scans of every node from
// every outside host before apply, after apply and after remove; UDP 7946
// and 4789 through conntrack (lab.h, UdpDelivered); Swarm health and the
// overlay; containers' egress; the cluster network; Docker's own rules.
// And `apply --drain` on a worker running tasks of a replicated service.
#include <gtest/gtest.h>

#include <algorithm>
#include <future>
#include <iostream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lab/docker_params.h"
#include "lab/lab.h"
#include "lab/rules_view.h"
#include "lab/seed004.h"
#include "lab/swarm.h"

namespace swarmwall {
namespace {

using lab::ClusterNode;
using lab::DockerVersion;
using lab::Outsider;
using lab::Seed004;
using Ports = std::vector<int>;
using namespace std::chrono_literals;

struct Cluster {
  std::unique_ptr<Seed004> lab;
  std::string error;
};

// What examples/swarm-cluster.yaml lets an outside host reach on NODE's
// public interface (eth0), read from the policy's meaning:
//   host.allow:        ssh (22) from admins; 80 and 443 on label:ingress from anyone
//   swarm (from nodes): 2377, 7946, 4789 only from the nodes' 10.10.10.x addresses
//   containers.allow:  80 and 443 on label:ingress from anyone; 8080 from the office
//   the rest:          dropped (the end of host's allow list; containers.default: drop)
// Host ports are the node's listeners (22, 9100) and dockerd's (7946, 2377 on
// the manager); container ports are its `docker run -p` ports.
Ports Expected(const ClusterNode& node, const std::string& vantage) {
  std::set<int> host_allowed, container_allowed;
  if (vantage == "admin") host_allowed.insert(22);
  if (node.ingress) {
    host_allowed.insert({80, 443});
    container_allowed.insert({80, 443});
  }
  if (vantage == "office") container_allowed.insert(8080);
  std::set<int> host_ports(node.listeners.begin(), node.listeners.end());
  host_ports.insert(7946);
  if (node.manager) host_ports.insert(2377);
  std::set<int> out;
  for (int p : host_ports)
    if (host_allowed.count(p)) out.insert(p);
  for (int p : node.published)
    if (container_allowed.count(p)) out.insert(p);
  return Ports(out.begin(), out.end());
}

// Prints how long each phase of a test took (information, never judged).
class Phases {
 public:
  void operator()(const std::string& done) {
    auto now = std::chrono::steady_clock::now();
    std::cout << fmt::format("[  PHASE   ] {}: {} ms\n", done,
                             std::chrono::duration_cast<std::chrono::milliseconds>(now - last_).count());
    last_ = now;
  }

 private:
  std::chrono::steady_clock::time_point last_ = std::chrono::steady_clock::now();
};

class ClusterTest : public ::testing::TestWithParam<DockerVersion> {
 protected:
  static Cluster& Get(DockerVersion v) {
    static std::map<DockerVersion, Cluster> clusters;
    if (auto it = clusters.find(v); it != clusters.end()) return it->second;
    Cluster& c = clusters[v];
    const auto start = std::chrono::steady_clock::now();
    try {
      lab::Seed004Options o;
      o.version = v;
      o.tag = lab::LabTag("clus", v);
      o.policy = std::string(SWARMWALL_SOURCE_DIR) + "/examples/swarm-cluster.yaml";
      c.lab = std::make_unique<Seed004>(o);
    } catch (const std::exception& e) {
      c.error = e.what();
    }
    std::cout << fmt::format("[   LAB    ] seed-004 cluster, Docker {}: up in {} ms\n", lab::DockerVersionName(v),
                             std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - start).count());
    return c;
  }

  Seed004& L() { return *Get(GetParam()).lab; }

  void SetUp() override {
    std::string why;
    if (!lab::LabSupported(&why)) GTEST_SKIP() << why;
    if (!lab::DockerAvailable(GetParam())) GTEST_SKIP() << lab::DockerUnavailableReason(GetParam());
    ASSERT_TRUE(Get(GetParam()).error.empty()) << Get(GetParam()).error;
  }

  ProcessResult Sw(const ClusterNode& n, std::vector<std::string> args) {
    return L().Swarmwall(n, SWARMWALL_BINARY, args);
  }

  // Docker's (and everyone else's) rules on NODE: every table without
  // swarmwall's chains and jumps, counters zeroed; tables holding only
  // built-in chains with ACCEPT policies (or Docker's empty DOCKER-USER,
  // which apply creates where Docker has none) are left out. As apply_test.cc.
  std::string Foreign(const ClusterNode& n) { return lab::ForeignRules(*n.host); }

  // swarmwall's rules and sets on NODE ("" when none).
  std::string Owned(const ClusterNode& n) { return lab::OwnedRules(*n.host); }

  // Full TCP scans of every node's public address from each of FROM, all at
  // once (one nmap per pair: one nmap scanning several hosts of a dropping
  // firewall is limited by its own timing, not by the machine):
  // vantage name -> node name -> open ports.
  std::map<std::string, std::map<std::string, Ports>> Scan(const std::vector<Outsider*>& from) {
    std::map<std::pair<std::string, std::string>, std::future<Ports>> running;
    for (Outsider* o : from)
      for (auto& n : L().nodes())
        running[{o->name, n.name}] =
            std::async(std::launch::async, [o, &n] { return o->host->ScanTcp(n.public_addr); });
    std::map<std::string, std::map<std::string, Ports>> out;
    for (auto& [key, f] : running) out[key.first][key.second] = f.get();
    return out;
  }

  // UdpDelivered from each of FROM to each node's public address, for 7946
  // and 4789, all at once: "FROM -> NODE PORT/udp" -> delivered.
  std::map<std::string, bool> Udp(const std::vector<Outsider*>& from) {
    std::map<std::string, std::future<bool>> running;
    for (Outsider* o : from)
      for (auto& n : L().nodes())
        for (int port : {7946, 4789})
          running[fmt::format("{} -> {} {}/udp", o->name, n.name, port)] = std::async(
              std::launch::async, [o, &n, port] { return o->host->UdpDelivered(*n.host, n.public_addr, port); });
    std::map<std::string, bool> out;
    for (auto& [key, f] : running) out[key] = f.get();
    return out;
  }

  // ConnectableTcp from each of FROM to every port each node exposes at all,
  // all at once: vantage name -> node name -> connectable ports.
  std::map<std::string, std::map<std::string, Ports>> Connect(const std::vector<Outsider*>& from) {
    std::map<std::pair<std::string, std::string>, std::future<Ports>> running;
    for (Outsider* o : from)
      for (auto& n : L().nodes())
        running[{o->name, n.name}] = std::async(std::launch::async, [this, o, &n] {
          return o->host->ConnectableTcp(n.public_addr, L().ExposedPorts(n));
        });
    std::map<std::string, std::map<std::string, Ports>> out;
    for (auto& [key, f] : running) out[key.first][key.second] = f.get();
    return out;
  }

  void ApplyAll() {
    for (auto& n : L().nodes()) {
      auto r = Sw(n, {"apply", L().policy(), "--node", n.name});
      ASSERT_EQ(r.exit_code, 0) << n.name << ": " << r.out << r.err;
      EXPECT_NE(r.out.find("applied"), std::string::npos) << n.name << ": " << r.out;
    }
  }

  void RemoveAll() {
    for (auto& n : L().nodes()) {
      auto r = Sw(n, {"remove"});
      EXPECT_EQ(r.exit_code, 0) << n.name << ": " << r.out << r.err;
    }
  }
};

TEST_P(ClusterTest, PolicyExposesExactlyWhatItAllowsAndRemoveRestoresTheRest) {
  Seed004& lab = L();
  Phases phase;
  RemoveAll();  // a clean start, also after an earlier test of this process
  std::map<std::string, std::string> docker_before;
  for (auto& n : lab.nodes()) docker_before[n.name] = Foreign(n);

  // Before: a stranger sees everything, Swarm's ports included; gossip
  // (dockerd) and VXLAN (the kernel) listen on UDP and datagrams reach them.
  auto before = Scan({&lab.stranger()});
  for (auto& n : lab.nodes()) {
    std::cout << fmt::format("[   SCAN   ] before, stranger -> {} ({}): {}\n", n.name, n.public_addr,
                             fmt::join(before["stranger"][n.name], " "));
    EXPECT_EQ(before["stranger"][n.name], lab.ExposedPorts(n)) << n.name;
    for (int port : {7946, 4789})
      EXPECT_NE(n.host->Exec({"ss", "-Hlun", fmt::format("sport = :{}", port)}).out, "") << n.name << " " << port;
  }
  for (auto& [probe, delivered] : Udp({&lab.stranger()})) EXPECT_TRUE(delivered) << probe << " before apply";
  phase("scan and UDP probes before");

  for (auto& n : lab.nodes()) {
    auto plan = Sw(n, {"plan", lab.policy(), "--node", n.name});
    EXPECT_EQ(plan.exit_code, 2) << n.name << ": " << plan.out << plan.err;
  }
  ApplyAll();
  for (auto& n : lab.nodes()) {
    EXPECT_EQ(Foreign(n), docker_before[n.name]) << n.name << ": apply changed rules it does not own";
    EXPECT_EQ(Sw(n, {"plan", lab.policy(), "--node", n.name}).exit_code, 0) << n.name << ": nothing left to do";
    auto status = Sw(n, {"status"});
    EXPECT_EQ(status.exit_code, 0) << n.name << ": " << status.out;
  }
  phase("plan, apply, status");

  // After: each outside host reaches exactly what the policy gives it. Full
  // scans from the stranger and the office; for every outside host also a
  // real connect() to every port each node exposes at all (the scan before
  // shows that nothing else can be open).
  auto after = Scan({&lab.stranger(), &lab.office()});
  phase("scans after");
  auto connected = Connect({&lab.stranger(), &lab.office(), &lab.admin()});
  for (Outsider* o : {&lab.stranger(), &lab.office(), &lab.admin()}) {
    for (auto& n : lab.nodes()) {
      Ports want = Expected(n, o->name);
      if (after.count(o->name)) {
        std::cout << fmt::format("[   SCAN   ] after, {} -> {}: {} (policy: {})\n", o->name, n.name,
                                 fmt::join(after[o->name][n.name], " "), fmt::join(want, " "));
        EXPECT_EQ(after[o->name][n.name], want) << o->name << " -> " << n.name;
      }
      EXPECT_EQ(connected[o->name][n.name], want) << o->name << " -> " << n.name << " by connect()";
    }
  }
  for (auto& [probe, delivered] : Udp({&lab.stranger(), &lab.office()})) EXPECT_FALSE(delivered) << probe;
  phase("connect and UDP probes after");

  // Swarm stays healthy: all nodes Ready, the overlay works across nodes.
  std::string report;
  EXPECT_TRUE(lab.SwarmHealthy(&report)) << report;
  // Containers reach the outside.
  for (auto& n : lab.nodes()) {
    auto r = n.docker->Docker({"exec", "web8080", "sh", "-c",
                               fmt::format("echo egress-{} | nc -w 2 {} {}", n.name, lab.stranger().addr,
                                           Seed004::kStrangerPort)});
    EXPECT_NE(r.out.find("egress-" + n.name), std::string::npos) << n.name << ": " << r.out << r.err;
  }
  phase("Swarm health, egress");
  // The cluster network is unrestricted: node-1 reaches every port of the
  // manager over ens11, and its gossip and VXLAN ports.
  ClusterNode& m = lab.manager();
  ClusterNode& w = lab.node("node-1");
  EXPECT_EQ(w.host->ScanTcp(m.cluster_addr), lab.ExposedPorts(m));
  for (int port : {7946, 4789}) EXPECT_TRUE(w.host->UdpDelivered(*m.host, m.cluster_addr, port)) << port;
  phase("cluster network");

  // Remove: exactly the earlier exposure, Docker's rules untouched.
  RemoveAll();
  for (auto& n : lab.nodes()) {
    EXPECT_EQ(Owned(n), "") << n.name;
    EXPECT_EQ(Foreign(n), docker_before[n.name]) << n.name;
  }
  auto removed = Scan({&lab.stranger()});
  for (auto& n : lab.nodes()) EXPECT_EQ(removed["stranger"][n.name], before["stranger"][n.name]) << n.name;
  for (auto& [probe, delivered] : Udp({&lab.stranger()})) EXPECT_TRUE(delivered) << probe << " after remove";
  phase("remove, scan and UDP probes");
}

// apply --drain on a worker running tasks of a replicated service: drained
// (its tasks moved away), firewall applied, active again, schedulable.
TEST_P(ClusterTest, DrainMovesTasksAwayAppliesAndReactivates) {
  Seed004& lab = L();
  ClusterNode& m = lab.manager();
  ClusterNode& w = lab.node("node-1");
  Sw(w, {"remove"});
  lab::CreateService(*m.docker, "busy", {"--replicas", "4", "--constraint", "node.role==worker"},
                     "local/busybox:1", {"sleep", "3600"});
  ASSERT_TRUE(lab::WaitRunningTasks(*m.docker, "busy", 4, 90s));
  ASSERT_GE(lab::RunningTasks(*m.docker, "busy", "node-1"), 1) << "spread over both workers";

  auto r = Sw(w, {"apply", lab.policy(), "--node", "node-1", "--drain", "--manager", "unix://" + m.docker->Socket()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  {
    // What apply said about the drain (its diff of rules left out).
    std::istringstream said(r.out + r.err);
    for (std::string line; std::getline(said, line);)
      if (!line.starts_with("  ") && !line.starts_with("IPv")) std::cout << "[  DRAIN   ] " << line << "\n";
  }

  // Tasks left node-1 during the drain (their history says shut down there).
  bool moved = false;
  for (const auto& t : lab::ServiceTasks(*m.docker, "busy"))
    if (t.node == "node-1" && t.desired_state == "Shutdown") moved = true;
  EXPECT_TRUE(moved) << "no task of node-1 was shut down: it was not drained";
  // Active again.
  for (const auto& n : lab::SwarmNodes(*m.docker))
    if (n.hostname == "node-1") {
      EXPECT_EQ(n.availability, "Active");
    }
  // The firewall is applied.
  EXPECT_EQ(Sw(w, {"status"}).exit_code, 0);
  EXPECT_EQ(lab.stranger().host->ConnectableTcp(w.public_addr, lab.ExposedPorts(w)), Ports{});
  // Schedulable: new tasks land on node-1 again.
  ASSERT_TRUE(m.docker->Docker({"service", "scale", "--detach", "busy=6"}).ok());
  EXPECT_TRUE(lab::WaitRunningTasks(*m.docker, "busy", 1, 90s, "node-1"))
      << "no task came back to node-1";
  std::string report;
  EXPECT_TRUE(lab.SwarmHealthy(&report)) << report;

  m.docker->Docker({"service", "rm", "busy"});
  m.docker->Docker({"node", "update", "--availability", "active", "node-1"});
  Sw(w, {"remove"});
}

INSTANTIATE_TEST_SUITE_P(Docker, ClusterTest, lab::CoreDockers(lab::Suite::kApplies), lab::DockerParamName);

}  // namespace
}  // namespace swarmwall
