// swarmwall plan: what apply would change on this host (apply::Plan).
#include <iostream>

#include <fmt/format.h>

#include "apply/backend_choice.h"
#include "apply/plan.h"
#include "base/json_text.h"
#include "cli/commands.h"

namespace swarmwall::cli {

void RegisterPlan(CLI::App& app, GlobalOptions& global) {
  auto rq = std::make_shared<apply::PlanRequest>();
  auto* plan = app.add_subcommand("plan", "Show what apply would change on this host (exit 2: changes pending)");
  plan->add_option("policy", rq->policy_file, "The cluster policy (YAML)")->required();
  plan->add_option("--node", rq->node, "The node (default: the one with an address on this host)");
  plan->add_flag("--exposure", rq->exposure,
                 "Also show how the exposure would change: ports and sources that open or close");
  auto backend_flag = std::make_shared<std::string>();
  AddBackendOption(plan, *backend_flag);
  plan->callback([rq, backend_flag, &global] {
    rq->state_dir = global.state_dir;
    rq->note = NoteToStderr;
    auto choice = apply::ChooseHostBackend(*backend_flag, rq->policy_file, rq->node, global.state_dir);
    if (!choice.ok()) {
      std::cerr << "swarmwall plan: " << choice.error << "\n";
      global.exit_code = kError;
      return;
    }
    auto firewall = apply::OpenFirewall(global.state_dir, choice.kind);
    auto out = apply::Plan(*rq, *firewall);
    if (!out.ok) {
      global.exit_code = kError;
      return;
    }
    if (global.json()) {
      nlohmann::json j{{"node", out.node}, {"variant", out.variant},
                       {"backend", backend::FirewallKindName(choice.kind)}, {"backend_reason", choice.reason},
                       {"pending", out.pending}, {"diff", DiffsJson(out.diffs)}};
      if (out.exposure) j["exposure"] = analyze::ExposureDeltaJson(*out.exposure);
      if (out.other_owner_drops) j["dropped_by_other_owners"] = OtherOwnerDropsJson(*out.other_owner_drops);
      if (!out.selectors.empty()) j["selectors"] = SelectorsJson(out.selectors);
      std::cout << JsonText(j, 2) << "\n";
    } else {
      std::cout << fmt::format("node {} ({}; {}): {}\n", out.node, FirewallLabel(out.variant), choice.reason,
                               out.pending ? "changes pending" : "nothing to change");
      PrintSelectors(std::cout, out.selectors);
      PrintDiffs(out.diffs);
      if (out.exposure) {
        auto lines = analyze::ExposureDeltaLines(*out.exposure);
        std::cout << (lines.empty() ? "exposure: unchanged\n"
                                    : "exposure (+ opens, - closes; new connections):\n");
        for (const auto& l : lines) std::cout << "  " << l << "\n";
      }
      if (out.other_owner_drops) PrintOtherOwnerDrops(std::cout, *out.other_owner_drops);
    }
    // Such a port is a finding: the policy is not what the host will do.
    bool findings = out.other_owner_drops && !out.other_owner_drops->empty();
    global.exit_code = out.pending || findings ? kPending : kOk;
  });
}

}  // namespace swarmwall::cli
