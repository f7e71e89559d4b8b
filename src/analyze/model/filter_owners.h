// What Docker and swarmwall have put in the filter table of one family,
// read in one place for apply, status, doctor, explain and audit: Docker's
// chains, swarmwall's chains and the jumps into them (its hooks), the rules
// of other owners, and DOCKER-USER.
//
// "DOCKER-USER hooked" has one definition: DockerUserHook::NotHooked()
// below. Two weaker facts about FORWARD are kept under other names because
// callers need them as such: ForwardJumpsToDockerUser() (a FORWARD rule,
// anywhere in the chain, jumps to DOCKER-USER: where apply hooks
// SWARMWALL-USER) and DockerUserFirstInForward() (the jump is FORWARD's
// first rule: what explain and status print).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "netfilter/ruleset.h"

namespace swarmwall::analyze {

// Whether DOCKER-USER is hooked. Docker sends forwarded packets through
// FORWARD's jump to DOCKER-USER; moby#48560 loses that jump, and a
// DOCKER-USER that nothing reaches is then a fail-open. But an unreached
// DOCKER-USER matters only when it holds rules someone expects to filter,
// or when Docker's forward path has no user hook at all: swarmwall's
// SWARMWALL-USER jumped to by FORWARD's first rule is such a hook (swarmwall
// puts it there where DOCKER-USER is not reached, e.g. Docker 20.10's IPv6).
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

// A jump from a chain swarmwall does not own into one it owns.
struct OwnedHook {
  std::string chain, target;
  bool first = false;           // the jump is its chain's first rule (its first such jump)
};

struct FilterOwners {
  bool read = false;                            // false: the ruleset has no filter table
  std::vector<std::string> chains;              // every chain of filter, in order
  std::vector<const netfilter::Chain*> owned;   // swarmwall's chains (SWARMWALL-*), into the ruleset
  std::vector<OwnedHook> hooks;                 // in the order found
  // (chain, target) -> how many rules jump from CHAIN into swarmwall's TARGET.
  std::map<std::pair<std::string, std::string>, int> owned_jumps;
  size_t foreign_rules = 0;       // rules neither in swarmwall's chains nor jumping to one
  bool docker_chains = false;     // Docker's own chains (DOCKER*, not DOCKER-USER alone)
  bool docker_user_referenced = false;     // some rule (in any chain) jumps to DOCKER-USER
  bool docker_user_foreign_rules = false;  // DOCKER-USER holds a rule not jumping to swarmwall's
  DockerUserHook docker_user;

  bool ForwardJumpsToDockerUser() const { return docker_user.jump > 0; }
  bool DockerUserFirstInForward() const { return docker_user.jump == 1; }
  // OwnedHook of CHAIN -> TARGET, or nullptr.
  const OwnedHook* FindHook(std::string_view chain, std::string_view target) const;
};

// A chain of swarmwall's (SWARMWALL-*).
bool IsSwarmwallChain(std::string_view name);

// The filter table of RS (one family). The pointers in the result point
// into RS.
FilterOwners ReadFilterOwners(const netfilter::Ruleset& rs);

// ReadFilterOwners(RS).docker_user.
DockerUserHook JudgeDockerUserHook(const netfilter::Ruleset& rs);

}  // namespace swarmwall::analyze
