// The host's rules as the kernel holds them now and as they would be after
// a commit of a desired state: the other owners' rules and tables as they
// are, swarmwall's own chains, sets and native tables replaced. What plan
// --exposure compares, and what the check for ports another owner drops
// (other_owner_drops.h) traces.
#pragma once

#include <optional>
#include <string>

#include "backend/firewall.h"
#include "compile/desired_state.h"
#include "host/network.h"
#include "netfilter/ruleset.h"

namespace swarmwall::apply {

struct RulesAfter {
  host::HostNetwork now, after;   // interfaces, routes, ipsets, nftables tables
  // Per family; nullopt: the family has no rules at all (nothing to trace).
  std::optional<netfilter::Ruleset> before4, before6, after4, after6;
};

// Puts swarmwall's part of AFTER (a host's network as read) as DESIRED makes
// it: NATIVE_TABLES (Firewall::NativeTablesAfter, an nft JSON listing; ""
// for a backend without native tables) in place of the host's swarmwall
// tables, and swarmwall's ipsets as DESIRED's sets where the backend keeps
// them as ipsets (none where they live in the native tables).
bool PutOwnedInPlace(host::HostNetwork& after, const std::string& native_tables,
                     const compile::DesiredState& desired, std::string& error);

// Reads the live host through FIREWALL (VIEW is its read) and puts DESIRED
// in place of swarmwall's part.
std::optional<RulesAfter> ReadRulesAfter(const backend::Firewall& firewall, const backend::FirewallView& view,
                                         const compile::DesiredState& desired, std::string& error);

}  // namespace swarmwall::apply
