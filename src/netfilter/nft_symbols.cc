#include "netfilter/nft_symbols.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include <string_view>
#include <utility>

namespace swarmwall::netfilter {
namespace {

using Json = nlohmann::json;
struct Name {
  std::string_view name;
  uint64_t value;
};

constexpr Name kProtocols[] = {
    {"icmp", 1}, {"igmp", 2}, {"ipip", 4}, {"tcp", 6}, {"egp", 8}, {"pup", 12}, {"udp", 17},
    {"idp", 22}, {"tp", 29}, {"dccp", 33}, {"ipv6", 41}, {"rsvp", 46}, {"gre", 47}, {"esp", 50},
    {"ah", 51}, {"icmpv6", 58}, {"ipv6-icmp", 58}, {"mtp", 92}, {"beetph", 94}, {"encap", 98},
    {"pim", 103}, {"comp", 108}, {"l2tp", 115}, {"sctp", 132}, {"udplite", 136}, {"mpls", 137},
    {"ethernet", 143}, {"raw", 255}};
constexpr Name kCtStates[] = {{"invalid", kNftCtInvalid}, {"established", kNftCtEstablished},
                             {"related", kNftCtRelated}, {"new", kNftCtNew},
                             {"untracked", kNftCtUntracked}};
constexpr Name kCtStatus[] = {{"expected", 1}, {"seen-reply", 2}, {"assured", 4}, {"confirmed", 8},
                             {"snat", kNftStatusSnat}, {"dnat", kNftStatusDnat}, {"dying", 512}};
constexpr Name kCtDir[] = {{"original", 0}, {"reply", 1}};
constexpr Name kNfproto[] = {{"ipv4", 2}, {"ipv6", 10}};
constexpr Name kPkttype[] = {{"host", 0}, {"unicast", 0}, {"broadcast", 1}, {"multicast", 2},
                            {"other", 3}};
constexpr Name kFibType[] = {{"unspec", 0}, {"unicast", 1}, {"local", 2}, {"broadcast", 3},
                            {"anycast", 4}, {"multicast", 5}, {"blackhole", 6},
                            {"unreachable", 7}, {"prohibit", 8}};
constexpr Name kTcpFlags[] = {{"fin", 1}, {"syn", 2}, {"rst", 4}, {"psh", 8},
                             {"ack", 16}, {"urg", 32}, {"ecn", 64}, {"cwr", 128}};
constexpr Name kIcmpTypes[] = {
    {"echo-reply", 0}, {"destination-unreachable", 3}, {"source-quench", 4}, {"redirect", 5},
    {"echo-request", 8}, {"router-advertisement", 9}, {"router-solicitation", 10},
    {"time-exceeded", 11}, {"parameter-problem", 12}, {"timestamp-request", 13},
    {"timestamp-reply", 14}, {"info-request", 15}, {"info-reply", 16},
    {"address-mask-request", 17}, {"address-mask-reply", 18}};
constexpr Name kIcmpv6Types[] = {
    {"destination-unreachable", 1}, {"packet-too-big", 2}, {"time-exceeded", 3},
    {"parameter-problem", 4}, {"echo-request", 128}, {"echo-reply", 129},
    {"mld-listener-query", 130}, {"mld-listener-report", 131}, {"mld-listener-done", 132},
    {"mld-listener-reduction", 132}, {"nd-router-solicit", 133}, {"nd-router-advert", 134},
    {"nd-neighbor-solicit", 135}, {"nd-neighbor-advert", 136}, {"nd-redirect", 137},
    {"router-renumbering", 138}, {"ind-neighbor-solicit", 141}, {"ind-neighbor-advert", 142},
    {"mld2-listener-report", 143}};

template <size_t N>
std::optional<uint64_t> Lookup(const Name (&names)[N], std::string_view s) {
  for (const auto& n : names)
    if (n.name == s) return n.value;
  return std::nullopt;
}

}  // namespace

Domain DomainOf(const NftSelector& s) {
  switch (s.kind) {
    case NftSelector::kIpSaddr:
    case NftSelector::kIpDaddr:
      return Domain::kAddr4;
    case NftSelector::kIp6Saddr:
    case NftSelector::kIp6Daddr:
      return Domain::kAddr6;
    case NftSelector::kCtSaddr:
    case NftSelector::kCtDaddr:
      return s.protocol == 4 ? Domain::kAddr4 : s.protocol == 6 ? Domain::kAddr6 : Domain::kUnknown;
    case NftSelector::kIifname:
    case NftSelector::kOifname:
      return Domain::kName;
    case NftSelector::kIpProtocol:
    case NftSelector::kIp6Nexthdr:
    case NftSelector::kL4proto:
    case NftSelector::kCtProtocol:
      return Domain::kProto;
    case NftSelector::kCtState: return Domain::kCtState;
    case NftSelector::kCtStatus: return Domain::kCtStatus;
    case NftSelector::kCtDirection: return Domain::kCtDir;
    case NftSelector::kNfproto:
    case NftSelector::kCtL3proto:
      return Domain::kNfproto;
    case NftSelector::kPkttype: return Domain::kPkttype;
    case NftSelector::kFibDaddrType:
    case NftSelector::kFibSaddrType:
      return Domain::kFibType;
    case NftSelector::kTcpFlags: return Domain::kTcpFlags;
    case NftSelector::kIcmpType: return Domain::kIcmpType;
    case NftSelector::kIcmpv6Type: return Domain::kIcmpv6Type;
    case NftSelector::kUnknown: return Domain::kUnknown;
    default: return Domain::kNumber;
  }
}

Domain DomainOfType(const std::string& t) {
  if (t == "ipv4_addr") return Domain::kAddr4;
  if (t == "ipv6_addr") return Domain::kAddr6;
  if (t == "ifname") return Domain::kName;
  if (t == "inet_service" || t == "mark" || t == "integer") return Domain::kNumber;
  if (t == "inet_proto") return Domain::kProto;
  if (t == "ct_state") return Domain::kCtState;
  if (t == "ct_status") return Domain::kCtStatus;
  if (t == "ct_dir") return Domain::kCtDir;
  if (t == "nf_proto") return Domain::kNfproto;
  if (t == "pkt_type") return Domain::kPkttype;
  if (t == "fib_addrtype") return Domain::kFibType;
  if (t == "tcp_flag") return Domain::kTcpFlags;
  if (t == "icmp_type") return Domain::kIcmpType;
  if (t == "icmpv6_type") return Domain::kIcmpv6Type;
  return Domain::kUnknown;
}

bool IsFlagDomain(Domain d) {
  return d == Domain::kCtState || d == Domain::kCtStatus || d == Domain::kTcpFlags;
}

std::optional<uint64_t> SymbolValue(Domain d, const Json& j) {
  if (j.is_number_unsigned()) return j.get<uint64_t>();
  if (j.is_array() && IsFlagDomain(d)) {   // a list of flags: their union
    uint64_t v = 0;
    for (const auto& f : j) {
      auto x = SymbolValue(d, f);
      if (!x) return std::nullopt;
      v |= *x;
    }
    return v;
  }
  if (!j.is_string()) return std::nullopt;
  const std::string& s = j.get_ref<const std::string&>();
  switch (d) {
    case Domain::kProto: return Lookup(kProtocols, s);
    case Domain::kCtState: return Lookup(kCtStates, s);
    case Domain::kCtStatus: return Lookup(kCtStatus, s);
    case Domain::kCtDir: return Lookup(kCtDir, s);
    case Domain::kNfproto: return Lookup(kNfproto, s);
    case Domain::kPkttype: return Lookup(kPkttype, s);
    case Domain::kFibType: return Lookup(kFibType, s);
    case Domain::kTcpFlags: return Lookup(kTcpFlags, s);
    case Domain::kIcmpType: return Lookup(kIcmpTypes, s);
    case Domain::kIcmpv6Type: return Lookup(kIcmpv6Types, s);
    case Domain::kNumber: {
      // hex marks ("0x00000001") are printed as strings by some versions
      uint64_t v = 0;
      if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        for (size_t i = 2; i < s.size(); ++i) {
          char c = static_cast<char>(s[i] | 0x20);
          int digit = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
          if (digit < 0 || v >> 60) return std::nullopt;
          v = v << 4 | static_cast<uint64_t>(digit);
        }
        return v;
      }
      return std::nullopt;
    }
    default: return std::nullopt;
  }
}

