// swarmwall agent on a real dockerd node (iptables, or its nftables backend
// on Docker 29 in nftables mode, lab/owned_firewall.h): started in the
// node's namespace, it repairs an owned chain flushed, the INPUT jump
// deleted, the filter table (ruleset) restored from a file saved without
// swarmwall's rules (what iptables.service / nftables.service do), swarmwall's
// nftables tables deleted, and whatever a dockerd restart
// disturbs; a bad policy edit is refused with FILE:LINE:COL and the rules
// stay; SIGHUP applies a changed policy; the metrics endpoint answers;
// SIGTERM stops it and keeps the rules. The alert rules of deploy/monitoring/
// fire (promtool test rules) on series scraped from this agent's /metrics
// while its policy is invalid and while it opens Swarm's ports to the world.
// The time from each change to its
// repair is printed (from the agent's log and by polling the kernel); it is
// never a pass/fail criterion.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <fstream>
#include <iostream>
#include <regex>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <yaml-cpp/yaml.h>

#include "lab/agent_log.h"
#include "lab/docker_params.h"
#include "lab/lab.h"
#include "lab/owned_firewall.h"
#include "lab/rules_view.h"

namespace swarmwall {
namespace {

using lab::DockerVersion;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr const char* kPolicy = R"(version: 1
interfaces: { public: [eth0] }
sets:
  office: [198.51.100.0/24, 2001:db8:100::/48]
nodes:
  - { name: node-a, role: manager, address: 203.0.113.21 }
host:
  allow:
    - { service: ssh, from: office }
swarm: { from: nodes }
containers:
  default: drop
  allow:
    - { ports: [8080], from: office }
)";

struct Node {
  std::unique_ptr<lab::Lab> lab;
  lab::Host* host = nullptr;
  lab::DockerNode* docker = nullptr;
  std::string dir, error;
  pid_t agent = -1;
  pid_t restarted_dockerd = -1;  // a daemon the test started again itself
};

using lab::ReadAll;
using lab::Records;

std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

class Agent : public ::testing::TestWithParam<DockerVersion> {
 public:
  static std::map<DockerVersion, Node>& Nodes() {
    static std::map<DockerVersion, Node> nodes;
    return nodes;
  }

  // Stops what the tests started (agent, a daemon started again), before
  // the labs go.
  static void StopAll() {
    for (auto& [v, n] : Nodes()) {
      if (n.agent > 0) {
        kill(n.agent, SIGKILL);
        waitpid(n.agent, nullptr, 0);
        n.agent = -1;
      }
      if (n.restarted_dockerd > 0 && n.docker) {
        n.docker->Docker({"rm", "-f", "web"});
        kill(n.restarted_dockerd, SIGTERM);
        for (int i = 0; i < 300 && kill(n.restarted_dockerd, 0) == 0; ++i) std::this_thread::sleep_for(100ms);
        n.restarted_dockerd = -1;
      }
    }
  }

 protected:
  static Node& Get(DockerVersion v) {
    auto& nodes = Nodes();
    if (auto it = nodes.find(v); it != nodes.end()) return it->second;
    Node& n = nodes[v];
    try {
      n.lab = std::make_unique<lab::Lab>(lab::LabTag("ag", v));
      auto& pub = n.lab->AddSwitch("pub");
      n.host = &n.lab->AddHost("a");
      n.lab->Connect(*n.host, pub, "eth0", {"203.0.113.21/24"});
      n.host->Sh("ip link set lo up");
      n.docker = &n.lab->StartDocker(*n.host, v);
      n.docker->EnsureBusyboxImage();
      n.docker->RunWebContainer("web", {"8080:80"});
      n.dir = n.lab->RunDir();
      std::ofstream(n.dir + "/policy.yaml") << kPolicy;
      StartAgent(n);
    } catch (const std::exception& e) {
      n.error = e.what();
    }
    return n;
  }

