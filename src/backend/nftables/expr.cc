#include "backend/nftables/expr.h"

#include <algorithm>
#include <string>

#include "netfilter/nft_symbols.h"

namespace swarmwall::backend::nft {
namespace {

using netfilter::Cidr;
using netfilter::Domain;
using netfilter::Family;
using netfilter::IpAddress;

// OBJ[KEY] when OBJ is an object holding KEY, else nullptr (never throws).
const Json* Field(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

bool IsString(const Json* j, std::string_view s) {
  return j && j->is_string() && j->get_ref<const std::string&>() == s;
}

// The domain of a match's left side whose symbols are normalized to
// numbers or ordered; kUnknown for the rest.
Domain DomainOfLeft(const Json& left) {
  if (const Json* meta = Field(left, "meta")) {
    if (IsString(Field(*meta, "key"), "l4proto")) return Domain::kProto;
  } else if (const Json* p = Field(left, "payload")) {
    const Json* proto = Field(*p, "protocol");
    const Json* field = Field(*p, "field");
    if (IsString(field, "type") && IsString(proto, "icmp")) return Domain::kIcmpType;
    if (IsString(field, "type") && IsString(proto, "icmpv6")) return Domain::kIcmpv6Type;
    if ((IsString(field, "protocol") && IsString(proto, "ip")) ||
        (IsString(field, "nexthdr") && IsString(proto, "ip6")))
      return Domain::kProto;
    if ((IsString(field, "saddr") || IsString(field, "daddr")) && IsString(proto, "ip"))
      return Domain::kAddr4;
    if ((IsString(field, "saddr") || IsString(field, "daddr")) && IsString(proto, "ip6"))
      return Domain::kAddr6;
  } else if (const Json* ct = Field(left, "ct")) {
    if (IsString(Field(*ct, "key"), "state")) return Domain::kCtState;
    if (IsString(Field(*ct, "key"), "status")) return Domain::kCtStatus;
  }
  return Domain::kUnknown;
}

std::string Str(const Json* j) { return j && j->is_string() ? j->get<std::string>() : std::string(); }

// The protocol number a payload protocol implies (0: none).
uint64_t ProtocolNumber(const std::string& payload_protocol) {
  if (payload_protocol == "tcp") return 6;
  if (payload_protocol == "udp") return 17;
  if (payload_protocol == "sctp") return 132;
  if (payload_protocol == "icmp") return 1;
  if (payload_protocol == "icmpv6") return 58;
  return 0;
}

Json NormalAddress(const Json& right, Family family) {
  int bits = family == Family::kIPv4 ? 32 : 128;
  if (right.is_string()) {
    const std::string& s = right.get_ref<const std::string&>();
    if (s.starts_with("@")) return right;
    if (auto a = IpAddress::Parse(s, family)) return a->ToString();
    return right;
  }
  const Json* prefix = Field(right, "prefix");
  if (!prefix || prefix->size() != 2) return right;
  const Json* addr = Field(*prefix, "addr");
  const Json* len = Field(*prefix, "len");
  uint64_t n = 0;
  if (!addr || !addr->is_string() || !UnsignedOf(len, n)) return right;
  auto a = IpAddress::Parse(addr->get_ref<const std::string&>(), family);
  if (!a || n > static_cast<uint64_t>(bits)) return right;
  return AddressValue(Cidr::Prefix(*a, static_cast<int>(n)));
}

// A flag list in bit order; one flag alone as itself.
Json NormalFlags(const Json& right, Domain d) {
  if (!right.is_array()) return right;
  std::vector<std::pair<uint64_t, Json>> flags;
  for (const auto& f : right) {
    auto v = netfilter::SymbolValue(d, f);
    if (!v) return right;
    flags.emplace_back(*v, f);
  }
  std::stable_sort(flags.begin(), flags.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  if (flags.size() == 1) return flags[0].second;
  Json out = Json::array();
  for (auto& [v, f] : flags) out.push_back(std::move(f));
  return out;
}

// The low end of a port set element, when it is a number or a range.
bool LowEnd(const Json& e, uint64_t& out) {
  if (UnsignedOf(&e, out)) return true;
  const Json* range = Field(e, "range");
  return range && range->is_array() && range->size() == 2 && UnsignedOf(&(*range)[0], out);
}

// {"set": [...]} of numbers and ranges sorted; one element alone unwrapped.
Json NormalAnonymousSet(const Json& right) {
  const Json* set = Field(right, "set");
  if (!set || right.size() != 1 || !set->is_array()) return right;
  std::vector<std::pair<uint64_t, Json>> elems;
  for (const auto& e : *set) {
    uint64_t lo = 0;
    if (!LowEnd(e, lo)) return right;
    elems.emplace_back(lo, e);
  }
  if (elems.empty()) return right;
  std::stable_sort(elems.begin(), elems.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  if (elems.size() == 1) return elems[0].second;
  Json out = Json::array();
  for (auto& [lo, e] : elems) out.push_back(std::move(e));
  return Json{{"set", std::move(out)}};
}

Json NormalMatch(const Json& match) {
  const Json* left = Field(match, "left");
  const Json* right = Field(match, "right");
  if (!left || !right) return match;
  Json out = match;
  Json& r = out["right"];
  switch (DomainOfLeft(*left)) {
    case Domain::kProto:
    case Domain::kIcmpType:
    case Domain::kIcmpv6Type:
      if (r.is_string())
        if (auto v = netfilter::SymbolValue(DomainOfLeft(*left), r)) r = *v;
      break;
    case Domain::kAddr4:
      r = NormalAddress(r, Family::kIPv4);
      break;
    case Domain::kAddr6:
      r = NormalAddress(r, Family::kIPv6);
      break;
    case Domain::kCtState:
    case Domain::kCtStatus:
      r = NormalFlags(r, DomainOfLeft(*left));
      break;
    default:
      r = NormalAnonymousSet(r);
      break;
  }
  return out;
}

}  // namespace

bool UnsignedOf(const Json* j, uint64_t& out) {
  if (!j || !j->is_number_integer()) return false;
  if (j->is_number_unsigned()) {
    out = j->get<uint64_t>();
    return true;
  }
  if (j->get<int64_t>() < 0) return false;
  out = static_cast<uint64_t>(j->get<int64_t>());
  return true;
}

Json Match(Json left, Json right, std::string_view op) {
  return Json{{"match", {{"op", op}, {"left", std::move(left)}, {"right", std::move(right)}}}};
}

Json Meta(std::string_view key) { return Json{{"meta", {{"key", key}}}}; }

Json Payload(std::string_view protocol, std::string_view field) {
  return Json{{"payload", {{"protocol", protocol}, {"field", field}}}};
}

Json Ct(std::string_view key) { return Json{{"ct", {{"key", key}}}}; }

Json CtOriginal(std::string_view key) { return Json{{"ct", {{"key", key}, {"dir", "original"}}}}; }

Json PortValue(uint16_t lo, uint16_t hi) {
  if (lo == hi) return Json(uint64_t{lo});
  return Json{{"range", {uint64_t{lo}, uint64_t{hi}}}};
}

Json AddressValue(const Cidr& cidr) {
  if (cidr.PrefixLength() == cidr.address.Bits()) return cidr.address.ToString();
  return Json{{"prefix", {{"addr", cidr.address.ToString()}, {"len", uint64_t(cidr.PrefixLength())}}}};
}

Json IntervalValue(const netfilter::AddressInterval& interval) {
  if (auto prefix = netfilter::AsPrefix(interval)) return AddressValue(*prefix);
  return Json{{"range", {interval.first.ToString(), interval.last.ToString()}}};
}

std::optional<netfilter::AddressInterval> IntervalOfValue(const Json& value, Family family) {
  if (const Json* elem = Field(value, "elem")) {
    const Json* val = Field(*elem, "val");
    return val ? IntervalOfValue(*val, family) : std::nullopt;
  }
  if (value.is_string()) {
    auto a = IpAddress::Parse(value.get_ref<const std::string&>(), family);
    if (!a) return std::nullopt;
    return netfilter::AddressInterval{*a, *a};
  }
  if (const Json* range = Field(value, "range")) {
    if (!range->is_array() || range->size() != 2 || !(*range)[0].is_string() || !(*range)[1].is_string())
      return std::nullopt;
    auto a = IpAddress::Parse((*range)[0].get_ref<const std::string&>(), family);
    auto b = IpAddress::Parse((*range)[1].get_ref<const std::string&>(), family);
    if (!a || !b || *b < *a) return std::nullopt;
    return netfilter::AddressInterval{*a, *b};
  }
  if (const Json* prefix = Field(value, "prefix")) {
    const Json* addr = Field(*prefix, "addr");
    const Json* len = Field(*prefix, "len");
    uint64_t n = 0;
    if (!addr || !addr->is_string() || !UnsignedOf(len, n)) return std::nullopt;
    auto a = IpAddress::Parse(addr->get_ref<const std::string&>(), family);
    if (!a || n > static_cast<uint64_t>(a->Bits())) return std::nullopt;
    return netfilter::IntervalOf(Cidr::Prefix(*a, static_cast<int>(n)));
  }
  return std::nullopt;
}

Json NormalizedExpr(const Json& expr) {
  if (!expr.is_array()) return expr;
  Json out = Json::array();
  for (const auto& stmt : expr) {
    const Json* match = Field(stmt, "match");
    if (match && stmt.size() == 1) out.push_back(Json{{"match", NormalMatch(*match)}});
    else out.push_back(stmt);
  }
  // `meta l4proto tcp` right before `tcp dport ...` is the dependency nft
  // adds itself and lists only when it wants to (1.0.6 hides it).
  for (size_t i = 0; i + 1 < out.size();) {
    const Json* m = Field(out[i], "match");
    const Json* left = m ? Field(*m, "left") : nullptr;
    const Json* next = Field(out[i + 1], "match");
    const Json* next_left = next ? Field(*next, "left") : nullptr;
    const Json* payload = next_left ? Field(*next_left, "payload") : nullptr;
    uint64_t proto = 0;
    if (left && payload && DomainOfLeft(*left) == Domain::kProto && IsString(Field(*m, "op"), "==") &&
        UnsignedOf(Field(*m, "right"), proto) && ProtocolNumber(Str(Field(*payload, "protocol"))) == proto) {
      out.erase(out.begin() + static_cast<long>(i));
      continue;
    }
    ++i;
  }
  return out;
}

}  // namespace swarmwall::backend::nft
