// What the kernel holds now, read back into the shape the compiler
// produces: swarmwall's own chains, hooks and sets as a FamilyState (so
// desired and actual compare like with like), plus the facts about chains
// it does not own that rendering and status need.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "backend/iptables_render.h"
#include "host/xtables.h"
#include "compile/desired_state.h"
#include "compile/node_facts.h"
#include "netfilter/ruleset.h"

namespace swarmwall::backend {

// The xtables tools this backend drives (host/xtables.h).
using host::DetectVariant;
using host::IptablesVariant;
using host::SaveLive;
using host::VariantReport;

struct FamilySnapshot {
  compile::FamilyState owned;        // SWARMWALL-* chains, hooks found, swarmwall-* sets
  KernelState kernel;       // chains present, jump counts
  // For each hook found: is the jump the first rule of its chain?
  std::map<std::pair<std::string, std::string>, bool> hook_first;
  // A FORWARD rule (anywhere in the chain) jumps to DOCKER-USER: where
  // SetHookFacts hooks SWARMWALL-USER. Not the verdict "DOCKER-USER
  // hooked", which is analyze::DockerUserHook::NotHooked
  // (analyze/model/filter_owners.h, the reader this snapshot comes from).
  bool forward_jumps_to_docker_user = false;
  bool docker_chains = false;       // Docker's own chains (not DOCKER-USER alone)
  bool docker_user_referenced = false;     // a foreign rule jumps to DOCKER-USER
  bool docker_user_foreign_rules = false;  // DOCKER-USER holds a rule not ours
  bool docker_user_removable = false;  // an empty DOCKER-USER nothing jumps to,
                                       // with no other Docker chain: swarmwall's
  size_t foreign_rules = 0;          // rules in filter not owned by swarmwall
  // Twins (`swarmwall-NAME~`) a committer killed half way left behind,
  // read live with the owned sets; one of unknown family is listed under
  // IPv4. The next commit destroys them first (one of another type would
  // make its `ipset restore` fail).
  std::vector<std::string> twins;
};

// Builds a snapshot from iptables-save text of the filter table and the
// `ipset save` text (only swarmwall-* sets of FAMILY are kept).
std::optional<FamilySnapshot> SnapshotFromText(const std::string& filter_save,
                                               const std::string& ipset_save,
                                               netfilter::Family family, std::string& error);

// The owned sets of SNAP's family in `ipset save` text, sorted, into SNAP.
void SetOwnedSets(const std::string& ipset_save, FamilySnapshot& snap);
// Both families in one pass.
void SetOwnedSets(std::string_view ipset_save, FamilySnapshot& v4, FamilySnapshot& v6);

// Reads the running kernel through VARIANT.
std::optional<FamilySnapshot> ReadKernel(const IptablesVariant& variant,
                                         netfilter::Family family, std::string& error);

// The owned state of both families before a transaction.
struct Before {
  FamilySnapshot ipv4, ipv6;
};

// Both families through VARIANT (ipset read once); nullopt with ERROR set.
// WITH_SETS false: the owned sets are left for ReadOwnedSets.
std::optional<Before> ReadBefore(const IptablesVariant& variant, std::string& error,
                                 bool with_sets = true);

// Where SWARMWALL-USER is hooked, from what the kernel holds (see NodeFacts):
// DOCKER-USER when FORWARD jumps there or Docker has not started (it keeps a
// DOCKER-USER made before it); FORWARD when nothing sure jumps to DOCKER-USER
// (Docker 20.10's IPv6, the moby#48560 fail-open) and, for IPv6, before
// Docker starts (Docker 28 puts its own FORWARD jumps first).
void SetHookFacts(const FamilySnapshot& v4, const FamilySnapshot& v6, compile::NodeFacts& facts);

// `ipset save` of the running kernel ("" when ipset is missing).
std::string SaveIpsets();

}  // namespace swarmwall::backend
