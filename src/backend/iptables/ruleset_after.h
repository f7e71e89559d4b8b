// The kernel's ruleset as it would be after a commit, as iptables-save text:
// the live text with swarmwall's owned chains, hooks and declarations
// replaced by a desired FamilyState (what `plan --exposure` analyses before
// anything is written). Pure text work; nothing here touches the kernel.
#pragma once

#include <string>
#include <string_view>

#include "compile/desired_state.h"

namespace swarmwall::backend {

// SAVED: iptables-save text of every table of one family. Returns it with
// the filter table's owned chains and jumps to them replaced by FS's.
std::string RulesetAfter(std::string_view saved, const compile::FamilyState& fs);

}  // namespace swarmwall::backend
