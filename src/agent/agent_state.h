// What a running agent tells other commands (swarmwall status) about itself:
// STATE_DIR/agent.json, rewritten atomically after every apply, repair,
// reload or error and when it stops. A file whose pid no longer runs is a
// dead agent's last word.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/metrics.h"

namespace swarmwall::agent {

struct AgentState {
  int pid = 0;
  bool running = false;             // false once it stopped cleanly
  std::string started, updated;     // ISO 8601 UTC
  std::string policy, node, variant, metrics;
  std::string last_repair;          // time of the last repair ("" none)
  std::vector<std::string> last_repair_kinds;
  std::string last_error;           // "" none
  MetricsSnapshot counters;
};

nlohmann::json AgentStateToJson(const AgentState& s);
AgentState AgentStateFromJson(const nlohmann::json& j);

bool WriteAgentState(const std::string& dir, const AgentState& s, std::string& error);
std::optional<AgentState> LoadAgentState(const std::string& dir);

// For swarmwall status: "running (pid 12, since ...), 3 repairs, last at ...
// (hook-missing), 0 errors", or "stopped ...", "dead (pid 12 is gone) ...";
// "" when no agent ever ran with DIR.
std::string DescribeAgent(const std::string& dir);

}  // namespace swarmwall::agent
