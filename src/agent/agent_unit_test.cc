#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <gtest/gtest.h>

#include "agent/agent_state.h"
#include "agent/docker_events.h"
#include "agent/keeper.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "agent/metrics_server.h"
#include "agent/policy_read.h"
#include "base/json_text.h"
#include "host/process_identity.h"

namespace swarmwall::agent {
namespace {

TEST(AgentLog, TextAndJson) {
  nlohmann::json f = {{"kinds", {"hook-missing"}}, {"trigger", "nftables-event"}, {"msg", "a b"}};
  EXPECT_EQ(Log::Format(false, "T", "info", "repair", f),
            "T info repair kinds=[\"hook-missing\"] msg=\"a b\" trigger=nftables-event");
  auto j = nlohmann::json::parse(Log::Format(true, "T", "info", "repair", f));
  EXPECT_EQ(j["event"], "repair");
  EXPECT_EQ(j["kinds"][0], "hook-missing");
  EXPECT_EQ(j["time"], "T");
}

TEST(AgentMetrics, Exposition) {
  Metrics m;
  m.AddApply(0.25);
  m.AddRepair("hook-missing");
  m.AddRepair("hook-missing");
  m.AddRepair("chain-flushed");
  m.AddCheck(true);
  m.AddError();
  std::string text = RenderPrometheus(m.Snapshot());
  EXPECT_NE(text.find("swarmwall_applies_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("swarmwall_repairs_total{kind=\"hook-missing\"} 2\n"), std::string::npos);
  EXPECT_NE(text.find("swarmwall_repairs_total{kind=\"chain-flushed\"} 1\n"), std::string::npos);
  EXPECT_NE(text.find("swarmwall_last_apply_duration_seconds 0.250000\n"), std::string::npos);
  EXPECT_NE(text.find("swarmwall_errors_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("swarmwall_drift_checks_total 1\n"), std::string::npos);
  EXPECT_NE(text.find("swarmwall_up 1\n"), std::string::npos);
  EXPECT_EQ(m.Snapshot().repairs_total(), 3u);
}

TEST(AgentMetrics, PolicyValidityLastCheckAndControlPorts) {
  Metrics m;
  std::string text = RenderPrometheus(m.Snapshot());
  EXPECT_NE(text.find("swarmwall_policy_valid 1\n"), std::string::npos);
  // Neither a check nor an exposure computed yet: no sample (not a 0 that
  // would read as "fine").
  EXPECT_EQ(text.find("swarmwall_last_check_timestamp_seconds "), std::string::npos);
  EXPECT_EQ(text.find("swarmwall_control_ports_exposed "), std::string::npos);
  m.SetPolicyValid(false);
  m.AddCheck(true);
  m.SetControlPorts({});
  text = RenderPrometheus(m.Snapshot());
  EXPECT_NE(text.find("swarmwall_policy_valid 0\n"), std::string::npos);
  EXPECT_NE(text.find("swarmwall_last_check_timestamp_seconds 1"), std::string::npos);
  EXPECT_NE(text.find("swarmwall_control_ports_exposed 0\n"), std::string::npos);
  m.SetControlPorts({{"IPv4", "eth0", "tcp", 2377}, {"IPv6", "we\"ird", "udp", 4789}});
  text = RenderPrometheus(m.Snapshot());
  EXPECT_NE(text.find("swarmwall_control_ports_exposed 2\n"), std::string::npos);
  EXPECT_NE(text.find("swarmwall_control_port_exposed{family=\"IPv4\",interface=\"eth0\",protocol=\"tcp\","
                      "port=\"2377\"} 1\n"),
            std::string::npos);
  EXPECT_NE(text.find("interface=\"we\\\"ird\""), std::string::npos);
}

// Every metric the alert rules and the dashboard of deploy/monitoring/ name
// is one the agent exposes: a renamed metric fails here, not in production.
TEST(AgentMetrics, MonitoringFilesNameOnlyExposedMetrics) {
  Metrics m;
  m.AddRepair("hook-missing");
  m.AddCheck(true);
  m.SetSwarmNodes(3);
  m.SetControlPorts({{"IPv4", "eth0", "tcp", 2377}});
  std::string exposed = RenderPrometheus(m.Snapshot());
  std::set<std::string> names;
  const std::regex metric("swarmwall_[a-z_]+");
  for (const char* file : {"swarmwall-alerts.yml", "swarmwall-dashboard.json"}) {
    std::ifstream in(std::string(SWARMWALL_SOURCE_DIR) + "/deploy/monitoring/" + file);
    ASSERT_TRUE(in) << file;
    std::stringstream text;
    text << in.rdbuf();
    std::string s = text.str();
    for (std::sregex_iterator it(s.begin(), s.end(), metric), end; it != end; ++it)
      names.insert(it->str());
  }
  EXPECT_GE(names.size(), 8u);
  for (const auto& name : names)
    EXPECT_NE(exposed.find("# TYPE " + name + " "), std::string::npos) << name << " is not exposed:\n" << exposed;
}

TEST(AgentMetrics, Http) {
  MetricsSnapshot s;
  EXPECT_TRUE(HttpAnswer("GET /metrics HTTP/1.1\r\n\r\n", s).starts_with("HTTP/1.0 200 OK"));
  EXPECT_TRUE(HttpAnswer("GET /healthz HTTP/1.0\r\n\r\n", s).starts_with("HTTP/1.0 503"));
  s.in_sync = true;
  EXPECT_TRUE(HttpAnswer("GET /healthz HTTP/1.0\r\n\r\n", s).starts_with("HTTP/1.0 200"));
  EXPECT_TRUE(HttpAnswer("GET /nope HTTP/1.0\r\n\r\n", s).starts_with("HTTP/1.0 404"));
  EXPECT_TRUE(HttpAnswer("POST / HTTP/1.0\r\n\r\n", s).starts_with("HTTP/1.0 405"));
}

TEST(AgentDockerEvents, Parse) {
  auto e = ParseDockerEvent(
      R"({"Type":"container","Action":"start","Actor":{"ID":"abc","Attributes":{"name":"web"}}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->kind, "container");
  EXPECT_EQ(e->action, "start");
  EXPECT_EQ(e->name, "web");
  EXPECT_FALSE(ParseDockerEvent(R"({"Type":"container","Action":"exec_start"})"));
  EXPECT_FALSE(ParseDockerEvent(R"({"Type":"image","Action":"pull"})"));
  EXPECT_TRUE(ParseDockerEvent(R"({"Type":"node","Action":"update","Actor":{"ID":"n1"}})"));
  // Containers rules may name a service or a container: their changes count.
  EXPECT_TRUE(ParseDockerEvent(R"({"Type":"service","Action":"update","Actor":{"ID":"s1"}})"));
  EXPECT_TRUE(ParseDockerEvent(R"({"Type":"container","Action":"rename","Actor":{"ID":"c1"}})"));
  EXPECT_FALSE(ParseDockerEvent("not json"));
  // Fields of another type: no event, no exception (it used to throw in the
  // events thread, which ends the agent).
  EXPECT_FALSE(ParseDockerEvent(R"({"Type":5,"Action":"start"})"));
  EXPECT_FALSE(ParseDockerEvent(R"({"Type":"container","Action":["start"]})"));
  auto odd = ParseDockerEvent(R"({"Type":"node","Action":"update","Actor":{"ID":7,"Attributes":{"name":[]}}})");
  ASSERT_TRUE(odd);
  EXPECT_EQ(odd->name, "");
}

TEST(AgentState, RoundTrip) {
  AgentState s;
  s.pid = 42;
  s.running = true;
  s.node = "manager-1";
  s.last_repair_kinds = {"hook-missing"};
  s.counters.repairs["hook-missing"] = 3;
  s.counters.applies = 4;
  std::string error;
  auto parsed = AgentStateFromJson(AgentStateToJson(s), error);
  ASSERT_TRUE(parsed) << error;
  auto back = *parsed;
  EXPECT_EQ(back.pid, 42);
  EXPECT_TRUE(back.running);
  EXPECT_EQ(back.node, "manager-1");
  EXPECT_EQ(back.last_repair_kinds, s.last_repair_kinds);
  EXPECT_EQ(back.counters.repairs["hook-missing"], 3u);
  EXPECT_EQ(back.counters.applies, 4u);
}

// A folder of the test's own, removed at the end.
struct TempDir {
  std::string path;
  explicit TempDir(const std::string& tag)
      : path((std::filesystem::temp_directory_path() /
              ("swarmwall-agent-" + tag + "-" + std::to_string(getpid()))).string()) {
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(path + "/" + name, std::ios::binary) << text;
  }
};

// Bytes that are not UTF-8 (a set name with \xe9 in an edited policy) must
// not stop the logger, in either format.
TEST(AgentLog, BytesThatAreNotUtf8) {
  nlohmann::json f = {{"error", "p.yaml:4:3: bad set name 'caf\xe9' (a letter, then ...)"},
                      {"kinds", {"x\xff"}}, {"plain", "caf\xe9"}};
  std::string text, json;
  ASSERT_NO_THROW(text = Log::Format(false, "T", "error", "policy-invalid", f));
  EXPECT_NE(text.find("policy-invalid"), std::string::npos);
  EXPECT_NE(text.find("p.yaml:4:3"), std::string::npos) << text;
  ASSERT_NO_THROW(json = Log::Format(true, "T", "error", "policy-invalid", f));
  auto j = nlohmann::json::parse(json);  // valid UTF-8 now
  EXPECT_EQ(j["event"], "policy-invalid");
  std::ostringstream out;
  Log log(out, false);
  log.Error("policy-invalid", f);
  EXPECT_NE(out.str().find("policy-invalid"), std::string::npos);
}

const char* kGoodPolicy = R"(version: 1
interfaces: { public: [eth0] }
sets:
  office: [198.51.100.0/24]
nodes:
  - { name: m1, role: manager, address: 10.10.10.1 }
host:
  allow:
    - { service: ssh, from: office }
)";

// The reload decision: a policy that does not load (here a set name with a
// byte that is not UTF-8) gives nothing, so the agent keeps the last good
// one, and is logged as policy-invalid with FILE:LINE:COL, in both formats.
TEST(AgentReload, AnInvalidPolicyIsLoggedAndNotTaken) {
  TempDir dir("reload");
  std::string file = dir.path + "/policy.yaml";
  dir.Write("policy.yaml", kGoodPolicy);
  for (bool json : {false, true}) {
    std::ostringstream out;
    Log log(out, json);
    auto good = ReadPolicy(file, "start", log);
    ASSERT_TRUE(good.policy) << out.str();
    EXPECT_EQ(good.error, "");
    std::string bad = kGoodPolicy;
    bad.replace(bad.find("office:"), 6, "caf\xe9");
    dir.Write("policy.yaml", bad);
    PolicyRead read;
    ASSERT_NO_THROW(read = ReadPolicy(file, "file-change", log));
    EXPECT_FALSE(read.policy);
    EXPECT_NE(read.error.find(file + ":4:"), std::string::npos) << read.error;
    EXPECT_NE(out.str().find("policy-invalid"), std::string::npos) << out.str();
    EXPECT_NE(out.str().find("policy.yaml:4:"), std::string::npos) << out.str();
    // Not YAML at all, and a file that is gone: the same.
    dir.Write("policy.yaml", "\xff\xfe{[\x80");
    EXPECT_FALSE(ReadPolicy(file, "SIGHUP", log).policy);
    std::filesystem::remove(file);
    EXPECT_FALSE(ReadPolicy(file, "SIGHUP", log).policy);
    dir.Write("policy.yaml", kGoodPolicy);
  }
}

// agent.json of the wrong shape: reported, never used, never a crash.
TEST(AgentState, WrongShapesAreReportedAndNotUsed) {
  TempDir dir("shapes");
  for (const std::string& text : std::vector<std::string>{
           R"({"pid":"x"})", "[]", R"({"state":5})", R"({"pid":12})", R"({"pid":-3,"running":true})",
        R"({"pid":12,"running":"yes"})", R"({"pid":12,"running":true,"node":5})",
        R"({"pid":12,"running":true,"counters":[]})", R"({"pid":12,"running":true,"counters":{"applies":-1}})",
        R"({"pid":12,"running":true,"counters":{"repairs":{"set":"many"}}})",
        R"({"pid":12,"running":true,"last_repair_kinds":[1]})", R"({"pid":99999999999,"running":true})",
        R"({"pid":12,"running":true,"start_ticks":"x"})", "not json", "", "null", "5", "\"pid\"",
        std::string("{\"pid\":12,\"running\":true,\"node\":\"\xe9\"}")}) {
    SCOPED_TRACE(text);
    dir.Write("agent.json", text);
    AgentStateFile file;
    ASSERT_NO_THROW(file = ReadAgentState(dir.path));
    EXPECT_FALSE(file.state);
    EXPECT_NE(file.error.find(dir.path + "/agent.json: "), std::string::npos) << file.error;
    EXPECT_FALSE(LoadAgentState(dir.path));
    std::string described, problem;
    ASSERT_NO_THROW(described = DescribeAgent(dir.path));
    EXPECT_TRUE(described.starts_with("unknown: ")) << described;
    ASSERT_NO_THROW(problem = AgentProblem(dir.path, dir.path + "/policy.yaml", ""));
    EXPECT_TRUE(problem.starts_with("the agent's state is unusable")) << problem;
  }
  std::filesystem::remove(dir.path + "/agent.json");
  EXPECT_EQ(ReadAgentState(dir.path).error, "");
  EXPECT_EQ(DescribeAgent(dir.path), "");
  // What the agent writes reads back.
  AgentState s;
  SetProcessIdentity(s);
  s.running = true;
  s.policy = dir.path + "/policy.yaml";
  std::string error;
  ASSERT_TRUE(WriteAgentState(dir.path, s, error)) << error;
  auto file = ReadAgentState(dir.path);
  ASSERT_TRUE(file.state) << file.error;
  EXPECT_EQ(file.state->start_ticks, s.start_ticks);
  EXPECT_TRUE(AgentRuns(*file.state));
  EXPECT_EQ(AgentProblem(dir.path, dir.path + "/policy.yaml", ""), "");
  EXPECT_TRUE(DescribeAgent(dir.path).starts_with("running (pid ")) << DescribeAgent(dir.path);
}

// A pid in agent.json that now belongs to another live process (here a
// `sleep` child of the test) is not the agent: status and health both say
// it does not run, with the agent's identity recorded and, for an older
// file without it, by its start time.
// An agent in a container writes its own pid (1) and pid namespace; read
// from the host (stack_e2e_test's health), pid 1 is init: not the agent,
// and not a sign of its death either. Such a pid is not judged.
TEST(AgentState, APidOfAnotherPidNamespaceIsNotJudged) {
  AgentState s;
  SetProcessIdentity(s);
  s.pid = 1;
  s.start_ticks = 12345;   // not init's
  EXPECT_FALSE(AgentRuns(s)) << "same pid namespace: pid 1 is another process";
  s.pid_ns = "pid:[1]";     // no namespace has inode 1
  EXPECT_TRUE(AgentRuns(s));
}

TEST(AgentState, AReusedPidIsNotTheAgent) {
  TempDir dir("pid");
  pid_t child = fork();
  if (child == 0) {
    execlp("sleep", "sleep", "60", static_cast<char*>(nullptr));
    _exit(127);
  }
  ASSERT_GT(child, 0);
  AgentState s;
  SetProcessIdentity(s);  // the agent was this process...
  s.pid = child;          // ...and its pid is the sleep's now
  // The agent started before the sleep took its pid. This process and the
  // sleep often start within one clock tick (start times count ticks), so
  // the recorded start is the sleep's minus one, never this process's.
  long long sleep_ticks = host::ProcessStartTicks(child);
  ASSERT_GT(sleep_ticks, 0);
  s.start_ticks = sleep_ticks - 1;
  s.running = true;
  s.started = TimestampNow();
  s.updated = s.started;
  s.policy = dir.path + "/policy.yaml";
  std::string error;
  ASSERT_TRUE(WriteAgentState(dir.path, s, error)) << error;
  EXPECT_FALSE(AgentRuns(s));
  EXPECT_TRUE(DescribeAgent(dir.path).starts_with("dead (pid " + std::to_string(child) + " now belongs"))
      << DescribeAgent(dir.path);
  EXPECT_TRUE(AgentProblem(dir.path, s.policy, "").starts_with("the agent is dead"))
      << AgentProblem(dir.path, s.policy, "");
  // status --output json says so too (the file still says running).
  auto status = AgentStatusJson(dir.path);
  EXPECT_EQ(status.value("running", true), false) << JsonText(status);
  EXPECT_EQ(status.value("dead", ""), "pid " + std::to_string(child) + " now belongs to another process")
      << JsonText(status);
  // An older file: no start ticks, a start long before the sleep's.
  s.start_ticks = -1;
  s.boot_id.clear();
  s.started = "2020-01-01T00:00:00.000Z";
  ASSERT_TRUE(WriteAgentState(dir.path, s, error)) << error;
  EXPECT_TRUE(DescribeAgent(dir.path).starts_with("dead (")) << DescribeAgent(dir.path);
  EXPECT_TRUE(AgentProblem(dir.path, s.policy, "").starts_with("the agent is dead"));
  EXPECT_EQ(AgentStatusJson(dir.path).value("running", true), false);
  // Another boot.
  SetProcessIdentity(s);
  s.boot_id = "00000000-0000-0000-0000-000000000000";
  EXPECT_FALSE(AgentRuns(s));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  // And once the pid is gone.
  s.pid = child;
  SetProcessIdentity(s);
  s.pid = child;
  EXPECT_FALSE(AgentRuns(s));
}

// The live agent (this very process) and a stopped one: status's line, its
// JSON and health say the same.
TEST(AgentState, StatusAndHealthAgreeOnALiveOrStoppedAgent) {
  TempDir dir("alive");
  AgentState s;
  SetProcessIdentity(s);
  s.running = true;
  s.started = TimestampNow();
  s.updated = s.started;
  s.policy = dir.path + "/policy.yaml";
  std::string error;
  ASSERT_TRUE(WriteAgentState(dir.path, s, error)) << error;
  EXPECT_TRUE(DescribeAgent(dir.path).starts_with("running (pid ")) << DescribeAgent(dir.path);
  auto status = AgentStatusJson(dir.path);
  EXPECT_EQ(status.value("running", false), true) << JsonText(status);
  EXPECT_FALSE(status.contains("dead")) << JsonText(status);
  EXPECT_EQ(AgentProblem(dir.path, s.policy, ""), "");

  s.running = false;
  ASSERT_TRUE(WriteAgentState(dir.path, s, error)) << error;
  EXPECT_TRUE(DescribeAgent(dir.path).starts_with("stopped at ")) << DescribeAgent(dir.path);
  status = AgentStatusJson(dir.path);
  EXPECT_EQ(status.value("running", true), false) << JsonText(status);
  EXPECT_FALSE(status.contains("dead")) << JsonText(status);
  EXPECT_TRUE(AgentProblem(dir.path, s.policy, "").starts_with("the agent stopped at"));

  EXPECT_TRUE(AgentStatusJson(dir.path + "/none").is_null());
}

}  // namespace
}  // namespace swarmwall::agent
