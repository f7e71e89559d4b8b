// Desired against actual owned state of one family, as a firewall compares
// them: what must be rewritten, and a readable account of it for plan, the
// agent's log and health ("+ -A SWARMWALL-INPUT ...", "~ hook ...").
#pragma once

#include <string>
#include <vector>

#include "netfilter/ruleset.h"

namespace swarmwall::backend {

struct FamilyDiff {
  netfilter::Family family = netfilter::Family::kIPv4;
  bool rules = false;                     // owned chains or hooks must be rewritten
  std::vector<std::string> changed_sets;  // to fill (missing or other entries)
  std::vector<std::string> stale_sets;    // owned sets no longer wanted
  std::vector<std::string> lines;         // "+ -A SWARMWALL-INPUT ...", "~ hook ..."
  bool empty() const { return !rules && changed_sets.empty() && stale_sets.empty(); }
};

}  // namespace swarmwall::backend
