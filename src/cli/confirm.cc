// swarmwall confirm, and the hidden rollback-timer an `apply --confirm`
// starts detached (apply/remove.h).
#include <chrono>
#include <iostream>
#include <thread>

#include "apply/remove.h"
#include "cli/commands.h"

namespace swarmwall::cli {

void RegisterConfirm(CLI::App& app, GlobalOptions& global) {
  auto* confirm = app.add_subcommand("confirm", "Keep what the last apply --confirm did");
  confirm->callback([&global] {
    auto firewall = apply::OpenFirewall(global.state_dir);
    if (!apply::Confirm(global.state_dir, *firewall, NoteToStderr)) {
      global.exit_code = kError;
      return;
    }
    std::cout << "confirmed\n";
  });

  // Started detached by apply --confirm; not for people.
  struct TimerArgs {
    std::string token;
    int after = 0;
  };
  auto args = std::make_shared<TimerArgs>();
  auto* timer = app.add_subcommand("rollback-timer", "");
  timer->group("");  // hidden
  timer->add_option("--token", args->token)->required();
  timer->add_option("--after", args->after)->required();
  timer->callback([args, &global] {
    std::this_thread::sleep_for(std::chrono::seconds(args->after));
    auto firewall = apply::OpenFirewall(global.state_dir);
    auto out = apply::RollBackUnconfirmed(global.state_dir, args->token, *firewall, NoteToStderr);
    std::cout << out.line << "\n";
    if (!out.ok) global.exit_code = kError;
  });
}

}  // namespace swarmwall::cli
