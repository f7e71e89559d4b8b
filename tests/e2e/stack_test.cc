// deploy/swarmwall-stack.yml on a real 3-node Swarm (Docker 20.10 and 28.5),
// with the image built the way deploy/image/build.sh builds it (a root file
// system from Debian packages, `docker import`, deploy/Dockerfile through
// the legacy builder, `docker save` / `docker load` to the other nodes; no
// registry). The stack deploys one agent per node; each becomes healthy
// (`swarmwall health` as the container's healthcheck) and each node's owned
// chains are what the policy says (`swarmwall status` and `plan` in the
// node's namespace). Then the stack is deployed again with a policy that
// loads but names no address of these nodes: the first updated agent exits
// 1, and Swarm rolls the update back (UpdateStatus.State rollback_completed)
// to the old config, every node healthy and in sync again; no other node
// ever ran the broken policy (parallelism 1). The time of each
// phase is printed, never judged.
//
// The stack file is used as shipped; only its variables differ: each lab
// node's Docker socket and state directory live in its own run dir, named
// with Swarm's {{.Node.Hostname}} template (the lab's hostnames are the
// host names m1, w1, w2).
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <iostream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>

#include "lab/docker_params.h"
#include "lab/lab.h"
#include "lab/owned_firewall.h"
#include "lab/swarm.h"

namespace swarmwall {
namespace {

using lab::DockerVersion;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kService = "sw_agent";
constexpr const char* kNames[] = {"m1", "w1", "w2"};

// The cluster's policy. NODES is the nodes: block.
std::string Policy(const std::string& nodes, const std::string& extra_host_rule = "") {
  return R"(version: 1
interfaces:
  public: [eth0]
  cluster: [ens11]
sets:
  office: [198.51.100.0/24, 2001:db8:100::/48]
nodes:
)" + nodes + R"(host:
  allow:
    - { service: ssh, from: office }
)" + extra_host_rule +
         R"(  cluster: accept
swarm:
  from: nodes
containers:
  default: drop
  allow:
    - { ports: [8080], from: office }
)";
}

const std::string kNodes =
    "  - { name: manager-1, role: manager, address: 10.10.10.1 }\n"
    "  - { name: node-1, role: worker, address: 10.10.10.2 }\n"
    "  - { name: node-2, role: worker, address: 10.10.10.3 }\n";
// Loads (`swarmwall check` accepts it) but no node has one of these addresses.
const std::string kWrongNodes =
    "  - { name: manager-1, role: manager, address: 192.0.2.1 }\n"
    "  - { name: node-1, role: worker, address: 192.0.2.2 }\n"
    "  - { name: node-2, role: worker, address: 192.0.2.3 }\n";

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool WaitFor(const std::function<bool()>& pred, std::chrono::seconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (pred()) return true;
    std::this_thread::sleep_for(500ms);
  }
  return pred();
}

// The image, built once per process (deploy/image/build.sh, cached in the
// build dir): OUT/base.tar, OUT/base.image (its tag), OUT/context/.
struct ImageFiles {
  std::string out, base_image, error;
};

const ImageFiles& Image() {
  static ImageFiles files = [] {
    ImageFiles f;
    f.out = std::filesystem::path(SWARMWALL_BINARY).parent_path().string() + "/deploy-image";
    auto start = Clock::now();
    ProcessOptions o;
    o.timeout = 600s;
    // From the Debian package where test.sh made one (SWARMWALL_DEB), as
    // README's operator path does; else from the build's binary.
    const char* deb = std::getenv("SWARMWALL_DEB");
    bool from_deb = deb && *deb;
    auto r = RunProcess({std::string(SWARMWALL_SOURCE_DIR) + "/deploy/image/build.sh",
                         from_deb ? "--deb" : "--binary", from_deb ? deb : SWARMWALL_BINARY, "--out", f.out},
                        o);
    std::cout << "[stack] the image from " << (from_deb ? std::string("the package ") + deb : "the build's binary (set SWARMWALL_DEB to build it from the package)")
              << "\n";
    if (!r.ok()) {
      f.error = "deploy/image/build.sh failed: " + r.err + r.out;
      return f;
    }
    std::ifstream in(f.out + "/base.image");
    std::getline(in, f.base_image);
    std::cout << "[stack] deploy/image/build.sh: " << Seconds(Clock::now() - start) << " s ("
              << Trim(r.err.substr(r.err.rfind("build.sh: base") == std::string::npos ? 0 : r.err.rfind("build.sh: base")))
              << ")\n";
    return f;
  }();
  return files;
}

