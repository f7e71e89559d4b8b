#include "backend/iptables/transaction.h"

#include <algorithm>
#include <cstdlib>
#include <utility>
#include <thread>

#include <fmt/format.h>

#include "base/process.h"

namespace swarmwall::backend {
namespace {

using netfilter::Family;

// Tests widen the windows between the steps of a commit (milliseconds).
void TestDelay() {
  if (const char* ms = getenv("SWARMWALL_TEST_STEP_DELAY_MS"))
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(ms)));
}

// The kernel's state right after FS was committed on top of BEFORE.
KernelState After(const compile::FamilyState& fs, const KernelState& before) {
  KernelState k;
  for (const auto& c : before.existing_chains)
    if (!IsOwnedChain(c)) k.existing_chains.push_back(c);
  for (const auto& h : fs.hooks)
    if (!k.HasChain(h.chain)) k.existing_chains.push_back(h.chain);
  for (const auto& c : fs.chains) k.existing_chains.push_back(c.name);
  for (const auto& h : fs.hooks) k.jumps[{h.chain, h.target}] = 1;
  for (const auto& c : fs.chains)
    for (const auto& r : c.rules) {
      size_t j = r.find(" -j SWARMWALL-");
      if (j == std::string::npos && r.rfind("-j SWARMWALL-", 0) == 0) j = 0;
      if (j == std::string::npos) continue;
      std::string target = r.substr(r.find("SWARMWALL-", j));
      target = target.substr(0, target.find(' '));
      k.jumps[{c.name, target}]++;
    }
  return k;
}

// A DOCKER-USER that swarmwall made before Docker started (Docker never
// fills or reaches one in a family where it does not filter, as 20.10's
// IPv6) goes when swarmwall no longer hooks into it: remove, or a desired
// state hooked in FORWARD instead. Nothing would reach it, and an audit
// would rightly call it a user chain that is not hooked.
bool DropsDockerUser(const compile::FamilyState& fs, const FamilySnapshot& before, bool remove) {
  if (!before.docker_user_removable) return false;
  return remove || std::none_of(fs.hooks.begin(), fs.hooks.end(),
                                [](const compile::Hook& h) { return h.chain == "DOCKER-USER"; });
}

// BEFORE's kernel facts plus the rules of its owned chains, so that the
// renderer can edit a chain in place instead of flushing and refilling it.
KernelState WithOwnedRules(const FamilySnapshot& before) {
  KernelState k = before.kernel;
  for (const auto& c : before.owned.chains) k.owned_rules[c.name] = c.rules;
  return k;
}

}  // namespace

FamilySnapshot SnapshotAfter(const compile::FamilyState& fs, const FamilySnapshot& before,
                             bool remove) {
  FamilySnapshot s;
  s.owned = fs;
  s.owned.sets.clear();
  for (auto& h : s.owned.hooks) h.create_chain = false;
  s.kernel = After(fs, before.kernel);
  if (DropsDockerUser(fs, before, remove))
    std::erase(s.kernel.existing_chains, std::string("DOCKER-USER"));
  for (const auto& h : fs.hooks) s.hook_first[{h.chain, h.target}] = true;
  s.forward_jumps_to_docker_user = before.forward_jumps_to_docker_user;
  s.docker_chains = before.docker_chains;
  s.docker_user_referenced = before.docker_user_referenced;
  s.docker_user_foreign_rules = before.docker_user_foreign_rules;
  s.docker_user_removable = s.kernel.HasChain("DOCKER-USER") && !s.docker_user_referenced &&
                            !s.docker_user_foreign_rules && !s.docker_chains;
  s.foreign_rules = before.foreign_rules;
  return s;
}

bool Transaction::Restore(Family family, const std::string& text, std::string& error) {
  auto r = RunProcess({variant_.RestoreCommand(family), "--noflush", "--wait", "10"},
                      {.input = text, .timeout = std::chrono::seconds(60)});
  if (r.ok()) return true;
  error = fmt::format("{} failed ({}): {}", variant_.RestoreCommand(family),
                      r.timed_out ? "timed out" : "exit " + std::to_string(r.exit_code), r.err);
  return false;
}

