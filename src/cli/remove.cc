// swarmwall remove: every rule, chain and set swarmwall owns away
// (apply::Remove).
#include <iostream>

#include "apply/remove.h"
#include "cli/commands.h"

namespace swarmwall::cli {

void RegisterRemove(CLI::App& app, GlobalOptions& global) {
  auto* remove = app.add_subcommand("remove", "Remove every rule, chain and set swarmwall owns, and nothing else");
  remove->callback([&global] {
    // Both firewalls: whatever swarmwall holds in either goes.
    auto out = apply::RemoveEverywhere(global.state_dir, NoteToStderr);
    if (!out.ok) {
      global.exit_code = kError;
      return;
    }
    if (out.confirmed_pending)
      std::cerr << "swarmwall remove: this remove confirms the earlier apply that was waiting for `swarmwall confirm`\n";
    std::cout << (out.changed ? "removed swarmwall's chains, hooks and sets\n" : "nothing of swarmwall's was there\n");
  });
}

}  // namespace swarmwall::cli
