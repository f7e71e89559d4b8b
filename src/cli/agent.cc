// swarmwall agent: apply the policy, then keep this host right (src/agent).
// Wiring only: flags into AgentOptions.
#include <iostream>
#include <memory>

#include "agent/agent.h"
#include "cli/commands.h"

namespace swarmwall::cli {

void RegisterAgent(CLI::App& app, GlobalOptions& global) {
  struct Args {
    std::string policy, node, metrics, log_format = "text", manager, backend;
    bool force = false;
    int interval_ms = 2000, relist_ms = 5000, exposure_s = 60;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "agent", "Apply the policy, then watch and repair drift until SIGTERM (SIGHUP: reload)");
  cmd->add_option("policy", args->policy, "The cluster policy (YAML)")->required();
  cmd->add_option("--node", args->node, "The node (default: the one with an address on this host)");
  cmd->add_option("--metrics", args->metrics,
                  "Serve Prometheus metrics on ADDR:PORT (loopback, e.g. 127.0.0.1:9469) or unix:PATH");
  cmd->add_option("--log-format", args->log_format, "text or json (one record per line)")
      ->check(CLI::IsMember({"text", "json"}));
  cmd->add_flag("--force", args->force,
                "Apply (and reload) even if a current SSH client could no longer connect");
  cmd->add_option("--interval-ms", args->interval_ms,
                  "Periodic check (sets; every rule on the legacy variant), default 2000")
      ->check(CLI::Range(100, 3600000));
  cmd->add_option("--manager", args->manager,
                  "nodes: auto: DOCKER_HOST of a Swarm manager to read the nodes from (default: the local "
                  "daemon, which must then be a manager)");
  cmd->add_option("--relist-ms", args->relist_ms,
                  "nodes: auto: read the Swarm's node list again this often besides node events, default 5000")
      ->check(CLI::Range(200, 3600000));
  cmd->add_option("--exposure-interval", args->exposure_s,
                  "Seconds between checks of which Swarm and Docker API ports the world reaches here (metric "
                  "swarmwall_control_ports_exposed; also after every write), default 60, 0: never")
      ->check(CLI::Range(0, 86400));
  AddBackendOption(cmd, args->backend);
  cmd->callback([args, &global] {
    agent::AgentOptions o;
    o.policy_file = args->policy;
    o.node = args->node;
    o.state_dir = global.state_dir;
    o.metrics = args->metrics;
    o.json_log = args->log_format == "json";
    o.force = args->force;
    o.interval = std::chrono::milliseconds(args->interval_ms);
    o.manager = args->manager;
    o.backend = args->backend;
    o.relist = std::chrono::milliseconds(args->relist_ms);
    o.exposure_interval = std::chrono::seconds(args->exposure_s);
    global.exit_code = agent::RunAgent(o, std::cerr) == 0 ? kOk : kError;
  });
}

}  // namespace swarmwall::cli
