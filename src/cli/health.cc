// swarmwall health (stub; being written). Health: exit 0 when this node's firewall matches the policy (for healthchecks).
#include "cli/commands.h"

namespace swarmwall::cli {

void RegisterHealth(CLI::App& app, GlobalOptions& global) {
  (void)app;
  (void)global;
}

}  // namespace swarmwall::cli