std::string ValueText(const Json& j) {
  if (j.is_string()) return j.get<std::string>();
  if (j.is_number()) return j.dump();
  if (j.is_array()) {
    std::vector<std::string> parts;
    for (const auto& x : j) parts.push_back(ValueText(x));
    return fmt::format("{}", fmt::join(parts, ","));
  }
  if (j.is_object() && j.size() == 1) {
    auto it = j.begin();
    const std::string& k = it.key();
    const Json& v = it.value();
    if (k == "prefix" && v.is_object()) return ValueText(v.value("addr", Json())) + "/" + ValueText(v.value("len", Json()));
    if (k == "range" && v.is_array() && v.size() == 2) return ValueText(v[0]) + "-" + ValueText(v[1]);
    if (k == "concat" && v.is_array()) {
      std::vector<std::string> parts;
      for (const auto& x : v) parts.push_back(ValueText(x));
      return fmt::format("{}", fmt::join(parts, " . "));
    }
    if (k == "set" && v.is_array()) {
      std::vector<std::string> parts;
      for (const auto& x : v) {
        if (x.is_array() && x.size() == 2) parts.push_back(ValueText(x[0]) + " : " + ValueText(x[1]));
        else parts.push_back(ValueText(x));
      }
      return fmt::format("{{ {} }}", fmt::join(parts, ", "));
    }
    if (k == "elem" && v.is_object()) return ValueText(v.value("val", Json()));
    if (k == "jump" || k == "goto") return k + " " + (v.is_object() ? v.value("target", "") : "");
    if (v.is_null()) return k;
  }
  std::string s = j.dump();
  return s.size() > 80 ? s.substr(0, 77) + "..." : s;
}

}  // namespace swarmwall::netfilter
