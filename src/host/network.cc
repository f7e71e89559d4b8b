#include "host/network.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/process.h"
#include "host/nftables.h"
#include "netfilter/nft_json.h"
#include "netfilter/modules.h"

namespace swarmwall::host {

using netfilter::Cidr;
using netfilter::Family;
using netfilter::IpAddress;

namespace {

bool IsLoopback(const IpAddress& a) {
  if (a.family == Family::kIPv4) return a.bytes[0] == 127;
  IpAddress one{};
  one.family = Family::kIPv6;
  one.bytes[15] = 1;
  return a == one;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  while (true) {
    size_t at = s.find(sep, start);
    out.push_back(s.substr(start, at - start));
    if (at == std::string_view::npos) break;
    start = at + 1;
  }
  return out;
}

std::vector<std::string_view> Words(std::string_view line) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    size_t start = i;
    if (line[i] == '"') {
      size_t end = line.find('"', i + 1);
      if (end == std::string_view::npos) end = line.size() - 1;
      out.push_back(line.substr(start, end + 1 - start));
      i = end + 1;
      continue;
    }
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    out.push_back(line.substr(start, i - start));
  }
  return out;
}

// "tcp:80", "80" (tcp), "udp:53", "icmp:8/0", "1000-1010" (first of a range).
bool ParsePortElement(std::string_view text, IpSet::Entry& e) {
  uint16_t proto = 6;
  size_t colon = text.find(':');
  if (colon != std::string_view::npos) {
    std::string name(text.substr(0, colon));
    if (name == "icmpv6") name = "ipv6-icmp";
    if (!netfilter::ParseProtocol(name, proto)) return false;
    text = text.substr(colon + 1);
  }
  if (proto == 1 || proto == 58) {   // type/code: keep the type as the port
    size_t slash = text.find('/');
    if (slash != std::string_view::npos) text = text.substr(0, slash);
  }
  size_t dash = text.find('-');
  if (dash != std::string_view::npos) text = text.substr(0, dash);
  unsigned port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    port = port * 10 + static_cast<unsigned>(c - '0');
    if (port > 65535) return false;
  }
  e.protocol = proto;
  e.port = static_cast<uint16_t>(port);
  return !text.empty();
}

}  // namespace

const Interface* HostNetwork::FindInterface(std::string_view name) const {
  for (const auto& i : interfaces)
    if (i.name == name) return &i;
  return nullptr;
}

const IpSet* HostNetwork::FindSet(std::string_view name) const {
  auto it = ipsets.find(name);
  return it == ipsets.end() ? nullptr : &it->second;
}

bool HostNetwork::IsLocal(const IpAddress& a) const {
  if (IsLoopback(a)) return true;
  for (const auto& i : interfaces)
    for (const auto& ia : i.addresses)
      if (ia.address == a) return true;
  return false;
}

bool HostNetwork::IsLocalOn(const IpAddress& a, std::string_view name) const {
  const Interface* i = FindInterface(name);
  if (!i) return false;
  if (name == "lo" && IsLoopback(a)) return true;
  for (const auto& ia : i->addresses)
    if (ia.address == a) return true;
  return false;
}

bool HostNetwork::IsBroadcast(const IpAddress& a) const {
  if (a.family != Family::kIPv4) return false;
  if (a.bytes[0] == 255 && a.bytes[1] == 255 && a.bytes[2] == 255 && a.bytes[3] == 255)
    return true;
  for (const auto& i : interfaces)
    for (const auto& ia : i.addresses)
      if (ia.broadcast && *ia.broadcast == a) return true;
  return false;
}

const Route* HostNetwork::Lookup(const IpAddress& a) const {
  const Route* best = nullptr;
  for (const auto& r : routes) {
    if (r.destination.family() != a.family || !r.destination.Contains(a)) continue;
    if (!best || r.destination.PrefixLength() > best->destination.PrefixLength() ||
        (r.destination.PrefixLength() == best->destination.PrefixLength() &&
         r.metric < best->metric))
      best = &r;
  }
  return best;
}

std::optional<IpAddress> HostNetwork::SourceFor(std::string_view device, const IpAddress& toward,
                                                const Route* route) const {
  if (route && route->prefsrc && route->prefsrc->family == toward.family) return route->prefsrc;
  if (device == "lo") {
    if (toward.family == Family::kIPv6) {
      if (IsLocal(toward)) return toward;
    } else {
      for (const auto& i : interfaces)
        for (const auto& ia : i.addresses)
          if (ia.address.family == Family::kIPv4 && ia.address.bytes[0] != 127) return ia.address;
      return std::nullopt;
    }
  }
  const Interface* i = FindInterface(device);
  if (!i) return std::nullopt;
  for (const auto& ia : i->addresses)
    if (ia.address.family == toward.family &&
        Cidr::Prefix(ia.address, ia.prefix_length).Contains(toward))
      return ia.address;
  return PrimaryAddress(device, toward.family);
}

