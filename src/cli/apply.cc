// swarmwall plan / apply / status / remove: the policy made real on this
// host, through apply's transactions. Wiring only: load, compile, read the
// kernel, diff or commit, report.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apply/confirm.h"
#include "apply/diff.h"
#include "apply/lockout.h"
#include "apply/kernel_state.h"
#include "apply/state_store.h"
#include "apply/transaction.h"
#include "backend/host_facts.h"
#include "backend/iptables_variant.h"
#include "cli/commands.h"
#include "compile/compiler.h"
#include "policy/policy.h"

namespace swarmwall::cli {
namespace {

using netfilter::Family;

std::string Now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// Everything plan and apply need, or an error already printed.
struct Prepared {
  std::optional<policy::Policy> policy;
  backend::VariantReport variant;
  compile::DesiredState desired;
  apply::Before before;
};

bool Prepare(const std::string& policy_file, const std::string& node_name, Prepared& p) {
  auto loaded = policy::LoadPolicyFile(policy_file);
  for (const auto& w : loaded.warnings) std::cerr << w.ToString() << "\n";
  for (const auto& e : loaded.errors) std::cerr << e.ToString() << "\n";
  if (!loaded.ok()) return false;
  p.policy = std::move(loaded.policy);
  p.variant = backend::DetectVariant();
  std::string error;
  auto before = apply::ReadBefore(p.variant.chosen, error);
  if (!before) {
    std::cerr << "swarmwall: cannot read the kernel's rules: " << error << "\n";
    return false;
  }
  compile::NodeFacts facts;
  facts.local_addresses = backend::LocalAddresses();
  apply::SetHookFacts(before->ipv4, before->ipv6, facts);
  auto choice = compile::IdentifyNode(*p.policy, facts,
                                      node_name.empty() ? std::nullopt : std::optional(node_name));
  if (!choice.node) {
    std::cerr << "swarmwall: " << choice.error << "\n";
    return false;
  }
  p.desired = compile::Compile(*p.policy, *choice.node, facts);
  p.before = std::move(*before);
  return true;
}

void PrintDiffs(const std::vector<apply::FamilyDiff>& diffs) {
  for (const auto& d : diffs) {
    if (d.empty()) continue;
    std::cout << (d.family == Family::kIPv4 ? "IPv4:\n" : "IPv6:\n");
    for (const auto& l : d.lines) std::cout << "  " << l << "\n";
  }
}

nlohmann::json DiffsJson(const std::vector<apply::FamilyDiff>& diffs) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& d : diffs)
    j.push_back({{"family", d.family == Family::kIPv4 ? 4 : 6}, {"changes", d.lines}});
  return j;
}

}  // namespace

