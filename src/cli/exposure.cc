// swarmwall exposure (stub; being written). Exposure: which sources reach which ports of the host and its containers.
#include "cli/commands.h"

namespace swarmwall::cli {

void RegisterExposure(CLI::App& app, GlobalOptions& global) {
  (void)app;
  (void)global;
}

}  // namespace swarmwall::cli
