// One command's hold on a host, in the order every writing command needs:
//
//   1. the host lock (HostLock), held to the end of the commit;
//   2. recovery: a commit journal left by a committer that died half way is
//      finished (the kernel already holds its new owned state) or undone
//      (anything else: the previous owned state is put back), so the owned
//      state is always the old or the new one, never a mix;
//   3. the read, through the host's Firewall (backend/firewall.h);
//   4. the commit: journal written, then Firewall::Write run in a detached
//      committer (RunDetached), which also records the outcome and deletes
//      the journal, so killing the command at any moment changes nothing.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "apply/host_lock.h"
#include "apply/state_store.h"
#include "backend/firewall.h"
#include "compile/desired_state.h"

namespace swarmwall::apply {

using backend::FamilyDiff;
using backend::FirewallView;
using backend::WriteResult;

class HostSession {
 public:
  // Steps 1 and 2. WHAT names the command in the lock file. Messages about
  // a recovery go to NOTES.
  static std::optional<HostSession> Open(backend::Firewall& firewall, const std::string& state_dir,
                                         const std::string& what, std::chrono::milliseconds wait,
                                         std::string& error, std::vector<std::string>& notes);

  std::optional<FirewallView> Read(std::string& error, bool with_sets = true) const {
    return firewall_->Read(true, with_sets, error);
  }

  // Step 4: brings the owned state from VIEW to DESIRED; on success RECORD
  // is saved. Writes nothing (no journal, no child) when nothing differs.
  // DIFFS: the firewall's Compare of DESIRED with VIEW, when known already.
  WriteResult Commit(const FirewallView& view, const compile::DesiredState& desired,
                     const AppliedRecord& record, const std::string& operation,
                     std::vector<FamilyDiff> diffs = {});
  // Step 4 for remove: every owned rule, chain, hook and set away; the
  // applied record forgotten.
  WriteResult Remove(const FirewallView& view);

  const std::string& dir() const { return dir_; }
  backend::Firewall& firewall() const { return *firewall_; }
  // False: commits run in this process, not a detached committer (unit
  // tests of the workflows, whose firewall lives in this process's memory).
  void set_detached(bool detached) { detached_ = detached; }

 private:
  HostSession(backend::Firewall& firewall, std::string dir, HostLock lock)
      : firewall_(&firewall), dir_(std::move(dir)), lock_(std::move(lock)) {}
  WriteResult Run(const FirewallView& view, const compile::DesiredState& desired,
                  const std::optional<AppliedRecord>& record, const std::string& operation,
                  bool remove, std::vector<FamilyDiff> diffs = {});
  bool Recover(std::string& error, std::vector<std::string>& notes);
  WriteResult Detached(const std::function<WriteResult()>& work, const std::string& log);

  backend::Firewall* firewall_;
  std::string dir_;
  HostLock lock_;
  bool detached_ = true;
};

}  // namespace swarmwall::apply
