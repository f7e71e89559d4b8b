// The Engine API side of `swarmwall apply --drain` (docker/swarm.h) against
// a real 2-node Swarm (a manager and a worker over a "cluster" switch) for
// Docker 20.10 and 28.5: the worker's node id from its own daemon, the
// manager's view of the nodes, drain until the worker's tasks have left (a
// replicated service's move to the manager, a global one's stops), active
// again (the global task comes back); the errors an operator meets (not in a swarm,
// a worker used as manager, a stale node version, an unreachable daemon);
// and the same calls over tcp:// with TLS as the docker CLI sets it up
// (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH) and over plain tcp://.
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "docker/swarm.h"
#include "docker/swarm_json.h"
#include "lab/docker_params.h"
#include "lab/lab.h"

namespace swarmwall {
namespace {

using lab::DockerVersion;
using namespace std::chrono_literals;

constexpr const char* kService = "sleepers";  // replicated, spread over both nodes
constexpr int kReplicas = 4;
constexpr const char* kGlobal = "agents";     // global: one task per active node

struct Cluster {
  std::unique_ptr<lab::Lab> lab;
  lab::Host* mgr = nullptr;
  lab::Host* wrk = nullptr;
  lab::DockerNode* dm = nullptr;
  lab::DockerNode* dw = nullptr;
  std::string tls;  // folder: client/ (ca, cert, key), wrongca/, nocert/
  // Errors seen before the swarm formed.
  std::string local_id_before_swarm, list_before_swarm, manager_before_swarm;
  std::string manager_id, worker_id;
  std::string error;
};

std::string Must(lab::DockerNode& d, const std::vector<std::string>& args) {
  ProcessResult r = d.Docker(args);
  if (!r.ok()) {
    std::string cmd = "docker";
    for (const auto& a : args) cmd += " " + a;
    throw std::runtime_error(cmd + ": " + r.err + r.out);
  }
  while (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
  return r.out;
}

void Sh(const std::string& cmd) {
  ProcessOptions o;
  o.timeout = 60s;
  ProcessResult r = Shell(cmd, o);
  if (!r.ok()) throw std::runtime_error(cmd + ": " + r.err + r.out);
}

// A CA, the manager's server certificate (IP 10.10.10.1), a client
// certificate, and a second CA that signed nothing of this cluster.
void MakeCertificates(const std::string& dir) {
  const std::string ec = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
  Sh("set -e; mkdir -p " + dir + "/client " + dir + "/wrongca " + dir + "/nocert; cd " + dir +
     "; openssl req -x509 " + ec + " -keyout ca-key.pem -out ca.pem -days 2 -subj /CN=swarmwall-test-ca 2>/dev/null"
     "; printf 'subjectAltName=IP:10.10.10.1,DNS:mgr\\nextendedKeyUsage=serverAuth\\n' > server.ext"
     "; openssl req " + ec + " -keyout server-key.pem -out server.csr -subj /CN=mgr 2>/dev/null"
     "; openssl x509 -req -in server.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2"
     " -extfile server.ext -out server-cert.pem 2>/dev/null"
     "; printf 'extendedKeyUsage=clientAuth\\n' > client.ext"
     "; openssl req " + ec + " -keyout client/key.pem -out client.csr -subj /CN=operator 2>/dev/null"
     "; openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2"
     " -extfile client.ext -out client/cert.pem 2>/dev/null"
     "; cp ca.pem client/ca.pem; cp ca.pem nocert/ca.pem; cp client/cert.pem client/key.pem wrongca/"
     "; openssl req -x509 " + ec + " -keyout wrongca/ca-key.pem -out wrongca/ca.pem -days 2 -subj /CN=other-ca"
     " 2>/dev/null");
}

// Runs F on a thread that lives in network namespace NETNS (setns affects
// only the calling thread), so the Engine's TCP connections start there.
template <class F>
void InNetns(const std::string& netns, F f) {
  std::string failure;
  std::thread t([&] {
    int fd = open(("/var/run/netns/" + netns).c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns(fd, CLONE_NEWNET) != 0) {
      failure = "setns into " + netns + " failed";
      if (fd >= 0) close(fd);
      return;
    }
    close(fd);
    f();
  });
  t.join();
  ASSERT_TRUE(failure.empty()) << failure;
}

// The docker CLI's TLS environment, set for one scope.
class TlsEnv {
 public:
  explicit TlsEnv(const std::string& cert_path) {
    setenv("DOCKER_TLS_VERIFY", "1", 1);
    setenv("DOCKER_CERT_PATH", cert_path.c_str(), 1);
  }
  ~TlsEnv() {
    unsetenv("DOCKER_TLS_VERIFY");
    unsetenv("DOCKER_CERT_PATH");
  }
};

// Running containers of D, of service SERVICE's tasks when given.
int RunningContainers(lab::DockerNode& d, const std::string& service = "") {
  std::vector<std::string> args{"ps", "-q"};
  if (!service.empty()) args.insert(args.end(), {"--filter", "label=com.docker.swarm.service.name=" + service});
  ProcessResult r = d.Docker(args);
  int n = 0;
  std::istringstream in(r.out);
  for (std::string id; in >> id;) ++n;
  return n;
}

class Drain : public ::testing::TestWithParam<DockerVersion> {
 protected:
  static Cluster& Get(DockerVersion v) {
    static std::map<DockerVersion, Cluster> clusters;
    if (auto it = clusters.find(v); it != clusters.end()) return it->second;
    Cluster& c = clusters[v];
    try {
      c.lab = std::make_unique<lab::Lab>(lab::LabTag("drain", v));
      auto& sw = c.lab->AddSwitch("cluster");
      c.mgr = &c.lab->AddHost("mgr");
      c.wrk = &c.lab->AddHost("wrk");
      c.lab->Connect(*c.mgr, sw, "ens11", {"10.10.10.1/24"});
      c.lab->Connect(*c.wrk, sw, "ens11", {"10.10.10.2/24"});
      c.tls = c.lab->RunDir() + "/tls";
      MakeCertificates(c.tls);

      lab::DockerOptions mo;
      mo.extra_args = {"--tlsverify", "--tlscacert", c.tls + "/ca.pem", "--tlscert", c.tls + "/server-cert.pem",
                       "--tlskey", c.tls + "/server-key.pem", "-H", "tcp://10.10.10.1:2376"};
      c.dm = &c.lab->StartDocker(*c.mgr, v, mo);
      lab::DockerOptions wo;
      wo.extra_args = {"--tls=false", "-H", "tcp://10.10.10.2:2375"};
      c.dw = &c.lab->StartDocker(*c.wrk, v, wo);

      docker::Engine worker("unix://" + c.dw->Socket(), docker::TlsOptions{});
      docker::LocalNodeId(worker, c.local_id_before_swarm);
      docker::ListNodes(worker, c.list_before_swarm);
      docker::IsManager(worker, c.manager_before_swarm);

      Must(*c.dm, {"swarm", "init", "--advertise-addr", "ens11"});
      std::string token = Must(*c.dm, {"swarm", "join-token", "-q", "worker"});
      Must(*c.dw, {"swarm", "join", "--advertise-addr", "ens11", "--token", token, "10.10.10.1:2377"});
      c.manager_id = Must(*c.dm, {"info", "--format", "{{.Swarm.NodeID}}"});
      c.worker_id = Must(*c.dw, {"info", "--format", "{{.Swarm.NodeID}}"});

      c.dm->EnsureBusyboxImage();
      c.dw->EnsureBusyboxImage();
      Must(*c.dm, {"service", "create", "--detach", "--no-resolve-image", "--stop-grace-period", "1s",
                   "--name", kService, "--replicas",
                   std::to_string(kReplicas), "local/busybox:1", "sleep", "3600"});
      Must(*c.dm, {"service", "create", "--detach", "--no-resolve-image", "--stop-grace-period", "1s",
                   "--name", kGlobal, "--mode", "global", "local/busybox:1", "sleep", "3600"});
      // The scheduler spreads the replicas; wait until the worker runs some.
      const auto deadline = std::chrono::steady_clock::now() + 90s;
      while (RunningContainers(*c.dw, kService) == 0 || RunningContainers(*c.dw, kGlobal) == 0) {
        if (std::chrono::steady_clock::now() > deadline)
          throw std::runtime_error("no task of " + std::string(kService) + " runs on the worker after 90 s: " +
                                   c.dm->Docker({"service", "ps", kService}).out);
        std::this_thread::sleep_for(250ms);
      }
    } catch (const std::exception& e) {
      c.error = e.what();
    }
    return c;
  }

  Cluster& C() { return Get(GetParam()); }
  docker::Engine Manager() { return docker::Engine("unix://" + C().dm->Socket(), docker::TlsOptions{}); }
  docker::Engine Worker() { return docker::Engine("unix://" + C().dw->Socket(), docker::TlsOptions{}); }

  void SetUp() override {
    std::string why;
    if (!lab::LabSupported(&why)) GTEST_SKIP() << why;
    if (!lab::DockerAvailable(GetParam())) GTEST_SKIP() << lab::DockerUnavailableReason(GetParam());
    ASSERT_TRUE(C().error.empty()) << C().error;
  }
};

TEST_P(Drain, BeforeTheSwarmFormedTheWorkerSaidSo) {
  EXPECT_NE(C().local_id_before_swarm.find("is not in a swarm (Swarm.LocalNodeState is \"inactive\")"),
            std::string::npos)
      << C().local_id_before_swarm;
  EXPECT_NE(C().manager_before_swarm.find("is not in a swarm"), std::string::npos) << C().manager_before_swarm;
  EXPECT_NE(C().list_before_swarm.find("is not in a swarm (daemon: This node is not a swarm manager. Use"),
            std::string::npos)
      << C().list_before_swarm;
}

TEST_P(Drain, LocalNodeIdOnEachNode) {
  std::string error;
  auto id = docker::LocalNodeId(Worker(), error);
  ASSERT_TRUE(id) << error;
  EXPECT_EQ(*id, C().worker_id);
  id = docker::LocalNodeId(Manager(), error);
  ASSERT_TRUE(id) << error;
  EXPECT_EQ(*id, C().manager_id);
  EXPECT_EQ(docker::IsManager(Manager(), error), std::optional<bool>(true)) << error;
  EXPECT_EQ(docker::IsManager(Worker(), error), std::optional<bool>(false)) << error;
}

TEST_P(Drain, ManagerListsAndInspectsNodes) {
  std::string error;
  auto nodes = docker::ListNodes(Manager(), error);
  ASSERT_TRUE(nodes) << error;
  ASSERT_EQ(nodes->size(), 2u);
  std::map<std::string, docker::SwarmNode> by_id;
  for (const auto& n : *nodes) by_id[n.id] = n;
  ASSERT_TRUE(by_id.count(C().manager_id));
  ASSERT_TRUE(by_id.count(C().worker_id));
  const auto& m = by_id[C().manager_id];
  EXPECT_EQ(m.hostname, "mgr");
  EXPECT_EQ(m.role, "manager");
  EXPECT_EQ(m.availability, "active");
  EXPECT_EQ(m.state, "ready");

  auto w = docker::InspectNode(Manager(), C().worker_id, error);
  ASSERT_TRUE(w) << error;
  EXPECT_EQ(w->id, C().worker_id);
  EXPECT_EQ(w->hostname, "wrk");
  EXPECT_EQ(w->role, "worker");
  EXPECT_EQ(w->availability, "active");
  EXPECT_EQ(w->state, "ready");
  EXPECT_EQ(w->addr, "10.10.10.2");

  EXPECT_FALSE(docker::InspectNode(Manager(), "nosuchnode0000000000000000", error));
  EXPECT_NE(error.find("no node \"nosuchnode0000000000000000\""), std::string::npos) << error;
}

TEST_P(Drain, DrainMovesTheWorkersTasksThenActiveAgain) {
  std::string error;
  docker::Engine manager = Manager();
  ASSERT_GT(RunningContainers(*C().dw, kService), 0);
  ASSERT_EQ(RunningContainers(*C().dw, kGlobal), 1);
  Must(*C().dm, {"node", "update", "--label-add", "zone=b", C().worker_id});
  // Active and running tasks: not empty, and the message names them.
  EXPECT_FALSE(docker::WaitNodeEmpty(manager, C().worker_id, 0s, error));
  EXPECT_NE(error.find("still on node " + C().worker_id), std::string::npos) << error;
  EXPECT_NE(error.find(std::string(kService) + "."), std::string::npos) << error;
  EXPECT_NE(error.find("(running, desired running)"), std::string::npos) << error;
  EXPECT_NE(error.find(std::string(kGlobal) + "." + C().worker_id + " (running"), std::string::npos) << error;

  ASSERT_TRUE(docker::SetAvailability(manager, C().worker_id, "drain", error)) << error;
  auto w = docker::InspectNode(manager, C().worker_id, error);
  ASSERT_TRUE(w) << error;
  EXPECT_EQ(w->availability, "drain");
  EXPECT_TRUE(docker::SetAvailability(manager, C().worker_id, "drain", error)) << error;  // already: no write

  ASSERT_TRUE(docker::WaitNodeEmpty(manager, C().worker_id, 120s, error)) << error;
  EXPECT_EQ(RunningContainers(*C().dw), 0) << C().dw->Docker({"ps"}).out;
  // Every replica now runs on the manager (the orchestrator starts them there).
  const auto deadline = std::chrono::steady_clock::now() + 90s;
  while (RunningContainers(*C().dm, kService) < kReplicas && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(250ms);
  EXPECT_EQ(RunningContainers(*C().dm, kService), kReplicas) << C().dm->Docker({"service", "ps", kService}).out;

  ASSERT_TRUE(docker::SetAvailability(manager, C().worker_id, "active", error)) << error;
  w = docker::InspectNode(manager, C().worker_id, error);
  ASSERT_TRUE(w) << error;
  EXPECT_EQ(w->availability, "active");
  // Active again means scheduled again: the global service's task returns.
  const auto back = std::chrono::steady_clock::now() + 90s;
  while (RunningContainers(*C().dw, kGlobal) == 0 && std::chrono::steady_clock::now() < back)
    std::this_thread::sleep_for(250ms);
  EXPECT_EQ(RunningContainers(*C().dw, kGlobal), 1) << C().dm->Docker({"service", "ps", kGlobal}).out;
  // Labels and the rest of the spec survived both updates.
  EXPECT_EQ(Must(*C().dm, {"node", "inspect", "--format", "{{.Spec.Role}} {{index .Spec.Labels \"zone\"}}",
                           C().worker_id}),
            "worker b");
}

TEST_P(Drain, StaleVersionIsAVersionConflict) {
  docker::Engine manager = Manager();
  docker::Response r = manager.Get("/nodes/" + C().worker_id);
  ASSERT_TRUE(r.ok()) << manager.Describe(r);
  std::string error;
  auto node = docker::ParseNodeForUpdate(r.body, error);
  ASSERT_TRUE(node) << error;
  ASSERT_GT(node->version, 0u);
  node->spec["Labels"]["stale"] = "test";
  EXPECT_FALSE(docker::UpdateNodeSpec(manager, C().worker_id, node->version - 1, node->spec, error));
  EXPECT_NE(error.find("version conflict"), std::string::npos) << error;
  EXPECT_NE(error.find("update out of sequence"), std::string::npos) << error;
  // With the version just read, the same update goes through.
  EXPECT_TRUE(docker::UpdateNodeSpec(manager, C().worker_id, node->version, node->spec, error)) << error;
  EXPECT_EQ(Must(*C().dm, {"node", "inspect", "--format", "{{index .Spec.Labels \"stale\"}}", C().worker_id}),
            "test");
}

TEST_P(Drain, AWorkerIsNotAManager) {
  std::string error;
  docker::Engine worker = Worker();
  EXPECT_FALSE(docker::ListNodes(worker, error));
  EXPECT_NE(error.find("is a swarm worker, not a manager"), std::string::npos) << error;
  EXPECT_NE(error.find(worker.host()), std::string::npos) << error;
  EXPECT_FALSE(docker::InspectNode(worker, C().worker_id, error));
  EXPECT_NE(error.find("not a manager"), std::string::npos) << error;
  EXPECT_FALSE(docker::SetAvailability(worker, C().worker_id, "drain", error));
  EXPECT_NE(error.find("not a manager"), std::string::npos) << error;
  EXPECT_FALSE(docker::WaitNodeEmpty(worker, C().worker_id, 1s, error));
  EXPECT_NE(error.find("not a manager"), std::string::npos) << error;
  EXPECT_FALSE(docker::SetAvailability(Manager(), C().worker_id, "offline", error));
  EXPECT_NE(error.find("invalid node availability"), std::string::npos) << error;
}

TEST_P(Drain, UnreachableDaemon) {
  std::string error;
  docker::Engine gone("unix://" + C().lab->RunDir() + "/gone.sock", docker::TlsOptions{});
  EXPECT_FALSE(docker::LocalNodeId(gone, error));
  EXPECT_NE(error.find("cannot reach the Docker daemon at " + gone.host() + ": no socket " + gone.socket_path() +
                       " (is dockerd running?)"),
            std::string::npos)
      << error;
  EXPECT_FALSE(docker::SetAvailability(gone, C().worker_id, "drain", error));
  EXPECT_NE(error.find("cannot reach"), std::string::npos) << error;
}

// An operator on the worker, with the docker CLI's TLS environment, names
// the manager as tcp://10.10.10.1:2376.
TEST_P(Drain, OverTcpWithTls) {
  const std::string tls = C().tls;
  const std::string worker_id = C().worker_id;
  InNetns(C().wrk->netns(), [&] {
    std::string error;
    {
      TlsEnv env(tls + "/client");
      for (const char* host : {"tcp://10.10.10.1:2376", "10.10.10.1:2376", "tcp://10.10.10.1"}) {
        docker::Engine manager(host);
        EXPECT_EQ(manager.host(), "tcp://10.10.10.1:2376 (TLS)");
        auto nodes = docker::ListNodes(manager, error);
        ASSERT_TRUE(nodes) << host << ": " << error;
        EXPECT_EQ(nodes->size(), 2u);
      }
      docker::Engine manager("tcp://10.10.10.1:2376");
      auto w = docker::InspectNode(manager, worker_id, error);
      ASSERT_TRUE(w) << error;
      EXPECT_EQ(w->hostname, "wrk");
      ASSERT_TRUE(docker::SetAvailability(manager, worker_id, "pause", error)) << error;
      ASSERT_TRUE(docker::SetAvailability(manager, worker_id, "active", error)) << error;
      auto id = docker::LocalNodeId(manager, error);
      ASSERT_TRUE(id) << error;
      EXPECT_NE(*id, worker_id);  // the manager's own id
    }
    // No TLS on a TLS port: the daemon's answer, and what to set.
    docker::Engine plain("tcp://10.10.10.1:2376", docker::TlsOptions{});
    EXPECT_FALSE(docker::ListNodes(plain, error));
    EXPECT_NE(error.find("the daemon wants TLS: set DOCKER_TLS_VERIFY=1"), std::string::npos) << error;
    {
      TlsEnv env(tls + "/wrongca");  // a CA that did not sign the daemon's certificate
      EXPECT_FALSE(docker::ListNodes(docker::Engine("tcp://10.10.10.1:2376"), error));
      EXPECT_NE(error.find("cannot reach the Docker daemon at tcp://10.10.10.1:2376 (TLS)"), std::string::npos)
          << error;
      EXPECT_NE(error.find("the daemon's certificate is not valid for this host under " + tls + "/wrongca/ca.pem"),
                std::string::npos)
          << error;
    }
    {
      // DOCKER_TLS without DOCKER_TLS_VERIFY: TLS with the client certificate,
      // the daemon's certificate not checked (so the wrong CA does not matter).
      setenv("DOCKER_TLS", "1", 1);
      setenv("DOCKER_CERT_PATH", (tls + "/wrongca").c_str(), 1);
      docker::Engine unverified("tcp://10.10.10.1");
      unsetenv("DOCKER_TLS");
      unsetenv("DOCKER_CERT_PATH");
      EXPECT_EQ(unverified.host(), "tcp://10.10.10.1:2376 (TLS, unverified)");
      auto nodes = docker::ListNodes(unverified, error);
      ASSERT_TRUE(nodes) << error;
      EXPECT_EQ(nodes->size(), 2u);
    }
    {
      TlsEnv env(tls + "/nocert");  // the daemon verifies clients: no certificate, no access
      EXPECT_FALSE(docker::ListNodes(docker::Engine("tcp://10.10.10.1:2376"), error));
      EXPECT_NE(error.find("cannot reach the Docker daemon at tcp://10.10.10.1:2376 (TLS)"), std::string::npos)
          << error;
      EXPECT_NE(error.find("the daemon refused the client certificate"), std::string::npos) << error;
    }
  });
}

// The worker's daemon on plain tcp://: its own id, and not a manager.
TEST_P(Drain, OverPlainTcp) {
  const std::string worker_id = C().worker_id;
  InNetns(C().mgr->netns(), [&] {
    std::string error;
    docker::Engine worker("tcp://10.10.10.2:2375", docker::TlsOptions{});
    auto id = docker::LocalNodeId(worker, error);
    ASSERT_TRUE(id) << error;
    EXPECT_EQ(*id, worker_id);
    EXPECT_FALSE(docker::ListNodes(worker, error));
    EXPECT_NE(error.find("the Docker daemon at tcp://10.10.10.2:2375 is a swarm worker, not a manager"),
              std::string::npos)
        << error;
    // Nothing listens on 2376 there.
    EXPECT_FALSE(docker::LocalNodeId(docker::Engine("tcp://10.10.10.2:2376", docker::TlsOptions{}), error));
    EXPECT_NE(error.find("cannot reach the Docker daemon at tcp://10.10.10.2:2376"), std::string::npos) << error;
  });
}

INSTANTIATE_TEST_SUITE_P(Docker, Drain, lab::NewestDockers(lab::Suite::kAnalyzes), lab::DockerParamName);

}  // namespace
}  // namespace swarmwall
