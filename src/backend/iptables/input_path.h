// Whether a commit can change who reaches this host at all: the lockout
// guard (apply/lockout.h) has something to judge only then. A changed
// container port leaves the host's own input path alone.
#pragma once

#include "backend/family_diff.h"
#include "backend/iptables/kernel_state.h"
#include "compile/desired_state.h"

namespace swarmwall::backend {

// Judged before the owned sets are known: SWARMWALL-INPUT's rules or the
// INPUT hook (missing, doubled, not first) differ between NOW and DESIRED.
bool InputChainChanges(const compile::FamilyState& desired, const FamilySnapshot& now);
// ... or a set named in DESIRED's SWARMWALL-INPUT changes (DIFF: Compare's).
bool InputSetsChange(const compile::FamilyState& desired, const FamilyDiff& diff);

}  // namespace swarmwall::backend
