#include "netfilter/codecs.h"

#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <strings.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <mutex>

#include <fmt/format.h>

namespace swarmwall::netfilter {
namespace {

bool ParsePort(std::string_view text, const DecodeContext& ctx, uint16_t& out) {
  uint64_t v;
  if (ParseNumber(text, 65535, v)) {
    out = static_cast<uint16_t>(v);
    return true;
  }
  if (text.empty()) return false;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::string name(text);
  const char* proto = ctx.protocol == 17 ? "udp" : "tcp";
  if (const servent* s = getservbyname(name.c_str(), proto)) {
    out = ntohs(static_cast<uint16_t>(s->s_port));
    return true;
  }
  return false;
}

void AppendNumber(std::string& out, uint64_t n) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, r.ptr);
}

void AppendPortText(std::string& out, uint16_t lo, uint16_t hi) {
  AppendNumber(out, lo);
  if (lo != hi) {
    out += ':';
    AppendNumber(out, hi);
  }
}

// "a", "a:b", ":b", "a:", ":" with SEP; for numbers or ports.
template <typename F>
bool ParseRange(std::string_view text, char sep, uint64_t max, F parse_one,
                uint64_t& lo, uint64_t& hi) {
  size_t s = text.find(sep);
  if (s == std::string_view::npos) {
    if (!parse_one(text, lo)) return false;
    hi = lo;
    return true;
  }
  std::string_view a = text.substr(0, s), b = text.substr(s + 1);
  lo = 0;
  hi = max;
  if (!a.empty() && !parse_one(a, lo)) return false;
  if (!b.empty() && !parse_one(b, hi)) return false;
  return lo <= hi;
}

bool NameLookup(std::span<const NameBit> names, std::string_view word,
                uint64_t& value) {
  for (const auto& n : names)
    if (n.name.size() == word.size() &&
        strncasecmp(n.name.data(), word.data(), word.size()) == 0) {
      value = n.value;
      return true;
    }
  return false;
}

std::string_view CanonicalName(std::span<const NameBit> names, uint64_t value) {
  for (const auto& n : names)
    if (n.canonical && n.value == value) return n.name;
  return {};
}

struct IcmpName {
  std::string_view name;
  uint8_t type, code_lo, code_hi;
};
constexpr IcmpName kIcmp4[] = {
    {"any", 0xff, 0, 0xff},
    {"echo-reply", 0, 0, 0xff}, {"pong", 0, 0, 0xff},
    {"destination-unreachable", 3, 0, 0xff},
    {"network-unreachable", 3, 0, 0}, {"host-unreachable", 3, 1, 1},
    {"protocol-unreachable", 3, 2, 2}, {"port-unreachable", 3, 3, 3},
    {"fragmentation-needed", 3, 4, 4}, {"source-route-failed", 3, 5, 5},
    {"network-unknown", 3, 6, 6}, {"host-unknown", 3, 7, 7},
    {"network-prohibited", 3, 9, 9}, {"host-prohibited", 3, 10, 10},
    {"TOS-network-unreachable", 3, 11, 11}, {"TOS-host-unreachable", 3, 12, 12},
    {"communication-prohibited", 3, 13, 13}, {"host-precedence-violation", 3, 14, 14},
    {"precedence-cutoff", 3, 15, 15},
    {"source-quench", 4, 0, 0xff},
    {"redirect", 5, 0, 0xff}, {"network-redirect", 5, 0, 0},
    {"host-redirect", 5, 1, 1}, {"TOS-network-redirect", 5, 2, 2},
    {"TOS-host-redirect", 5, 3, 3},
    {"echo-request", 8, 0, 0xff}, {"ping", 8, 0, 0xff},
    {"router-advertisement", 9, 0, 0xff}, {"router-solicitation", 10, 0, 0xff},
    {"time-exceeded", 11, 0, 0xff}, {"ttl-exceeded", 11, 0, 0xff},
    {"ttl-zero-during-transit", 11, 0, 0}, {"ttl-zero-during-reassembly", 11, 1, 1},
    {"parameter-problem", 12, 0, 0xff}, {"ip-header-bad", 12, 0, 0},
    {"required-option-missing", 12, 1, 1},
    {"timestamp-request", 13, 0, 0xff}, {"timestamp-reply", 14, 0, 0xff},
    {"address-mask-request", 17, 0, 0xff}, {"address-mask-reply", 18, 0, 0xff},
};
constexpr IcmpName kIcmp6[] = {
    {"destination-unreachable", 1, 0, 0xff}, {"no-route", 1, 0, 0},
    {"communication-prohibited", 1, 1, 1}, {"beyond-scope", 1, 2, 2},
    {"address-unreachable", 1, 3, 3}, {"port-unreachable", 1, 4, 4},
    {"failed-policy", 1, 5, 5}, {"reject-route", 1, 6, 6},
    {"packet-too-big", 2, 0, 0xff},
    {"time-exceeded", 3, 0, 0xff}, {"ttl-exceeded", 3, 0, 0xff},
    {"ttl-zero-during-transit", 3, 0, 0}, {"ttl-zero-during-reassembly", 3, 1, 1},
    {"parameter-problem", 4, 0, 0xff}, {"bad-header", 4, 0, 0},
    {"unknown-header-type", 4, 1, 1}, {"unknown-option", 4, 2, 2},
    {"echo-request", 128, 0, 0xff}, {"ping", 128, 0, 0xff},
    {"echo-reply", 129, 0, 0xff}, {"pong", 129, 0, 0xff},
    {"mld-listener-query", 130, 0, 0xff}, {"mld-listener-report", 131, 0, 0xff},
    {"mld-listener-done", 132, 0, 0xff}, {"mld-listener-reduction", 132, 0, 0xff},
    {"router-solicitation", 133, 0, 0xff}, {"router-advertisement", 134, 0, 0xff},
    {"neighbour-solicitation", 135, 0, 0xff}, {"neighbor-solicitation", 135, 0, 0xff},
    {"neighbour-advertisement", 136, 0, 0xff}, {"neighbor-advertisement", 136, 0, 0xff},
    {"redirect", 137, 0, 0xff},
};

