// Whether DOCKER-USER is hooked, judged one way for audit, doctor, status
// and explain. Docker sends forwarded packets through FORWARD's jump to
// DOCKER-USER; moby#48560 loses that jump, and a DOCKER-USER that nothing
// reaches is then a fail-open. But an unreached DOCKER-USER matters only
// when it holds rules someone expects to filter, or when Docker's forward
// path has no user hook at all: swarmwall's SWARMWALL-USER jumped to by
// FORWARD's first rule is such a hook (swarmwall puts it there where
// DOCKER-USER is not reached, e.g. Docker 20.10's IPv6).
#pragma once

#include "netfilter/ruleset.h"

namespace swarmwall::analyze {

struct DockerUserHook {
  bool exists = false;          // filter has DOCKER-USER
  bool docker_forward = false;  // Docker's own chains (DOCKER*, not DOCKER-USER): its forward path
  int jump = 0;                 // 1-based FORWARD rule jumping to DOCKER-USER (the first), 0 none
  bool swarmwall_first = false; // FORWARD's first rule jumps to SWARMWALL-USER
  // DOCKER-USER holds rules someone expects to filter: anything but an
  // unconditional RETURN, and but swarmwall's jumps when FORWARD already
  // sends every packet to SWARMWALL-USER first.
  bool filters = false;

  // The one verdict: DOCKER-USER exists, nothing reaches it, and that matters.
  bool NotHooked() const { return exists && jump == 0 && (filters || (docker_forward && !swarmwall_first)); }
};

DockerUserHook JudgeDockerUserHook(const netfilter::Ruleset& rs);

}  // namespace swarmwall::analyze
