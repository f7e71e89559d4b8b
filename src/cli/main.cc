// swarmwall's command line: parses arguments and wires the layers together.
// No logic of its own lives here (see docs/ARCHITECTURE.md).
#include <CLI/CLI.hpp>

#include <cstdio>
#include <iostream>

#include "cli/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"swarmwall: the host firewall of every Docker / Swarm node, right and proven"};
  app.set_version_flag("--version", std::string("swarmwall ") + SWARMWALL_VERSION);
  app.require_subcommand(1);
  app.fallthrough();  // global options may follow the subcommand
  swarmwall::cli::GlobalOptions global;
  app.add_option("--output,-O", global.output, "Result format: text or json")
      ->check(CLI::IsMember({"text", "json"}));
  app.add_option("--state-dir", global.state_dir,
                 "Where swarmwall keeps its state (env SWARMWALL_STATE_DIR)")
      ->envname("SWARMWALL_STATE_DIR");
  swarmwall::cli::RegisterCommands(app, global);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    // CLI11 uses 0 for --help/--version and 1xx for usage errors.
    return code == 0 ? 0 : 1;
  }
  return global.exit_code;
}