// "a" or "a:b", numbers 0..255; returns the characters used (0: none).
size_t ParseByteRange(std::string_view text, uint64_t& lo, uint64_t& hi) {
  size_t used = 0, more = 0;
  if (!ParseNumberPrefix(text, 255, lo, used)) return 0;
  hi = lo;
  if (used < text.size() && text[used] == ':') {
    if (!ParseNumberPrefix(text.substr(used + 1), 255, hi, more)) return 0;
    used += 1 + more;
  }
  return used;
}

// iptables 1.8.11's ICMP type parser: a name or an unambiguous prefix of one
// (any case), or TYPE[/CODE[:CODE]]; the save form is "any", TYPE or
// TYPE/CODE (the first code of a range).
bool DecodeIcmp(std::string_view text, bool v6, Part& part, std::string& canon,
                std::string& why) {
  uint8_t type = 0, lo = 0, hi = 0xff;
  const IcmpName* match = nullptr;
  for (const auto& n : (v6 ? std::span<const IcmpName>(kIcmp6)
                           : std::span<const IcmpName>(kIcmp4))) {
    if (text.size() > n.name.size() ||
        strncasecmp(n.name.data(), text.data(), text.size()) != 0)
      continue;
    if (match && (match->type != n.type || match->code_lo != n.code_lo ||
                  match->code_hi != n.code_hi)) {
      why = fmt::format("ambiguous ICMP type \"{}\": \"{}\" or \"{}\"", text,
                        match->name, n.name);
      return false;
    }
    if (!match) match = &n;
  }
  if (match && !text.empty()) {
    type = match->type;
    lo = match->code_lo;
    hi = match->code_hi;
  } else {
    uint64_t t, t2, c = 0, c2 = 255;
    size_t used = ParseByteRange(text, t, t2);
    if (!used) return false;
    if (t != t2) {
      why = "ICMP type ranges are not supported";
      return false;
    }
    if (used < text.size()) {
      if (text[used] != '/') return false;
      std::string_view codes = text.substr(used + 1);
      size_t cu = ParseByteRange(codes, c, c2);
      if (!cu || cu != codes.size()) return false;
      if (c > c2) return false;
    }
    type = static_cast<uint8_t>(t);
    lo = static_cast<uint8_t>(c);
    hi = static_cast<uint8_t>(c2);
  }
  if (!v6 && type == 0xff && lo == 0 && hi == 0xff) canon = "any";
  else if (lo == 0 && hi == 0xff) canon = std::to_string(type);
  else canon = fmt::format("{}/{}", type, lo);
  part.value.kind = Value::Kind::kRange;
  part.value.count = type;   // the type; lo..hi are the codes
  part.value.lo = lo;
  part.value.hi = hi;
  return true;
}

constexpr NameBit kTcpFlagNames[] = {
    {"FIN", 0x01, true}, {"SYN", 0x02, true}, {"RST", 0x04, true},
    {"PSH", 0x08, true}, {"ACK", 0x10, true}, {"URG", 0x20, true},
};

bool ParseTcpFlags(std::string_view text, uint64_t& out) {
  out = 0;
  if (strcasecmp(std::string(text).c_str(), "ALL") == 0) {
    out = 0x3f;
    return true;
  }
  if (strcasecmp(std::string(text).c_str(), "NONE") == 0) return true;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string_view w = text.substr(start, comma - start);
    uint64_t bit;
    if (strcasecmp(std::string(w).c_str(), "ALL") == 0) bit = 0x3f;
    else if (strcasecmp(std::string(w).c_str(), "NONE") == 0) bit = 0;
    else if (!NameLookup(kTcpFlagNames, w, bit)) return false;
    out |= bit;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return true;
}

std::string TcpFlagsText(uint64_t bits) {
  if (bits == 0) return "NONE";
  std::string s;
  for (const auto& n : kTcpFlagNames)
    if (bits & n.value) {
      if (!s.empty()) s += ',';
      s += n.name;
    }
  return s;
}

// limit's rate: XT_LIMIT_SCALE = 10000 per second.
constexpr uint64_t kLimitScale = 10000;
struct RateUnit {
  std::string_view name;
  uint64_t mult;
};
constexpr RateUnit kRateUnits[] = {
    {"day", kLimitScale * 24 * 60 * 60},
    {"hour", kLimitScale * 60 * 60},
    {"min", kLimitScale * 60},
    {"sec", kLimitScale},
};

bool ParseRate(std::string_view text, uint64_t& avg) {
  size_t slash = text.find('/');
  uint64_t mult = kLimitScale;
  if (slash != std::string_view::npos) {
    std::string_view unit = text.substr(slash + 1);
    if (unit.empty()) return false;
    auto prefix = [&](std::string_view word) {
      return unit.size() <= word.size() &&
             strncasecmp(word.data(), unit.data(), unit.size()) == 0;
    };
    if (prefix("second")) mult = kLimitScale;
    else if (prefix("minute")) mult = kLimitScale * 60;
    else if (prefix("hour")) mult = kLimitScale * 60 * 60;
    else if (prefix("day")) mult = kLimitScale * 24 * 60 * 60;
    else return false;
  }
  uint64_t r;
  if (!ParseNumber(text.substr(0, slash), 0xffffffffu, r) || r == 0) return false;
  if (r > mult) return false;  // "Rate too fast"
  avg = mult / r;
  return true;
}

std::string RateText(uint64_t period) {
  size_t i = 1;
  for (; i < std::size(kRateUnits); ++i)
    if (period > kRateUnits[i].mult ||
        kRateUnits[i].mult / period < kRateUnits[i].mult % period)
      break;
  return fmt::format("{}/{}", kRateUnits[i - 1].mult / period,
                     kRateUnits[i - 1].name);
}

bool ParseMark(std::string_view text, uint64_t& value, uint64_t& mask) {
  size_t slash = text.find('/');
  mask = 0xffffffffu;
  if (!ParseNumber(text.substr(0, slash), 0xffffffffu, value)) return false;
  if (slash != std::string_view::npos &&
      !ParseNumber(text.substr(slash + 1), 0xffffffffu, mask))
    return false;
  return true;
}

// A service name for NAT ports (any protocol, as xtables_service_to_port
// with a NULL protocol).
bool ServicePort(std::string_view name, uint64_t& out) {
  if (name.empty()) return false;
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::string n(name);
  if (const servent* s = getservbyname(n.c_str(), nullptr)) {
    out = ntohs(static_cast<uint16_t>(s->s_port));
    return true;
  }
  return false;
}

