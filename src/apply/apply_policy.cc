#include "apply/apply_policy.h"

#include <chrono>
#include <cstdlib>
#include <future>
#include <thread>

#include <fmt/format.h>

#include "apply/compile_inputs.h"
#include "apply/confirm.h"
#include "base/timings.h"

namespace swarmwall::apply {
namespace {

using Clock = std::chrono::steady_clock;

struct Run {
  const ApplyRequest& rq;
  backend::Firewall& fw;
  ApplyOutcome out;
  std::string who;   // "swarmwall apply: "

  ApplyOutcome Fail(const std::string& line) {
    rq.note(line);
    out.ok = false;
    if (out.error.empty()) out.error = line;
    return out;
  }
};

// Fills OUT's identity from P.
void Describe(ApplyOutcome& out, const Prepared& p) {
  out.node = p.desired.node;
  out.variant = p.view.variant;
  out.variant_reason = p.view.variant_reason;
}

// The lockout guard's verdict: the SSH clients DESIRED would lock out
// (empty: nothing to guard, or nobody). Judged only when the commit can
// change who reaches the host (Firewall::ChangesInputPath); CLIENTS: found
// already, on a thread beside the diff.
std::vector<std::string> Guard(const Prepared& p, backend::Firewall& fw, const std::vector<FamilyDiff>& diffs,
                               bool drain, std::future<std::vector<SshClient>>& clients,
                               const std::function<std::vector<SshClient>()>& find) {
  bool pending = !Empty(diffs);
  if (!(pending || drain) || !(drain || fw.ChangesInputPath(p.desired, p.view, diffs))) return {};
  return LockedOut(p.desired, clients.valid() ? clients.get() : find());
}

// The commit-confirmed rollback, armed before anything is written: killing
// this process at any moment still brings the previous state back.
bool ArmConfirm(Run& r, const Prepared& p) {
  compile::DesiredState previous = r.fw.Owned(p.view);
  previous.node = p.desired.node;
  if (auto earlier = LoadPending(r.rq.state_dir)) {
    previous = std::move(earlier->previous);
    r.rq.note(r.who + "an earlier apply is still waiting for `swarmwall confirm`: this "
                      "one takes its wait over (unconfirmed, the state before both comes back)");
  }
  std::string error;
  auto saved = SavePending(r.rq.state_dir, previous, error);
  if (!saved || !ArmTimer(r.rq.self_binary, r.rq.state_dir, *saved, r.rq.confirm_seconds, error)) {
    r.Fail(r.who + "cannot arm the confirm timer: " + error);
    return false;
  }
  r.out.confirm_armed = true;
  return true;
}

// After a drained apply: the kernel, read again in full, holds DESIRED.
std::vector<std::string> CheckAfterDrain(backend::Firewall& fw, const compile::DesiredState& desired) {
  std::string error;
  auto now = fw.Read(false, true, error);
  if (!now) return {"cannot read the kernel: " + error};
  std::vector<std::string> left;
  for (const auto& d : fw.Compare(desired, *now))
    for (const auto& l : d.lines) left.push_back(l);
  return left;
}

}  // namespace

bool ConfirmPending(const std::string& state_dir) { return ClearPending(state_dir); }

ApplyOutcome Apply(const ApplyRequest& rq, backend::Firewall& fw) {
  Run r{rq, fw, {}, "swarmwall " + rq.operation + ": "};
  const auto& a = rq;
  std::optional<HostSession> session;
  std::optional<FirewallView> view;

  // The agent: read without the lock first; usually the kernel is right.
  if (a.check_unlocked_first && a.policy) {
    std::string error;
    auto p = PrepareUnlocked(fw, *a.policy, a.node, error);
    if (!p) return r.Fail(error);
    Describe(r.out, *p);
    if (Empty(fw.Compare(p->desired, p->view))) {
      r.out.ok = r.out.in_sync = true;
      if (a.record_same) KeepRecord(a.state_dir, MakeRecord(*p, *a.policy, a.node), error);
      return r.out;
    }
  }

  // Where swarmwall applied before, the host lock first and the kernel read
  // at once: the owned sets on a thread beside everything up to the compile
  // (~30 ms for 100,000 entries, mostly the kernel's own dump: the longest
  // step of a small change), the rules (cached by the nf_tables generation)
  // here. Elsewhere the policy's errors come first, before any lock.
  std::future<std::function<void(FirewallView&)>> owned_sets;
  auto join_sets = [&](FirewallView* into) {
    if (!owned_sets.valid()) return;
    auto put = owned_sets.get();
    if (into) put(*into);
    TimingMark("read-sets");
  };
  auto applied = StateStore(a.state_dir).Load();
  if (!a.policy && applied && !applied->inputs.empty()) {
    session = OpenSession(fw, a.state_dir, a.operation, a.lock_wait, a.note, &r.out.recovered);
    if (!session) return r.Fail(r.who + "cannot take the host lock");
    session->set_detached(a.detached_commit);
    TimingMark("open-session");
    // The kernel not changed since swarmwall vouched for its rules (after
    // its last commit, or a read that matched the record), the same
    // inputs: nothing to read or load at all.
    if (a.fast_noop && !a.dry_run && !a.drain && a.confirm_seconds == 0) {
      if (auto vouched = fw.VouchedDigest(); vouched && *vouched == applied->digest) {
        FirewallView bare = fw.BareView();
        if (InputsUnchanged(fw, bare, *applied, a.policy_file, a.node)) {
          TimingMark("vouched");
          r.out.confirmed_pending = ConfirmPending(a.state_dir);
          r.out.ok = r.out.fast_noop = r.out.in_sync = true;
          r.out.node = applied->node;
          r.out.variant = bare.variant;
          r.out.variant_reason = bare.variant_reason;
          r.out.result.ok = true;
          return r.out;
        }
      }
    }
    owned_sets = std::async(std::launch::async, [&fw] { return fw.ReadSets(); });
    std::string error;
    view = session->Read(error, false);
    TimingMark("read-rules");
    // An unchanged policy on an unchanged host: the kernel is compared with
    // the recorded digest, and the policy is not even loaded
    // (compile_inputs.h). Plain applies only.
    if (view && a.fast_noop && !a.dry_run && !a.drain && a.confirm_seconds == 0 &&
        InputsUnchanged(fw, *view, *applied, a.policy_file, a.node)) {
      join_sets(&*view);
      if (KernelMatchesRecord(fw, *view, *applied)) {
        if (view->generation) fw.Vouch(*view->generation, applied->digest);
        r.out.confirmed_pending = ConfirmPending(a.state_dir);
        r.out.ok = r.out.fast_noop = r.out.in_sync = true;
        r.out.node = applied->node;
        r.out.variant = view->variant;
        r.out.variant_reason = view->variant_reason;
        r.out.result.ok = true;
        return r.out;
      }
    }
  }
  std::optional<policy::Policy> loaded;
  if (!a.policy) {
    loaded = LoadPolicy(a.policy_file, a.state_dir, a.manager, a.note);
    TimingMark("load-policy");
    if (!loaded) {
      join_sets(nullptr);
      r.out.error = "the policy does not load";
      return r.out;
    }
  }
  const policy::Policy& policy = a.policy ? *a.policy : *loaded;
  if (!session) {
    session = OpenSession(fw, a.state_dir, a.operation, a.lock_wait, a.note, &r.out.recovered);
    if (session) session->set_detached(a.detached_commit);
  }
  if (!session) {
    join_sets(nullptr);
    r.out.error = "cannot take the host lock";
    return r.out;
  }
  // The inputs' fingerprint for the record (the address files' bytes
  // again: ~2 ms) needs only the rules' facts: begun here as well.
  std::optional<compile::NodeFacts> facts;
  std::shared_future<std::optional<std::string>> inputs;
  if (view) {
    facts = FactsFor(fw, *view);
    if (!a.dry_run && !policy.auto_nodes && !policy.HasWorkloadRules())
      inputs = std::async(std::launch::async, InputsFingerprint, PolicyFiles(policy), a.node, *facts).share();
  }
  // --drain: everything it needs is read before anything changes.
  std::optional<DrainTarget> drain;
  if (a.drain && !a.dry_run) {
    std::string error;
    drain = PrepareDrain(a.manager, error);
    if (!drain) {
      join_sets(nullptr);
      return r.Fail("swarmwall apply --drain: " + error + " (nothing was changed)");
    }
  }
  // The desired state needs the policy and the rules' facts, not the owned
  // sets: compiled (and its record begun) while they are read.
  auto p = Prepare(*session, policy, a.node, a.note, std::move(view), std::move(facts));
  TimingMark("compile");
  if (!p) {
    join_sets(nullptr);
    r.out.error = "cannot compile the policy for this host";
    return r.out;
  }
  Describe(r.out, *p);
  // The record's fingerprints (100,000 set entries, the address files'
  // bytes: ~4 ms) on a thread beside the diff and the lockout guard.
  std::future<AppliedRecord> record;
  if (!a.dry_run)
    record = std::async(std::launch::async, [&p, &policy, &a, inputs] { return MakeRecord(*p, policy, a.node, inputs); });
  // The lockout guard's SSH clients (~10 ms with tracked connections:
  // ctnetlink walks the whole conntrack table), only when this commit can
  // change who reaches the host, found beside the sets' read.
  std::future<std::vector<SshClient>> ssh_clients;
  auto find_clients = a.ssh_clients ? a.ssh_clients : std::function<std::vector<SshClient>()>(FindSshClients);
  if (!a.dry_run && a.lockout_guard && (drain || fw.ChangesInputPath(p->desired, p->view, {})))
    ssh_clients = std::async(std::launch::async, find_clients);
  join_sets(&p->view);
  auto diffs = fw.Compare(p->desired, p->view);
  if (a.dry_run) {
    r.out.ok = true;
    r.out.in_sync = Empty(diffs);
    r.out.result.ok = true;
    r.out.result.diffs = std::move(diffs);
    return r.out;
  }
  r.out.in_sync = Empty(diffs);
  r.out.drift_kinds = fw.DriftKinds(diffs, p->view);
  // The lockout guard: nobody connected over SSH loses the way back in.
  if (a.lockout_guard) r.out.locked_out = Guard(*p, fw, diffs, drain.has_value(), ssh_clients, find_clients);
  if (!r.out.locked_out.empty() && !a.force) {
    for (const auto& l : r.out.locked_out)
      a.note(r.who + "refusing: " + l + " under " + policy.file);
    r.out.error = "refusing: " + r.out.locked_out.front() + " (allow it in the policy, or run with --force)";
    r.out.result.diffs = diffs;
    a.note(r.who + "allow it in the policy, or pass --force (nothing was changed)");
    record.wait();
    return r.out;
  }
  TimingMark("lockout-guard");
  for (const auto& l : r.out.locked_out) a.note(r.who + "warning (--force): " + l);
  if (drain) {
    std::string error;
    a.note(fmt::format("swarmwall apply: draining node {} ({}), waiting up to {} s for its tasks to leave",
                       drain->hostname, drain->node_id, a.drain_timeout.count()));
    if (!DrainNode(*drain, a.drain_timeout, error)) {
      record.wait();
      return r.Fail("swarmwall apply --drain: " + error + "; the firewall was not changed; node " +
                    drain->hostname + " (" + drain->node_id +
                    ") is LEFT DRAINED: set it back with `docker node update --availability " +
                    drain->availability + " " + drain->node_id + "`");
    }
    // Docker's rules changed as the tasks left: read and compile again.
    record.wait();   // it reads *p
    p = Prepare(*session, policy, a.node, a.note);
    if (!p) return r.Fail("swarmwall apply --drain: node " + drain->hostname + " is LEFT DRAINED");
    record = std::async(std::launch::async, [&p, &policy, &a] { return MakeRecord(*p, policy, a.node); });
    diffs = fw.Compare(p->desired, p->view);
  }
  if (a.confirm_seconds > 0 && !ArmConfirm(r, *p)) {
    record.wait();
    return r.out;
  }
  AppliedRecord made = record.get();
  TimingMark("record");
  // What another owner's rules would still drop, read beside the commit
  // (the live host's listing costs about what the commit does), or after it
  // where the commit swaps ipsets that the read's `ipset save` would hold
  // busy (seen: "Device or resource busy" in the faults suite); used only
  // when the commit changed something.
  auto check_other_owners = [&fw, &policy, &p, &a] {
    std::string error;
    auto drops = OtherOwnerDropsAfter(policy, fw, p->view, p->desired, error);
    if (!drops) a.note("swarmwall apply: ports another owner drops not checked: " + error);
    return drops;
  };
  bool check = a.check_other_owners && !Empty(diffs);
  std::future<std::optional<std::vector<OtherOwnerDrop>>> other_owners;
  if (check && !fw.CommitsIpsets()) other_owners = std::async(std::launch::async, check_other_owners);
  auto start = Clock::now();
  r.out.result = session->Commit(p->view, p->desired, made, a.operation, std::move(diffs));
  r.out.commit_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  TimingMark("commit");
  if (check) {
    auto drops = other_owners.valid() ? other_owners.get()
                 : r.out.result.ok ? check_other_owners()
                                   : std::nullopt;
    if (r.out.result.ok && r.out.result.changed) r.out.other_owner_drops = std::move(drops);
    TimingMark("other-owners");
  }
  if (const char* hang = getenv("SWARMWALL_TEST_HANG_AFTER_COMMIT"))
    std::this_thread::sleep_for(std::chrono::seconds(std::atoi(hang)));
  if (!r.out.result.ok) {
    r.Fail(r.who + r.out.result.error);
    if (drain)
      a.note("swarmwall apply --drain: node " + drain->hostname + " (" + drain->node_id + ") is LEFT DRAINED");
    return r.out;
  }
  if (a.confirm_seconds == 0) r.out.confirmed_pending = ConfirmPending(a.state_dir);
  // What the kernel holds now is the record's: vouched for at the generation
  // the commit left (or the read saw, when nothing was written).
  if (r.out.result.changed ? r.out.result.generation_after.has_value() : p->view.generation.has_value())
    fw.Vouch(r.out.result.changed ? *r.out.result.generation_after : *p->view.generation, made.digest);
  // Nothing written: the record is still the policy's (a new policy that
  // compiles to the same state, or the same one after a --node).
  if (!r.out.result.changed && a.record_same) {
    std::string error;
    if (!KeepRecord(a.state_dir, made, error)) a.note(r.who + "warning: " + error);
  }
  if (drain) {
    auto left = CheckAfterDrain(fw, p->desired);
    if (!left.empty()) {
      std::string lines;
      for (const auto& l : left) lines += "\n  " + l;
      return r.Fail("swarmwall apply --drain: the check after apply failed; node " + drain->hostname + " (" +
                    drain->node_id + ") is LEFT DRAINED:" + lines);
    }
    std::string error;
    if (!RestoreAvailability(*drain, error))
      return r.Fail("swarmwall apply --drain: applied and checked, but setting node " + drain->hostname +
                    " back to " + drain->availability + " failed: " + error + "; it is LEFT DRAINED");
    r.out.drain = drain;
  }
  r.out.ok = true;
  return r.out;
}

ApplyOutcome ApplySetEntries(const ApplyRequest& rq, backend::Firewall& fw, std::string& how,
                             std::vector<std::string>& entry_changes) {
  how.clear();
  auto whole = [&] {
    ApplyRequest all = rq;
    all.check_unlocked_first = false;
    all.record_same = true;
    auto out = Apply(all, fw);
    if (out.result.changed) how = "rules";
    return out;
  };
  if (!rq.policy) return whole();
  ApplyOutcome out;
  std::string error;
  auto p = PrepareUnlocked(fw, *rq.policy, rq.node, error);
  if (!p) {
    out.error = error;
    return out;
  }
  auto changes = fw.SetEntryChanges(p->desired, p->view);
  if (!changes) return whole();
  Describe(out, *p);
  if (changes->empty()) {
    out.ok = out.in_sync = true;
    KeepRecord(rq.state_dir, MakeRecord(*p, *rq.policy, rq.node), error);
    return out;
  }
  auto start = Clock::now();
  {
    auto session = OpenSession(fw, rq.state_dir, rq.operation, rq.lock_wait, rq.note, &out.recovered);
    if (!session) {
      out.error = "cannot take the host lock";
      return out;
    }
    p = Prepare(*session, *rq.policy, rq.node, rq.note);
    if (!p) {
      out.error = "cannot read and compile";
      return out;
    }
    changes = fw.SetEntryChanges(p->desired, p->view);
    if (changes && !changes->empty()) {
      if (!fw.WriteSetEntries(*changes, out.error)) return out;
      entry_changes = backend::DescribeSetEntryChanges(*changes);
      out.drift_kinds = {"set"};
      out.result.ok = out.result.changed = true;
      how = "entries";
      if (!StateStore(rq.state_dir).Save(MakeRecord(*p, *rq.policy, rq.node), error))
        rq.note(fmt::format("swarmwall {}: the applied record was not written: {}", rq.operation, error));
    }
  }
  if (!changes) return whole();   // changed under us: the whole way
  out.commit_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  out.ok = true;
  out.in_sync = !out.result.changed;
  return out;
}

}  // namespace swarmwall::apply
