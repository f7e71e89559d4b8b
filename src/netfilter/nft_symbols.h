// The value domains of nftables selectors and set types, and nft's symbolic
// constants in each ("tcp", "established", "dnat", "local", "echo-request"),
// resolved to the numbers the kernel compares. Used only while reading JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "netfilter/nft_ruleset.h"

namespace swarmwall::netfilter {

enum class Domain : uint8_t {
  kNumber, kAddr4, kAddr6, kName, kProto, kCtState, kCtStatus, kCtDir, kNfproto, kPkttype,
  kFibType, kTcpFlags, kIcmpType, kIcmpv6Type, kUnknown,
};

// kernel values of ct state (NF_CT_STATE_*_BIT) and ct status (IPS_*)
inline constexpr uint64_t kNftCtInvalid = 1, kNftCtEstablished = 2, kNftCtRelated = 4,
                          kNftCtNew = 8, kNftCtUntracked = 64;
inline constexpr uint64_t kNftStatusSnat = 16, kNftStatusDnat = 32;

Domain DomainOf(const NftSelector& s);
// A set's "type" name ("ipv4_addr", "inet_service", ...); kUnknown for others.
Domain DomainOfType(const std::string& type);
bool IsFlagDomain(Domain d);
// J (a number or a symbol of domain D) as a number; nullopt when it is not one.
std::optional<uint64_t> SymbolValue(Domain d, const nlohmann::json& j);
// Short nft-like text of a JSON value for reports ("10.0.0.0/8", "{ 80, 443 }").
std::string ValueText(const nlohmann::json& j);

}  // namespace swarmwall::netfilter