// NAT ports as libxt_NAT parses them: PORT[-PORT[/BASE]], the first port
// and the base may be service names, the second must be a number.
bool ParseNatPorts(std::string_view arg, bool allow_base, std::string& canon,
                   std::string& why) {
  uint64_t lo, hi, base = 0;
  size_t used = 0;
  if (!ParseNumberPrefix(arg, 65535, lo, used)) {
    if (!ServicePort(arg, lo)) {
      why = fmt::format("port \"{}\" not valid", arg);
      return false;
    }
    used = arg.size();
  }
  std::string_view rest = arg.substr(used);
  if (rest.empty()) {
    canon = std::to_string(lo);
    return true;
  }
  if (rest[0] == ':') {
    why = "invalid port:port syntax - use dash";
    return false;
  }
  if (rest[0] != '-') {
    why = fmt::format("garbage after port value: \"{}\"", rest);
    return false;
  }
  rest.remove_prefix(1);
  if (!ParseNumberPrefix(rest, 65535, hi, used)) {
    why = fmt::format("port \"{}\" not valid", rest);
    return false;
  }
  if (hi < lo) {
    why = fmt::format("port range \"{}\" is reversed", arg);
    return false;
  }
  rest.remove_prefix(used);
  canon = lo == hi ? std::to_string(lo) : fmt::format("{}-{}", lo, hi);
  if (rest.empty()) return true;
  if (rest[0] != '/') {
    why = fmt::format("garbage after port range: \"{}\"", rest);
    return false;
  }
  if (!allow_base) {
    why = "shifted portmap ranges (/BASE) are only supported by DNAT";
    return false;
  }
  rest.remove_prefix(1);
  if (!ParseNumber(rest, 65535, base) || base == 0) {
    if (!ServicePort(rest, base)) {
      why = fmt::format("port \"{}\" not valid", rest);
      return false;
    }
  }
  canon += fmt::format("/{}", base);
  return true;
}

bool NatPortsAllowed(uint16_t protocol) {
  // libxt_NAT: TCP, UDP, SCTP, DCCP or ICMP (the id).
  return protocol == 6 || protocol == 17 || protocol == 132 || protocol == 33 ||
         protocol == 1;
}

// --to-destination / --to-source: [ADDR[-ADDR]][:PORTS], IPv6 with ports in
// brackets; printed as libxt_NAT's sprint_range does.
bool ParseNatRange(std::string_view arg, const DecodeContext& ctx, bool allow_base,
                   std::string& canon, std::string& why) {
  bool v6 = ctx.family == Family::kIPv6;
  std::string_view addrs, ports;
  bool has_ports = false;
  if (arg.find('[') != std::string_view::npos) {
    size_t open = arg.find('['), close = arg.find(']', open);
    if (close == std::string_view::npos || !v6) {
      why = "invalid address format";
      return false;
    }
    addrs = arg.substr(open + 1, close - open - 1);
    size_t colon = arg.find(':', close + 1);
    if (colon != std::string_view::npos) {
      has_ports = true;
      ports = arg.substr(colon + 1);
    }
    if (open != 0) {
      why = "invalid address format";
      return false;
    }
  } else {
    size_t colon = arg.find(':');
    if (colon != std::string_view::npos && arg.find(':', colon + 1) != std::string_view::npos)
      colon = std::string_view::npos;   // an IPv6 address without ports
    addrs = arg.substr(0, colon);
    if (colon != std::string_view::npos) {
      has_ports = true;
      ports = arg.substr(colon + 1);
    }
  }
  std::string port_text;
  if (has_ports) {
    if (!NatPortsAllowed(ctx.protocol)) {
      why = "a port needs -p tcp, udp, sctp or dccp";
      return false;
    }
    if (!ParseNatPorts(ports, allow_base, port_text, why)) return false;
  }
  bool brackets = v6 && has_ports;
  canon.clear();
  if (!addrs.empty() || !has_ports) {
    size_t dash = addrs.find('-');
    auto lo = IpAddress::Parse(addrs.substr(0, dash), ctx.family);
    if (!lo) {
      why = fmt::format("bad IP address \"{}\"", addrs.substr(0, dash));
      return false;
    }
    if (brackets) canon += '[';
    lo->AppendTo(canon);
    if (dash != std::string_view::npos) {
      auto hi = IpAddress::Parse(addrs.substr(dash + 1), ctx.family);
      if (!hi) {
        why = fmt::format("bad IP address \"{}\"", addrs.substr(dash + 1));
        return false;
      }
      if (*hi != *lo) {
        canon += '-';
        hi->AppendTo(canon);
      }
    }
    if (brackets) canon += ']';
  }
  if (has_ports) {
    canon += ':';
    canon += port_text;
  }
  return true;
}

// The common IPv4 "A.B.C.D" or "A.B.C.D:PORT" (decimal, no leading zero)
// that ParseNatRange would accept and print back unchanged.
bool IsCanonicalNatRange(std::string_view arg, const DecodeContext& ctx) {
  if (ctx.family != Family::kIPv4) return false;
  size_t colon = arg.find(':');
  std::string_view addr = arg.substr(0, colon);
  if (addr.empty() || addr.size() > 15) return false;
  for (char c : addr)
    if (!(c == '.' || (c >= '0' && c <= '9'))) return false;
  if (!IpAddress::Parse(addr, Family::kIPv4)) return false;
  if (colon == std::string_view::npos) return true;
  std::string_view port = arg.substr(colon + 1);
  if (port.empty() || port.size() > 5 || (port[0] == '0' && port.size() > 1)) return false;
  uint32_t n = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return n <= 65535 && NatPortsAllowed(ctx.protocol);
}

// Users and groups for the owner match: a name known here, else
// ID[-ID] or ID[:ID] with IDs up to 2^32-2.
bool ParseOwnerId(std::string_view text, bool group, uint64_t& lo, uint64_t& hi) {
  std::string name(text);
  if (!name.empty()) {
    std::vector<char> buf(16384);
    if (group) {
      struct group g, *res = nullptr;
      if (getgrnam_r(name.c_str(), &g, buf.data(), buf.size(), &res) == 0 && res) {
        lo = hi = res->gr_gid;
        return true;
      }
    } else {
      struct passwd pw, *res = nullptr;
      if (getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &res) == 0 && res) {
        lo = hi = res->pw_uid;
        return true;
      }
    }
  }
  size_t used = 0, more = 0;
  if (!ParseNumberPrefix(text, 0xfffffffeu, lo, used)) return false;
  hi = lo;
  if (used < text.size() && (text[used] == '-' || text[used] == ':')) {
    if (!ParseNumberPrefix(text.substr(used + 1), 0xfffffffeu, hi, more)) return false;
    used += 1 + more;
  }
  return used == text.size();
}

