// swarmwall health POLICY [--node N] [--no-agent]: for a container
// HEALTHCHECK (it runs every few seconds). Exit 0 when this node's firewall
// is what the policy renders (apply::CheckFirewall: owned chains and sets
// equal, hooks present and first, i.e. `plan` has nothing to change) and the
// agent that keeps it is alive; exit 1 otherwise, with one line saying why.
//
// Alive: STATE_DIR/agent.json says running, its pid runs and that process
// started no later than the agent's recorded start (so a reused pid is not
// taken for the agent). The agent rewrites the file only when something
// happens, so its age says nothing about liveness; the pid does. In a
// container the healthcheck runs in the agent's pid namespace (the agent is
// pid 1 there), which is where that pid means something.
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <iterator>
#include <iostream>
#include <sstream>

#include <fmt/format.h>

#include "agent/agent_state.h"
#include "apply/health.h"
#include "cli/commands.h"
#include "policy/policy.h"

namespace swarmwall::cli {
namespace {

// Seconds since the epoch of an ISO 8601 UTC time "YYYY-MM-DDTHH:MM:SS[.mmm]Z"; -1 if unreadable.
long long ParseIso(const std::string& s) {
  std::tm tm{};
  std::istringstream in(s.substr(0, 19));
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  if (in.fail()) return -1;
  return static_cast<long long>(timegm(&tm));
}

// When process PID started, in seconds since the epoch; -1 if unknown.
long long ProcessStart(int pid) {
  std::ifstream stat(fmt::format("/proc/{}/stat", pid));
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  auto close = text.rfind(')');
  if (close == std::string::npos) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  // Fields after the command: state is field 3; starttime is field 22.
  for (int i = 3; i < 22 && fields >> f;) ++i;
  unsigned long long ticks = 0;
  if (!(fields >> ticks)) return -1;
  std::ifstream proc_stat("/proc/stat");
  for (std::string line; std::getline(proc_stat, line);)
    if (line.rfind("btime ", 0) == 0) {
      long hz = sysconf(_SC_CLK_TCK);
      return std::stoll(line.substr(6)) + static_cast<long long>(ticks / (hz > 0 ? hz : 100));
    }
  return -1;
}

// "" when the agent recorded in STATE_DIR runs for POLICY_FILE, else why not.
std::string AgentProblem(const std::string& state_dir, const std::string& policy_file, const std::string& node) {
  auto s = agent::LoadAgentState(state_dir);
  if (!s) return fmt::format("no agent state in {}/agent.json (no agent has run here)", state_dir);
  if (!s->running) return fmt::format("the agent stopped at {}{}", s->updated,
                                      s->last_error.empty() ? "" : " (last error: " + s->last_error + ")");
  bool alive = s->pid > 0 && (kill(s->pid, 0) == 0 || errno == EPERM);
  if (!alive) return fmt::format("the agent is dead (pid {} is gone; last word at {})", s->pid, s->updated);
  long long started = ParseIso(s->started), process = ProcessStart(s->pid);
  if (started >= 0 && process >= 0 && process > started + 2)
    return fmt::format("the agent is dead (pid {} now belongs to a process started after the agent's start {})",
                       s->pid, s->started);
  std::error_code ec1, ec2;
  auto mine = std::filesystem::weakly_canonical(policy_file, ec1);
  auto its = std::filesystem::weakly_canonical(s->policy, ec2);
  if (!ec1 && !ec2 && mine != its)
    return fmt::format("the agent (pid {}) keeps {}, not {}", s->pid, s->policy, policy_file);
  if (!s->node.empty() && !node.empty() && s->node != node)
    return fmt::format("the agent (pid {}) keeps node {}, not {}", s->pid, s->node, node);
  return "";
}

}  // namespace

void RegisterHealth(CLI::App& app, GlobalOptions& global) {
  struct Args {
    std::string policy, node;
    bool no_agent = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "health", "Exit 0 when this node's firewall matches the policy and the agent runs (for HEALTHCHECK)");
  cmd->add_option("policy", args->policy, "The cluster policy (YAML)")->required();
  cmd->add_option("--node", args->node, "The node (default: the one with an address on this host)");
  cmd->add_flag("--no-agent", args->no_agent, "Check the firewall only, not that an agent keeps it");
  cmd->callback([args, &global] {
    auto fail = [&](const std::string& why) {
      std::cout << "unhealthy: " << why << "\n";
      global.exit_code = kError;
    };
    auto loaded = policy::LoadPolicyFile(args->policy);
    if (!loaded.ok()) {
      return fail(fmt::format("the policy does not load: {}{}", loaded.errors.empty() ? args->policy
                                                                                     : loaded.errors.front().ToString(),
                              loaded.errors.size() > 1 ? fmt::format(" (and {} more)", loaded.errors.size() - 1) : ""));
    }
    auto fw = apply::CheckFirewall(*loaded.policy, args->node, global.state_dir);
    if (!fw.ok) return fail(fw.reason);
    if (!args->no_agent)
      if (auto problem = AgentProblem(global.state_dir, args->policy, fw.node); !problem.empty())
        return fail(problem);
    std::cout << fmt::format("healthy: node {}, firewall as the policy says ({} iptables){}\n", fw.node,
                             fw.variant, args->no_agent ? "" : ", agent running");
  });
}

}  // namespace swarmwall::cli
