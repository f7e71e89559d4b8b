// swarmwall apply: the policy made real on this host in one transaction
// (apply::Apply). Flags in, the workflow, its outcome out.
#include <cstdlib>
#include <filesystem>
#include <iostream>

#include <fmt/format.h>

#include "apply/apply_policy.h"
#include "apply/backend_choice.h"
#include "apply/switch_backend.h"
#include "base/json_text.h"
#include "cli/commands.h"

namespace swarmwall::cli {
namespace {

nlohmann::json ApplyJson(const apply::ApplyOutcome& out) {
  nlohmann::json j = {{"node", out.node}, {"changed", out.result.changed}, {"variant", out.variant},
                      {"backend", out.variant == "nftables" ? "nftables" : "iptables"},
                      {"steps", out.result.steps}, {"diff", DiffsJson(out.result.diffs)}};
  if (out.drain) j["drain"] = {{"node_id", out.drain->node_id}, {"availability", out.drain->availability}};
  if (out.other_owner_drops) j["dropped_by_other_owners"] = OtherOwnerDropsJson(*out.other_owner_drops);
  return j;
}

}  // namespace

void RegisterApply(CLI::App& app, GlobalOptions& global) {
  auto rq = std::make_shared<apply::ApplyRequest>();
  auto drain_timeout = std::make_shared<int>(120);
  auto backend_flag = std::make_shared<std::string>();
  auto* cmd = app.add_subcommand("apply", "Make this host's firewall what the policy says, in one transaction");
  cmd->add_option("policy", rq->policy_file, "The cluster policy (YAML)")->required();
  cmd->add_option("--node", rq->node, "The node (default: the one with an address on this host)");
  cmd->add_flag("--dry-run", rq->dry_run, "Show the changes, write nothing (as plan)");
  cmd->add_option("--confirm", rq->confirm_seconds,
                  "Put the previous state back unless `swarmwall confirm` runs within SECONDS")
      ->check(CLI::Range(1, 86400));
  cmd->add_flag("--force", rq->force, "Apply even if a current SSH client could no longer connect");
  cmd->add_flag("--drain", rq->drain,
                "Drain this Swarm node first (its tasks leave), apply, check, then set its "
                "availability back; on failure it stays drained");
  cmd->add_option("--manager", rq->manager,
                  "DOCKER_HOST of a Swarm manager, for --drain and `nodes: auto` (default: the local daemon, DOCKER_HOST)");
  cmd->add_option("--drain-timeout", *drain_timeout, "Seconds to wait for the node's tasks to leave (default 120)")
      ->check(CLI::Range(1, 86400));
  AddBackendOption(cmd, *backend_flag);
  auto skip_check = std::make_shared<bool>(false);
  cmd->add_flag("--no-other-owners-check", *skip_check,
                "After a commit, do not look for ports the policy allows that another owner's rule drops");
  cmd->callback([rq, drain_timeout, backend_flag, skip_check, &global] {
    rq->check_other_owners = !*skip_check;
    rq->state_dir = global.state_dir;
    rq->drain_timeout = std::chrono::seconds(*drain_timeout);
    rq->note = NoteToStderr;
    const char* fast = getenv("SWARMWALL_FAST_NOOP");
    rq->fast_noop = !(fast && std::string(fast) == "0");
    std::error_code ec;
    rq->self_binary = std::filesystem::read_symlink("/proc/self/exe", ec).string();
    auto choice = apply::ChooseHostBackend(*backend_flag, rq->policy_file, rq->node, global.state_dir);
    if (!choice.ok()) {
      std::cerr << "swarmwall apply: " << choice.error << "\n";
      global.exit_code = kError;
      return;
    }
    auto firewall = apply::OpenFirewall(global.state_dir, choice.kind);
    auto out = apply::Apply(*rq, *firewall);
    // A host that switched backends: the other one's rules go once the new
    // ones are in (both filter for that moment, never neither).
    std::vector<std::string> retired;
    if (out.ok && !rq->dry_run && !apply::RetireOtherFirewall(global.state_dir, choice.kind, NoteToStderr, retired))
      global.exit_code = kError;
    out.result.steps.insert(out.result.steps.end(), retired.begin(), retired.end());
    if (out.confirmed_pending)
      std::cerr << "swarmwall apply: this apply confirms the earlier apply that was waiting for `swarmwall confirm`\n";
    if (!out.ok) {
      global.exit_code = kError;
      return;
    }
    if (rq->dry_run) {
      PrintDiffs(out.result.diffs);
      return;
    }
    if (global.json()) {
      std::cout << JsonText(ApplyJson(out), 2) << "\n";
      return;
    }
    std::cout << fmt::format("node {} ({}; {}): {}\n", out.node, FirewallLabel(out.variant), choice.reason,
                             out.result.changed ? "applied" : "already up to date, nothing written");
    PrintDiffs(out.result.diffs);
    if (out.other_owner_drops) PrintOtherOwnerDrops(std::cout, *out.other_owner_drops);
    for (const auto& line : retired) std::cout << line << "\n";
    if (out.drain)
      std::cout << fmt::format("node {} drained, applied, checked, back to {}\n", out.drain->hostname,
                               out.drain->availability);
    if (out.confirm_armed)
      std::cout << fmt::format("run `swarmwall confirm` within {} seconds, or the previous state comes back\n",
                               rq->confirm_seconds);
  });
}

}  // namespace swarmwall::cli
