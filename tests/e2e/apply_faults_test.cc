// Faults of apply on a real dockerd node (20.10 and 28.5), one node per
// version for the suite:
// - kill -9 at random moments (the command alone, its whole process group,
//   or also its detached committer): the owned state (owned chains of both
//   families, hooks, owned sets and their members) is exactly the old or
//   the new one, right after the kill (once any committer has finished) and
//   after the next swarmwall command; Docker's rules are unchanged.
// - 20 applies (some in parallel) while dockerd starts and removes 50
//   published containers: no rule of either owner is lost.
#include <gtest/gtest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <fstream>
#include <random>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "lab/docker_params.h"
#include "lab/lab.h"
#include "lab/rules_view.h"

namespace swarmwall {
namespace {

using lab::DockerVersion;

// Two policies: different ports, different sets of a few thousand entries
// (the commit takes measurable time), a set only B has (A destroys it).
std::string PolicyText(bool b) {
  std::string office = "[203.0.113.60/32, 2001:db8:60::/48";
  int n = b ? 5000 : 3000;
  for (int i = 0; i < n; ++i)
    office += ", 10." + std::to_string(b ? 2 : 1) + "." + std::to_string(i / 250) + "." +
              std::to_string(i % 250 + 1) + "/32";
  office += "]";
  std::string text = "version: 1\ninterfaces: { public: [eth0] }\nsets:\n  office: " + office + "\n";
  if (b) text += "  admins: [192.0.2.0/24, 198.51.100.7/32]\n";
  text += "nodes:\n  - { name: node-a, role: manager, address: 203.0.113.21 }\n"
          "host:\n  allow:\n    - { service: ssh, from: office }\n";
  if (b) text += "    - { ports: [2222], from: admins }\n";
  text += "swarm: { from: nodes }\ncontainers:\n  default: drop\n  allow:\n";
  text += b ? "    - { ports: [8080, 9090, 10000-10099], from: office }\n"
            : "    - { ports: [8080, 10000-10099], from: office }\n";
  return text;
}

struct Node {
  std::unique_ptr<lab::Lab> lab;
  lab::Host* host = nullptr;
  lab::Host* office = nullptr;
  lab::Host* stranger = nullptr;
  lab::DockerNode* docker = nullptr;
  std::string dir, error;
};

class Faults : public ::testing::TestWithParam<DockerVersion> {
 protected:
  static Node& Get(DockerVersion v) {
    static std::map<DockerVersion, Node> nodes;
    if (auto it = nodes.find(v); it != nodes.end()) return it->second;
    Node& n = nodes[v];
    try {
      n.lab = std::make_unique<lab::Lab>(lab::LabTag("af", v));
      auto& pub = n.lab->AddSwitch("pub");
      n.host = &n.lab->AddHost("a");
      n.lab->Connect(*n.host, pub, "eth0", {"203.0.113.21/24"});
      n.office = &n.lab->AddHost("ofc");
      n.lab->Connect(*n.office, pub, "eth0", {"203.0.113.60/24"});
      n.stranger = &n.lab->AddHost("str");
      n.lab->Connect(*n.stranger, pub, "eth0", {"203.0.113.70/24"});
      n.docker = &n.lab->StartDocker(*n.host, v);
      n.docker->EnsureBusyboxImage();
      n.docker->RunWebContainer("web", {"8080:80"});
      n.dir = n.lab->RunDir();
      std::ofstream(n.dir + "/a.yaml") << PolicyText(false);
      std::ofstream(n.dir + "/b.yaml") << PolicyText(true);
    } catch (const std::exception& e) {
      n.error = e.what();
    }
    return n;
  }

  Node& N() { return Get(GetParam()); }
  std::string State() { return N().dir + "/state"; }

  ProcessResult Sw(const std::string& args) {
    return N().host->Sh("SWARMWALL_STATE_DIR=" + State() + " " + SWARMWALL_BINARY + " " + args);
  }

