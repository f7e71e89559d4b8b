// Issue 16: containers rules that name a Swarm service, a container or a
// label, on a real dockerd node of the newest lab version in both firewall
// modes (every version with SWARMWALL_LAB_FULL_MATRIX=1; one node per
// version, brought up once, a single-node Swarm): `plan` shows what each name
// resolved to, `apply` opens exactly their published ports to a stranger
// (connect() from outside, before and after), and the agent follows a
// container recreated with another port, a host-mode service updated with
// another published port, a new container with the label and a label added
// to a service, each through the usual transaction. The time from Docker's
// event to the commit (the agent's log) and from the change to the rule
// (polling) is printed; the event-to-commit time must stay under 1 s (the
// issue's figure: a rule that follows late leaves the port closed, or open,
// for that long).
#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <fstream>
#include <iostream>
#include <map>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "lab/agent_log.h"
#include "lab/docker_params.h"
#include "lab/lab.h"
#include "lab/rules_view.h"
#include "lab/swarm.h"

namespace swarmwall {
namespace {

using lab::DockerVersion;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kNodeAddress = "203.0.113.31";
constexpr const char* kImage = "local/busybox:1";

constexpr const char* kPolicy = R"(version: 1
interfaces: { public: [eth0] }
nodes:
  - { name: sel, role: manager, address: 203.0.113.31 }
host:
  allow:
    - { ports: 22 }
containers:
  default: drop
  allow:
    - { service: web }
    - { container: api }
    - { label: com.example.expose=public }
)";

// Every port the tests publish, named or not.
const std::vector<int> kPorts = {8081, 8082, 8083, 8084, 8091, 8092, 8095, 8096};

struct Node {
  std::unique_ptr<lab::Lab> lab;
  lab::Host* host = nullptr;
  lab::Host* stranger = nullptr;
  lab::DockerNode* docker = nullptr;
  std::string dir, error;
  pid_t agent = -1;
};

class Selectors : public ::testing::TestWithParam<DockerVersion> {
 public:
  static std::map<DockerVersion, Node>& Nodes() {
    static std::map<DockerVersion, Node> nodes;
    return nodes;
  }

  static void StopAll() {
    for (auto& [v, n] : Nodes())
      if (n.agent > 0) {
        kill(n.agent, SIGKILL);
        waitpid(n.agent, nullptr, 0);
        n.agent = -1;
      }
  }

 protected:
  static void Run(lab::DockerNode& d, const std::string& name, const std::vector<std::string>& options) {
    std::vector<std::string> args{"run", "-d", "--name", name};
    args.insert(args.end(), options.begin(), options.end());
    for (const char* a : {kImage, "httpd", "-f", "-p", "80", "-h", "/bin"}) args.push_back(a);
    auto r = d.Docker(args);
    if (!r.ok()) throw std::runtime_error("docker run " + name + ": " + r.err);
  }

  static Node& Get(DockerVersion v) {
    auto& nodes = Nodes();
    if (auto it = nodes.find(v); it != nodes.end()) return it->second;
    Node& n = nodes[v];
    try {
      n.lab = std::make_unique<lab::Lab>(lab::LabTag("sel", v));
      auto& pub = n.lab->AddSwitch("pub");
      n.host = &n.lab->AddHost("n");
      n.stranger = &n.lab->AddHost("x");
      n.lab->Connect(*n.host, pub, "eth0", {std::string(kNodeAddress) + "/24"});
      n.lab->Connect(*n.stranger, pub, "eth0", {"203.0.113.99/24"});
      n.host->Sh("ip link set lo up");
      n.docker = &n.lab->StartDocker(*n.host, v);
      n.docker->EnsureBusyboxImage();
      lab::SwarmInit(*n.docker, "eth0");
      Run(*n.docker, "api", {"-p", "8081:80"});
      Run(*n.docker, "front", {"--label", "com.example.expose=public", "-p", "8083:80"});
      Run(*n.docker, "other", {"--label", "com.example.expose=private", "-p", "8084:80"});
      lab::CreateService(*n.docker, "web", {"--publish", "mode=host,published=8082,target=80",
                          // busybox httpd as PID 1 ignores SIGTERM: an update
                          // would wait the default 10 s for each task.
                          "--stop-grace-period", "1s"}, kImage,
                         {"httpd", "-f", "-p", "80", "-h", "/bin"});
      // Not named yet: it gets the label later.
      lab::CreateService(*n.docker, "tagged", {"--publish", "mode=host,published=8096,target=80",
                                               "--stop-grace-period", "1s"},
                         kImage, {"httpd", "-f", "-p", "80", "-h", "/bin"});
      for (const char* service : {"web", "tagged"})
        if (!lab::WaitRunningTasks(*n.docker, service, 1, 60s))
          throw std::runtime_error(std::string("service ") + service + " has no running task in 60 s");
      n.dir = n.lab->RunDir();
      std::ofstream(n.dir + "/policy.yaml") << kPolicy;
    } catch (const std::exception& e) {
      n.error = e.what();
    }
    return n;
  }