  static std::string Log(Node& n) { return ReadAll(n.dir + "/agent.log"); }

  static void StartAgent(Node& n) {
    std::vector<std::string> argv = {"nsenter", "--net=/var/run/netns/" + n.host->netns(), "env",
                                     "SWARMWALL_STATE_DIR=" + n.dir + "/state",
                                     "DOCKER_HOST=unix://" + n.docker->Socket(),
                                     SWARMWALL_BINARY, "agent", n.dir + "/policy.yaml",
                                     "--metrics", "127.0.0.1:9469", "--log-format", "json",
                                     "--interval-ms", "500"};
    n.agent = lab::StartAgent(argv, n.dir + "/agent.log", "on " + n.host->netns());
  }

  Node& N() { return Get(GetParam()); }

  ProcessResult Sw(const std::string& args) {
    return N().host->Sh("SWARMWALL_STATE_DIR=" + N().dir + "/state " + SWARMWALL_BINARY + " " + args);
  }

  // swarmwall's rules and sets as the kernel holds them.
  std::string Owned() { return lab::OwnedRules(*N().host); }

  bool InSync() { return Sw("plan " + N().dir + "/policy.yaml").exit_code == 0; }

  // Runs CHANGE in the node, then polls until the owned state equals WANT
  // again. Prints the time to repair as seen by polling and by the log.
  void ChangeAndWait(const std::string& what, const std::string& change, const std::string& want,
                     const std::function<std::string()>& state = {}) {
    auto now = [&] { return state ? state() : Owned(); };
    size_t mark = Log(N()).size();
    auto start = Clock::now();
    auto r = N().host->Sh(change);
    ASSERT_TRUE(r.ok()) << change << ": " << r.err;
    auto changed = Clock::now();
    bool repaired = false;
    while (Clock::now() - changed < 10s) {
      if (now() == want) {
        repaired = true;
        break;
      }
      std::this_thread::sleep_for(5ms);
    }
    auto seen = Clock::now();
    ASSERT_TRUE(repaired) << what << " was not repaired in 10 s; owned now:\n" << Owned() << "\nlog:\n"
                          << Log(N()).substr(mark);
    // The record is written just after the commit the kernel shows.
    std::string kinds, since = "?";
    for (int i = 0; i < 100 && kinds.empty(); ++i) {
      for (const auto& rec : Records(Log(N()), mark))
        if (rec.value("event", "") == "repair") {
          kinds += rec["kinds"].dump() + " ";
          if (rec.contains("since_event_ms")) since = std::to_string(rec["since_event_ms"].get<double>());
        }
      if (kinds.empty()) std::this_thread::sleep_for(20ms);
    }
    std::cout << "[agent " << lab::DockerVersionName(GetParam()) << "] " << what
              << ": repaired; change command took "
              << std::chrono::duration<double, std::milli>(changed - start).count()
              << " ms, seen repaired by polling "
              << std::chrono::duration<double, std::milli>(seen - changed).count()
              << " ms after it returned; log: kinds " << kinds << "since_event_ms " << since << "\n";
    EXPECT_FALSE(kinds.empty()) << "no repair record in the log:\n" << Log(N()).substr(mark);
  }

  void SetUp() override {
    std::string why;
    if (!lab::LabSupported(&why)) GTEST_SKIP() << why;
    if (!lab::DockerAvailable(GetParam())) GTEST_SKIP() << lab::DockerUnavailableReason(GetParam());
    ASSERT_TRUE(N().error.empty()) << N().error;
    ASSERT_GT(N().agent, 0) << "the agent is not running";
    ASSERT_TRUE(InSync()) << Sw("plan " + N().dir + "/policy.yaml").out << Log(N());
  }
};

TEST_P(Agent, FirstApply) {
  auto records = Records(Log(N()));
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.front().value("event", ""), "applied") << records.front().dump();
  EXPECT_TRUE(lab::InputJumpFirst(*N().host, GetParam())) << Owned();
  auto state = nlohmann::json::parse(ReadAll(N().dir + "/state/agent.json"), nullptr, false);
  ASSERT_TRUE(state.is_object());
  EXPECT_EQ(state.value("pid", 0), N().agent);
  EXPECT_TRUE(state.value("running", false));
  EXPECT_EQ(state.value("node", ""), "node-a");
}

