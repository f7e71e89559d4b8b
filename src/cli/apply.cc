// swarmwall plan / apply / confirm / status / remove: the policy made real
// on this host, through apply's HostSession (host lock, recovery of an
// interrupted commit, kernel read, journaled detached commit). Wiring only:
// load, compile, read, diff or commit, report.
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <future>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/agent_state.h"
#include "analyze/model/docker_layout.h"
#include "analyze/model/filter_owners.h"
#include "analyze/exposure/exposure.h"
#include "analyze/exposure/exposure_change.h"
#include "host/network.h"
#include "analyze/trace/trace.h"
#include "apply/compile_inputs.h"
#include "apply/confirm.h"
#include "apply/diff.h"
#include "apply/drain.h"
#include "apply/host_lock.h"
#include "apply/host_session.h"
#include "apply/ipset_read.h"
#include "apply/kernel_state.h"
#include "apply/lockout.h"
#include "apply/ruleset_after.h"
#include "apply/state_store.h"
#include "apply/swarm_members.h"
#include "host/local_addresses.h"
#include "host/xtables.h"
#include "base/json_text.h"
#include "base/timings.h"
#include "cli/commands.h"
#include "compile/compiler.h"
#include "docker/engine.h"
#include "netfilter/parser.h"
#include "policy/policy.h"

