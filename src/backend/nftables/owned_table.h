// swarmwall's own nftables table of one family (`table ip swarmwall` for
// IPv4, `table ip6 swarmwall` for IPv6), as data: base chains hooked at
// priority -10 whose only rules jump to the owned chains, the owned chains
// (the compiler's names, each rule one nftables JSON statement list and a
// comment), and interval sets of addresses. The same type holds what the
// compiler wants (TableOf) and what the kernel lists (OwnedTableFromListing):
// the firewall compares the two with ==, so both are built in one normal
// form (expr.h's NormalizedExpr, merged intervals, sets by name).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "netfilter/address.h"
#include "netfilter/address_interval.h"

namespace swarmwall::backend::nft {

inline constexpr std::string_view kTableName = "swarmwall";
// Before Docker's and iptables-nft's filter chains (priority 0).
inline constexpr int kBasePriority = -10;

// "ip" or "ip6": the nftables family of a netfilter family's table.
std::string_view NftFamilyOf(netfilter::Family family);

struct BaseChain {
  std::string name;                 // "input", "forward"
  std::string hook;                 // "input", "forward"
  std::string type = "filter";
  int priority = kBasePriority;
  std::string policy = "accept";
  // The chain jumped to by each rule, in order. A rule that is not a plain
  // jump (a hand edit) is kept as "# unknown nftables rule: JSON".
  std::vector<std::string> jumps;
  bool operator==(const BaseChain&) const = default;
};

struct Rule {
  nlohmann::json expr = nlohmann::json::array();   // the statements, normal form
  std::string comment;                             // "" for none
  bool operator==(const Rule&) const = default;
};

struct Chain {
  std::string name;                 // "SWARMWALL-INPUT"
  std::vector<Rule> rules;
  bool operator==(const Chain&) const = default;
};

struct Set {
  std::string name;                 // "swarmwall-office-v4"
  std::string type;                 // "ipv4_addr" / "ipv6_addr"
  std::vector<std::string> flags = {"interval"};
  // Sorted, disjoint, non-adjacent (netfilter::MergeIntervals).
  std::vector<netfilter::AddressInterval> elements;
  bool operator==(const Set&) const = default;
};

struct OwnedTable {
  netfilter::Family family = netfilter::Family::kIPv4;
  std::vector<BaseChain> base_chains;   // input before forward
  std::vector<Chain> chains;            // in the order declared (created)
  std::vector<Set> sets;                // sorted by name
  bool operator==(const OwnedTable&) const = default;
};

// The set type of a family's addresses: "ipv4_addr" or "ipv6_addr".
std::string_view AddressType(netfilter::Family family);

}  // namespace swarmwall::backend::nft
