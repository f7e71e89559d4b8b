// The apply workflow: the policy made real on this host in one transaction,
// for `swarmwall apply` and for every repair of the agent. Its steps, in
// order: the fast no-op (an unchanged policy on an unchanged host: the
// kernel compared with the recorded digest, the policy not even loaded),
// load, lock and recover, read and compile, diff, the lockout guard (only
// when the commit can change who reaches the host), drain, confirm (the
// rollback armed before anything is written), the commit under the
// journal, the record, the check after a drain.
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "apply/drain.h"
#include "apply/lockout.h"
#include "apply/other_owner_drops.h"
#include "apply/workflow_steps.h"
#include "backend/firewall.h"
#include "policy/policy.h"

namespace swarmwall::apply {

struct ApplyRequest {
  std::string state_dir;
  std::string policy_file;           // loaded here unless POLICY is given
  const policy::Policy* policy = nullptr;   // already loaded (the agent)
  std::string node;                  // --node ("" = the node with an address here)
  std::string manager;               // --manager: a manager's DOCKER_HOST
  std::string operation = "apply";   // in the lock file and the journal ("agent")
  bool dry_run = false;              // diff only
  bool force = false;                // apply even if an SSH client would be locked out (warned)
  bool lockout_guard = true;         // false: not judged at all (the agent's repairs put
                                     // back what was applied; nobody reads a warning)
  bool drain = false;
  std::chrono::seconds drain_timeout{120};
  int confirm_seconds = 0;           // > 0: roll back unless confirmed in time
  std::string self_binary;           // what the confirm timer runs
  bool fast_noop = true;             // the no-op without loading the policy
  bool check_unlocked_first = false; // read without the lock first; lock only to write (agent)
  bool record_same = true;           // record the policy even when nothing was written
  std::chrono::milliseconds lock_wait{std::chrono::seconds(120)};
  bool detached_commit = true;       // false: commit in this process (unit tests)
  // After a commit that changed something: the ports the policy allows that
  // another owner's rule still drops (other_owner_drops.h), found on a
  // thread while the committer commits. The CLI's apply; not the agent.
  bool check_other_owners = false;
  Notes note = [](const std::string&) {};
  // Who is connected over SSH now (the lockout guard's question);
  // FindSshClients unless a test says otherwise.
  std::function<std::vector<SshClient>()> ssh_clients;
};

struct ApplyOutcome {
  bool ok = false;
  std::string error;                 // the failure, in one line (also noted)
  std::string node, variant, variant_reason;
  bool fast_noop = false;            // decided without loading the policy
  bool in_sync = false;              // nothing differed
  WriteResult result;                // changed, steps, diffs (dry run: the diffs)
  std::vector<std::string> drift_kinds;   // what differed (Firewall::DriftKinds)
  std::vector<std::string> locked_out;    // SSH clients the guard found (--force: warned)
  std::optional<DrainTarget> drain;  // drained, applied, checked and set back
  bool confirm_armed = false;
  bool confirmed_pending = false;    // this apply confirmed an earlier --confirm
  double commit_seconds = 0;
  std::vector<std::string> recovered;   // an interrupted commit finished or undone first
  std::optional<std::vector<OtherOwnerDrop>> other_owner_drops;   // check_other_owners
};

ApplyOutcome Apply(const ApplyRequest& request, backend::Firewall& firewall);

// The agent's membership change: when only the entries of existing owned
// sets differ they are written in place (no rule rendered) and the record
// learns the new state; anything else goes through Apply. OUTCOME.how:
// "entries" or "rules".
ApplyOutcome ApplySetEntries(const ApplyRequest& request, backend::Firewall& firewall, std::string& how,
                             std::vector<std::string>& entry_changes);

// A later apply or remove while an `apply --confirm` waits for its
// confirmation (Junos' commit confirmed) confirms it: the operator
// evidently still reaches the host and chose the next state. Returns
// whether one was waiting. Called holding the host lock, after the commit.
bool ConfirmPending(const std::string& state_dir);

}  // namespace swarmwall::apply
