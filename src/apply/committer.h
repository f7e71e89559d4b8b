// Runs a commit in a detached child: its own session (setsid), so that
// kill -9 of the command, or of its whole process group, cannot stop the
// commit sequence (ipset swap, then iptables-restore per family) half way.
// The command waits for the child and reports its result; when the command
// dies the child finishes alone, records the outcome and releases the host
// lock by exiting. Forked, not exec'd: the child keeps the prepared state
// and the host lock's open file.
#pragma once

#include <functional>
#include <string>

#include "backend/firewall.h"

namespace swarmwall::apply {

// Runs WORK in the detached child and returns what it returned. The child's
// stdout and stderr go to LOG (appended). If the child dies without an
// answer, the result says so (not ok). Runs WORK inline if fork fails.
backend::WriteResult RunDetached(const std::function<backend::WriteResult()>& work,
                              const std::string& log);

}  // namespace swarmwall::apply