// hashlimit's rate unit in seconds (the byte rates' 15 is
// XT_HASHLIMIT_BYTE_EXPIRE), kept in Value::count as an index.
constexpr uint64_t kHashUnits[] = {1, 60, 60 * 60, 24 * 60 * 60, 15};
uint16_t HashUnitIndex(uint64_t seconds) {
  for (uint16_t i = 0; i < std::size(kHashUnits); ++i)
    if (kHashUnits[i] == seconds) return i;
  return 0;
}
uint64_t HashUnitSeconds(uint16_t index) {
  return index < std::size(kHashUnits) ? kHashUnits[index] : 1;
}

// hashlimit's byte costs (xt_hashlimit.h: XT_HASHLIMIT_BYTE_SHIFT = 4).
uint64_t CostToBytes(uint64_t cost) {
  uint64_t r = cost ? 0xffffffffull / cost : 0xffffffffull;
  return (r - 1) << 4;
}
uint64_t BytesToCost(uint64_t bytes) {
  uint32_t r = static_cast<uint32_t>(bytes >> 4);
  return 0xffffffffull / (static_cast<uint64_t>(r) + 1);
}
uint64_t UnitFactor(char c) {
  if (c == 'm' || c == 'M') return 1024 * 1024;
  if (c == 'k' || c == 'K') return 1024;
  return 1;
}

}  // namespace

std::string CanonicalLimitRate(std::string_view text) {
  uint64_t avg;
  return ParseRate(text, avg) ? RateText(avg) : std::string();
}

bool ParseNumberPrefix(std::string_view text, uint64_t max, uint64_t& out,
                       size_t& used) {
  // strtoul(text, &end, 0) as xtables_strtoul uses it: 0x hex, a leading 0
  // octal, else decimal; at least one digit; no sign.
  int base = 10;
  size_t i = 0;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X') &&
      isxdigit(static_cast<unsigned char>(text[2]))) {
    base = 16;
    i = 2;
  } else if (!text.empty() && text[0] == '0') {
    base = 8;
  }
  auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), out, base);
  if (ec == std::errc::result_out_of_range) return false;
  if (ec != std::errc() || end == text.data() + i) return false;
  used = static_cast<size_t>(end - text.data());
  return out <= max;
}

bool ParseNumber(std::string_view text, uint64_t max, uint64_t& out) {
  size_t used = 0;
  return ParseNumberPrefix(text, max, out, used) && used == text.size();
}

namespace {

std::string HashRateText(uint64_t period) {
  constexpr uint64_t kScale = 1000000;
  constexpr RateUnit kUnits[] = {{"day", kScale * 24 * 60 * 60},
                                 {"hour", kScale * 60 * 60},
                                 {"min", kScale * 60},
                                 {"sec", kScale}};
  size_t i = 1;
  for (; i < std::size(kUnits); ++i)
    if (period > kUnits[i].mult || kUnits[i].mult / period < kUnits[i].mult % period)
      break;
  return fmt::format("{}/{}", kUnits[i - 1].mult / period, kUnits[i - 1].name);
}

// libxt_hashlimit's print_bytes: the rate, and the burst when there is one.
std::string HashBytesText(uint64_t avg, uint64_t burst, std::string* burst_text) {
  struct Unit {
    std::string_view name;
    uint64_t thresh;
  };
  constexpr Unit kUnits[] = {{"m", 1024 * 1024}, {"k", 1024}, {"", 1}};
  uint64_t r = CostToBytes(avg);
  size_t i = 0;
  for (; i + 1 < std::size(kUnits); ++i)
    if (r >= kUnits[i].thresh && BytesToCost(r & ~(kUnits[i].thresh - 1)) == avg) break;
  std::string rate = fmt::format("{}{}b/s", r / kUnits[i].thresh, kUnits[i].name);
  if (burst && burst_text) {
    r *= burst;
    for (i = 0; i + 1 < std::size(kUnits); ++i)
      if (r >= kUnits[i].thresh) break;
    *burst_text = fmt::format("{}{}b", r / kUnits[i].thresh, kUnits[i].name);
  }
  return rate;
}

}  // namespace

