// Keeps this host's owned state equal to what a policy compiles to, through
// apply's own path (apply::HostSession: host lock, recovery, kernel read,
// journaled detached commit of apply::Transaction). A check reads the kernel
// without the lock (cheap: the nf_tables generation cache) and takes the
// lock only when something differs, then reads, compiles and compares again
// under it and commits only the difference. What differed is reported as
// drift kinds and the diff's lines, for the agent's log and metrics.
#pragma once

#include <string>
#include <vector>

#include "apply/diff.h"
#include "apply/kernel_state.h"
#include "policy/policy.h"

namespace swarmwall::agent {

struct KeepResult {
  bool ok = false;                  // read (and, if needed, commit) succeeded
  bool in_sync = false;             // nothing differed (nothing written)
  bool changed = false;             // the commit wrote something
  std::string node, variant;
  std::vector<std::string> kinds;   // "chain-flushed", "hook-missing", ... (DriftKinds)
  std::vector<std::string> found;   // the diff's lines, "IPv4: + hook -I INPUT 1 -j ..."
  std::vector<std::string> notes;   // recovery of an interrupted commit
  std::string error;
  double commit_seconds = 0;
  std::string how;                  // UpdateSets: "ipset" (entries in place) or "rules" (a
                                    // whole transaction), "" when nothing was written
};

// What kind of drift DIFFS (one per family, made against BEFORE) show:
// chain-missing, chain-flushed, chain-changed, hook-missing, hook-not-first,
// hook-stale, set, forward-docker-user (FORWARD no longer jumps to
// DOCKER-USER), in that order, each once.
std::vector<std::string> DriftKinds(const std::vector<apply::FamilyDiff>& diffs,
                                    const apply::Before& before);

class Keeper {
 public:
  Keeper(std::string state_dir, std::string node) : dir_(std::move(state_dir)), node_(std::move(node)) {}

  // Brings the kernel to POLICY. GUARD: refuse (not ok) when the change would
  // lock out a current SSH client (as apply without --force). RECORD_SAME:
  // record POLICY as applied even when nothing had to be written (as apply).
  KeepResult Ensure(const policy::Policy& policy, bool guard, bool record_same);

  // The same for a change of the Swarm's membership: when only the entries
  // of existing owned sets differ, they are added and deleted in place
  // (`ipset restore` of add/del lines under the host lock, no rule
  // rendered) and the applied record learns the new state; anything else
  // (the rules' shape changed: this node's role, a set that appears or
  // empties) goes through Ensure. FOUND lists the set changes.
  KeepResult UpdateSets(const policy::Policy& policy);

 private:
  std::string dir_, node_;
};

}  // namespace swarmwall::agent