namespace swarmwall::cli {
namespace {

using netfilter::Family;

constexpr auto kLockWait = std::chrono::seconds(120);

std::string Now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::tm tm{};
  gmtime_r(&t, &tm);
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// The session of a writing command, its recovery notes on stderr.
std::optional<apply::HostSession> OpenSession(const GlobalOptions& global, const std::string& what,
                                              std::chrono::milliseconds wait = kLockWait) {
  std::string error;
  std::vector<std::string> notes;
  auto session = apply::HostSession::Open(global.state_dir, what, wait, error, notes);
  for (const auto& n : notes) std::cerr << "swarmwall " << what << ": " << n << "\n";
  if (!session) std::cerr << "swarmwall " << what << ": " << error << "\n";
  return session;
}

// A later apply or remove while an `apply --confirm` waits for its
// confirmation (Junos' commit confirmed): one without --confirm confirms
// it (the operator evidently still reaches the host and chose the next
// state); one with --confirm takes the wait over, and the state put back
// if nobody confirms is still the one before the first unconfirmed apply.
// Called holding the host lock, after the commit succeeded.
void ConfirmPending(const GlobalOptions& global, const std::string& what) {
  if (apply::ClearPending(global.state_dir))
    std::cerr << "swarmwall " << what << ": this " << what
              << " confirms the earlier apply that was waiting for `swarmwall confirm`\n";
}

// Parsed address files are kept in STATE_DIR/address-cache between runs
// (policy/address_cache.h).
std::optional<policy::Policy> LoadPolicy(const std::string& file, const std::string& state_dir) {
  auto loaded = policy::LoadPolicyFile(file, {.address_cache_dir = state_dir + "/address-cache"});
  for (const auto& w : loaded.warnings) std::cerr << w.ToString() << "\n";
  for (const auto& e : loaded.errors) std::cerr << e.ToString() << "\n";
  if (!loaded.ok()) return std::nullopt;
  return std::move(loaded.policy);
}

// The kernel read through SESSION (unless VIEW was read already) and the
// node's desired state from it.
struct Prepared {
  apply::HostView view;
  compile::DesiredState desired;
  compile::NodeFacts facts;
};

// FACTS: those of VIEW, when the caller made them already.
std::optional<Prepared> Prepare(const apply::HostSession& session, const policy::Policy& policy,
                                const std::string& node_name,
                                std::optional<apply::HostView> view = std::nullopt,
                                std::optional<compile::NodeFacts> known_facts = std::nullopt) {
  std::string error;
  if (!view) view = session.Read(error);
  if (!view) {
    std::cerr << "swarmwall: cannot read the kernel's rules: " << error << "\n";
    return std::nullopt;
  }
  compile::NodeFacts facts = known_facts ? std::move(*known_facts) : apply::FactsFor(*view);
  auto choice = compile::IdentifyNode(policy, facts,
                                      node_name.empty() ? std::nullopt : std::optional(node_name));
  if (!choice.node) {
    std::cerr << "swarmwall: " << choice.error << "\n";
    return std::nullopt;
  }
  Prepared p;
  p.desired = compile::Compile(policy, *choice.node, facts);
  p.view = std::move(*view);
  p.facts = std::move(facts);
  return p;
}

// What apply records of P: the desired state's digest and, unless the
// nodes come from Swarm, the fingerprint of everything it was compiled
// from (see apply/compile_inputs.h).
// INPUTS: that fingerprint, when it is being made already (of P's facts).
apply::AppliedRecord MakeRecord(const Prepared& p, const policy::Policy& policy,
                                const std::string& node_arg,
                                std::shared_future<std::optional<std::string>> inputs) {
  apply::AppliedRecord record{p.desired.node, policy.file, apply::NormalizedDigest(p.desired),
                              p.view.variant.chosen.name, Now()};
  if (!policy.auto_nodes) {
    record.files = apply::PolicyFiles(policy);
    auto fingerprint = inputs.valid() ? inputs.get() : apply::InputsFingerprint(record.files, node_arg, p.facts);
    record.inputs = fingerprint.value_or("");
  }
  return record;
}

// The exposure of the kernel's rules now and as they would be after the
// commit (owned chains and sets replaced by DESIRED's), both families.
std::optional<std::vector<analyze::ExposureDelta>> ExposureChange(const apply::HostView& view,
                                                                  const compile::DesiredState& desired,
                                                                  std::string& error) {
  host::HostNetwork now;
  if (!host::LoadLiveHostNetwork(now, error)) return std::nullopt;
  host::HostNetwork after = now;
  for (auto it = after.ipsets.begin(); it != after.ipsets.end();)   // ours: as desired
    it = it->first.starts_with(compile::kSetPrefix) ? after.ipsets.erase(it) : std::next(it);
  for (const compile::FamilyState* fs : {&desired.ipv4, &desired.ipv6})
    for (const auto& s : fs->sets) {
      host::IpSet set;
      set.name = s.name;
      set.type = "hash:net";
      set.family = s.family;
      set.dimensions = {"net"};
      if (s.entries)
        for (const auto& e : *s.entries) set.entries.push_back({.net = e});
      after.ipsets[s.name] = std::move(set);
    }
  std::vector<analyze::FamilyExposure> before_x, after_x;
  for (auto family : {Family::kIPv4, Family::kIPv6}) {
    auto saved = host::SaveLive(view.variant.chosen, family);
    if (!saved.ok) {
      if (family == Family::kIPv6) continue;
      error = saved.error;
      return std::nullopt;
    }
    auto old_rules = ParseRulesetText(saved.text, "the kernel's rules", family);
    auto new_rules = ParseRulesetText(apply::RulesetAfter(saved.text, desired.Of(family)),
                                      "the rules after apply", family);
    if (!old_rules || !new_rules) {
      error = "cannot read the rules back";
      return std::nullopt;
    }
    analyze::ExposureOptions o;
    analyze::TraceModel m_old(*old_rules, now), m_new(*new_rules, after);
    before_x.push_back(analyze::ComputeExposure(m_old, o));
    after_x.push_back(analyze::ComputeExposure(m_new, o));
  }
  return analyze::CompareExposure(before_x, after_x);
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

// What apply reports, as JSON or as its first line (also for the no-op
// decided without loading the policy).
nlohmann::json ApplyJson(const std::string& node, const host::VariantReport& variant,
                         const apply::TransactionResult& result) {
  return {{"node", node}, {"changed", result.changed}, {"variant", variant.chosen.name},
          {"steps", result.steps}, {"diff", DiffsJson(result.diffs)}};
}

std::string ApplyLine(const std::string& node, const host::VariantReport& variant,
                      const apply::TransactionResult& result) {
  return fmt::format("node {} ({} iptables, {}): {}\n", node, variant.chosen.name, variant.reason,
                     result.changed ? "applied" : "already up to date, nothing written");
}

// Docker's version and chain layout, for status.
struct DockerFacts {
  std::string host, version, layout;
  bool swarm = false, docker_user_hooked = false;
  // Per family: DOCKER-USER unreached where that matters (the verdict audit
  // and doctor give too, analyze/model/filter_owners.h).
  bool docker_user_not_hooked_v4 = false, docker_user_not_hooked_v6 = false;
};

DockerFacts ReadDockerFacts(const host::IptablesVariant& variant) {
  DockerFacts f;
  docker::Engine engine;
  f.host = engine.host();
  if (auto v = engine.Version()) f.version = v->value("Version", "");
  auto parse = [](const host::SaveResult& s, Family family) -> std::optional<netfilter::Ruleset> {
    if (!s.ok) return std::nullopt;
    netfilter::ParseOptions options;
    options.family = family;
    auto r = netfilter::ParseRuleset(s.text, options);
    if (!r.ruleset) return std::nullopt;
    return std::move(r.ruleset);
  };
  auto v4 = parse(host::SaveLive(variant, Family::kIPv4), Family::kIPv4);
  auto v6 = parse(host::SaveLive(variant, Family::kIPv6), Family::kIPv6);
  netfilter::Ruleset empty;
  auto e = analyze::ExplainDocker(v4 ? *v4 : empty, v6 ? &*v6 : nullptr);
  f.layout = analyze::LayoutName(e.layout);
  f.swarm = e.swarm;
  f.docker_user_hooked = e.docker_user_first_in_forward;
  f.docker_user_not_hooked_v4 = v4 && analyze::JudgeDockerUserHook(*v4).NotHooked();
  f.docker_user_not_hooked_v6 = v6 && analyze::JudgeDockerUserHook(*v6).NotHooked();
  return f;
}

}  // namespace

void RegisterApply(CLI::App& app, GlobalOptions& global) {
  struct Args {
    std::string policy, node;
    bool dry_run = false;
    int confirm = 0;
    bool force = false;
    bool drain = false;
    bool exposure = false;
    std::string manager;
    int drain_timeout = 120;
  };
  auto plan_args = std::make_shared<Args>();
  auto* plan = app.add_subcommand("plan", "Show what apply would change on this host (exit 2: changes pending)");
  plan->add_option("policy", plan_args->policy, "The cluster policy (YAML)")->required();
  plan->add_option("--node", plan_args->node, "The node (default: the one with an address on this host)");
  plan->add_flag("--exposure", plan_args->exposure,
                 "Also show how the exposure would change: ports and sources that open or close");
  plan->callback([plan_args, &global] {
    auto policy = LoadPolicy(plan_args->policy, global.state_dir);
    if (policy) policy = apply::WithSwarmNodes(std::move(*policy), plan_args->manager, global.state_dir, std::cerr);
    auto session = policy ? OpenSession(global, "plan") : std::nullopt;
    auto p = session ? Prepare(*session, *policy, plan_args->node) : std::nullopt;
    if (!p) {
      global.exit_code = kError;
      return;
    }
    std::vector<apply::FamilyDiff> diffs = {apply::Compare(p->desired.ipv4, p->view.before.ipv4),
                                            apply::Compare(p->desired.ipv6, p->view.before.ipv6)};
    bool pending = !diffs[0].empty() || !diffs[1].empty();
    const auto& variant = p->view.variant.chosen.name;
    std::optional<std::vector<analyze::ExposureDelta>> exposure;
    if (plan_args->exposure) {
      std::string error;
      exposure = ExposureChange(p->view, p->desired, error);
      if (!exposure) {
        std::cerr << "swarmwall plan --exposure: " << error << "\n";
        global.exit_code = kError;
        return;
      }
    }
    if (global.json()) {
      nlohmann::json j{{"node", p->desired.node}, {"variant", variant},
                       {"pending", pending}, {"diff", DiffsJson(diffs)}};
      if (exposure) j["exposure"] = analyze::ExposureDeltaJson(*exposure);
      std::cout << JsonText(j, 2) << "\n";
    } else {
      std::cout << fmt::format("node {} ({} iptables): {}\n", p->desired.node, variant,
                               pending ? "changes pending" : "nothing to change");
      PrintDiffs(diffs);
      if (exposure) {
        auto lines = analyze::ExposureDeltaLines(*exposure);
        std::cout << (lines.empty() ? "exposure: unchanged\n"
                                    : "exposure (+ opens, - closes; new connections):\n");
        for (const auto& l : lines) std::cout << "  " << l << "\n";
      }
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
  cmd->add_flag("--drain", apply_args->drain,
                "Drain this Swarm node first (its tasks leave), apply, check, then set its "
                "availability back; on failure it stays drained");
  cmd->add_option("--manager", apply_args->manager,
                  "DOCKER_HOST of a Swarm manager, for --drain and `nodes: auto` (default: the local daemon, DOCKER_HOST)");
  cmd->add_option("--drain-timeout", apply_args->drain_timeout,
                  "Seconds to wait for the node's tasks to leave (default 120)")
      ->check(CLI::Range(1, 86400));
  cmd->callback([apply_args, &global] {
    const Args& a = *apply_args;
    // Where swarmwall applied before, the host lock first and the kernel
    // read at once: the owned sets on a thread beside everything up to the
    // compile (~30 ms for 100,000 entries, mostly the kernel's own dump:
    // the longest step of a small change), the rules (cached by the
    // nf_tables generation) here. Elsewhere the policy's errors come first,
    // before any lock is taken.
    std::optional<apply::HostSession> session;
    std::optional<apply::HostView> view;
    std::future<apply::OwnedSets> owned_sets;
    auto join_sets = [&](apply::HostView* into) {
      if (!owned_sets.valid()) return;
      auto sets = owned_sets.get();
      if (into) apply::PutOwnedSets(std::move(sets), into->before.ipv4, into->before.ipv6);
      TimingMark("read-sets");
    };
    auto applied = apply::StateStore(global.state_dir).Load();
    if (applied && !applied->inputs.empty()) {
      session = OpenSession(global, "apply");
      if (!session) {
        global.exit_code = kError;
        return;
      }
      TimingMark("open-session");
      owned_sets = std::async(std::launch::async, apply::ReadOwnedSetsNow);
      std::string error;
      view = session->Read(error, false);
      TimingMark("read-rules");
      // An unchanged policy on an unchanged host: the kernel is compared
      // with the recorded digest, and the policy is not even loaded (see
      // apply/compile_inputs.h). Plain applies only.
      const char* fast = getenv("SWARMWALL_FAST_NOOP");
      if (view && !a.dry_run && !a.drain && a.confirm == 0 && !(fast && std::string(fast) == "0") &&
          apply::InputsUnchanged(*view, *applied, a.policy, a.node)) {
        join_sets(&*view);
        if (apply::KernelMatchesRecord(*view, *applied)) {
          ConfirmPending(global, "apply");
          apply::TransactionResult nothing;
          if (global.json()) std::cout << JsonText(ApplyJson(applied->node, view->variant, nothing), 2) << "\n";
          else std::cout << ApplyLine(applied->node, view->variant, nothing);
          return;
        }
      }
    }
    auto policy = LoadPolicy(a.policy, global.state_dir);
    if (policy) policy = apply::WithSwarmNodes(std::move(*policy), a.manager, global.state_dir, std::cerr);
    TimingMark("load-policy");
    if (!policy) {
      global.exit_code = kError;
      return;
    }
    if (!session) session = OpenSession(global, "apply");
    if (!session) {
      global.exit_code = kError;
      return;
    }
    // The inputs' fingerprint for the record (the address files' bytes
    // again: ~2 ms) needs only the rules' facts: begun here as well.
    std::optional<compile::NodeFacts> facts;
    std::shared_future<std::optional<std::string>> inputs;
    if (view) {
      facts = apply::FactsFor(*view);
      if (!a.dry_run && !policy->auto_nodes)
        inputs = std::async(std::launch::async, apply::InputsFingerprint, apply::PolicyFiles(*policy),
                            a.node, *facts).share();
    }
    // --drain: everything it needs is read before anything changes.
    std::optional<apply::DrainTarget> drain;
    if (a.drain && !a.dry_run) {
      std::string error;
      drain = apply::PrepareDrain(a.manager, error);
      if (!drain) {
        std::cerr << "swarmwall apply --drain: " << error << " (nothing was changed)\n";
        global.exit_code = kError;
        return;
      }
    }
    // The desired state needs the policy and the rules' facts, not the
    // owned sets: compiled (and its record begun) while they are read.
    auto p = Prepare(*session, *policy, a.node, std::move(view), std::move(facts));
    TimingMark("compile");
    if (!p) {
      global.exit_code = kError;
      return;
    }
    // The record's fingerprints (100,000 set entries, the address files'
    // bytes: ~4 ms) on a thread beside the diff and the lockout guard.
    std::future<apply::AppliedRecord> record;
    if (!a.dry_run)
      record = std::async(std::launch::async, MakeRecord, std::cref(*p), std::cref(*policy), std::cref(a.node), inputs);
    // The lockout guard's SSH clients (~10 ms with tracked connections:
    // ctnetlink walks the whole conntrack table), only when this commit can
    // change who reaches the host (apply/lockout.h), found beside the sets'
    // read when the input chain changes.
    bool input_changes = drain || apply::InputChainChanges(p->desired.ipv4, p->view.before.ipv4) ||
                         apply::InputChainChanges(p->desired.ipv6, p->view.before.ipv6);
    std::future<std::vector<apply::SshClient>> ssh_clients;
    if (!a.dry_run && input_changes) ssh_clients = std::async(std::launch::async, apply::FindSshClients);
    join_sets(&p->view);
    std::vector<apply::FamilyDiff> diffs = {apply::Compare(p->desired.ipv4, p->view.before.ipv4),
                                            apply::Compare(p->desired.ipv6, p->view.before.ipv6)};
    if (a.dry_run) {
      PrintDiffs(diffs);
      return;
    }
    // The lockout guard: nobody connected over SSH loses the way back in
    // (nothing to guard when nothing would be written, or when the host's
    // input path stays as it is).
    bool pending = !diffs[0].empty() || !diffs[1].empty();
    bool guard = (pending || drain) &&
                 (input_changes || apply::InputSetsChange(p->desired.ipv4, diffs[0]) ||
                  apply::InputSetsChange(p->desired.ipv6, diffs[1]));
    std::vector<apply::SshClient> clients;
    if (guard) clients = ssh_clients.valid() ? ssh_clients.get() : apply::FindSshClients();
    auto locked = guard ? apply::LockedOut(p->desired, clients) : std::vector<std::string>{};
    if (!locked.empty() && !a.force) {
      for (const auto& l : locked)
        std::cerr << "swarmwall apply: refusing: " << l << " under " << policy->file << "\n";
      std::cerr << "swarmwall apply: allow it in the policy, or pass --force (nothing was changed)\n";
      global.exit_code = kError;
      return;
    }
    TimingMark("lockout-guard");
    for (const auto& l : locked) std::cerr << "swarmwall apply: warning (--force): " << l << "\n";
    std::string drained_note;
    if (drain) {
      std::string error;
      std::cerr << fmt::format("swarmwall apply: draining node {} ({}), waiting up to {} s for its "
                               "tasks to leave\n", drain->hostname, drain->node_id, a.drain_timeout);
      if (!apply::DrainNode(*drain, std::chrono::seconds(a.drain_timeout), error)) {
        std::cerr << "swarmwall apply --drain: " << error << "; the firewall was not changed; node "
                  << drain->hostname << " (" << drain->node_id
                  << ") is LEFT DRAINED: set it back with `docker node update --availability "
                  << drain->availability << " " << drain->node_id << "`\n";
        global.exit_code = kError;
        return;
      }
      // Docker's rules changed as the tasks left: read and compile again.
      record.wait();   // it reads *p
      p = Prepare(*session, *policy, a.node);
      if (!p) {
        std::cerr << "swarmwall apply --drain: node " << drain->hostname << " is LEFT DRAINED\n";
        global.exit_code = kError;
        return;
      }
      record = std::async(std::launch::async, MakeRecord, std::cref(*p), std::cref(*policy), std::cref(a.node),
                          std::shared_future<std::optional<std::string>>{});   // the facts changed
      diffs = {apply::Compare(p->desired.ipv4, p->view.before.ipv4),
               apply::Compare(p->desired.ipv6, p->view.before.ipv6)};
    }
    std::string token;
    if (a.confirm > 0) {
      // Armed before anything is written: killing this process at any
      // moment still brings the previous state back.
      compile::DesiredState previous;
      previous.node = p->desired.node;
      previous.ipv4 = p->view.before.ipv4.owned;
      previous.ipv6 = p->view.before.ipv6.owned;
      if (auto earlier = apply::LoadPending(global.state_dir)) {
        previous = std::move(earlier->previous);
        std::cerr << "swarmwall apply: an earlier apply is still waiting for `swarmwall confirm`: this "
                     "one takes its wait over (unconfirmed, the state before both comes back)\n";
      }
      std::string error;
      auto saved = apply::SavePending(global.state_dir, previous, error);
      std::error_code ec;
      std::string self = std::filesystem::read_symlink("/proc/self/exe", ec).string();
      if (!saved || !apply::ArmTimer(self, global.state_dir, *saved, a.confirm, error)) {
        std::cerr << "swarmwall apply: cannot arm the confirm timer: " << error << "\n";
        global.exit_code = kError;
        return;
      }
      token = *saved;
    }
    apply::AppliedRecord made = record.get();
    TimingMark("record");
    auto result = session->Commit(p->view, p->desired, made, "apply", std::move(diffs));
    TimingMark("commit");
    if (const char* hang = getenv("SWARMWALL_TEST_HANG_AFTER_COMMIT"))
      std::this_thread::sleep_for(std::chrono::seconds(std::atoi(hang)));
    if (!result.ok) {
      std::cerr << "swarmwall apply: " << result.error << "\n";
      if (drain)
        std::cerr << "swarmwall apply --drain: node " << drain->hostname << " (" << drain->node_id
                  << ") is LEFT DRAINED\n";
      global.exit_code = kError;
      return;
    }
    if (a.confirm == 0) ConfirmPending(global, "apply");
    auto same = [](const apply::AppliedRecord& x, const apply::AppliedRecord& y) {
      return std::tie(x.node, x.policy, x.digest, x.variant, x.inputs, x.files) ==
             std::tie(y.node, y.policy, y.digest, y.variant, y.inputs, y.files);
    };
    auto recorded = result.changed ? std::nullopt : apply::StateStore(global.state_dir).Load();
    if (!result.changed && !(recorded && same(*recorded, made))) {
      std::string error;
      if (!apply::StateStore(global.state_dir).Save(made, error))
        std::cerr << "swarmwall apply: warning: " << error << "\n";
    }
    if (drain) {
      // The check: the kernel, read again in full, holds the desired state.
      std::string error;
      auto now = apply::ReadHost(global.state_dir, false, error);
      std::vector<std::string> left;
      if (!now) left.push_back("cannot read the kernel: " + error);
      for (const auto& d : {apply::Compare(p->desired.ipv4, now ? now->before.ipv4 : apply::FamilySnapshot{}),
                            apply::Compare(p->desired.ipv6, now ? now->before.ipv6 : apply::FamilySnapshot{})})
        if (now)
          for (const auto& l : d.lines) left.push_back(l);
      if (!left.empty()) {
        std::cerr << "swarmwall apply --drain: the check after apply failed; node " << drain->hostname
                  << " (" << drain->node_id << ") is LEFT DRAINED:\n";
        for (const auto& l : left) std::cerr << "  " << l << "\n";
        global.exit_code = kError;
        return;
      }
      if (!apply::RestoreAvailability(*drain, error)) {
        std::cerr << "swarmwall apply --drain: applied and checked, but setting node " << drain->hostname
                  << " back to " << drain->availability << " failed: " << error
                  << "; it is LEFT DRAINED\n";
        global.exit_code = kError;
        return;
      }
      drained_note = fmt::format("node {} drained, applied, checked, back to {}", drain->hostname,
                                 drain->availability);
    }
    const auto& variant = p->view.variant;
    if (global.json()) {
      nlohmann::json j = ApplyJson(p->desired.node, variant, result);
      if (drain) j["drain"] = {{"node_id", drain->node_id}, {"availability", drain->availability}};
      std::cout << JsonText(j, 2) << "\n";
    } else {
      std::cout << ApplyLine(p->desired.node, variant, result);
      PrintDiffs(result.diffs);
      if (!drained_note.empty()) std::cout << drained_note << "\n";
      if (!token.empty())
        std::cout << fmt::format("run `swarmwall confirm` within {} seconds, or the previous state "
                                 "comes back\n", a.confirm);
    }
  });

  auto* confirm = app.add_subcommand("confirm", "Keep what the last apply --confirm did");
  confirm->callback([&global] {
    auto session = OpenSession(global, "confirm");
    if (!session) {
      global.exit_code = kError;
      return;
    }
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
    auto session = OpenSession(global, "rollback-timer");
    // Confirmed while we waited for the lock?
    pending = apply::LoadPending(global.state_dir);
    if (session && (!pending || pending->token != timer_args->token)) {
      std::cout << Now() << " confirmed in time: nothing to do\n";
      return;
    }
    std::string error;
    auto view = session ? session->Read(error) : std::nullopt;
    if (!view) {
      std::cout << Now() << " ROLLBACK FAILED: cannot read the kernel: " << error << "\n";
      global.exit_code = kError;
      return;
    }
    apply::StateStore store(global.state_dir);
    auto record = store.Load().value_or(apply::AppliedRecord{});
    record.digest = apply::NormalizedDigest(pending->previous);
    record.time = Now();
    record.policy += " (rolled back: not confirmed)";
    auto result = session->Commit(*view, pending->previous, record, "rollback");
    if (!result.ok) {
      std::cout << Now() << " ROLLBACK FAILED: " << result.error << "\n";
      global.exit_code = kError;
      return;
    }
    if (!result.changed) store.Save(record, error);
    apply::ClearPending(global.state_dir);
    std::cout << Now() << " not confirmed: previous state put back\n";
  });

  auto* status = app.add_subcommand("status", "Owned chains, hooks, drift and what was applied (exit 2: findings)");
  status->callback([&global] {
    std::vector<std::string> findings;
    // Another swarmwall committing now: say so and read without the lock.
    std::string holder = apply::HostLock::Holder(global.state_dir);
    std::optional<apply::HostSession> session;
    if (holder.empty()) session = OpenSession(global, "status", std::chrono::milliseconds(0));
    if (!holder.empty() || !session) {
      holder = apply::HostLock::Holder(global.state_dir);
      if (!holder.empty())
        findings.push_back("another swarmwall holds the host lock (" + holder +
                           "): a change may be in progress");
    }
    std::string error;
    auto view = apply::ReadHost(global.state_dir, true, error);
    if (!view) {
      std::cerr << "swarmwall status: " << error << "\n";
      global.exit_code = kError;
      return;
    }
    const auto& variant = view->variant;
    apply::StateStore store(global.state_dir);
    auto record = store.Load();
    const apply::FamilySnapshot* v4 = &view->before.ipv4;
    const apply::FamilySnapshot* v6 = &view->before.ipv6;
    compile::DesiredState actual;
    actual.node = record ? record->node : "";
    actual.ipv4 = v4->owned;
    actual.ipv6 = v6->owned;
    std::string digest = apply::NormalizedDigest(actual);
    DockerFacts docker = ReadDockerFacts(variant.chosen);
    for (const auto* s : {v4, v6}) {
      std::string fam = s == v4 ? "IPv4" : "IPv6";
      for (const auto& [key, first] : s->hook_first) {
        int count = s->kernel.Jumps(key.first, key.second);
        if (!first || count != 1)
          findings.push_back(fmt::format("{}: the jump {} -> {} is {} ({} of them)", fam, key.first,
                                         key.second, first ? "first" : "NOT first", count));
      }
      if (s == v4 ? docker.docker_user_not_hooked_v4 : docker.docker_user_not_hooked_v6)
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
                          {"owned_chains_v6", v6->owned.chains.size()},
                          {"docker", {{"host", docker.host},
                                      {"version", docker.version.empty() ? nlohmann::json() : nlohmann::json(docker.version)},
                                      {"layout", docker.layout},
                                      {"swarm", docker.swarm},
                                      {"docker_user_hooked", docker.docker_user_hooked}}},
                          {"lock_holder", holder}};
      if (record)
        j["applied"] = {{"node", record->node}, {"policy", record->policy},
                        {"digest", record->digest}, {"time", record->time}};
      if (auto agent = agent::AgentStatusJson(global.state_dir); !agent.is_null()) j["agent"] = agent;
      std::cout << JsonText(j, 2) << "\n";
    } else {
      std::cout << fmt::format("iptables variant: {} ({})\n", variant.chosen.name, variant.reason);
      std::cout << fmt::format("Docker: {} ({})\n",
                               docker.version.empty() ? "not reachable" : docker.version, docker.host);
      std::cout << fmt::format("Docker chain layout: {}{}\n", docker.layout,
                               docker.swarm ? " (Swarm node)" : "");
      if (record)
        std::cout << fmt::format("applied: node {} from {} at {} (state {})\n", record->node,
                                 record->policy, record->time, record->digest);
      else
        std::cout << "applied: nothing recorded in " << store.dir() << "\n";
      std::string agent = agent::DescribeAgent(global.state_dir);
      std::cout << "agent: " << (agent.empty() ? "never ran with " + store.dir() : agent) << "\n";
      for (const auto* s : {v4, v6}) {
        std::cout << (s == v4 ? "IPv4" : "IPv6") << ": " << s->owned.chains.size()
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
    auto session = OpenSession(global, "remove");
    std::string error;
    auto view = session ? session->Read(error) : std::nullopt;
    if (!view) {
      if (session) std::cerr << "swarmwall remove: " << error << "\n";
      global.exit_code = kError;
      return;
    }
    auto result = session->Remove(*view);
    if (!result.ok) {
      std::cerr << "swarmwall remove: " << result.error << "\n";
      global.exit_code = kError;
      return;
    }
    if (!result.changed) apply::StateStore(global.state_dir).Forget();
    ConfirmPending(global, "remove");
    std::cout << (result.changed ? "removed swarmwall's chains, hooks and sets\n"
                                 : "nothing of swarmwall's was there\n");
  });
}

}  // namespace swarmwall::cli