TEST_P(Agent, RepairsFlushedChain) {
  auto flush = lab::FlushInputChain(GetParam());
  ChangeAndWait(flush, flush, Owned());
}

TEST_P(Agent, RepairsDeletedJump) {
  auto del = lab::DeleteInputJump(GetParam());
  ChangeAndWait("the jump to SWARMWALL-INPUT deleted", del, Owned());
}

TEST_P(Agent, RepairsJumpNoLongerFirst) {
  auto state = [&] { return Owned() + (lab::InputJumpFirst(*N().host, GetParam()) ? "jump first" : "not first"); };
  std::string want = state();
  ASSERT_TRUE(want.ends_with("jump first")) << want;
  ChangeAndWait("a rule put before the jump (jump no longer first)", lab::InsertBeforeJump(GetParam()), want, state);
  EXPECT_TRUE(lab::InputJumpFirst(*N().host, GetParam())) << Owned();
  N().host->Sh(lab::RemoveInserted(GetParam()));
}

TEST_P(Agent, RepairsFlushAndRestore) {
  // What iptables.service (nftables.service) does at boot or restart: the
  // filter table (the ruleset) restored from a file saved before swarmwall
  // (Docker's chains and tables kept).
  std::string want = Owned();
  std::string file = N().dir + "/saved.rules";
  auto saved = N().host->Sh(lab::SaveWithoutSwarmwall(GetParam(), file));
  ASSERT_TRUE(saved.ok()) << saved.err;
  ChangeAndWait("a restore of rules saved without swarmwall", lab::RestoreSaved(GetParam(), file), want);
}

TEST_P(Agent, RepairsChangedSet) {
  auto flush = lab::FlushSet(GetParam(), "swarmwall-office-v4");
  ChangeAndWait(flush, flush, Owned());
}

// The nftables backend's tables deleted whole (nft delete table).
TEST_P(Agent, RepairsDeletedTable) {
  if (!lab::NftablesBackend(GetParam())) GTEST_SKIP() << "swarmwall has no table of its own with iptables";
  std::string want = Owned();
  ChangeAndWait("nft delete table ip swarmwall", "nft delete table ip swarmwall", want);
  ChangeAndWait("nft delete table ip6 swarmwall", "nft delete table ip6 swarmwall", want);
}

