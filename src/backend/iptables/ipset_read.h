// Swarmwall's own sets read straight from the kernel over ipset's netlink
// protocol. `ipset save` of a 100,000-entry set prints 4 MB of text that we
// then parse again (~95 ms); the same entries as binary attributes take a
// fraction of that, and every plan, apply, status and agent check reads the
// owned sets exactly (ipset has no generation counter to cache them by).
// Any failure (no ip_set module, an unexpected attribute) falls back to the
// text of `ipset save`, so the result is always exact.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/iptables/kernel_state.h"
#include "netfilter/address.h"

namespace swarmwall::backend {

struct KernelSet {
  std::string name;
  std::string type;                 // "hash:net"
  netfilter::Family family = netfilter::Family::kIPv4;
  bool family_known = false;        // inet or inet6
  std::vector<netfilter::Cidr> entries;   // sorted
};

// Every set whose name starts with PREFIX, with its entries (twins, named
// `...~`, by name only); nullopt with ERROR when the kernel cannot be asked
// or answers something unexpected.
std::optional<std::vector<KernelSet>> ReadKernelSets(std::string_view prefix, std::string& error);

// The owned sets of both families (sorted, twins left out): over netlink,
// or from `ipset save` when that fails. Touches nothing shared, so it can
// run on a thread beside the policy's load (see cli/apply.cc).
struct OwnedSets {
  std::vector<compile::IpSet> ipv4, ipv6;
  std::vector<std::string> twins_v4, twins_v6;   // see FamilySnapshot::twins
};
OwnedSets ReadOwnedSetsNow();

// The same, into V4 and V6's owned states.
void ReadOwnedSets(FamilySnapshot& v4, FamilySnapshot& v6);
void PutOwnedSets(OwnedSets sets, FamilySnapshot& v4, FamilySnapshot& v6);

}  // namespace swarmwall::backend
