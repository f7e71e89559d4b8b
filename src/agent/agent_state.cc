#include "agent/agent_state.h"

#include <signal.h>

#include <cerrno>
#include <fstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "apply/state_json.h"
#include "base/json_text.h"

namespace swarmwall::agent {

using nlohmann::json;

json AgentStateToJson(const AgentState& s) {
  json repairs = json::object();
  for (const auto& [k, v] : s.counters.repairs) repairs[k] = v;
  return {{"pid", s.pid}, {"running", s.running}, {"started", s.started}, {"updated", s.updated},
          {"policy", s.policy}, {"node", s.node}, {"variant", s.variant}, {"metrics", s.metrics},
          {"last_repair", s.last_repair}, {"last_repair_kinds", s.last_repair_kinds},
          {"last_error", s.last_error},
          {"counters", {{"applies", s.counters.applies}, {"errors", s.counters.errors},
                        {"drift_checks", s.counters.drift_checks}, {"repairs", repairs},
                        {"last_apply_seconds", s.counters.last_apply_seconds},
                        {"in_sync", s.counters.in_sync},
                        {"membership_updates", s.counters.membership_updates},
                        {"swarm_nodes", s.counters.swarm_nodes}}}};
}

AgentState AgentStateFromJson(const json& j) {
  AgentState s;
  s.pid = j.value("pid", 0);
  s.running = j.value("running", false);
  s.started = j.value("started", "");
  s.updated = j.value("updated", "");
  s.policy = j.value("policy", "");
  s.node = j.value("node", "");
  s.variant = j.value("variant", "");
  s.metrics = j.value("metrics", "");
  s.last_repair = j.value("last_repair", "");
  s.last_repair_kinds = j.value("last_repair_kinds", std::vector<std::string>{});
  s.last_error = j.value("last_error", "");
  auto c = j.value("counters", json::object());
  s.counters.applies = c.value("applies", uint64_t{0});
  s.counters.errors = c.value("errors", uint64_t{0});
  s.counters.drift_checks = c.value("drift_checks", uint64_t{0});
  s.counters.last_apply_seconds = c.value("last_apply_seconds", 0.0);
  s.counters.in_sync = c.value("in_sync", false);
  s.counters.membership_updates = c.value("membership_updates", uint64_t{0});
  s.counters.swarm_nodes = c.value("swarm_nodes", int64_t{-1});
  json repairs = c.value("repairs", json::object());
  for (const auto& [k, v] : repairs.items())
    if (v.is_number_unsigned()) s.counters.repairs[k] = v.get<uint64_t>();
  return s;
}

bool WriteAgentState(const std::string& dir, const AgentState& s, std::string& error) {
  return apply::WriteFileAtomically(dir + "/agent.json", JsonText(AgentStateToJson(s), 2) + "\n", error);
}

std::optional<AgentState> LoadAgentState(const std::string& dir) {
  std::ifstream in(dir + "/agent.json");
  if (!in) return std::nullopt;
  auto j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return AgentStateFromJson(j);
}

std::string DescribeAgent(const std::string& dir) {
  auto s = LoadAgentState(dir);
  if (!s) return "";
  bool alive = s->pid > 0 && (kill(s->pid, 0) == 0 || errno == EPERM);
  std::string head;
  if (s->running && alive) head = fmt::format("running (pid {}, since {})", s->pid, s->started);
  else if (s->running) head = fmt::format("dead (pid {} is gone; last word at {})", s->pid, s->updated);
  else head = fmt::format("stopped at {}", s->updated);
  std::string text = fmt::format("{}, node {}, {}, {} repair(s)", head, s->node,
                                 s->counters.in_sync ? "in sync at its last check" : "NOT in sync at its last check",
                                 s->counters.repairs_total());
  if (!s->last_repair.empty())
    text += fmt::format(", last at {} ({})", s->last_repair, fmt::join(s->last_repair_kinds, ", "));
  text += fmt::format(", {} error(s)", s->counters.errors);
  if (!s->last_error.empty()) text += ", last error: " + s->last_error;
  return text;
}

}  // namespace swarmwall::agent