std::optional<IpAddress> HostNetwork::PrimaryAddress(std::string_view name, Family family) const {
  const Interface* i = FindInterface(name);
  if (!i) return std::nullopt;
  for (const auto& ia : i->addresses) {
    if (ia.address.family != family) continue;
    // IPv6: a link-local address only when there is nothing else.
    if (family == Family::kIPv6 && ia.address.bytes[0] == 0xfe &&
        (ia.address.bytes[1] & 0xc0) == 0x80)
      continue;
    return ia.address;
  }
  for (const auto& ia : i->addresses)
    if (ia.address.family == family) return ia.address;
  return std::nullopt;
}

namespace {

// "a number", "an array", ... for messages.
std::string TypeName(const nlohmann::json& v) {
  std::string_view t = v.type_name();
  return fmt::format("{} {}", t == "array" || t == "object" ? "an" : "a", t);
}

// Field KEY of object O when present: false with ERROR when it is of
// another type than the one asked (every field is checked before use).
bool StringField(const nlohmann::json& o, const char* key, std::string& out, const std::string& where,
                 std::string& error) {
  auto it = o.find(key);
  if (it == o.end()) return true;
  if (!it->is_string()) {
    error = fmt::format("{}: \"{}\" is {}, not a string", where, key, TypeName(*it));
    return false;
  }
  out = it->get<std::string>();
  return true;
}

bool NumberField(const nlohmann::json& o, const char* key, uint64_t max, uint64_t& out,
                 const std::string& where, std::string& error) {
  auto it = o.find(key);
  if (it == o.end()) return true;
  if (!it->is_number_unsigned() || it->get<uint64_t>() > max) {
    error = fmt::format("{}: \"{}\" is not a whole number 0..{}", where, key, max);
    return false;
  }
  out = it->get<uint64_t>();
  return true;
}

// An optional address field: a string that must be an address of FAMILY
// when given (nullopt when absent).
bool AddressField(const nlohmann::json& o, const char* key, std::optional<IpAddress>& out,
                  const std::string& where, std::string& error) {
  std::string text;
  if (!StringField(o, key, text, where, error)) return false;
  if (o.contains(key)) out = IpAddress::Parse(text);
  return true;
}

}  // namespace

bool ParseIpAddrJson(std::string_view json, HostNetwork& net, std::string& error) {
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_array()) {
    error = "not the JSON array `ip -j addr` prints";
    return false;
  }
  std::vector<Interface> read;
  for (size_t n = 0; n < doc.size(); ++n) {
    const auto& link = doc[n];
    std::string where = fmt::format("interface {}", n + 1);
    if (!link.is_object()) {
      error = fmt::format("{}: {}, not an object", where, TypeName(link));
      return false;
    }
    Interface i;
    if (!StringField(link, "ifname", i.name, where, error) ||
        !StringField(link, "master", i.master, where, error))
      return false;
    if (!link.contains("ifname")) continue;   // not an interface (ip prints only those)
    where += " (" + i.name + ")";
    auto info = link.find("addr_info");
    if (info != link.end() && !info->is_array()) {
      error = where + ": \"addr_info\" is not an array";
      return false;
    }
    for (size_t k = 0; info != link.end() && k < info->size(); ++k) {
      const auto& ai = (*info)[k];
      std::string at = fmt::format("{} address {}", where, k + 1);
      if (!ai.is_object()) {
        error = fmt::format("{}: {}, not an object", at, TypeName(ai));
        return false;
      }
      std::optional<IpAddress> a, broadcast;
      if (!AddressField(ai, "local", a, at, error) || !AddressField(ai, "broadcast", broadcast, at, error))
        return false;
      if (!a) continue;   // no "local", or a form we do not use
      uint64_t prefix = a->Bits();
      if (!NumberField(ai, "prefixlen", a->Bits(), prefix, at, error)) return false;
      InterfaceAddress ia;
      ia.address = *a;
      ia.prefix_length = static_cast<int>(prefix);
      if (broadcast && broadcast->family == a->family) ia.broadcast = broadcast;
      i.addresses.push_back(ia);
    }
    read.push_back(std::move(i));
  }
  for (auto& i : read) net.interfaces.push_back(std::move(i));
  return true;
}

bool ParseIpRouteJson(std::string_view json, Family family, HostNetwork& net,
                      std::string& error) {
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_array()) {
    error = "not the JSON array `ip -j route` prints";
    return false;
  }
  std::vector<Route> read;
  for (size_t n = 0; n < doc.size(); ++n) {
    const auto& r = doc[n];
    std::string where = fmt::format("route {}", n + 1);
    if (!r.is_object()) {
      error = fmt::format("{}: {}, not an object", where, TypeName(r));
      return false;
    }
    Route route;
    std::string dst;
    uint64_t metric = 0;
    if (!StringField(r, "dst", dst, where, error) || !StringField(r, "dev", route.device, where, error) ||
        !StringField(r, "type", route.type, where, error) ||
        !NumberField(r, "metric", UINT32_MAX, metric, where, error) ||
        !AddressField(r, "gateway", route.gateway, where, error) ||
        !AddressField(r, "prefsrc", route.prefsrc, where, error))
      return false;
    if (dst == "default") {
      route.destination = Cidr::Any(family);
    } else {
      auto c = Cidr::Parse(dst);
      if (!c) continue;   // multicast, anycast or other forms we do not route by
      route.destination = *c;
    }
    route.metric = static_cast<uint32_t>(metric);
    read.push_back(std::move(route));
  }
  for (auto& r : read) net.routes.push_back(std::move(r));
  return true;
}

