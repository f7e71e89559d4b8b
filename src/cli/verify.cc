// swarmwall verify (stub; being written). Verify: scan a node from here and compare with the policy.
#include "cli/commands.h"

namespace swarmwall::cli {

void RegisterVerify(CLI::App& app, GlobalOptions& global) {
  (void)app;
  (void)global;
}

}  // namespace swarmwall::cli
