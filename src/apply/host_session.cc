#include "apply/host_session.h"

#include <unistd.h>

#include <algorithm>
#include <iostream>

#include <fmt/format.h>

#include "apply/committer.h"
#include "apply/journal.h"
#include "base/timings.h"
#include "base/utc_time.h"

namespace swarmwall::apply {

std::optional<HostSession> HostSession::Open(backend::Firewall& firewall, const std::string& dir,
                                             const std::string& what, std::chrono::milliseconds wait,
                                             std::string& error, std::vector<std::string>& notes) {
  auto lock = HostLock::Acquire(dir, what, wait, error);
  if (!lock) return std::nullopt;
  HostSession session(firewall, dir, std::move(*lock));
  if (!session.Recover(error, notes)) return std::nullopt;
  return session;
}

WriteResult HostSession::Detached(const std::function<WriteResult()>& work, const std::string& log) {
  return detached_ ? RunDetached(work, log) : work();
}

bool HostSession::Recover(std::string& error, std::vector<std::string>& notes) {
  auto journal = LoadJournal(dir_, notes);
  if (!journal) return true;
  StateStore store(dir_);
  auto view = firewall_->Read(false, true, error);
  if (!view) {
    error = "an interrupted " + journal->operation + " left a journal, and " + error;
    return false;
  }
  auto owned = firewall_->Owned(*view);
  FillKeptSets(*journal, owned.ipv4, owned.ipv6);
  std::string who = fmt::format("an interrupted {} (pid {})", journal->operation, journal->writer);
  auto diffs = firewall_->Compare(journal->desired, *view);
  bool done = diffs[0].empty() && diffs[1].empty();
  if (done) {
    std::string ignored;
    if (journal->new_record) store.Save(*journal->new_record, ignored);
    else store.Forget();
    firewall_->CleanLeftovers(*view);   // the committer may have died before it cleaned them
    ClearJournal(dir_);
    notes.push_back(who + " had written its whole new state: finished it");
    return true;
  }
  auto r = Detached(
      [&] {
        // The commit cleans what a killed committer left too.
        auto result = firewall_->Write(*view, journal->previous, {}, false);
        if (result.ok) {
          std::string ignored;
          if (journal->previous_record) store.Save(*journal->previous_record, ignored);
          else store.Forget();
          firewall_->ForgetCache();
          ClearJournal(dir_);
        }
        return result;
      },
      dir_ + "/commit.log");
  if (!r.ok) {
    error = who + " left a mix of owned states, and putting the previous one back failed: " + r.error;
    return false;
  }
  notes.push_back(who + " was cut short: its previous owned state is back");
  return true;
}

WriteResult HostSession::Commit(const FirewallView& view, const compile::DesiredState& desired,
                                      const AppliedRecord& record, const std::string& operation,
                                      std::vector<FamilyDiff> diffs) {
  return Run(view, desired, record, operation, false, std::move(diffs));
}

WriteResult HostSession::Remove(const FirewallView& view) {
  compile::DesiredState none;
  none.ipv4.family = netfilter::Family::kIPv4;
  none.ipv6.family = netfilter::Family::kIPv6;
  return Run(view, none, std::nullopt, "remove", true);
}

WriteResult HostSession::Run(const FirewallView& view, const compile::DesiredState& desired,
                                   const std::optional<AppliedRecord>& record,
                                   const std::string& operation, bool remove,
                                   std::vector<FamilyDiff> diffs) {
  WriteResult nothing;
  nothing.diffs = diffs.size() == 2 ? std::move(diffs) : firewall_->Compare(desired, view);
  // What a killed committer left is cleaned by any commit, even one that
  // changes nothing else.
  if (nothing.diffs[0].empty() && nothing.diffs[1].empty() && !firewall_->HasLeftovers(view)) {
    nothing.ok = true;
    return nothing;
  }
  StateStore store(dir_);
  Journal journal;
  journal.operation = operation;
  journal.writer = getpid();
  journal.previous = firewall_->Owned(view);
  journal.previous.node = desired.node;
  journal.desired = desired;
  journal.previous_record = store.Load();
  journal.new_record = record;
  // Sets this commit leaves alone go into the journal without entries.
  const compile::FamilyState* desired_fs[2] = {&desired.ipv4, &desired.ipv6};
  compile::FamilyState* j_prev[2] = {&journal.previous.ipv4, &journal.previous.ipv6};
  compile::FamilyState* j_want[2] = {&journal.desired.ipv4, &journal.desired.ipv6};
  auto empty = std::make_shared<const std::vector<netfilter::Cidr>>();
  for (int f = 0; f < 2; ++f) {
    const auto& d = nothing.diffs[f];
    for (const auto& s : desired_fs[f]->sets) {
      bool changed = std::find(d.changed_sets.begin(), d.changed_sets.end(), s.name) != d.changed_sets.end();
      if (!changed) journal.kept_sets[f].push_back(s.name);
    }
    for (auto* fs : {j_prev[f], j_want[f]})
      for (auto& s : fs->sets)
        if (std::find(journal.kept_sets[f].begin(), journal.kept_sets[f].end(), s.name) !=
            journal.kept_sets[f].end())
          s.entries = empty;
  }
  TimingMark("diff");
  std::string error;
  if (!WriteJournal(dir_, journal, error)) {
    nothing.error = error + " (nothing was changed)";
    return nothing;
  }
  // The new record goes to disk before the kernel is touched, so success
  // is never reported for a commit whose record could not be kept (a full
  // disk once left the old record behind an "applied"). A failed commit
  // puts the previous record back; a committer that dies is finished or
  // undone from the journal, which holds both records.
  if (record && !store.Save(*record, error)) {
    ClearJournal(dir_);
    nothing.error = error + " (nothing was changed)";
    return nothing;
  }
  TimingMark("journal");
  return Detached(
      [&] {
        lock_.Describe(fmt::format("{} committer (for pid {})", operation, journal.writer));
        auto result = firewall_->Write(view, desired, nothing.diffs, remove);
        if (!result.ok && record) {
          std::string ignored;
          if (journal.previous_record) store.Save(*journal.previous_record, ignored);
          else store.Forget();
        }
        if (result.ok && !record) store.Forget();
        if (result.ok || !result.rollback_failed) ClearJournal(dir_);
        TimingMark("record-and-cache");
        if (!result.ok)
          std::cerr << UtcNow() << " " << operation << " failed: " << result.error << "\n";
        return result;
      },
      dir_ + "/commit.log");
}

}  // namespace swarmwall::apply
