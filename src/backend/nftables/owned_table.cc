#include "backend/nftables/owned_table.h"

namespace swarmwall::backend::nft {

std::string_view NftFamilyOf(netfilter::Family family) {
  return family == netfilter::Family::kIPv4 ? "ip" : "ip6";
}

std::string_view AddressType(netfilter::Family family) {
  return family == netfilter::Family::kIPv4 ? "ipv4_addr" : "ipv6_addr";
}

}  // namespace swarmwall::backend::nft
