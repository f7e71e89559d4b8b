// Desired vs actual owned state of one family: which owned chains, hooks and
// sets differ, and a readable account of it for `swarmwall plan`.
#pragma once

#include <string>
#include <vector>

#include "apply/kernel_state.h"
#include "compile/desired_state.h"

namespace swarmwall::apply {

struct FamilyDiff {
  netfilter::Family family = netfilter::Family::kIPv4;
  bool rules = false;                     // owned chains or hooks must be rewritten
  std::vector<std::string> changed_sets;  // to fill (missing or other entries)
  std::vector<std::string> stale_sets;    // owned sets no longer wanted
  std::vector<std::string> lines;         // "+ -A SWARMWALL-INPUT ...", "~ hook ..."
  bool empty() const { return !rules && changed_sets.empty() && stale_sets.empty(); }
};

FamilyDiff Compare(const compile::FamilyState& desired, const FamilySnapshot& now);

// The same state in a canonical order (chains, hooks and sets by name,
// entries sorted), so that two states compare and digest equal when they
// mean the same.
compile::FamilyState Normalized(const compile::FamilyState& state);

}  // namespace swarmwall::apply
