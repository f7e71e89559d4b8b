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
};

bool WriteJournal(const std::string& dir, const Journal& journal, std::string& error);
std::optional<Journal> LoadJournal(const std::string& dir);
void ClearJournal(const std::string& dir);

}  // namespace swarmwall::apply
