// fffuu's interface-to-address assignment ("ipassmt"): which source
// addresses may arrive on which interface, in the format of the
// Iptables_Semantics haskell tool (`eth1.96 = [198.51.100.3/25]`,
// `eth0 = [0.0.0.0-255.255.255.255]`, `lup = all_but_those_ips [ ... ]`, an
// entry may span lines, `#` starts a comment). The exposure analysis takes
// it as spoofing protection: a packet arriving on an interface has one of
// its source addresses. Host bits of a CIDR are ignored (198.51.100.3/25 is
// 198.51.100.0/25).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "netfilter/address.h"

namespace swarmwall::analyze {

// An inclusive address range of one family.
struct AddressSpan {
  netfilter::IpAddress lo, hi;
  bool operator==(const AddressSpan&) const = default;
};

struct IpAssignment {
  struct Entry {
    std::string interface;
    std::vector<AddressSpan> spans;   // sorted, disjoint, merged; the complement
                                      // already taken for all_but_those_ips
    bool all_but = false;             // written as all_but_those_ips [...]
    std::vector<AddressSpan> written; // the ranges as written (before complement)
  };
  std::vector<Entry> entries;         // in file order
  netfilter::Family family = netfilter::Family::kIPv4;
  const Entry* Find(std::string_view interface) const;
};

// Parses TEXT; false with ERROR ("line N: ...") on text it cannot read.
bool ParseIpAssignment(std::string_view text, IpAssignment& out, std::string& error);

// fffuu's generic assignment, which it loads when given no ipassmt:
// `lo = [127.0.0.0/8]` (IPv6 `lo = [::1/128]`). An assumption, not what the
// kernel enforces: a host's connection to its own public address also
// arrives on lo, from that address.
const IpAssignment& GenericLoAssignment(netfilter::Family family);

// The CIDRs that cover SPANS exactly (fewest prefixes).
std::vector<netfilter::Cidr> SpansToCidrs(const std::vector<AddressSpan>& spans);

}  // namespace swarmwall::analyze
