// Renders a DesiredState as the files the distributions' boot-time
// restorers read, holding ONLY swarmwall's chains and sets, never Docker's
// (saving Docker's dynamic rules and restoring them later breaks hosts:
// seed 001): netfilter-persistent (Debian) and iptables-services (RHEL).
#pragma once

#include <map>
#include <string>

#include "compile/desired_state.h"

namespace swarmwall::backend {

// File name (relative, e.g. "etc/iptables/rules.v4") -> content.
using FileSet = std::map<std::string, std::string>;

FileSet RenderPersistent(const compile::DesiredState& state);

}  // namespace swarmwall::backend
