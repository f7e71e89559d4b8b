// swarmwall's nftables table back in the compiler's shape, so the firewall
// can journal what the kernel holds and roll back to it: each rule as the
// iptables rule spec TableOf translated it from, each jump of a base chain
// as a hook (input: INPUT, forward: FORWARD), each set's intervals as the
// fewest CIDRs. FamilyStateOf(TableOf(x)) equals x except where nftables
// keeps less than iptables (docs/nftables.md): DOCKER-USER hooks come back
// as FORWARD ones (one per target), set entries as the same addresses in
// the fewest CIDRs, comments as NftComment keeps them, and a multiport
// match of one port as -m tcp/udp --dport, and a set's policy name as its
// name without prefix and family suffix (not the policy's when SetName
// shortened a long one with a digest). A rule it cannot translate back
// (a hand edit) becomes a spec no compiled rule equals:
// "# unknown nftables rule: JSON".
#pragma once

#include <string_view>

#include "backend/nftables/owned_table.h"
#include "compile/desired_state.h"

namespace swarmwall::backend::nft {

inline constexpr std::string_view kUnknownRule = "# unknown nftables rule: ";

compile::FamilyState FamilyStateOf(const OwnedTable& table);

// One rule's spec (or kUnknownRule and its JSON).
std::string SpecOf(const Rule& rule, netfilter::Family family);

}  // namespace swarmwall::backend::nft
