// The pieces of libnftables' JSON that swarmwall's table is made of
// (matches on meta, payload and ct keys; ports, addresses, intervals), and
// the one normal form both sides of a comparison are put in: what the
// compiler wants (TableOf) and what the kernel lists back differ in
// spellings only nft chooses, so both go through NormalizedExpr.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include <nlohmann/json.hpp>

#include "netfilter/address.h"
#include "netfilter/address_interval.h"

namespace swarmwall::backend::nft {

using Json = nlohmann::json;

// *J as a number (into OUT) when J points to a non-negative integer
// (libnftables' parser and nlohmann's reader give unsigned numbers; JSON
// built in code may not).
bool UnsignedOf(const Json* j, uint64_t& out);

// {"match": {"op": OP, "left": LEFT, "right": RIGHT}}
Json Match(Json left, Json right, std::string_view op = "==");
Json Meta(std::string_view key);                                   // {"meta": {"key": K}}
Json Payload(std::string_view protocol, std::string_view field);   // {"payload": ...}
Json Ct(std::string_view key);                                     // {"ct": {"key": K}}
Json CtOriginal(std::string_view key);                             // ... "dir": "original"

// A port or port range as nft lists it: 80, {"range": [9000, 9010]}.
Json PortValue(uint16_t lo, uint16_t hi);
// An address or prefix: "192.0.2.1" (a host), {"prefix": {"addr", "len"}}.
Json AddressValue(const netfilter::Cidr& cidr);
// A set element: an address, a prefix or {"range": [first, last]}.
Json IntervalValue(const netfilter::AddressInterval& interval);
// The addresses of a listed element (any of IntervalValue's forms, or
// {"elem": {"val": ...}}) of FAMILY; nullopt when it is none of them.
std::optional<netfilter::AddressInterval> IntervalOfValue(const Json& value, netfilter::Family family);

// EXPR (a rule's statement list) in the normal form: protocols and ICMP
// types as numbers (nft names them from /etc/protocols and its own tables,
// which differ between hosts and versions), addresses as IpAddress prints
// them (a full-length prefix as a plain address), ct state and status
// lists in bit order (one flag alone, not in a list), anonymous sets of
// ports sorted (one element alone, not in a set: nft lists `{ 80 }` as 80).
// Anything else is kept as it is; a statement of unknown shape is never an
// error here.
Json NormalizedExpr(const Json& expr);

}  // namespace swarmwall::backend::nft