  // Starts `swarmwall apply POLICY` in the node's namespace as the leader
  // of a process group of its own; returns its pid (= its group id).
  pid_t StartApply(const std::string& policy, int step_delay_ms) {
    std::string ns = "--net=/var/run/netns/" + N().host->netns();
    std::string state = "SWARMWALL_STATE_DIR=" + State();
    std::string delay = "SWARMWALL_TEST_STEP_DELAY_MS=" + std::to_string(step_delay_ms);
    std::string log = N().dir + "/apply-trial.log";
    pid_t pid = fork();
    if (pid == 0) {
      setpgid(0, 0);
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      // nsenter and env exec in place: the pid stays the command's.
      execlp("nsenter", "nsenter", ns.c_str(), "env", state.c_str(), delay.c_str(), SWARMWALL_BINARY,
             "apply", policy.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
    setpgid(pid, pid);
    return pid;
  }

  // Waits until nobody holds the host lock (a detached committer finishing).
  void WaitLockFree() {
    N().host->Sh("flock " + State() + "/lock true");
  }

  // The owned state: owned chains and hooks of both families in order,
  // owned sets with their members (sorted: a refilled set lists its members
  // in another hash order; its random initval and the hash size it grew to
  // are not content).
  std::string Owned() { return lab::OwnedRules(*N().host); }

  // The lines of NOW missing from REF (-) and extra in it (+), for messages.
std::string Delta(const std::string& now, const std::string& ref) {
  auto lines = [](const std::string& t) {
    std::multiset<std::string> out;
    std::istringstream in(t);
    for (std::string l; std::getline(in, l);) out.insert(l);
    return out;
  };
  auto a = lines(now), b = lines(ref);
  std::string out;
  for (const auto& l : b)
    if (!a.count(l)) out += "  - " + l + "\n";
  for (const auto& l : a)
    if (!b.count(l)) out += "  + " + l + "\n";
  return out.empty() ? "  (same lines, another order)\n" : out;
}

// Docker's rules (everything not swarmwall's), counters zeroed.
  std::string Foreign() { return lab::ForeignRules(*N().host); }

  void SetUp() override {
    std::string why;
    if (!lab::LabSupported(&why)) GTEST_SKIP() << why;
    if (!lab::DockerAvailable(GetParam())) GTEST_SKIP() << lab::DockerUnavailableReason(GetParam());
    ASSERT_TRUE(N().error.empty()) << N().error;
  }
};

TEST_P(Faults, KillNineLeavesTheOldOrTheNewOwnedState) {
  const std::string a = N().dir + "/a.yaml", b = N().dir + "/b.yaml";
  Sw("remove");
  ASSERT_EQ(Sw("apply " + a).exit_code, 0);
  const std::string state_a = Owned();
  auto t0 = std::chrono::steady_clock::now();
  auto rb = Sw("apply " + b);
  ASSERT_EQ(rb.exit_code, 0) << rb.err;
  auto apply_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - t0).count();
  const std::string state_b = Owned();
  ASSERT_NE(state_a, state_b);
  const std::string docker = Foreign();
  std::cout << "an apply A -> B takes " << apply_ms << " ms\n";

  std::mt19937 rng(GetParam() == DockerVersion::k20_10 ? 2010 : 2805);
  bool at_b = true;
  std::map<std::string, int> outcomes;
  const int kTrials = 24;
  for (int trial = 0; trial < kTrials; ++trial) {
    const std::string& from = at_b ? state_b : state_a;
    const std::string& to = at_b ? state_a : state_b;
    int mode = trial % 3;  // 0: the command, 1: its process group, 2: also its committer
    int step_delay = trial % 2 ? 0 : 60;
    int delay_ms = std::uniform_int_distribution<int>(0, static_cast<int>(apply_ms) + 3 * step_delay + 50)(rng);
    pid_t pid = StartApply(at_b ? a : b, step_delay);
    std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    if (mode == 0) kill(pid, SIGKILL);
    else kill(-pid, SIGKILL);
    if (mode == 2) {
      // The committer names itself in the lock file: kill it too, as a
      // power cut would; the next command must repair what it left.
      auto holder = N().host->Sh("cat " + State() + "/lock 2>/dev/null").out;
      std::smatch m;
      if (std::regex_search(holder, m, std::regex("pid (\\d+): apply committer")))
        kill(std::stoi(m[1]), SIGKILL);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    std::string where = "trial " + std::to_string(trial) + " mode " + std::to_string(mode) +
                        " after " + std::to_string(delay_ms) + " ms (step delay " +
                        std::to_string(step_delay) + ")";
    WaitLockFree();
    std::string now = Owned();
    if (mode != 2) {
      EXPECT_TRUE(now == from || now == to) << where << ": a mix right after the kill; against the old state:\n"
                                           << Delta(now, from) << "against the new state:\n" << Delta(now, to);
    }
    // The next command (status recovers an interrupted commit first).
    auto st = Sw("status");
    now = Owned();
    bool old_state = now == from, new_state = now == to;
    EXPECT_TRUE(old_state || new_state) << where << ": a mix after the next command; against the old state:\n"
                                       << Delta(now, from) << "against the new state:\n" << Delta(now, to) << st.err;
    EXPECT_EQ(st.exit_code, 0) << where << "\n" << st.out << st.err;
    EXPECT_EQ(Foreign(), docker) << where << ": Docker's rules changed";
    outcomes[std::string(mode == 0 ? "command" : mode == 1 ? "group" : "committer too") +
             (new_state ? ": new" : ": old")]++;
    if (new_state) at_b = !at_b;
  }
  for (const auto& [what, n] : outcomes) std::cout << "  " << what << ": " << n << "\n";
  Sw("remove");
}

// The published ports of the running containers, as Docker's DNAT rules.
// Docker's DNAT ports: in iptables' DOCKER chain, or (Docker 29 in
// nftables mode) in its table ip docker-bridges.
std::multiset<std::string> DnatPorts(lab::Host& host, bool nft) {
  std::multiset<std::string> ports;
  auto r = nft ? host.Exec({"nft", "list", "table", "ip", "docker-bridges"}) : host.Exec({"iptables-save", "-t", "nat"});
  std::istringstream in(r.out);
  std::regex dnat(nft ? "tcp dport (\\d+) .*dnat to" : "^-A DOCKER .*--dport (\\d+) .*-j DNAT");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_search(line, m, dnat)) ports.insert(m[1]);
  }
  return ports;
}

TEST_P(Faults, AppliesRacingDockerLoseNoRule) {
  const std::string a = N().dir + "/a.yaml", b = N().dir + "/b.yaml";
  Sw("remove");
  ASSERT_EQ(Sw("apply " + a).exit_code, 0);
  const std::string state_a = Owned();
  ASSERT_EQ(Sw("apply " + b).exit_code, 0);
  const std::string state_b = Owned();

  // dockerd: 50 containers with published ports started; every second one
  // removed again right after the next one started.
  std::atomic<bool> docker_done = false;
  std::vector<std::string> docker_errors;
  std::thread churn([&] {
    for (int i = 0; i < 50; ++i) {
      auto r = N().docker->Docker({"run", "-d", "--name", "c" + std::to_string(i), "-p",
                                   std::to_string(10000 + i) + ":80", "local/busybox:1", "httpd", "-f",
                                   "-p", "80", "-h", "/bin"});
      if (r.exit_code != 0) docker_errors.push_back(r.err);
      if (i % 2 == 1) N().docker->Docker({"rm", "-f", "c" + std::to_string(i - 1)});
    }
    docker_done = true;
  });
  // 20 applies alternating A and B, in rounds of one, two or three at once.
  std::vector<int> failures;
  int started = 0;
  for (int round = 0; started < 20; ++round) {
    int width = std::min(1 + round % 3, 20 - started);
    std::vector<std::thread> batch;
    std::vector<ProcessResult> results(width);
    for (int k = 0; k < width; ++k, ++started)
      batch.emplace_back([&, k, n = started] { results[k] = Sw("apply " + (n % 2 ? b : a)); });
    for (auto& t : batch) t.join();
    for (const auto& r : results) {
      if (r.exit_code == 0) continue;
      failures.push_back(r.exit_code);
      ADD_FAILURE() << r.out << r.err;
    }
  }
  churn.join();
  ASSERT_TRUE(docker_done);
  EXPECT_TRUE(docker_errors.empty()) << docker_errors.front();
  EXPECT_TRUE(failures.empty());

  // swarmwall's owned state is the last policy applied (the record says which).
  auto record = N().host->Sh("cat " + State() + "/applied.json").out;
  bool last_b = record.find("/b.yaml") != std::string::npos;
  EXPECT_EQ(Owned(), last_b ? state_b : state_a) << record;
  auto st = Sw("status");
  EXPECT_EQ(st.exit_code, 0) << st.out << st.err;

  // Docker: one DNAT per published port of the running containers...
  std::multiset<std::string> want = {"8080"};
  for (int i = 1; i < 50; i += 2) want.insert(std::to_string(10000 + i));
  EXPECT_EQ(DnatPorts(*N().host, GetParam() == lab::DockerVersion::k29_7_nft), want);
  // ... and each of them reachable from the office, never from a stranger.
  for (int i = 1; i < 50; i += 2) {
    int port = 10000 + i;
    EXPECT_TRUE(N().office->CanConnect("203.0.113.21", port)) << "port " << port << " lost";
    EXPECT_FALSE(N().stranger->CanConnect("203.0.113.21", port, std::chrono::milliseconds(300)))
        << "port " << port << " open to a stranger";
  }
  for (int i = 1; i < 50; i += 2) N().docker->Docker({"rm", "-f", "c" + std::to_string(i)});
  Sw("remove");
}

INSTANTIATE_TEST_SUITE_P(Docker, Faults, lab::NewestDockers(lab::Suite::kApplies), lab::DockerParamName);

}  // namespace
}  // namespace swarmwall
