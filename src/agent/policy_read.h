// How the agent reads its policy file, at start and at every reload: a
// policy that does not load or check is logged, one `policy-invalid` record
// per error with its FILE:LINE:COL, and yields nothing, so that the caller
// keeps the last good policy (and keeps repairing with it). Whatever the
// file holds (bytes that are not UTF-8, a parser that throws), this returns.
#pragma once

#include <optional>
#include <string>

#include "agent/log.h"
#include "policy/policy.h"

namespace swarmwall::agent {

struct PolicyRead {
  std::optional<policy::Policy> policy;  // set when it loaded and checked
  std::string error;                     // the first error, "" when it did
};

// TRIGGER says why it is read ("start", "SIGHUP", "file-change").
PolicyRead ReadPolicy(const std::string& file, const std::string& trigger, Log& log);

}  // namespace swarmwall::agent