struct Cluster {
  std::unique_ptr<lab::Lab> lab;
  std::vector<lab::DockerNode*> nodes;
  std::string dir, error;
};

class Stack : public ::testing::TestWithParam<DockerVersion> {
 protected:
  void SetUp() override {
    std::string why;
    if (!lab::LabSupported(&why)) GTEST_SKIP() << why;
    if (!lab::DockerAvailable(GetParam())) GTEST_SKIP() << lab::DockerUnavailableReason(GetParam());
    ASSERT_TRUE(Image().error.empty()) << Image().error;
  }
  void TearDown() override {
    if (c_.lab) c_.lab->Cleanup();
  }

  std::string Must(lab::DockerNode& d, const std::vector<std::string>& args, const ProcessOptions& o = {}) {
    ProcessOptions options = o;
    if (options.timeout.count() == 0) options.timeout = 120s;
    auto r = d.Docker(args, options);
    if (!r.ok()) {
      std::string cmd = "docker";
      for (const auto& a : args) cmd += " " + a;
      throw std::runtime_error(cmd + " on " + d.host().name() + ": " + r.err + r.out);
    }
    return Trim(r.out);
  }

  void Up(DockerVersion v) {
    c_.lab = std::make_unique<lab::Lab>(lab::LabTag("stack", v));
    c_.dir = c_.lab->RunDir();
    auto& sw = c_.lab->AddSwitch("cluster");
    for (int i = 0; i < 3; ++i) {
      auto& h = c_.lab->AddHost(kNames[i]);
      c_.lab->Connect(h, sw, "ens11", {"10.10.10." + std::to_string(i + 1) + "/24"});
      h.Sh("ip link set lo up");
      c_.nodes.push_back(&c_.lab->StartDocker(h, v));
      std::filesystem::create_directories(h.dir() + "/state");
    }
    std::string token = lab::SwarmInit(*c_.nodes[0], "ens11");
    for (int i = 1; i < 3; ++i) lab::SwarmJoin(*c_.nodes[i], token, "10.10.10.1", "ens11");
    std::string report;
    if (!lab::WaitNodesReady(*c_.nodes[0], 3, 60s, &report))
      throw std::runtime_error("the swarm did not become ready: " + report);
  }

  // The image on every node: imported and built on the manager, saved,
  // loaded on the others.
  void LoadImage() {
    auto& m = *c_.nodes[0];
    const auto& img = Image();
    Must(m, {"import", img.out + "/base.tar", img.base_image});
    ProcessOptions legacy;
    legacy.extra_env = {"DOCKER_BUILDKIT=0"};  // no buildx here
    legacy.timeout = 300s;
    Must(m, {"build", "-q", "--build-arg", "BASE=" + img.base_image, "-t", "swarmwall:lab", img.out + "/context"},
         legacy);
    Must(m, {"save", "-o", c_.dir + "/image.tar", "swarmwall:lab"});
    for (int i = 1; i < 3; ++i) Must(*c_.nodes[i], {"load", "-i", c_.dir + "/image.tar"});
  }

  // docker stack deploy of the shipped stack file with POLICY as config NAME.
  ProcessResult Deploy(const std::string& policy, const std::string& name) {
    ProcessOptions o;
    o.timeout = 120s;
    o.extra_env = {"SWARMWALL_IMAGE=swarmwall:lab", "SWARMWALL_POLICY=" + policy, "SWARMWALL_POLICY_NAME=" + name,
                   "SWARMWALL_DOCKER_SOCKET=" + c_.dir + "/{{.Node.Hostname}}/docker.sock",
                   "SWARMWALL_STATE=" + c_.dir + "/{{.Node.Hostname}}/state"};
    return c_.nodes[0]->Docker({"stack", "deploy", "--resolve-image", "never", "-c",
                                std::string(SWARMWALL_SOURCE_DIR) + "/deploy/swarmwall-stack.yml", "sw"},
                               o);
  }

  // The service's container on node I and its status ("Up 5 seconds (healthy)").
  std::pair<std::string, std::string> Container(int i) {
    auto r = c_.nodes[i]->Docker({"ps", "--filter", std::string("label=com.docker.swarm.service.name=") + kService,
                                  "--format", "{{.ID}} {{.Status}}"});
    std::istringstream in(r.out);
    std::string id, status;
    in >> id;
    std::getline(in, status);
    return {id, status};
  }

