// Address sets as sorted, disjoint, non-adjacent inclusive intervals: the
// form an nftables interval set holds (and lists back as addresses,
// prefixes and ranges), built from CIDRs that may overlap or touch, and
// turned back into the fewest CIDRs covering the same addresses.
#pragma once

#include <optional>
#include <span>
#include <vector>

#include "netfilter/address.h"

namespace swarmwall::netfilter {

struct AddressInterval {
  IpAddress first, last;   // inclusive, one family, first <= last
  bool operator==(const AddressInterval&) const = default;
};

// CIDR's addresses; nullopt for a non-contiguous mask.
std::optional<AddressInterval> IntervalOf(const Cidr& cidr);

// INTERVALS (any order, overlapping or adjacent, one family) sorted and
// merged: disjoint, and no two adjacent.
std::vector<AddressInterval> MergeIntervals(std::vector<AddressInterval> intervals);

// The merged intervals of CIDRS; nullopt when one has a non-contiguous mask.
std::optional<std::vector<AddressInterval>> IntervalsOf(std::span<const Cidr> cidrs);

// The one prefix that is exactly INTERVAL, if there is one.
std::optional<Cidr> AsPrefix(const AddressInterval& interval);

// The fewest prefixes covering exactly INTERVAL, in address order.
std::vector<Cidr> CidrsOf(const AddressInterval& interval);
// The same for each of INTERVALS, one list in order.
std::vector<Cidr> CidrsOf(std::span<const AddressInterval> intervals);

}  // namespace swarmwall::netfilter
