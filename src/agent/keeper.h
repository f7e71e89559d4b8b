// The agent's hold on the firewall: every check and repair is apply's own
// workflow (apply::Apply with the policy the agent keeps, reading without
// the lock first), so the agent and `swarmwall apply` decide alike: one
// lockout rule, one record (with the inputs' fingerprint, so the next
// `swarmwall apply` of the same policy is a fast no-op). KeepResult is
// what the agent's log and metrics need of the outcome.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "apply/control_ports.h"
#include "policy/policy.h"

namespace swarmwall::agent {

struct KeepResult {
  bool ok = false;                  // read (and, if needed, commit) succeeded
  bool in_sync = false;             // nothing differed (nothing written)
  bool changed = false;             // the commit wrote something
  std::string node, variant;
  std::vector<std::string> kinds;   // "chain-flushed", "hook-missing", ... (Firewall::DriftKinds)
  std::vector<std::string> found;   // the diff's lines, "IPv4: + hook -I INPUT 1 -j ..."
  std::vector<std::string> notes;   // recovery of an interrupted commit
  std::string error;
  double commit_seconds = 0;
  std::string how;                  // UpdateSets: "ipset" / "nft-set" (entries in place) or "rules" (a
                                    // whole transaction), "" when nothing was written
};

class Keeper {
 public:
  // BACKEND: --backend ("" : the policy's, else auto).
  Keeper(std::string state_dir, std::string node, std::string backend = "")
      : dir_(std::move(state_dir)), node_(std::move(node)), backend_(std::move(backend)) {}

  // Brings the kernel to POLICY. GUARD: refuse (not ok) when the change would
  // lock out a current SSH client (as apply without --force). RECORD_SAME:
  // record POLICY as applied even when nothing had to be written (as apply).
  KeepResult Ensure(const policy::Policy& policy, bool guard, bool record_same);

  // The same for a change of the Swarm's membership: set entries in place
  // when nothing else differs (apply::ApplySetEntries).
  KeepResult UpdateSets(const policy::Policy& policy);

  // The Swarm and Docker API ports the world reaches here, through the
  // backend POLICY picks (reads only). nullopt with ERROR when the host
  // cannot be read.
  std::optional<std::vector<apply::ExposedControlPort>> ControlPorts(const policy::Policy& policy,
                                                                     std::string& error);

 private:
  std::string dir_, node_, backend_;
};

}  // namespace swarmwall::agent