  Node& N() { return Get(GetParam()); }
  std::string V() { return lab::DockerVersionName(GetParam()); }

  ProcessResult Sw(const std::string& args) {
    return N().host->Sh("SWARMWALL_STATE_DIR=" + N().dir + "/state DOCKER_HOST=unix://" + N().docker->Socket() +
                        " " + SWARMWALL_BINARY + " " + args);
  }

  // The published ports a stranger can connect to.
  std::vector<int> Open() { return N().stranger->ConnectableTcp(kNodeAddress, kPorts, 700ms); }

  std::string Log() { return lab::ReadAll(N().dir + "/agent.log"); }

  // Polls until the owned rules name PORT (or no longer do, GONE); prints
  // how long that took after CHANGE returned and the agent's own
  // event-to-commit time, which must be under 1 s.
  void ChangeAndFollow(const std::string& what, const std::function<void()>& change, int port, int gone,
                       std::chrono::seconds wait = 10s) {
    size_t mark = Log().size();
    change();
    auto changed = Clock::now();
    auto has = [](const std::string& rules, int p) {
      return rules.find(std::to_string(p)) != std::string::npos;
    };
    bool followed = false;
    std::string rules;
    while (Clock::now() - changed < wait) {
      rules = lab::OwnedRules(*N().host);
      if (has(rules, port) && (gone == 0 || !has(rules, gone))) {
        followed = true;
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
    auto seen = Clock::now();
    ASSERT_TRUE(followed) << what << ": the rules did not follow in " << wait.count() << " s:\n"
                          << rules << "\nlog:\n" << Log().substr(mark);
    // Every commit the change caused (a recreate is a stop and a start).
    std::string times;
    double worst = -1;
    for (int i = 0; i < 100 && worst < 0; ++i) {
      for (const auto& rec : lab::Records(Log(), mark))
        if (rec.value("event", "") == "repair" && rec.contains("since_event_ms")) {
          double ms = rec["since_event_ms"].get<double>();
          worst = std::max(worst, ms);
          times += std::to_string(static_cast<int>(ms)) + " ";
        }
      if (worst < 0) std::this_thread::sleep_for(20ms);
    }
    std::cout << "[selectors " << V() << "] " << what << ": rule seen by polling "
              << std::chrono::duration<double, std::milli>(seen - changed).count()
              << " ms after the change returned; agent, event to commit (ms): " << times << "\n";
    EXPECT_GE(worst, 0) << "no repair record in the log:\n" << Log().substr(mark);
    EXPECT_LT(worst, 1000) << what << "\n" << Log().substr(mark);
  }

  void SetUp() override {
    std::string why;
    if (!lab::LabSupported(&why)) GTEST_SKIP() << why;
    if (!lab::DockerAvailable(GetParam())) GTEST_SKIP() << lab::DockerUnavailableReason(GetParam());
    ASSERT_TRUE(N().error.empty()) << N().error << "\n" << (N().docker ? N().docker->LogTail() : "");
  }
};

TEST_P(Selectors, A_PlanShowsWhatEachNameResolvedTo) {
  // Docker's own firewall first: every published port reaches the stranger.
  EXPECT_EQ(Open(), (std::vector<int>{8081, 8082, 8083, 8084, 8096})) << V();
  auto r = Sw("--output json plan " + N().dir + "/policy.yaml");
  ASSERT_EQ(r.exit_code, 2) << r.out << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.contains("selectors")) << r.out;
  std::map<std::string, std::string> got;
  for (const auto& s : j["selectors"]) got[s["selector"]] = s["ports"];
  EXPECT_EQ(got, (std::map<std::string, std::string>{{"service web", "8082/tcp"},
                                                     {"container api", "8081/tcp"},
                                                     {"label com.example.expose=public", "8083/tcp"}}))
      << r.out;
  // A name that resolves to nothing: a warning, not an error.
  std::ofstream(N().dir + "/nothing.yaml") << std::string(kPolicy) + "    - { container: nosuch }\n";
  auto check = Sw("check " + N().dir + "/nothing.yaml");
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  EXPECT_NE(check.err.find("warning: containers allow #4: container nosuch publishes no port on this node"),
            std::string::npos)
      << check.err;
  auto plan = Sw("plan " + N().dir + "/nothing.yaml");
  EXPECT_EQ(plan.exit_code, 2) << plan.err;
  EXPECT_NE(plan.err.find("container nosuch publishes no port"), std::string::npos) << plan.err;
  EXPECT_NE(plan.out.find("containers allow #1 service web: 8082/tcp"), std::string::npos) << plan.out;
}

TEST_P(Selectors, B_ApplyOpensExactlyTheNamedPorts) {
  auto r = Sw("apply " + N().dir + "/policy.yaml");
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(Open(), (std::vector<int>{8081, 8082, 8083})) << V() << "\n" << lab::OwnedRules(*N().host);
  auto again = Sw("apply " + N().dir + "/policy.yaml");
  EXPECT_EQ(again.exit_code, 0) << again.err;
  EXPECT_EQ(Sw("plan " + N().dir + "/policy.yaml").exit_code, 0);
}

TEST_P(Selectors, C_TheAgentFollowsRecreatesUpdatesAndLabels) {
  Node& n = N();
  std::vector<std::string> argv = {"nsenter", "--net=/var/run/netns/" + n.host->netns(), "env",
                                   "SWARMWALL_STATE_DIR=" + n.dir + "/state",
                                   "DOCKER_HOST=unix://" + n.docker->Socket(),
                                   SWARMWALL_BINARY, "agent", n.dir + "/policy.yaml",
                                   "--log-format", "json", "--interval-ms", "500"};
  n.agent = lab::StartAgent(argv, n.dir + "/agent.log", "on " + n.host->netns());
  auto& d = *n.docker;
  ChangeAndFollow("container api recreated with -p 8091:80", [&] {
    ASSERT_TRUE(d.Docker({"rm", "-f", "api"}).ok());
    Run(d, "api", {"-p", "8091:80"});
  }, 8091, 8081);
  EXPECT_EQ(Open(), (std::vector<int>{8082, 8083, 8091})) << V();
  ChangeAndFollow("service web updated to publish 8092 (mode=host)", [&] {
    auto r = d.Docker({"service", "update", "--detach", "--publish-rm", "published=8082,target=80",
                       "--publish-add", "mode=host,published=8092,target=80", "web"});
    ASSERT_TRUE(r.ok()) << r.err;
  }, 8092, 8082, 60s);
  ChangeAndFollow("a new container with the label, -p 8095:80", [&] {
    Run(d, "front2", {"--label", "com.example.expose=public", "-p", "8095:80"});
  }, 8095, 0);
  // A service's label (its spec, not its tasks'): a manager's event, read
  // back from GET /services; the task is not restarted.
  ChangeAndFollow("service tagged gets the label (service update --label-add)", [&] {
    auto r = d.Docker({"service", "update", "--detach", "--label-add", "com.example.expose=public", "tagged"});
    ASSERT_TRUE(r.ok()) << r.err;
  }, 8096, 0);
  // The task may still be starting its server: wait for it.
  std::vector<int> open;
  for (int i = 0; i < 50; ++i) {
    open = Open();
    if (open == std::vector<int>{8083, 8091, 8092, 8095, 8096}) break;
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(open, (std::vector<int>{8083, 8091, 8092, 8095, 8096})) << V() << "\n" << lab::OwnedRules(*n.host);
  EXPECT_EQ(Sw("plan " + n.dir + "/policy.yaml").exit_code, 0) << "the agent left changes pending";
}

INSTANTIATE_TEST_SUITE_P(Docker, Selectors, lab::NewestDockers(lab::Suite::kApplies), lab::DockerParamName);

}  // namespace
}  // namespace swarmwall

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  swarmwall::Selectors::StopAll();
  swarmwall::Selectors::Nodes().clear();
  return rc;
}
