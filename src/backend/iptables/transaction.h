// One apply: the owned state of every family goes from what the kernel holds
// to the desired state, or stays exactly what it was. Sets are filled into
// twins and swapped in; rules go in one iptables-restore --noflush --wait
// per family (atomic per call). When a later step fails, the earlier ones
// are put back from the snapshot taken before anything was written.
// Owned chains that differ from the kernel's by a small edit are edited in
// place (RenderRestore, -D / -I in that same single restore);
// SWARMWALL_INCREMENTAL=0 always flushes and refills them (benchmarks). The
// rollback always refills.
#pragma once

#include <string>
#include <vector>

#include "backend/firewall.h"
#include "backend/iptables/diff.h"
#include "backend/iptables/kernel_state.h"
#include "host/xtables.h"
#include "compile/desired_state.h"

namespace swarmwall::backend {


// The snapshot of the kernel right after FS was committed on top of BEFORE
// (REMOVE: by Transaction::Remove), sets left empty. Exact when nothing
// else changed the ruleset meanwhile (see HostSession: the generation tells).
FamilySnapshot SnapshotAfter(const compile::FamilyState& fs, const FamilySnapshot& before,
                             bool remove);

class Transaction {
 public:
  Transaction(IptablesVariant variant, Before before)
      : variant_(std::move(variant)), before_(std::move(before)) {}

  // Brings the owned state to DESIRED. Writes nothing when nothing differs.
  // DIFFS: Compare of DESIRED with BEFORE per family, when the caller has
  // them already (100,000 set entries make each Compare ~2 ms).
  WriteResult Commit(const compile::DesiredState& desired, std::vector<FamilyDiff> diffs = {});

  // Removes every owned rule, chain, hook and set (and nothing else).
  WriteResult Remove();

 private:
  WriteResult Run(const compile::FamilyState& v4, const compile::FamilyState& v6,
                        bool remove, std::vector<FamilyDiff> diffs = {});
  bool Restore(netfilter::Family family, const std::string& text, std::string& error);
  bool Ipset(const std::string& text, std::string& error);

  IptablesVariant variant_;
  Before before_;
};

}  // namespace swarmwall::backend