bool ParseIpsetSave(std::string_view text, HostNetwork& net, std::string& error) {
  net.ipsets_known = true;
  int lineno = 0;
  for (std::string_view line : Split(text, '\n')) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto w = Words(line);
    if (w.empty() || w[0].starts_with('#')) continue;
    if (w[0] == "create") {
      if (w.size() < 3) {
        error = fmt::format("line {}: create needs a name and a type", lineno);
        return false;
      }
      IpSet s;
      s.name = std::string(w[1]);
      s.type = std::string(w[2]);
      for (size_t k = 3; k + 1 < w.size(); ++k)
        if (w[k] == "family" && w[k + 1] == "inet6") s.family = Family::kIPv6;
      size_t colon = s.type.find(':');
      std::string_view method = std::string_view(s.type).substr(0, colon);
      std::string_view dims =
          colon == std::string::npos ? std::string_view() : std::string_view(s.type).substr(colon + 1);
      for (auto d : Split(dims, ',')) s.dimensions.emplace_back(d);
      for (const auto& d : s.dimensions)
        if (d != "ip" && d != "net" && d != "port" && d != "iface" && d != "set")
          s.supported = false;
      if (method != "hash" && method != "bitmap" && method != "list") s.supported = false;
      net.ipsets[s.name] = std::move(s);
    } else if (w[0] == "add") {
      if (w.size() < 3) {
        error = fmt::format("line {}: add needs a set and an element", lineno);
        return false;
      }
      auto it = net.ipsets.find(w[1]);
      if (it == net.ipsets.end()) {
        error = fmt::format("line {}: add to set {} before its create line", lineno, w[1]);
        return false;
      }
      IpSet& s = it->second;
      IpSet::Entry e;
      auto parts = Split(w[2], ',');
      bool ok = parts.size() == s.dimensions.size();
      bool have_net = false;
      for (size_t k = 0; ok && k < parts.size(); ++k) {
        const std::string& d = s.dimensions[k];
        if (d == "ip" || d == "net") {
          if (have_net) {   // a second address dimension (hash:ip,port,ip)
            s.supported = false;
            continue;
          }
          auto c = Cidr::Parse(parts[k], s.family);
          ok = c.has_value();
          if (ok) e.net = *c;
          have_net = true;
        } else if (d == "port") {
          ok = ParsePortElement(parts[k], e);
        } else if (d == "set") {
          e.member = std::string(parts[k]);
        } else {
          e.member = std::string(parts[k]);   // iface: the name
        }
      }
      if (!ok) {
        error = fmt::format("line {}: cannot read element {} of {} set {}", lineno, w[2], s.type,
                            s.name);
        return false;
      }
      for (size_t k = 3; k < w.size(); ++k)
        if (w[k] == "nomatch") e.nomatch = true;
      s.entries.push_back(std::move(e));
    } else {
      error = fmt::format("line {}: expected create or add, got {}", lineno, w[0]);
      return false;
    }
  }
  return true;
}

bool LoadLiveHostNetwork(HostNetwork& net, std::string& error) {
  auto addr = RunProcess({"ip", "-j", "addr"});
  if (!addr.ok()) {
    error = "ip -j addr failed: " + addr.err;
    return false;
  }
  if (!ParseIpAddrJson(addr.out, net, error)) return false;
  auto r4 = RunProcess({"ip", "-4", "-j", "route"});
  if (!r4.ok() || !ParseIpRouteJson(r4.out, Family::kIPv4, net, error)) {
    if (error.empty()) error = "ip -j route failed: " + r4.err;
    return false;
  }
  auto r6 = RunProcess({"ip", "-6", "-j", "route"});
  if (r6.ok()) ParseIpRouteJson(r6.out, Family::kIPv6, net, error);
  error.clear();
  if (ProgramExists("ipset")) {
    auto sets = RunProcess({"ipset", "save"});
    if (sets.ok() && !ParseIpsetSave(sets.out, net, error)) return false;
  }
  // The native nftables tables (validated like everything read back).
  std::string nft_error;
  if (auto json = ListNftRulesetJson(nft_error)) {
    auto r = netfilter::ParseNftJson(*json, "nft list ruleset");
    if (!r.ruleset) {
      error = "the live nftables ruleset: " + r.error->ToString();
      return false;
    }
    net.nftables = std::move(*r.ruleset);
    net.nftables_known = true;
  }
  std::ifstream f("/proc/sys/net/ipv4/ip_forward");
  int forward = 1;
  if (f >> forward) net.forwarding = forward != 0;
  return true;
}

}  // namespace swarmwall::host