bool CanonicalizeHashlimit(std::vector<Part>& opts, Family family, Ruleset& ruleset,
                           std::string& error) {
  const Part* rate = nullptr;
  const Part* burst = nullptr;
  bool above = false, rate_match = false, has_expire = false, has_name = false;
  uint64_t mode = 0, expire = 0, interval = 0;
  std::vector<Part> rest;
  for (const auto& p : opts) {
    std::string_view o = OptionById(p.id).name;
    if (o == "hashlimit-upto" || o == "hashlimit-above") {
      if (rate) {
        error = "only one of --hashlimit-upto and --hashlimit-above";
        return false;
      }
      rate = &p;
      above = (o == "hashlimit-above") != p.negated;
    } else if (o == "hashlimit-burst") {
      burst = &p;
    } else if (o == "hashlimit-mode") {
      std::string_view m = p.text;
      size_t start = 0;
      while (start <= m.size()) {
        size_t sep = m.find_first_of(",|", start);
        std::string_view w = m.substr(start, sep - start);
        if (w == "dstip") mode |= 1;
        else if (w == "dstport") mode |= 2;
        else if (w == "srcip") mode |= 4;
        else if (w == "srcport") mode |= 8;
        else {
          error = fmt::format("bad --hashlimit-mode \"{}\"", m);
          return false;
        }
        if (sep == std::string_view::npos) break;
        start = sep + 1;
      }
    } else if (o == "hashlimit-rate-match") {
      rate_match = true;
    } else if (o == "hashlimit-htable-expire") {
      has_expire = true;
      expire = p.value.lo;
    } else if (o == "hashlimit-rate-interval") {
      if (p.value.lo == 0) {
        error = "--hashlimit-rate-interval must be at least 1";
        return false;
      }
      interval = p.value.lo;
    } else {
      has_name |= o == "hashlimit-name";
      rest.push_back(p);
    }
  }
  if (!rate) {
    error = "you have to specify --hashlimit-upto or --hashlimit-above";
    return false;
  }
  if (!has_name) {
    error = "you have to specify --hashlimit-name";
    return false;
  }
  bool bytes = rate->value.hi == 1;
  uint64_t avg = rate->value.lo, mult = HashUnitSeconds(rate->value.count);
  uint64_t burst_n = bytes ? 0 : 5;
  if (!has_expire) expire = mult * 1000;
  if (bytes) {
    if (burst) {
      uint64_t unit = CostToBytes(avg);
      if (unit == 0 || burst->value.lo < unit) {
        error = fmt::format("burst cannot be smaller than {}b", unit);
        return false;
      }
      burst_n = burst->value.lo / unit + (burst->value.lo % unit ? 1 : 0);
      if (!has_expire) expire = 60 * 1000;
    }
  } else if (burst) {
    burst_n = burst->value.lo;
    if (burst_n > 1000000) {
      error = "burst is above the maximum 1000000";
      return false;
    }
  }
  if (rate_match) {
    if (!bytes) avg /= mult;
    if (interval == 0) interval = bytes ? 1 : mult;
  }
  if (avg == 0) {
    error = "rate too fast";
    return false;
  }
  auto make = [&](std::string_view option, std::string text, uint64_t value) {
    Part p;
    p.id = FindOptionId("hashlimit", option);
    p.value.kind = Value::Kind::kNumber;
    p.value.lo = value;
    p.text = ruleset.StoreName(text);
    return p;
  };
  std::vector<Part> out;
  uint64_t quantum;
  std::string burst_text;
  std::string rate_text;
  if (bytes) {
    rate_text = HashBytesText(avg, burst_n, &burst_text);
    quantum = burst_n ? 60 * 1000 : 15 * 1000;
  } else {
    rate_text = HashRateText(avg);
    burst_text = std::to_string(burst_n);
    std::string_view unit = std::string_view(rate_text).substr(rate_text.find('/') + 1);
    quantum = unit == "day" ? 86400000 : unit == "hour" ? 3600000 : unit == "min" ? 60000 : 1000;
  }
  Part r = make(above ? "hashlimit-above" : "hashlimit-upto", rate_text, avg);
  r.value.hi = bytes;
  r.value.count = HashUnitIndex(mult);
  out.push_back(r);
  if (!burst_text.empty()) out.push_back(make("hashlimit-burst", burst_text, burst_n));
  if (mode) {
    std::string m;
    for (auto [bit, name] : {std::pair<uint64_t, const char*>{4, "srcip"}, {8, "srcport"},
                             {1, "dstip"}, {2, "dstport"}})
      if (mode & bit) m += (m.empty() ? "" : ",") + std::string(name);
    out.push_back(make("hashlimit-mode", m, mode));
  }
  unsigned default_mask = family == Family::kIPv4 ? 32 : 128;
  for (auto& p : rest) {
    std::string_view o = OptionById(p.id).name;
    if ((o == "hashlimit-htable-size" || o == "hashlimit-htable-max") && p.value.lo == 0)
      continue;
    if (o == "hashlimit-htable-gcinterval" && p.value.lo == 1000) continue;
    if ((o == "hashlimit-srcmask" || o == "hashlimit-dstmask") &&
        (p.value.lo == default_mask || p.value.lo > default_mask)) {
      if (p.value.lo > default_mask) {
        error = fmt::format("--{} is at most {}", o, default_mask);
        return false;
      }
      continue;
    }
    out.push_back(p);
  }
  if (expire != quantum)
    out.push_back(make("hashlimit-htable-expire", std::to_string(expire), expire));
  if (rate_match) {
    out.push_back(make("hashlimit-rate-match", "", 0));
    if (interval != 1)
      out.push_back(make("hashlimit-rate-interval", std::to_string(interval), interval));
  }
  for (auto& p : out) p.kind = Part::Kind::kOption;
  out.front().negated = false;
  std::stable_sort(out.begin(), out.end(), [](const Part& a, const Part& b) {
    return OptionOrder(a.id) < OptionOrder(b.id);
  });
  opts = std::move(out);
  return true;
}

std::string QuoteText(std::string_view text, bool force) {
  auto safe = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
  };
  bool plain = !text.empty() && !force;
  for (char c : text) plain = plain && safe(c);
  if (plain) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

namespace {

// One option's arguments being decoded: what every codec function gets.
// A codec function fills the part's value and the canonical text (CANON,
// or VERBATIM: the argument as written), or sets ERROR and returns false.
struct Decoding {
  const OptionSpec& spec;
  std::span<const std::string_view> args;   // at least the codec's arity
  const DecodeContext& ctx;
  Part& part;
  std::string& canon;
  std::string& error;
  std::string_view a;          // the argument the messages quote (args[0])
  bool verbatim = false;