  bool AllHealthy() {
    for (int i = 0; i < 3; ++i)
      if (Container(i).second.find("(healthy)") == std::string::npos) return false;
    return true;
  }

  std::string Diagnose() {
    std::string s = "service ps:\n" + c_.nodes[0]->Docker({"service", "ps", "--no-trunc", kService}).out;
    for (int i = 0; i < 3; ++i) {
      auto [id, status] = Container(i);
      s += std::string("\n") + kNames[i] + ": " + id + " " + status;
      auto all = c_.nodes[i]->Docker({"ps", "-a", "-q", "--filter",
                                      std::string("label=com.docker.swarm.service.name=") + kService});
      std::istringstream ids(all.out);
      for (std::string cid; ids >> cid;) {
        auto logs = c_.nodes[i]->Docker({"logs", "--tail", "5", cid});
        s += "\n  logs " + cid + ": " + logs.out + logs.err;
      }
    }
    return s;
  }

  std::string Sw(int i, const std::string& args) {
    lab::Host& h = c_.nodes[i]->host();
    last_ = h.Sh("SWARMWALL_STATE_DIR=" + h.dir() + "/state " + SWARMWALL_BINARY + " " + args);
    return last_.out + last_.err;
  }

  // Every node: the agent's container healthy by its own check, and the
  // owned chains what POLICY says (status and plan from the node's namespace).
  void ExpectInSync(const std::string& policy) {
    for (int i = 0; i < 3; ++i) {
      SCOPED_TRACE(kNames[i]);
      auto [id, status] = Container(i);
      ASSERT_FALSE(id.empty()) << Diagnose();
      auto h = c_.nodes[i]->Docker({"exec", id, "swarmwall", "health", "/etc/swarmwall/policy.yaml"});
      EXPECT_EQ(h.exit_code, 0) << h.out << h.err;
      EXPECT_NE(h.out.find("healthy: node "), std::string::npos) << h.out;
      std::string out = Sw(i, "status");
      EXPECT_EQ(last_.exit_code, 0) << out;
      out = Sw(i, "plan " + policy);
      EXPECT_EQ(last_.exit_code, 0) << out;
      EXPECT_TRUE(lab::InputJumpFirst(c_.nodes[i]->host(), GetParam()));
    }
  }

  std::string UpdateState() {
    return Trim(c_.nodes[0]->Docker({"service", "inspect", "--format",
                                     "{{if .UpdateStatus}}{{.UpdateStatus.State}}{{end}}", kService}).out);
  }
  std::string Configs() {
    return Trim(c_.nodes[0]->Docker({"service", "inspect", "--format",
                                     "{{range .Spec.TaskTemplate.ContainerSpec.Configs}}{{.ConfigName}} {{end}}",
                                     kService}).out);
  }

  Cluster c_;
  ProcessResult last_;
};

