// Commit-confirmed applies (like iptables-apply and routers): before an
// apply with --confirm S writes anything, the previous owned state is saved
// under the state directory and a detached timer process is armed; unless
// `swarmwall confirm` runs within S seconds the timer puts the previous
// state back through the same Transaction. Armed before the commit, so the
// rollback happens even if the apply process is killed.
#pragma once

#include <optional>
#include <string>

#include "apply/state_store.h"
#include "compile/desired_state.h"

namespace swarmwall::apply {

struct PendingConfirm {
  std::string token;          // identifies one armed timer
  compile::DesiredState previous;
};

// Saves PREVIOUS as pending under DIR with a fresh token; returns the token.
std::optional<std::string> SavePending(const std::string& dir, const compile::DesiredState& previous,
                                       std::string& error);
std::optional<PendingConfirm> LoadPending(const std::string& dir);
// Confirms: the timer will find no pending state and do nothing.
bool ClearPending(const std::string& dir);

// Starts `BINARY --state-dir DIR rollback-timer --token T --after S`
// detached from this process (its own session; survives our death).
bool ArmTimer(const std::string& binary, const std::string& dir, const std::string& token,
              int seconds, std::string& error);

}  // namespace swarmwall::apply