bool Transaction::Ipset(const std::string& text, std::string& error) {
  if (text.empty()) return true;
  auto r = RunProcess({"ipset", "restore"}, {.input = text, .timeout = std::chrono::seconds(120)});
  if (r.ok()) return true;
  error = fmt::format("ipset restore failed ({}): {}",
                      r.timed_out ? "timed out" : "exit " + std::to_string(r.exit_code), r.err);
  return false;
}

WriteResult Transaction::Commit(const compile::DesiredState& desired,
                                      std::vector<FamilyDiff> diffs) {
  return Run(desired.ipv4, desired.ipv6, false, std::move(diffs));
}

WriteResult Transaction::Remove() {
  compile::FamilyState none4, none6;
  none4.family = Family::kIPv4;
  none6.family = Family::kIPv6;
  return Run(none4, none6, true);
}

WriteResult Transaction::Run(const compile::FamilyState& v4, const compile::FamilyState& v6,
                                   bool remove, std::vector<FamilyDiff> diffs) {
  WriteResult result;
  const compile::FamilyState* want[2] = {&v4, &v6};
  const FamilySnapshot* now[2] = {&before_.ipv4, &before_.ipv6};
  if (diffs.size() == 2) result.diffs = std::move(diffs);
  else
    for (int f = 0; f < 2; ++f) result.diffs.push_back(Compare(*want[f], *now[f]));
  bool any = false;
  for (const auto& d : result.diffs) any |= !d.empty();
  // Leftover twins go too, even when nothing else differs.
  any |= !now[0]->twins.empty() || !now[1]->twins.empty();
  if (!any) {
    result.ok = true;
    return result;
  }
  std::string error;
  // 1. Sets that change, both families (rules of either may need them), one
  // `ipset restore` each: the new entries fill a twin that is swapped in.
  // The twin then holds the previous set, untouched, until the rules are
  // in: a rollback swaps that very set back (its type, size and entries),
  // never a refill (a refill after "Hash is full" kept the failed twin's
  // grown hash). Twins a killed committer left go first: one of another
  // type would make the restore fail.
  std::string leftovers;
  for (int f = 0; f < 2; ++f)
    for (const auto& twin : now[f]->twins) leftovers += "destroy " + twin + "\n";
  struct Swapped {
    std::string name, twin;
    bool existed;   // before this commit
  };
  std::vector<Swapped> swapped;
  auto undo_sets = [&] {
    std::string text;
    for (auto it = swapped.rbegin(); it != swapped.rend(); ++it) {
      text += "swap " + it->twin + " " + it->name + "\ndestroy " + it->twin + "\n";
      if (!it->existed) text += "destroy " + it->name + "\n";
    }
    std::string ignored;
    Ipset(text, ignored);
    swapped.clear();
  };
  for (int f = 0; f < 2 && error.empty(); ++f)
    for (const auto& name : result.diffs[f].changed_sets) {
      const compile::IpSet* set = nullptr;
      for (const auto& s : want[f]->sets)
        if (s.name == name) set = &s;
      if (!set) continue;
      bool existed = std::any_of(now[f]->owned.sets.begin(), now[f]->owned.sets.end(),
                                 [&](const compile::IpSet& s) { return s.name == name; });
      std::string twin = TemporarySetName(name);
      std::string text = RenderSetRestore(*set);
      // The renderer's text ends by destroying the twin: here it is kept.
      if (std::string last = "destroy " + twin + "\n"; text.ends_with(last)) text.resize(text.size() - last.size());
      if (!leftovers.empty()) text = std::exchange(leftovers, "") + text;
      // Tests make the real tool fail before the swap to prove that nothing
      // is written.
      if (getenv("SWARMWALL_TEST_BREAK_IPSET"))
        text.insert(text.rfind("swap "), "add " + twin + " not-an-address\n");
      if (!Ipset(text, error)) {
        // This set's restore stopped half way: its twin (and the set, if
        // it is new) go; the sets swapped before it come back.
        for (const std::string& gone : {twin, existed ? std::string() : name})
          if (!gone.empty()) RunProcess({"ipset", "destroy", gone}, {.timeout = std::chrono::seconds(30)});
        undo_sets();
        result.error = error + " (sets put back as they were; rules untouched)";
        return result;
      }
      swapped.push_back({name, twin, existed});
      result.changed = true;
      result.steps.push_back("ipset restore: " + std::to_string(text.size()) + " bytes");
    }
  if (!swapped.empty()) TestDelay();
  // 2. Rules, one atomic restore per family.
  bool committed[2] = {false, false};
  for (int f = 0; f < 2 && error.empty(); ++f) {
    if (!result.diffs[f].rules) continue;
    Family family = f == 0 ? Family::kIPv4 : Family::kIPv6;
    auto render = [&](const KernelState& kernel) {
      std::string text = RenderRestore(*want[f], kernel);
      // A DOCKER-USER swarmwall made before Docker, that nothing reaches
      // now (DropsDockerUser), goes too.
      if (DropsDockerUser(*want[f], *now[f], remove))
        text.insert(text.rfind("COMMIT"), "-X DOCKER-USER\n");
      // Tests make the real tool fail here to prove the rollback.
      if (const char* fail = getenv("SWARMWALL_TEST_BREAK_RESTORE");
          fail && std::string(fail) == (f == 0 ? "ipv4" : "ipv6"))
        text.insert(text.rfind("COMMIT"), "-A SWARMWALL-INPUT --no-such-option\n");
      return text;
    };
    // Small edits of owned chains in place; should the tool refuse them (a
    // rule spec it cannot match), the whole family is refilled instead:
    // a failed restore commits nothing.
    std::string text = render(WithOwnedRules(*now[f]));
    if (getenv("SWARMWALL_INCREMENTAL") && std::string(getenv("SWARMWALL_INCREMENTAL")) == "0")
      text = render(now[f]->kernel);
    bool ok = Restore(family, text, error);
    if (!ok) {
      std::string full = render(now[f]->kernel);
      if (full != text) {
        result.steps.push_back("in-place edit refused (" + error + "); refilling");
        error.clear();
        text = std::move(full);
        ok = Restore(family, text, error);
      }
    }
    if (ok) {
      committed[f] = true;
      ++result.kernel_commits;
      result.changed = true;
      result.steps.push_back(fmt::format("{} --noflush: {} bytes", variant_.RestoreCommand(family), text.size()));
      TestDelay();
    }
  }
  if (!error.empty()) {
    // Put back what was committed: the previous owned state, rendered on
    // top of what the kernel holds now.
    for (int f = 0; f < 2; ++f) {
      if (!committed[f]) continue;
      Family family = f == 0 ? Family::kIPv4 : Family::kIPv6;
      std::string undo_error;
      std::string text = RenderRestore(now[f]->owned, After(*want[f], now[f]->kernel));
      if (!Restore(family, text, undo_error)) {
        error += "; ROLLBACK of " + variant_.RestoreCommand(family) + " ALSO FAILED: " + undo_error;
        result.rollback_failed = true;
      } else {
        ++result.kernel_commits;
      }
    }
    undo_sets();
    result.error = error + " (previous owned state restored)";
    result.changed = false;
    return result;
  }
  // 3. The twins (now holding the previous sets), leftovers not destroyed
  // yet, and sets nobody references any more.
  std::string destroy = leftovers;
  for (const auto& s : swapped) destroy += "destroy " + s.twin + "\n";
  for (const auto& d : result.diffs)
    for (const auto& name : d.stale_sets) destroy += "destroy " + name + "\n";
  if (!destroy.empty()) {
    if (!Ipset(destroy, error)) {
      // Rules are right; a leftover set is harmless. Say so, do not fail.
      result.steps.push_back("warning: " + error);
      error.clear();
    } else {
      result.steps.push_back("ipset destroy: " + destroy);
      result.changed = true;
    }
  }
  result.ok = true;
  return result;
}

}  // namespace swarmwall::backend
