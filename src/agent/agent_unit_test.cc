#include <gtest/gtest.h>

#include "agent/agent_state.h"
#include "agent/docker_events.h"
#include "agent/keeper.h"
#include "agent/log.h"
#include "agent/metrics.h"
#include "agent/metrics_server.h"

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
  EXPECT_FALSE(ParseDockerEvent("not json"));
}

apply::Before BeforeWith(std::vector<std::string> input_rules, bool forward_to_docker_user) {
  apply::Before b;
  b.ipv4.owned.family = netfilter::Family::kIPv4;
  b.ipv4.owned.chains.push_back({"filter", "SWARMWALL-INPUT", std::move(input_rules)});
  b.ipv4.docker_chains = true;
  b.ipv4.forward_jumps_to_docker_user = forward_to_docker_user;
  b.ipv6.owned.family = netfilter::Family::kIPv6;
  return b;
}

TEST(AgentDrift, Kinds) {
  apply::FamilyDiff d;
  d.rules = true;
  d.lines = {"+ -A SWARMWALL-INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
             "+ hook -I INPUT 1 -j SWARMWALL-INPUT"};
  apply::FamilyDiff none;
  none.family = netfilter::Family::kIPv6;
  auto flushed = DriftKinds({d, none}, BeforeWith({}, true));
  EXPECT_EQ(flushed, (std::vector<std::string>{"chain-flushed", "hook-missing"}));
  auto changed = DriftKinds({d, none}, BeforeWith({"-j DROP"}, true));
  EXPECT_EQ(changed, (std::vector<std::string>{"chain-changed", "hook-missing"}));
  apply::FamilyDiff hooks;
  hooks.rules = true;
  hooks.lines = {"~ hook INPUT -> SWARMWALL-INPUT: 1 jump(s), not first; made one, first",
                 "~ set swarmwall-office-v4: +1 -0 entries"};
  hooks.changed_sets = {"swarmwall-office-v4"};
  EXPECT_EQ(DriftKinds({hooks, none}, BeforeWith({"-j DROP"}, true)),
            (std::vector<std::string>{"hook-not-first", "set"}));
  apply::FamilyDiff missing;
  missing.rules = true;
  missing.lines = {"+ chain SWARMWALL-INPUT"};
  auto b = BeforeWith({}, false);
  b.ipv4.owned.chains.clear();
  b.ipv4.kernel.existing_chains.push_back("DOCKER-USER");
  auto kinds = DriftKinds({missing, none}, b);
  EXPECT_EQ(kinds, (std::vector<std::string>{"chain-missing", "forward-docker-user"}));
  EXPECT_TRUE(DriftKinds({none, none}, BeforeWith({}, false)).empty());
}

TEST(AgentState, RoundTrip) {
  AgentState s;
  s.pid = 42;
  s.running = true;
  s.node = "manager-1";
  s.last_repair_kinds = {"hook-missing"};
  s.counters.repairs["hook-missing"] = 3;
  s.counters.applies = 4;
  auto back = AgentStateFromJson(AgentStateToJson(s));
  EXPECT_EQ(back.pid, 42);
  EXPECT_TRUE(back.running);
  EXPECT_EQ(back.node, "manager-1");
  EXPECT_EQ(back.last_repair_kinds, s.last_repair_kinds);
  EXPECT_EQ(back.counters.repairs["hook-missing"], 3u);
  EXPECT_EQ(back.counters.applies, 4u);
}

}  // namespace
}  // namespace swarmwall::agent
