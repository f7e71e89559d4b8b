// swarmwall audit (stub; being written). Audit: findings in a ruleset, or its proof against a policy.
#include "cli/commands.h"

namespace swarmwall::cli {

void RegisterAudit(CLI::App& app, GlobalOptions& global) {
  (void)app;
  (void)global;
}

}  // namespace swarmwall::cli