TEST_P(Agent, DockerdRestart) {
  Node& n = N();
  std::string want = Owned();
  pid_t old = n.restarted_dockerd > 0 ? n.restarted_dockerd : n.docker->pid();
  // The daemon's own command line and PATH, to start it again the same way.
  std::string cmdline = ReadAll("/proc/" + std::to_string(old) + "/cmdline");
  std::string environ = ReadAll("/proc/" + std::to_string(old) + "/environ");
  std::string path;
  for (size_t p = 0; p < environ.size();) {
    std::string kv = environ.c_str() + p;
    if (kv.starts_with("PATH=")) path = kv.substr(5);
    p += kv.size() + 1;
  }
  std::string cmd;
  for (size_t p = 0; p < cmdline.size();) {
    std::string a = cmdline.c_str() + p;
    cmd += Quote(a) + " ";
    p += a.size() + 1;
  }
  ASSERT_FALSE(cmd.empty());
  size_t mark = Log(n).size();
  auto start = Clock::now();
  ASSERT_EQ(kill(old, SIGTERM), 0);
  for (int i = 0; i < 300; ++i) {
    if (old == n.docker->pid()) waitpid(old, nullptr, WNOHANG);
    if (kill(old, 0) != 0) break;
    std::this_thread::sleep_for(100ms);
  }
  ASSERT_NE(kill(old, 0), 0) << "dockerd did not stop";
  auto r = n.host->Sh("PATH=" + Quote(path) + " setsid " + cmd + " >> " + n.docker->LogFile() +
                      " 2>&1 < /dev/null & echo $!");
  ASSERT_TRUE(r.ok()) << r.err;
  n.restarted_dockerd = std::stoi(r.out);
  bool up = false;
  for (int i = 0; i < 300 && !up; ++i) {
    up = n.docker->Docker({"version"}, {.timeout = 5s}).ok();
    if (!up) std::this_thread::sleep_for(100ms);
  }
  ASSERT_TRUE(up) << n.docker->LogTail();
  auto daemon_up = Clock::now();
  // Docker rebuilds its chains as it starts: wait until the agent has seen
  // the daemon back and the owned state is the policy's again.
  bool seen_back = false, repaired = false;
  while (Clock::now() - daemon_up < 15s && !(seen_back && repaired)) {
    for (const auto& rec : Records(Log(n), mark))
      if (rec.value("event", "") == "docker-event" && rec.value("type", "") == "daemon-up") seen_back = true;
    repaired = Owned() == want && InSync();
    if (!(seen_back && repaired)) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(seen_back) << Log(n).substr(mark);
  EXPECT_TRUE(repaired) << Owned() << "\n" << Log(n).substr(mark);
  std::string kinds = "none needed";
  for (const auto& rec : Records(Log(n), mark))
    if (rec.value("event", "") == "repair") kinds = rec["kinds"].dump() + " (since_event_ms " +
                                                    rec.value("since_event_ms", nlohmann::json(0)).dump() + ")";
  bool gone = false;
  for (const auto& rec : Records(Log(n), mark))
    gone = gone || (rec.value("event", "") == "docker-event" && rec.value("type", "") == "daemon-gone");
  EXPECT_TRUE(gone) << Log(n).substr(mark);
  std::cout << "[agent " << lab::DockerVersionName(GetParam()) << "] dockerd restart: daemon back after "
            << std::chrono::duration<double>(daemon_up - start).count() << " s, in sync "
            << std::chrono::duration<double, std::milli>(Clock::now() - daemon_up).count()
            << " ms later; repairs: " << kinds << "\n";
}

TEST_P(Agent, BadPolicyKeepsRules) {
  Node& n = N();
  std::string want = Owned();
  size_t mark = Log(n).size();
  std::ofstream(n.dir + "/policy.yaml") << "version: 1\ninterfaces: { public: [eth0] }\nsets:\n  office: [198.51.100.0/33]\n";
  std::string line;
  for (int i = 0; i < 100 && line.empty(); ++i) {
    for (const auto& rec : Records(Log(n), mark))
      if (rec.value("event", "") == "policy-invalid") line = rec.value("error", "");
    if (line.empty()) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(std::regex_search(line, std::regex("policy\\.yaml:4:\\d+: "))) << line << Log(n).substr(mark);
  EXPECT_EQ(Owned(), want);
  // A drift is still repaired by the running policy.
  ChangeAndWait(lab::FlushInputChain(GetParam()) + " (policy file invalid)", lab::FlushInputChain(GetParam()), want);
  std::ofstream(n.dir + "/policy.yaml") << kPolicy;
  std::this_thread::sleep_for(500ms);
}

TEST_P(Agent, SighupReloadsChangedPolicy) {
  Node& n = N();
  std::string changed = std::regex_replace(kPolicy, std::regex("ports: \\[8080\\]"), "ports: [8080, 9090]");
  // Written elsewhere and renamed in: one inotify event, and SIGHUP too.
  std::ofstream(n.dir + "/policy.new") << changed;
  std::rename((n.dir + "/policy.new").c_str(), (n.dir + "/policy.yaml").c_str());
  size_t mark = Log(n).size();
  kill(n.agent, SIGHUP);
  bool applied = false;
  for (int i = 0; i < 100 && !applied; ++i) {
    applied = Owned().find(lab::NftablesBackend(GetParam()) ? "ct original proto-dst 9090" : "--ctorigdstport 9090") !=
              std::string::npos;
    if (!applied) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(applied) << Owned() << Log(n).substr(mark);
  bool hup = false;
  for (const auto& rec : Records(Log(n)))
    hup = hup || (rec.value("event", "") == "signal" && rec.value("signal", "") == "SIGHUP");
  EXPECT_TRUE(hup);
  // Back to the first policy for the other tests.
  std::ofstream(n.dir + "/policy.yaml") << kPolicy;
  kill(n.agent, SIGHUP);
  for (int i = 0; i < 100 && Owned().find("9090") != std::string::npos; ++i) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(Owned().find("9090"), std::string::npos);
}

TEST_P(Agent, MetricsAnswer) {
  auto r = N().host->Sh("curl -s --max-time 5 http://127.0.0.1:9469/metrics");
  ASSERT_TRUE(r.ok()) << r.err;
  for (const char* m : {"swarmwall_up 1", "swarmwall_applies_total ", "swarmwall_repairs_total{kind=\"chain-flushed\"} ",
                        "swarmwall_last_apply_duration_seconds ", "swarmwall_errors_total ",
                        "swarmwall_drift_checks_total ", "swarmwall_in_sync 1"})
    EXPECT_NE(r.out.find(m), std::string::npos) << m << "\n" << r.out;
  auto h = N().host->Sh("curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:9469/healthz");
  EXPECT_EQ(h.out, "200");
}

// The exposition text as series -> value, each with the labels Prometheus
// adds when it scrapes (job, instance).
std::map<std::string, std::string> Samples(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    size_t space = line.rfind(' ');
    std::string series = line.substr(0, space), value = line.substr(space + 1);
    const std::string added = "job=\"swarmwall\",instance=\"node-a\"";
    if (series.back() == '}')
      series = series.substr(0, series.size() - 1) + "," + added + "}";
    else
      series += "{" + added + "}";
    out[series] = value;
  }
  return out;
}

// The labels of SERIES ("name{a=\"b\",...}") without the name.
std::map<std::string, std::string> LabelsOf(const std::string& series) {
  std::map<std::string, std::string> out;
  std::regex pair("(\\w+)=\"([^\"]*)\"");
  for (std::sregex_iterator it(series.begin(), series.end(), pair), end; it != end; ++it) out[(*it)[1]] = (*it)[2];
  return out;
}

// The annotations of ALERT in the rules file, rendered for LABELS.
nlohmann::json Annotations(const YAML::Node& rules, const std::string& alert,
                           const std::map<std::string, std::string>& labels) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& group : rules["groups"])
    for (const auto& rule : group["rules"]) {
      if (!rule["alert"] || rule["alert"].as<std::string>() != alert) continue;
      for (const auto& a : rule["annotations"]) {
        std::string text = a.second.as<std::string>();
        for (const auto& [k, v] : labels) {
          std::string field = "{{ $labels." + k + " }}";
          for (size_t at; (at = text.find(field)) != std::string::npos;) text.replace(at, field.size(), v);
        }
        out[a.first.as<std::string>()] = text;
      }
    }
  return out;
}

