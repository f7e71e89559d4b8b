// Desired vs actual owned state of one family: which owned chains, hooks and
// sets differ, and a readable account of it for `swarmwall plan`.
#pragma once

#include <string>
#include <vector>

#include "backend/family_diff.h"
#include "backend/iptables/kernel_state.h"
#include "compile/desired_state.h"

namespace swarmwall::backend {


FamilyDiff Compare(const compile::FamilyState& desired, const FamilySnapshot& now);

// The same state in a canonical order (chains, hooks and sets by name,
// entries sorted), so that two states compare and digest equal when they
// mean the same.
compile::FamilyState Normalized(const compile::FamilyState& state);

}  // namespace swarmwall::backend
