// The remove workflow (`swarmwall remove`), and the two ends of a
// commit-confirmed apply: `swarmwall confirm` and the detached timer that
// puts the previous state back when nobody confirmed in time.
#pragma once

#include <string>

#include "apply/workflow_steps.h"
#include "backend/firewall.h"

namespace swarmwall::apply {

struct RemoveOutcome {
  bool ok = false;
  bool changed = false;            // something of swarmwall's was there
  bool confirmed_pending = false;  // it confirmed a waiting apply --confirm
};

// Every rule, chain, hook and set swarmwall owns away, and nothing else.
RemoveOutcome Remove(const std::string& state_dir, backend::Firewall& firewall, const Notes& note);

// The same through both firewalls (iptables and nftables): whatever of
// swarmwall's either holds. OK when both succeeded; CHANGED when either
// removed something.
RemoveOutcome RemoveEverywhere(const std::string& state_dir, const Notes& note);

// `swarmwall confirm`: keeps what the last apply --confirm did. False (and
// noted) when none waits.
bool Confirm(const std::string& state_dir, backend::Firewall& firewall, const Notes& note);

// The timer's work once its time is up: unless TOKEN's apply was confirmed,
// the state before it comes back. Returns the line for the timer's log.
struct RollbackOutcome {
  bool ok = true;
  std::string line;   // "not confirmed: previous state put back", ...
};
RollbackOutcome RollBackUnconfirmed(const std::string& state_dir, const std::string& token,
                                    backend::Firewall& firewall, const Notes& note);

}  // namespace swarmwall::apply
