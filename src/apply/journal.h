// The commit journal: written (fsync, rename) before the first write to the
// kernel and deleted when the commit is over, it holds the owned state
// before and after, and the applied records of both. A journal found by a
// later command that holds the host lock was left by a committer that died
// half way (its writer would hold the lock otherwise): HostSession then
// finishes the commit (the kernel already holds the new state) or puts the
// old state back (anything else), before doing anything of its own.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "apply/state_store.h"
#include "compile/desired_state.h"

namespace swarmwall::apply {

struct Journal {
  std::string operation;                      // "apply", "remove", "rollback"
  int writer = 0;                             // pid, for messages
  compile::DesiredState previous;             // owned state before (as read)
  compile::DesiredState desired;              // owned state wanted
  std::optional<AppliedRecord> previous_record;
  std::optional<AppliedRecord> new_record;    // none: forget (remove)
  // Sets the commit does not touch (same entries before and after), per
  // family: written without their entries (a 100,000-entry set would cost
  // the journal megabytes); recovery takes them from the kernel.
  std::vector<std::string> kept_sets[2];
};

// Fills the entries of JOURNAL's kept sets of each family from what the
// kernel holds (KERNEL_V4/V6: owned sets as read).
void FillKeptSets(Journal& journal, const compile::FamilyState& kernel_v4,
                  const compile::FamilyState& kernel_v6);

bool WriteJournal(const std::string& dir, const Journal& journal, std::string& error);
// The journal under DIR, when there is one that validates (state_file.h);
// one that does not is set aside, with a line in NOTES, and never replayed.
std::optional<Journal> LoadJournal(const std::string& dir, std::vector<std::string>& notes);
void ClearJournal(const std::string& dir);

}  // namespace swarmwall::apply