TEST_P(Stack, DeploysOnEveryNodeAndRollsBackABrokenPolicy) {
  const std::string v = lab::DockerVersionName(GetParam());
  auto t0 = Clock::now();
  try {
    Up(GetParam());
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  auto t_up = Clock::now();
  try {
    LoadImage();
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  auto t_image = Clock::now();

  // The lock file the stack mounts exists wherever iptables ran; make sure.
  if (int fd = open("/run/xtables.lock", O_RDONLY | O_CREAT | O_CLOEXEC, 0600); fd >= 0) close(fd);
  const std::string good = c_.dir + "/good.yaml", bad = c_.dir + "/bad.yaml", other = c_.dir + "/other.yaml";
  std::ofstream(good) << Policy(kNodes);
  std::ofstream(bad) << Policy(kWrongNodes);
  std::ofstream(other) << Policy(kNodes, "    - { ports: [9999], proto: tcp }\n");
  auto check = RunProcess({SWARMWALL_BINARY, "check", bad});
  ASSERT_EQ(check.exit_code, 0) << "the broken policy is meant to load: " << check.out << check.err;

  // 1. Deploy: an agent on every node, healthy, the firewall as the policy says.
  auto r = Deploy(good, "swarmwall-policy-1");
  ASSERT_TRUE(r.ok()) << r.err << r.out;
  ASSERT_TRUE(lab::WaitRunningTasks(*c_.nodes[0], kService, 3, 90s)) << Diagnose();
  ASSERT_TRUE(WaitFor([&] { return AllHealthy(); }, 90s)) << Diagnose();
  auto t_healthy = Clock::now();
  ExpectInSync(good);
  EXPECT_EQ(Configs(), "swarmwall-policy-1");

  // swarmwall health says why, from the node's namespace (host side).
  auto t_health = Clock::now();
  Sw(1, "health --no-agent " + good);
  double health_s = Seconds(Clock::now() - t_health);
  EXPECT_EQ(last_.exit_code, 0) << last_.out << last_.err;
  t_health = Clock::now();
  auto in_container = c_.nodes[1]->Docker({"exec", Container(1).first, "swarmwall", "health", "/etc/swarmwall/policy.yaml"});
  double exec_health_s = Seconds(Clock::now() - t_health);
  EXPECT_EQ(in_container.exit_code, 0) << in_container.out << in_container.err;
  std::string out = Sw(1, "health --no-agent " + other);
  EXPECT_EQ(last_.exit_code, 1) << out;
  EXPECT_NE(out.find("unhealthy: node node-1: the firewall differs from the policy"), std::string::npos) << out;
  out = Sw(1, "health --no-agent " + bad);
  EXPECT_EQ(last_.exit_code, 1) << out;
  EXPECT_NE(out.find("unhealthy: "), std::string::npos) << out;
  out = Sw(1, "health " + good);  // the agent keeps /etc/swarmwall/policy.yaml (its container's path)
  EXPECT_EQ(last_.exit_code, 1) << out;
  EXPECT_NE(out.find("/etc/swarmwall/policy.yaml"), std::string::npos) << out;

  // 2. A broken policy: Swarm updates one node, its agent fails, Swarm
  //    rolls the service back everywhere.
  auto t_update = Clock::now();
  r = Deploy(bad, "swarmwall-policy-2");
  ASSERT_TRUE(r.ok()) << r.err << r.out;
  std::vector<std::string> states;
  bool rolled_back = WaitFor(
      [&] {
        std::string s = UpdateState();
        if (states.empty() || states.back() != s) states.push_back(s);
        return s == "rollback_completed";
      },
      180s);
  auto t_rolled_back = Clock::now();
  std::string seen;
  for (const auto& s : states) seen += (seen.empty() ? "" : " -> ") + (s.empty() ? "(none)" : s);
  ASSERT_TRUE(rolled_back) << "update states seen: " << seen << "\n" << Diagnose();
  EXPECT_EQ(Configs(), "swarmwall-policy-1") << "the old config is not back";
  auto errors = c_.nodes[0]->Docker({"service", "ps", "--no-trunc", "--format", "{{.Node}} {{.Error}}", kService}).out;
  // parallelism 1: the update moves to the next node once a task runs, and
  // `monitor` counts a failure that comes after that; so the broken policy
  // meets one node, or two when the first failure is counted while the next
  // task starts (seen on 28.5), never all three.
  std::set<std::string> failed_on;
  {
    std::istringstream in(errors);
    for (std::string line; std::getline(in, line);)
      if (line.find("non-zero exit") != std::string::npos) failed_on.insert(line.substr(0, line.find(' ')));
  }
  EXPECT_GE(failed_on.size(), 1u) << "no task failed:\n" << errors;
  EXPECT_LT(failed_on.size(), c_.nodes.size()) << "the broken update reached every node:\n" << errors;
  ASSERT_TRUE(lab::WaitRunningTasks(*c_.nodes[0], kService, 3, 90s)) << Diagnose();
  ASSERT_TRUE(WaitFor([&] { return AllHealthy(); }, 90s)) << Diagnose();
  auto t_healthy_again = Clock::now();
  ExpectInSync(good);

  std::cout << "[stack " << v << "] update states: " << seen << "\n[stack " << v << "] task errors:\n"
            << errors << "[stack " << v << "] swarm up " << Seconds(t_up - t0) << " s, image on 3 nodes "
            << Seconds(t_image - t_up) << " s, deploy to all healthy " << Seconds(t_healthy - t_image)
            << " s, broken update to rollback_completed " << Seconds(t_rolled_back - t_update)
            << " s, all healthy again " << Seconds(t_healthy_again - t_rolled_back) << " s; swarmwall health "
            << health_s * 1000 << " ms (sh + nsenter + health), docker exec ... health " << exec_health_s * 1000
            << " ms\n";
}

INSTANTIATE_TEST_SUITE_P(Docker, Stack, lab::NewestDockers(lab::Suite::kApplies), lab::DockerParamName);

}  // namespace
}  // namespace swarmwall