  Value& v() { return part.value; }
  bool Bad(std::string_view what) {
    error = fmt::format("--{}: bad {} \"{}\"", spec.name, what, a);
    return false;
  }
  bool Fail(std::string_view why) {
    error = fmt::format("--{}: {}", spec.name, why);
    return false;
  }
};

bool OnePort(const DecodeContext& ctx, std::string_view t, uint64_t& out) {
  uint16_t p;
  if (!ParsePort(t, ctx, p)) return false;
  out = p;
  return true;
}

bool DecodeFlag(Decoding& d) {
  d.v().kind = Value::Kind::kNone;
  return true;
}

bool DecodePort(Decoding& d) {
  uint64_t lo, hi;
  auto one = [&](std::string_view t, uint64_t& out) { return OnePort(d.ctx, t, out); };
  if (!ParseRange(d.a, ':', 65535, one, lo, hi)) return d.Bad("port");
  d.v().kind = Value::Kind::kPorts;
  d.v().lo = lo;
  d.v().hi = hi;
  AppendPortText(d.canon, static_cast<uint16_t>(lo), static_cast<uint16_t>(hi));
  return true;
}

bool DecodePortList(Decoding& d) {
  std::string_view a = d.a;
  std::string& canon = d.canon;
  // At most 15 ports are allowed, so 16 slots hold any valid list.
  PortRange list[16];
  size_t start = 0, weight = 0, n_items = 0;
  auto one = [&](std::string_view t, uint64_t& out) { return OnePort(d.ctx, t, out); };
  while (start <= a.size()) {
    size_t comma = a.find(',', start);
    std::string_view item = a.substr(start, comma - start);
    uint64_t lo, hi;
    if (item.empty() || item.front() == ':' || item.back() == ':' ||
        !ParseRange(item, ':', 65535, one, lo, hi))
      return d.Bad("port list");
    if (n_items < std::size(list))
      list[n_items] = {static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)};
    ++n_items;
    weight += lo == hi ? 1 : 2;
    if (!canon.empty()) canon += ',';
    AppendPortText(canon, static_cast<uint16_t>(lo), static_cast<uint16_t>(hi));
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (weight > 15) return d.Fail("too many ports specified (at most 15)");
  d.v().kind = Value::Kind::kPortList;
  d.v().ptr = d.ctx.ruleset->StoreArray(std::span<const PortRange>(list, n_items));
  d.v().count = static_cast<uint16_t>(n_items);
  return true;
}

// kRange (a:b) and kDashRange (a-b).
bool DecodeRange(Decoding& d) {
  uint64_t max = d.spec.max ? d.spec.max : 0xffffffffu, lo, hi;
  auto one = [&](std::string_view t, uint64_t& out) { return ParseNumber(t, max, out); };
  char sep = d.spec.codec == Codec::kRange ? ':' : '-';
  if (!ParseRange(d.a, sep, max, one, lo, hi)) return d.Bad("range");
  d.v().kind = Value::Kind::kRange;
  d.v().lo = lo;
  d.v().hi = hi;
  d.canon = lo == hi ? std::to_string(lo) : fmt::format("{}{}{}", lo, sep, hi);
  return true;
}

bool DecodeNumber(Decoding& d) {
  uint64_t n;
  if (!ParseNumber(d.a, d.spec.max ? d.spec.max : 0xffffffffu, n)) return d.Bad("number");
  d.v().kind = Value::Kind::kNumber;
  d.v().lo = n;
  AppendNumber(d.canon, n);
  return true;
}

bool DecodeMark(Decoding& d) {
  uint64_t value, mask;
  if (!ParseMark(d.a, value, mask)) return d.Bad("mark");
  d.v().kind = Value::Kind::kMark;
  d.v().lo = value;
  d.v().hi = mask;
  d.canon = mask == 0xffffffffu ? fmt::format("{:#x}", value)
                                : fmt::format("{:#x}/{:#x}", value, mask);
  if (value == 0) d.canon = mask == 0xffffffffu ? "0x0" : fmt::format("0x0/{:#x}", mask);
  return true;
}

bool DecodeBits(Decoding& d) {
  std::string_view a = d.a;
  uint64_t bits = 0;
  size_t start = 0;
  while (start <= a.size()) {
    size_t comma = a.find(',', start);
    uint64_t bit;
    if (!NameLookup(d.spec.names, a.substr(start, comma - start), bit)) return d.Bad("value");
    bits |= bit;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  for (const auto& n : d.spec.names)
    if (n.canonical && (bits & n.value)) {
      if (!d.canon.empty()) d.canon += ',';
      d.canon += n.name;
    }
  d.v().kind = Value::Kind::kBits;
  d.v().lo = bits;
  return true;
}

bool DecodeEnum(Decoding& d) {
  const OptionSpec& spec = d.spec;
  uint64_t value;
  if (!NameLookup(spec.names, d.a, value)) {
    // Numbers where the option allows them (spec.max), if named.
    uint64_t n;
    bool named = false;
    if (spec.max && ParseNumber(d.a, spec.max, n))
      for (const auto& nb : spec.names) named |= nb.value == n;
    if (!named) return d.Bad("value");
    value = n;
  }
  d.v().kind = Value::Kind::kNumber;
  d.v().lo = value;
  std::string_view name = CanonicalName(spec.names, value);
  d.canon = name.empty() ? std::to_string(value) : std::string(name);
  return true;
}

bool DecodeText(Decoding& d) {
  if (d.spec.max && d.a.size() > d.spec.max)
    return d.Fail(fmt::format("text longer than {} characters", d.spec.max));
  d.v().kind = Value::Kind::kText;
  d.verbatim = true;
  return true;
}

// kWord and kInterface.
bool DecodeWord(Decoding& d) {
  if (d.a.empty()) return d.Bad("value");
  if (d.spec.codec == Codec::kInterface && d.a.size() > 15) return d.Bad("interface name");
  d.v().kind = Value::Kind::kText;
  d.verbatim = true;
  return true;
}

bool DecodeCidr(Decoding& d) {
  auto c = Cidr::Parse(d.a, d.ctx.family);
  if (!c) return d.Bad("address");
  d.v().kind = Value::Kind::kCidr;
  d.v().ptr = d.ctx.ruleset->StoreArray(std::span<const Cidr>(&*c, 1));
  int len = c->PrefixLength();
  d.canon = len == c->address.Bits() ? c->address.ToString() : c->ToString();
  return true;
}

bool DecodeAddress(Decoding& d) {
  auto addr = IpAddress::Parse(d.a, d.ctx.family);
  if (!addr) return d.Bad("address");
  auto c = Cidr::Prefix(*addr, addr->Bits());
  d.v().kind = Value::Kind::kCidr;
  d.v().ptr = d.ctx.ruleset->StoreArray(std::span<const Cidr>(&c, 1));
  d.canon = addr->ToString();
  return true;
}

bool DecodeAddrRange(Decoding& d) {
  std::string_view a = d.a;
  size_t dash = a.find('-');
  auto lo = IpAddress::Parse(a.substr(0, dash), d.ctx.family);
  auto hi = dash == std::string_view::npos ? lo
                                           : IpAddress::Parse(a.substr(dash + 1), d.ctx.family);
  if (!lo || !hi) return d.Bad("address range");
  IpAddress both[2] = {*lo, *hi};
  d.v().kind = Value::Kind::kAddrRange;
  d.v().ptr = d.ctx.ruleset->StoreArray(std::span<const IpAddress>(both, 2));
  d.canon = lo->ToString() + "-" + hi->ToString();
  return true;
}

bool DecodeRate(Decoding& d) {
  uint64_t avg;
  if (!ParseRate(d.a, avg)) return d.Bad("rate");
  d.v().kind = Value::Kind::kNumber;
  d.v().lo = avg;
  d.canon = RateText(avg);
  return true;
}

// kIcmpType and kIcmp6Type.
bool DecodeIcmpType(Decoding& d) {
  std::string why;
  if (!DecodeIcmp(d.a, d.spec.codec == Codec::kIcmp6Type, d.part, d.canon, why)) {
    if (why.empty()) return d.Bad("ICMP type");
    return d.Fail(why);
  }
  return true;
}

bool DecodeTcpFlags(Decoding& d) {
  uint64_t mask, comp;
  if (!ParseTcpFlags(d.args[0], mask)) return d.Bad("TCP flags");
  if (!ParseTcpFlags(d.args[1], comp)) {
    d.a = d.args[1];
    return d.Bad("TCP flags");
  }
  d.v().kind = Value::Kind::kBits;
  d.v().hi = mask;
  d.v().lo = comp;
  d.canon = TcpFlagsText(mask) + " " + TcpFlagsText(comp);
  return true;
}

bool DecodeSetMatch(Decoding& d) {
  std::string_view a = d.a, dirs = d.args[1];
  size_t n = 1;
  for (char c : dirs) n += c == ',';
  if (a.empty() || a.size() > 31 || a.find_first_of(" \t\"") != std::string_view::npos ||
      a == "!")
    return d.Bad("set name");
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t comma = dirs.find(',', start);
    std::string_view dir = dirs.substr(start, comma - start);
    if (dir != "src" && dir != "dst") {
      d.a = dirs;
      return d.Bad("set direction");
    }
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  if (n > 6) return d.Bad("set direction count");
  d.v().kind = Value::Kind::kText;
  d.canon = fmt::format("{} {}", a, dirs);
  d.v().count = static_cast<uint16_t>(a.size());  // length of the set name
  return true;
}

bool DecodeNatRange(Decoding& d) {
  if (IsCanonicalNatRange(d.a, d.ctx)) {
    d.v().kind = Value::Kind::kText;
    d.verbatim = true;
    return true;
  }
  std::string why;
  if (!ParseNatRange(d.a, d.ctx, d.spec.name == "to-destination", d.canon, why))
    return d.Fail(why);
  d.v().kind = Value::Kind::kText;
  return true;
}

bool DecodeToPorts(Decoding& d) {
  if (!NatPortsAllowed(d.ctx.protocol)) return d.Fail("a port needs -p tcp, udp, sctp or dccp");
  std::string why;
  if (!ParseNatPorts(d.a, false, d.canon, why)) return d.Fail(why);
  d.v().kind = Value::Kind::kText;
  return true;
}

bool DecodePrefix(Decoding& d) {
  auto c = Cidr::Parse(d.a, d.ctx.family);
  if (!c) return d.Bad("address");
  d.v().kind = Value::Kind::kCidr;
  d.v().ptr = d.ctx.ruleset->StoreArray(std::span<const Cidr>(&*c, 1));
  d.canon = c->ToString();
  return true;
}

bool DecodeXMark(Decoding& d) {
  uint64_t value, mask;
  if (!ParseMark(d.a, value, mask)) return d.Bad("mark");
  d.v().kind = Value::Kind::kMark;
  d.v().lo = value;
  d.v().hi = mask;
  d.canon = fmt::format("{:#x}/{:#x}", value, mask);
  if (value == 0) d.canon = fmt::format("0x0/{:#x}", mask);
  if (mask == 0) d.canon = fmt::format("{:#x}/0x0", value);
  if (value == 0 && mask == 0) d.canon = "0x0/0x0";
  return true;
}

bool DecodeHexNumber(Decoding& d) {
  uint64_t n;
  if (!ParseNumber(d.a, d.spec.max ? d.spec.max : 0xffffffffu, n)) return d.Bad("number");
  d.v().kind = Value::Kind::kNumber;
  d.v().lo = n;
  d.canon = n == 0 ? "0x0" : fmt::format("{:#x}", n);
  return true;
}

bool DecodeProtocol(Decoding& d) {
  uint16_t proto = 0;
  if (!ParseProtocol(d.a, proto)) return d.Bad("protocol");
  if (proto == 0) return d.Fail("protocol 0 would never match");
  d.v().kind = Value::Kind::kNumber;
  d.v().lo = proto;
  d.canon = std::to_string(proto);
  return true;
}

// kUser and kGroup.
bool DecodeOwner(Decoding& d) {
  bool group = d.spec.codec == Codec::kGroup;
  uint64_t lo, hi;
  if (!ParseOwnerId(d.a, group, lo, hi)) return d.Bad(group ? "group" : "user");
  d.v().kind = Value::Kind::kRange;
  d.v().lo = lo;
  d.v().hi = hi;
  d.canon = lo == hi ? std::to_string(lo) : fmt::format("{}-{}", lo, hi);
  return true;
}

bool DecodeZone(Decoding& d) {
  uint64_t n = 0;
  d.v().kind = Value::Kind::kNumber;
  if (strcasecmp(std::string(d.a).c_str(), "mark") == 0) {
    d.v().hi = 1;   // the zone comes from the packet mark
    d.canon = "mark";
  } else if (ParseNumber(d.a, 65535, n)) {
    d.v().lo = n;
    d.canon = std::to_string(n);
  } else {
    return d.Bad("zone");
  }
  return true;
}

// Packets: N[/second|minute|hour|day] (any prefix of the unit).
// Bytes: N[k|m]b/s. Value: lo = cost, hi = 1 for bytes, count = the
// unit in seconds (bytes: 15, XT_HASHLIMIT_BYTE_EXPIRE).
bool DecodeHashRate(Decoding& d) {
  std::string_view a = d.a;
  Value& v = d.v();
  uint64_t r = 0;
  size_t used = 0;
  if (!ParseNumberPrefix(a, ~0ull, r, used) || r == 0) return d.Bad("rate");
  std::string_view rest = a.substr(used);
  size_t bps = rest.find("b/s");
  if (bps != std::string_view::npos) {
    std::string_view unit = rest.substr(0, bps);
    if (rest.size() != bps + 3 || unit.size() > 1 ||
        (unit.size() == 1 && UnitFactor(unit[0]) == 1))
      return d.Bad("rate");
    uint64_t bytes = r * (unit.empty() ? 1 : UnitFactor(unit[0]));
    if (bytes / (unit.empty() ? 1 : UnitFactor(unit[0])) != r) return d.Bad("rate");
    uint64_t cost = BytesToCost(bytes);
    if (cost == 0) return d.Bad("rate (too high)");
    v.lo = cost;
    v.hi = 1;
    v.count = HashUnitIndex(15);
  } else {
    uint64_t mult = 1;
    if (!rest.empty()) {
      if (rest[0] != '/' || rest.size() == 1) return d.Bad("rate");
      std::string_view unit = rest.substr(1);
      auto prefix = [&](std::string_view word) {
        return unit.size() <= word.size() &&
               strncasecmp(word.data(), unit.data(), unit.size()) == 0;
      };
      if (prefix("second")) mult = 1;
      else if (prefix("minute")) mult = 60;
      else if (prefix("hour")) mult = 60 * 60;
      else if (prefix("day")) mult = 24 * 60 * 60;
      else return d.Bad("rate");
    }
    uint64_t cost = 1000000ull * mult / r;
    if (cost == 0) return d.Bad("rate (too fast)");
    v.lo = cost;
    v.hi = 0;
    v.count = HashUnitIndex(mult);
  }
  v.kind = Value::Kind::kNumber;
  d.canon = a;   // the hashlimit module's check prints it canonically
  return true;
}

bool DecodeHashBurst(Decoding& d) {
  Value& v = d.v();
  uint64_t n = 0;
  size_t used = 0;
  if (!ParseNumberPrefix(d.a, ~0ull, n, used) || n == 0) return d.Bad("burst");
  std::string_view rest = d.a.substr(used);
  uint64_t factor = 1;
  if (!rest.empty()) {
    if (rest != "b" && rest != "B") {
      factor = UnitFactor(rest[0]);
      if (factor == 1 || rest.size() > 2 ||
          (rest.size() == 2 && rest[1] != 'b' && rest[1] != 'B'))
        return d.Bad("burst");
    }
    v.hi = 1;   // given in bytes
  } else if (n > 1000000) {
    return d.Fail(fmt::format("burst {} is above the maximum 1000000", n));
  }
  if (n * factor / factor != n) return d.Bad("burst");
  v.kind = Value::Kind::kNumber;
  v.lo = n * factor;
  d.canon = std::to_string(v.lo);
  return true;
}

bool DecodeMac(Decoding& d) {
  if (d.a.size() != 17) return d.Bad("MAC address");
  for (size_t i = 0; i < 17; ++i) {
    char c = d.a[i];
    bool ok = i % 3 == 2 ? c == ':' : isxdigit(static_cast<unsigned char>(c));
    if (!ok) return d.Bad("MAC address");
    d.canon += static_cast<char>(tolower(static_cast<unsigned char>(c)));
  }
  d.v().kind = Value::Kind::kText;
  return true;
}

// Each Codec's arguments and decoding function, in the enum's order.
struct CodecDef {
  Codec codec;
  int arity;                      // arguments after the option name
  bool (*decode)(Decoding&);
};
constexpr CodecDef kCodecs[] = {
    {Codec::kFlag, 0, DecodeFlag},
    {Codec::kPort, 1, DecodePort},
    {Codec::kPortList, 1, DecodePortList},
    {Codec::kRange, 1, DecodeRange},
    {Codec::kDashRange, 1, DecodeRange},
    {Codec::kNumber, 1, DecodeNumber},
    {Codec::kMark, 1, DecodeMark},
    {Codec::kBits, 1, DecodeBits},
    {Codec::kEnum, 1, DecodeEnum},
    {Codec::kText, 1, DecodeText},
    {Codec::kWord, 1, DecodeWord},
    {Codec::kCidr, 1, DecodeCidr},
    {Codec::kAddress, 1, DecodeAddress},
    {Codec::kAddrRange, 1, DecodeAddrRange},
    {Codec::kRate, 1, DecodeRate},
    {Codec::kIcmpType, 1, DecodeIcmpType},
    {Codec::kIcmp6Type, 1, DecodeIcmpType},
    {Codec::kTcpFlags, 2, DecodeTcpFlags},
    {Codec::kSetMatch, 2, DecodeSetMatch},
    {Codec::kNatRange, 1, DecodeNatRange},
    {Codec::kToPorts, 1, DecodeToPorts},
    {Codec::kMac, 1, DecodeMac},
    {Codec::kInterface, 1, DecodeWord},
    {Codec::kPrefix, 1, DecodePrefix},
    {Codec::kXMark, 1, DecodeXMark},
    {Codec::kHexNumber, 1, DecodeHexNumber},
    {Codec::kProtocol, 1, DecodeProtocol},
    {Codec::kUser, 1, DecodeOwner},
    {Codec::kGroup, 1, DecodeOwner},
    {Codec::kZone, 1, DecodeZone},
    {Codec::kHashRate, 1, DecodeHashRate},
    {Codec::kHashBurst, 1, DecodeHashBurst},
};
constexpr bool InEnumOrder() {
  for (size_t i = 0; i < std::size(kCodecs); ++i)
    if (static_cast<size_t>(kCodecs[i].codec) != i) return false;
  return std::size(kCodecs) == static_cast<size_t>(Codec::kHashBurst) + 1;
}
static_assert(InEnumOrder(), "kCodecs: one entry per Codec, in the enum's order");

const CodecDef& Def(Codec codec) { return kCodecs[static_cast<size_t>(codec)]; }

}  // namespace

int CodecArity(Codec codec) { return Def(codec).arity; }

int DecodeOption(const OptionSpec& spec, std::span<const std::string_view> args,
                 const DecodeContext& ctx, Part& part, std::string& error) {
  const CodecDef& def = Def(spec.codec);
  int arity = def.arity;
  if (static_cast<int>(args.size()) < arity) {
    error = fmt::format("option --{} needs {} argument{}", spec.name, arity,
                        arity > 1 ? "s" : "");
    return -1;
  }
  std::string local;
  std::string& canon = ctx.scratch ? *ctx.scratch : local;
  canon.clear();
  Decoding d{spec, args, ctx, part, canon, error, arity ? args[0] : std::string_view()};
  if (!def.decode(d)) return -1;
  std::string_view text = d.verbatim ? d.a : std::string_view(canon);
  part.text = ctx.interner ? ctx.interner->Intern(text) : ctx.ruleset->StoreName(text);
  return arity;
}

}  // namespace swarmwall::netfilter