// deploy/monitoring/swarmwall-alerts.yml against series scraped from this
// agent: healthy, with its policy file invalid, with Swarm's ports opened to
// the world by the policy (the agent's exposure check, apply/control_ports.h),
// healthy again. promtool replays them a minute apart, five minutes each,
// then two phases no agent can be made to show on purpose here: the last
// scrape with swarmwall_in_sync 0 (a repair that keeps failing) and no scrape
// at all (up 0: the agent down). Each alert fires in its phase and in no
// other.
TEST_P(Agent, AlertRulesFireOnRealMetrics) {
  if (system("command -v promtool >/dev/null 2>&1") != 0) GTEST_SKIP() << "no promtool (scripts/setup.sh installs it)";
  Node& n = N();
  auto scrape = [&] { return N().host->Sh("curl -s --max-time 5 http://127.0.0.1:9469/metrics").out; };
  // Polls until the exposition matches WANT (a regex), for up to 20 s.
  auto wait_for = [&](const std::string& want, const std::string& what) {
    std::string text;
    std::regex re(want);
    for (int i = 0; i < 400; ++i) {
      text = scrape();
      if (std::regex_search(text, re)) return text;
      std::this_thread::sleep_for(50ms);
    }
    ADD_FAILURE() << what << ": /metrics never matched " << want << "\n" << text << Log(n);
    return text;
  };
  auto write_policy = [&](const std::string& text) {
    std::ofstream(n.dir + "/policy.new") << text;
    std::rename((n.dir + "/policy.new").c_str(), (n.dir + "/policy.yaml").c_str());
  };
  std::string healthy = wait_for("swarmwall_control_ports_exposed 0\n", "healthy, exposure computed");
  write_policy("version: 1\ninterfaces: { public: [eth0] }\nsets:\n  office: [198.51.100.0/33]\n");
  std::string invalid = wait_for("swarmwall_policy_valid 0\n", "invalid policy");
  write_policy(kPolicy);
  wait_for("swarmwall_policy_valid 1\n", "valid again");
  write_policy(std::regex_replace(kPolicy, std::regex("swarm: \\{ from: nodes \\}"), "swarm: { from: any }"));
  std::string exposed = wait_for("swarmwall_control_ports_exposed [1-9]", "Swarm's ports open to the world");
  write_policy(kPolicy);
  std::string again = wait_for("swarmwall_control_ports_exposed 0\n", "closed again");
  ASSERT_FALSE(HasFailure());

  // The promtool test (JSON is YAML): 25 minutes, a sample a minute.
  std::vector<std::map<std::string, std::string>> phases = {Samples(healthy), Samples(invalid), Samples(exposed),
                                                            Samples(again), {}};
  for (auto& [series, value] : phases[3])
    if (series.starts_with("swarmwall_in_sync{")) value = "0";
  std::set<std::string> all;
  for (const auto& p : phases)
    for (const auto& [series, value] : p) all.insert(series);
  nlohmann::json input = nlohmann::json::array();
  for (const auto& series : all) {
    std::string values;
    for (size_t minute = 0; minute < 25; ++minute) {
      const auto& p = phases[minute / 5];
      auto it = p.find(series);
      // Gone series are marked stale, as Prometheus does when a target
      // stops answering (else the last value stands for 5 minutes).
      std::string v = it == p.end() ? "stale" : it->second;
      // A timestamp as of its own minute (promtool's clock starts at 0).
      if (it != p.end() && series.starts_with("swarmwall_last_check_timestamp_seconds{"))
        v = std::to_string(minute * 60);
      values += (values.empty() ? "" : " ") + v;
    }
    input.push_back({{"series", series}, {"values", values}});
  }
  input.push_back({{"series", "up{job=\"swarmwall\",instance=\"node-a\"}"},
                   {"values", "1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 0 0 0 0 0"}});
  const std::string rules_file = std::string(SWARMWALL_SOURCE_DIR) + "/deploy/monitoring/swarmwall-alerts.yml";
  YAML::Node rules = YAML::LoadFile(rules_file);
  const std::map<std::string, std::string> node = {{"job", "swarmwall"}, {"instance", "node-a"}};
  auto with = [](std::map<std::string, std::string> labels, const std::string& severity) {
    labels["severity"] = severity;
    return labels;
  };
  auto expect = [&](const std::string& alert, const std::vector<std::map<std::string, std::string>>& firing) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& labels : firing)
      list.push_back({{"exp_labels", labels}, {"exp_annotations", Annotations(rules, alert, labels)}});
    return list;
  };
  std::vector<std::map<std::string, std::string>> ports;
  for (const auto& [series, value] : phases[2])
    if (series.starts_with("swarmwall_control_port_exposed{") && value == "1") ports.push_back(with(LabelsOf(series), "critical"));
  ASSERT_FALSE(ports.empty());
  bool swarm_port = false;
  for (const auto& p : ports) swarm_port = swarm_port || p.at("port") == "2377";
  EXPECT_TRUE(swarm_port) << exposed;
  const std::vector<std::string> alerts = {"SwarmwallAgentDown", "SwarmwallDriftNotRepaired", "SwarmwallChecksStalled",
                                           "SwarmwallPolicyInvalid", "SwarmwallControlPortExposed",
                                           "SwarmwallRepairsRecurring"};
  // minute -> the alert firing then (every other alert: none).
  const std::vector<std::pair<int, std::string>> checks = {
      {4, ""}, {8, "SwarmwallPolicyInvalid"}, {13, "SwarmwallControlPortExposed"},
      {18, "SwarmwallDriftNotRepaired"}, {23, "SwarmwallAgentDown"}};
  nlohmann::json tests_of_alerts = nlohmann::json::array();
  for (const auto& [minute, firing] : checks)
    for (const auto& alert : alerts) {
      std::vector<std::map<std::string, std::string>> want;
      if (alert == firing && alert == "SwarmwallControlPortExposed") want = ports;
      else if (alert == firing) want = {with(node, alert == "SwarmwallPolicyInvalid" ? "warning" : "critical")};
      tests_of_alerts.push_back({{"eval_time", std::to_string(minute) + "m"}, {"alertname", alert},
                                 {"exp_alerts", expect(alert, want)}});
    }
  nlohmann::json test = {{"rule_files", {rules_file}},
                         {"evaluation_interval", "1m"},
                         {"tests", {{{"interval", "1m"}, {"input_series", input}, {"alert_rule_test", tests_of_alerts}}}}};
  const std::string test_file = n.dir + "/alerts-test.yml";
  std::ofstream(test_file) << test.dump(2);
  auto r = n.host->Exec({"promtool", "test", "rules", test_file});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err << "\n(the test file: " << test_file << ")";
  std::cout << "[agent " << lab::DockerVersionName(GetParam()) << "] promtool test rules over " << all.size()
            << " series scraped from the agent: exit " << r.exit_code << "; control ports the world reached with "
            << "`swarm: { from: any }`: " << ports.size() << "\n";
}

