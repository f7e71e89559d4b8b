// One command's hold on a host, in the order every writing command needs:
//
//   1. the host lock (HostLock), held to the end of the commit;
//   2. recovery: a commit journal left by a committer that died half way is
//      finished (the kernel already holds its new owned state) or undone
//      (anything else: the previous owned state is put back), so the owned
//      state is always the old or the new one, never a mix;
//   3. the kernel read (variant, both families' snapshots, owned sets);
//   4. the commit: journal written, then Transaction run in a detached
//      committer (RunDetached), which also records the outcome and deletes
//      the journal, so killing the command at any moment changes nothing.
//
// Reading fast. A full read runs iptables-save of the filter table per
// family, ~120 ms each on a host with 10,000 rules. The nf_tables ruleset
// generation (NftGeneration) changes on every committed nf_tables
// transaction in the namespace, so a snapshot taken while it stayed G is the
// kernel's state as long as it is still G: the snapshots are cached with G
// (STATE_DIR/kernel-cache.json, keyed by boot and namespace too) and reused
// while it holds. After a commit the cache is moved on to the snapshot the
// commit produced (SnapshotAfter) only when the generation moved by exactly
// our own iptables-restore calls, i.e. nobody else committed in between.
// Never used for the legacy variant or when legacy tables exist (no
// generation there), nor when SWARMWALL_KERNEL_CACHE=0. Owned sets (ipset
// has no generation) are always read live.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "apply/host_lock.h"
#include "apply/kernel_state.h"
#include "apply/state_store.h"
#include "apply/transaction.h"
#include "host/xtables.h"
#include "compile/desired_state.h"

namespace swarmwall::apply {

struct HostView {
  host::VariantReport variant;
  Before before;
  bool cached = false;                  // the rules part came from the cache
  std::optional<uint32_t> generation;   // nf_tables generation BEFORE is exact at
};

// Reads the kernel (through the cache when allowed and valid) without the
// lock; a writer must hold it (HostSession::Read).
// WITH_SETS false: the owned sets are not read (ReadOwnedSets fills them
// later), for a caller that may not need them.
std::optional<HostView> ReadHost(const std::string& state_dir, bool allow_cache, std::string& error,
                                 bool with_sets = true);

class HostSession {
 public:
  // Steps 1 and 2. WHAT names the command in the lock file. Messages about
  // a recovery go to NOTES.
  static std::optional<HostSession> Open(const std::string& state_dir, const std::string& what,
                                         std::chrono::milliseconds wait, std::string& error,
                                         std::vector<std::string>& notes);

  std::optional<HostView> Read(std::string& error, bool with_sets = true) const {
    return ReadHost(dir_, true, error, with_sets);
  }

  // Step 4: brings the owned state from VIEW to DESIRED; on success RECORD
  // is saved. Writes nothing (no journal, no child) when nothing differs.
  // DIFFS: Compare of DESIRED with VIEW per family, when known already.
  TransactionResult Commit(const HostView& view, const compile::DesiredState& desired,
                           const AppliedRecord& record, const std::string& operation,
                           std::vector<FamilyDiff> diffs = {});
  // Step 4 for remove: every owned rule, chain, hook and set away; the
  // applied record forgotten.
  TransactionResult Remove(const HostView& view);

  const std::string& dir() const { return dir_; }

 private:
  HostSession(std::string dir, HostLock lock) : dir_(std::move(dir)), lock_(std::move(lock)) {}
  TransactionResult Run(const HostView& view, const compile::DesiredState& desired,
                        const std::optional<AppliedRecord>& record, const std::string& operation,
                        bool remove, std::vector<FamilyDiff> diffs = {});
  bool Recover(std::string& error, std::vector<std::string>& notes);

  std::string dir_;
  HostLock lock_;
};

}  // namespace swarmwall::apply
