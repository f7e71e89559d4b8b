// swarmwall doctor: the known traps of this host, each with its fix.
// Wiring only: gather the host's facts, diagnose, print.
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "analyze/doctor/doctor.h"
#include "apply/other_owner_drops.h"
#include "apply/state_store.h"
#include "apply/status.h"
#include "base/json_text.h"
#include "cli/commands.h"

namespace swarmwall::cli {

void RegisterDoctor(CLI::App& app, GlobalOptions& global) {
  auto options = std::make_shared<analyze::DoctorOptions>();
  auto* cmd = app.add_subcommand(
      "doctor", "Check this host for known Docker firewall traps and tell the fix for each (exit 2: findings)");
  cmd->add_option("--root", options->root, "Read /etc files under this folder (default /)");
  cmd->add_option("--daemon-json", options->daemon_json,
                  "Docker's daemon.json (default ROOT/etc/docker/daemon.json)");
  cmd->callback([options, &global] {
    analyze::DoctorFacts facts = analyze::GatherDoctorFacts(*options);
    if (!facts.gather_error.empty()) {
      std::cerr << "swarmwall doctor: " << facts.gather_error << "\n";
      global.exit_code = kError;
      return;
    }
    // What swarmwall applied here (its iptables backend: the one there is).
    auto record = apply::StateStore(global.state_dir).Load();
    facts.swarmwall_applied = record.has_value();
    // What the applied policy opens to everyone is no finding.
    if (record && facts.world_published) apply::DropAppliedIntent(*record, *facts.world_published);
    auto findings = analyze::Diagnose(facts);
    // Ports the applied policy allows that another owner's rule drops.
    if (record) {
      std::string error;
      if (auto drops = apply::OtherOwnerDropsApplied(global.state_dir, error))
        for (const auto& d : *drops)
          findings.push_back({analyze::Severity::kWarning, "allowed-but-dropped-by-other-owner", d.what, d.fix});
      else
        std::cerr << "swarmwall doctor: ports another owner drops not checked: " << error << "\n";
    }
    bool problems = false;
    for (const auto& f : findings) problems |= f.severity != analyze::Severity::kInfo;
    if (global.json()) {
      nlohmann::json list = nlohmann::json::array();
      for (const auto& f : findings)
        list.push_back({{"severity", analyze::SeverityName(f.severity)}, {"code", f.code},
                        {"message", f.message}, {"fix", f.fix}});
      std::cout << JsonText(nlohmann::json{{"variant", facts.chosen_variant}, {"findings", list}}, 2)
                << "\n";
    } else {
      if (!facts.chosen_variant.empty())
        std::cout << "iptables variant holding Docker's chains: " << facts.chosen_variant << "\n";
      if (findings.empty()) std::cout << "no findings\n";
      for (const auto& f : findings)
        std::cout << fmt::format("\n{}: {}\n  what: {}\n  fix:  {}\n", analyze::SeverityName(f.severity),
                                 f.code, f.message, f.fix);
    }
    global.exit_code = problems ? kPending : kOk;
  });
}

}  // namespace swarmwall::cli