void RegisterApply(CLI::App& app, GlobalOptions& global) {
  struct Args {
    std::string policy, node;
    bool dry_run = false;
    int confirm = 0;
    bool force = false;
  };
  auto plan_args = std::make_shared<Args>();
  auto* plan = app.add_subcommand("plan", "Show what apply would change on this host (exit 2: changes pending)");
  plan->add_option("policy", plan_args->policy, "The cluster policy (YAML)")->required();
  plan->add_option("--node", plan_args->node, "The node (default: the one with an address on this host)");
  plan->callback([plan_args, &global] {
    Prepared p;
    if (!Prepare(plan_args->policy, plan_args->node, p)) {
      global.exit_code = kError;
      return;
    }
    std::vector<apply::FamilyDiff> diffs = {apply::Compare(p.desired.ipv4, p.before.ipv4),
                                            apply::Compare(p.desired.ipv6, p.before.ipv6)};
    bool pending = !diffs[0].empty() || !diffs[1].empty();
    if (global.json()) {
      std::cout << nlohmann::json{{"node", p.desired.node}, {"variant", p.variant.chosen.name},
                                  {"pending", pending}, {"diff", DiffsJson(diffs)}}
                       .dump(2)
                << "\n";
    } else {
      std::cout << fmt::format("node {} ({} iptables): {}\n", p.desired.node, p.variant.chosen.name,
                               pending ? "changes pending" : "nothing to change");
      PrintDiffs(diffs);
    }
    global.exit_code = pending ? kPending : kOk;
  });

  auto apply_args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("apply", "Make this host's firewall what the policy says, in one transaction");
  cmd->add_option("policy", apply_args->policy, "The cluster policy (YAML)")->required();
  cmd->add_option("--node", apply_args->node, "The node (default: the one with an address on this host)");
  cmd->add_flag("--dry-run", apply_args->dry_run, "Show the changes, write nothing (as plan)");
  cmd->add_option("--confirm", apply_args->confirm,
                  "Put the previous state back unless `swarmwall confirm` runs within SECONDS")
      ->check(CLI::Range(1, 86400));
  cmd->add_flag("--force", apply_args->force,
                "Apply even if a current SSH client could no longer connect");
  cmd->callback([apply_args, &global] {
    Prepared p;
    if (!Prepare(apply_args->policy, apply_args->node, p)) {
      global.exit_code = kError;
      return;
    }
    if (apply_args->dry_run) {
      PrintDiffs({apply::Compare(p.desired.ipv4, p.before.ipv4),
                  apply::Compare(p.desired.ipv6, p.before.ipv6)});
      return;
    }
    // The lockout guard: nobody connected over SSH loses the way back in.
    auto locked = apply::LockedOut(p.desired, apply::FindSshClients());
    if (!locked.empty() && !apply_args->force) {
      for (const auto& l : locked)
        std::cerr << "swarmwall apply: refusing: " << l << " under " << p.policy->file << "\n";
      std::cerr << "swarmwall apply: allow it in the policy, or pass --force (nothing was changed)\n";
      global.exit_code = kError;
      return;
    }
    for (const auto& l : locked) std::cerr << "swarmwall apply: warning (--force): " << l << "\n";
    std::string token;
    if (apply_args->confirm > 0) {
      // Armed before anything is written: killing this process at any
      // moment still brings the previous state back.
      compile::DesiredState previous;
      previous.node = p.desired.node;
      previous.ipv4 = p.before.ipv4.owned;
      previous.ipv6 = p.before.ipv6.owned;
      std::string error;
      auto saved = apply::SavePending(global.state_dir, previous, error);
      std::error_code ec;
      std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
      if (!saved || !apply::ArmTimer(self, global.state_dir, *saved, apply_args->confirm, error)) {
        std::cerr << "swarmwall apply: cannot arm the confirm timer: " << error << "\n";
        global.exit_code = kError;
        return;
      }
      token = *saved;
    }
    apply::Transaction tx(p.variant.chosen, std::move(p.before));
    auto result = tx.Commit(p.desired);
    if (const char* hang = getenv("SWARMWALL_TEST_HANG_AFTER_COMMIT"))
      std::this_thread::sleep_for(std::chrono::seconds(std::atoi(hang)));
    if (!result.ok) {
      std::cerr << "swarmwall apply: " << result.error << "\n";
      global.exit_code = kError;
      return;
    }
    apply::StateStore store(global.state_dir);
    std::string error;
    if (!store.Save({p.desired.node, p.policy->file, apply::NormalizedDigest(p.desired),
                     p.variant.chosen.name, Now()},
                    error))
      std::cerr << "swarmwall apply: warning: " << error << "\n";
    if (global.json()) {
      std::cout << nlohmann::json{{"node", p.desired.node}, {"changed", result.changed},
                                  {"variant", p.variant.chosen.name}, {"steps", result.steps},
                                  {"diff", DiffsJson(result.diffs)}}
                       .dump(2)
                << "\n";
    } else {
      std::cout << fmt::format("node {} ({} iptables, {}): {}\n", p.desired.node,
                               p.variant.chosen.name, p.variant.reason,
                               result.changed ? "applied" : "already up to date, nothing written");
      PrintDiffs(result.diffs);
      if (!token.empty())
        std::cout << fmt::format("run `swarmwall confirm` within {} seconds, or the previous state "
                                 "comes back\n", apply_args->confirm);
    }
  });

  auto* confirm = app.add_subcommand("confirm", "Keep what the last apply --confirm did");
  confirm->callback([&global] {
    if (!apply::ClearPending(global.state_dir)) {
      std::cerr << "swarmwall confirm: no apply is waiting for confirmation in " << global.state_dir << "\n";
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
  auto timer_args = std::make_shared<TimerArgs>();
  auto* timer = app.add_subcommand("rollback-timer", "");
  timer->group("");  // hidden
  timer->add_option("--token", timer_args->token)->required();
  timer->add_option("--after", timer_args->after)->required();
  timer->callback([timer_args, &global] {
    std::this_thread::sleep_for(std::chrono::seconds(timer_args->after));
    auto pending = apply::LoadPending(global.state_dir);
    if (!pending || pending->token != timer_args->token) {
      std::cout << Now() << " confirmed in time: nothing to do\n";
      return;
    }
    auto variant = backend::DetectVariant();
    std::string error;
    auto before = apply::ReadBefore(variant.chosen, error);
    if (!before) {
      std::cout << Now() << " ROLLBACK FAILED: cannot read the kernel: " << error << "\n";
      global.exit_code = kError;
      return;
    }
    apply::Transaction tx(variant.chosen, std::move(*before));
    auto result = tx.Commit(pending->previous);
    if (!result.ok) {
      std::cout << Now() << " ROLLBACK FAILED: " << result.error << "\n";
      global.exit_code = kError;
      return;
    }
    apply::ClearPending(global.state_dir);
    apply::StateStore store(global.state_dir);
    auto record = store.Load().value_or(apply::AppliedRecord{});
    record.digest = apply::NormalizedDigest(pending->previous);
    record.time = Now();
    record.policy += " (rolled back: not confirmed)";
    store.Save(record, error);
    std::cout << Now() << " not confirmed: previous state put back\n";
  });

  auto* status = app.add_subcommand("status", "Owned chains, hooks, drift and what was applied (exit 2: findings)");
  status->callback([&global] {
    auto variant = backend::DetectVariant();
    std::string error;
    auto before = apply::ReadBefore(variant.chosen, error);
    if (!before) {
      std::cerr << "swarmwall status: " << error << "\n";
      global.exit_code = kError;
      return;
    }
    apply::StateStore store(global.state_dir);
    auto record = store.Load();
    std::vector<std::string> findings;
    const apply::FamilySnapshot* v4 = &before->ipv4;
    const apply::FamilySnapshot* v6 = &before->ipv6;
    compile::DesiredState actual;
    actual.node = record ? record->node : "";
    actual.ipv4 = v4->owned;
    actual.ipv6 = v6->owned;
    std::string digest = apply::NormalizedDigest(actual);
    for (const auto* s : {&*v4, &*v6}) {
      std::string fam = s == &*v4 ? "IPv4" : "IPv6";
      for (const auto& [key, first] : s->hook_first) {
        int count = s->kernel.Jumps(key.first, key.second);
        if (!first || count != 1)
          findings.push_back(fmt::format("{}: the jump {} -> {} is {} ({} of them)", fam, key.first,
                                         key.second, first ? "first" : "NOT first", count));
      }
      if (s->docker_chains && !s->forward_jumps_to_docker_user && s->kernel.HasChain("DOCKER-USER"))
        findings.push_back(fam + ": FORWARD does not jump to DOCKER-USER: published ports are open "
                                 "to everyone (moby#48560)");
    }
    if (record && record->digest != digest)
      findings.push_back("drift: the kernel's owned rules or sets differ from what was applied at " +
                         record->time + " (run swarmwall plan to see how)");
    if (record && v4->owned.chains.empty())
      findings.push_back("drift: swarmwall's chains are gone (flushed by someone?)");
    if (global.json()) {
      nlohmann::json j = {{"variant", variant.chosen.name}, {"variant_reason", variant.reason},
                          {"kernel_digest", digest}, {"findings", findings},
                          {"owned_chains_v4", v4->owned.chains.size()},
                          {"owned_chains_v6", v6->owned.chains.size()}};
      if (record)
        j["applied"] = {{"node", record->node}, {"policy", record->policy},
                        {"digest", record->digest}, {"time", record->time}};
      std::cout << j.dump(2) << "\n";
    } else {
      std::cout << fmt::format("iptables variant: {} ({})\n", variant.chosen.name, variant.reason);
      if (record)
        std::cout << fmt::format("applied: node {} from {} at {} (state {})\n", record->node,
                                 record->policy, record->time, record->digest);
      else
        std::cout << "applied: nothing recorded in " << store.dir() << "\n";
      for (const auto* s : {&*v4, &*v6}) {
        std::cout << (s == &*v4 ? "IPv4" : "IPv6") << ": " << s->owned.chains.size()
                  << " owned chain(s), " << s->owned.sets.size() << " owned set(s), "
                  << s->foreign_rules << " rule(s) of other owners in filter\n";
        for (const auto& h : s->owned.hooks)
          std::cout << "  hook " << h.chain << " -> " << h.target << "\n";
      }
      if (findings.empty()) std::cout << "no findings\n";
      for (const auto& f : findings) std::cout << "FINDING: " << f << "\n";
    }
    global.exit_code = findings.empty() ? kOk : kPending;
  });

  auto* remove = app.add_subcommand("remove", "Remove every rule, chain and set swarmwall owns, and nothing else");
  remove->callback([&global] {
    auto variant = backend::DetectVariant();
    std::string error;
    auto before = apply::ReadBefore(variant.chosen, error);
    if (!before) {
      std::cerr << "swarmwall remove: " << error << "\n";
      global.exit_code = kError;
      return;
    }
    apply::Transaction tx(variant.chosen, std::move(*before));
    auto result = tx.Remove();
    if (!result.ok) {
      std::cerr << "swarmwall remove: " << result.error << "\n";
      global.exit_code = kError;
      return;
    }
    apply::StateStore(global.state_dir).Forget();
    std::cout << (result.changed ? "removed swarmwall's chains, hooks and sets\n"
                                 : "nothing of swarmwall's was there\n");
  });
}

}  // namespace swarmwall::cli