// swarmwall status tells about the running agent (text and JSON).
TEST_P(Agent, StatusShowsTheAgent) {
  auto text = Sw("status");
  EXPECT_NE(text.out.find("agent: "), std::string::npos) << text.out;
  EXPECT_EQ(text.out.find("agent: never ran"), std::string::npos) << text.out;
  auto json = Sw("status --output json");
  EXPECT_NE(json.out.find("\"agent\""), std::string::npos) << json.out;
}

TEST_P(Agent, ZzSigtermStopsAndKeepsRules) {
  Node& n = N();
  std::string want = Owned();
  ASSERT_EQ(kill(n.agent, SIGTERM), 0);
  int status = -1;
  bool exited = false;
  for (int i = 0; i < 100 && !exited; ++i) {
    exited = waitpid(n.agent, &status, WNOHANG) == n.agent;
    if (!exited) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(exited) << "the agent did not stop within 5 s";
  n.agent = -1;
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(Owned(), want);
  auto state = nlohmann::json::parse(ReadAll(n.dir + "/state/agent.json"), nullptr, false);
  EXPECT_FALSE(state.value("running", true));
}

INSTANTIATE_TEST_SUITE_P(Docker, Agent, lab::NewestDockers(lab::Suite::kApplies), lab::DockerParamName);

}  // namespace
}  // namespace swarmwall

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  swarmwall::Agent::StopAll();
  swarmwall::Agent::Nodes().clear();
  return rc;
}
