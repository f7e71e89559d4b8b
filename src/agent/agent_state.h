// What a running agent tells other commands (swarmwall status, health) about
// itself: STATE_DIR/agent.json, rewritten atomically after every apply,
// repair, reload or error and when it stops. A file whose process no longer
// runs is a dead agent's last word. The file is read back as untrusted: a
// wrong shape is reported and the file is not used.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/metrics.h"

namespace swarmwall::agent {

struct AgentState {
  int pid = 0;
  // Which process that pid was: its start in clock ticks after boot
  // (/proc/PID/stat field 22) and the boot's id, so that a pid reused by
  // another process, or a file from before a reboot, is not taken for the
  // agent. -1 / "": unknown (a file of an older agent).
  long long start_ticks = -1;
  std::string boot_id;
  // The pid namespace the pid belongs to (/proc/self/ns/pid, "pid:[N]"): an
  // agent in a container writes its own pid (often 1), which means another
  // process to a reader on the host. "": unknown (an older agent).
  std::string pid_ns;
  bool running = false;             // false once it stopped cleanly
  std::string started, updated;     // ISO 8601 UTC
  std::string policy, node, variant, metrics;
  std::string last_repair;          // time of the last repair ("" none)
  std::vector<std::string> last_repair_kinds;
  std::string last_error;           // "" none
  MetricsSnapshot counters;
};

nlohmann::json AgentStateToJson(const AgentState& s);
// nullopt with ERROR when J is not what AgentStateToJson writes: not an
// object, no positive "pid", no boolean "running", a field of the wrong type.
std::optional<AgentState> AgentStateFromJson(const nlohmann::json& j, std::string& error);

// The file read back: nothing and no error when there is none; nothing and
// ERROR when it is unreadable or of the wrong shape (never thrown).
struct AgentStateFile {
  std::optional<AgentState> state;
  std::string error;  // "DIR/agent.json: why it is not used"
};
AgentStateFile ReadAgentState(const std::string& dir);
// The same for TEXT, the file's bytes (PATH names it in ERROR).
AgentStateFile ParseAgentState(const std::string& text, const std::string& path);

bool WriteAgentState(const std::string& dir, const AgentState& s, std::string& error);
// The state when the file is there and well-formed (else nullopt).
std::optional<AgentState> LoadAgentState(const std::string& dir);

// This process's identity for AgentState: start ticks and boot id.
void SetProcessIdentity(AgentState& s);

// Whether the agent S describes is still running: its pid runs AND is that
// very process (same boot, same start; for a file without them, a process
// that started no later than the agent's recorded start). WHY (optional)
// says what is wrong when it is not. The one liveness check of status and
// health.
bool AgentRuns(const AgentState& s, std::string* why = nullptr);

// For swarmwall status: "running (pid 12, since ...), 3 repairs, last at ...
// (hook-missing), 0 errors", or "stopped ...", "dead (pid 12 is gone) ...";
// "" when no agent ever ran with DIR; "unusable: ..." for a bad file.
std::string DescribeAgent(const std::string& dir);

// For swarmwall status --output json: the recorded state (AgentStateToJson)
// with "running" the verdict of AgentRuns, as DescribeAgent and health judge
// it, and "dead" saying why when the file says running and the agent does
// not run; null when there is no usable state in DIR.
nlohmann::json AgentStatusJson(const std::string& dir);

// For swarmwall health: "" when the agent recorded in STATE_DIR runs and
// keeps POLICY_FILE (and NODE, when both are known), else why not.
std::string AgentProblem(const std::string& state_dir, const std::string& policy_file,
                         const std::string& node);

}  // namespace swarmwall::agent
