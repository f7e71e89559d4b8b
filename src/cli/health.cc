// swarmwall health POLICY [--node N] [--no-agent]: for a container
// HEALTHCHECK (it runs every few seconds). Exit 0 when this node's firewall
// is what the policy renders (apply::CheckFirewall: owned chains and sets
// equal, hooks present and first, i.e. `plan` has nothing to change) and the
// agent that keeps it is alive; exit 1 otherwise, with one line saying why.
//
// Alive: STATE_DIR/agent.json is well-formed, says running, and its pid is
// still that very process (agent::AgentRuns, the check status uses too: the
// same boot and the same start time, so a reused pid is not taken for the
// agent). The agent rewrites the file only when something
// happens, so its age says nothing about liveness; the pid does. In a
// container the healthcheck runs in the agent's pid namespace (the agent is
// pid 1 there), which is where that pid means something.
#include <iostream>

#include <fmt/format.h>

#include "agent/agent_state.h"
#include "apply/health.h"
#include "cli/commands.h"
#include "policy/policy.h"

namespace swarmwall::cli {

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
      if (auto problem = agent::AgentProblem(global.state_dir, args->policy, fw.node); !problem.empty())
        return fail(problem);
    std::cout << fmt::format("healthy: node {}, firewall as the policy says ({} iptables){}\n", fw.node,
                             fw.variant, args->no_agent ? "" : ", agent running");
  });
}

}  // namespace swarmwall::cli
