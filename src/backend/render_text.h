// What the renderers write of the policy's own strings (its path, node,
// set and interface names, comments): comment lines that stay one line,
// and the check that every name written bare into a rules file, an ipset
// file, a script or a file name is a plain word. A name that is not is
// refused (render says which) rather than quoted: iptables-save prints
// interface and set names bare, so a quoted one could never match.
#pragma once

#include <string>
#include <string_view>

#include "policy/policy.h"

namespace swarmwall::backend {

// TEXT for one comment line ("# " is the caller's): every control byte
// (newline, carriage return, ...) written as \xNN, so the comment cannot
// end early and start a command or a rule.
std::string OneLine(std::string_view text);

// A plain word: letters, digits and _ . + @ - (not first), at most 64
// bytes, and not "." or "..".
bool PlainName(std::string_view name);

// "" when every name of NODE that a renderer writes bare is plain; else
// what is not, e.g. "interface 'eth0 x' of node m1 is not a plain name".
std::string UnsafeNames(const policy::Policy& policy, const policy::Node& node);

}  // namespace swarmwall::backend
