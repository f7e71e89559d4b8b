#include "netfilter/codecs.h"

#include <netdb.h>
#include <strings.h>

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

std::string PortText(uint16_t lo, uint16_t hi) {
  return lo == hi ? std::to_string(lo) : fmt::format("{}:{}", lo, hi);
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

bool DecodeIcmp(std::string_view text, bool v6, Part& part, std::string& canon) {
  uint8_t type = 0, lo = 0, hi = 0xff;
  bool found = false;
  for (const auto& n : (v6 ? std::span<const IcmpName>(kIcmp6)
                           : std::span<const IcmpName>(kIcmp4)))
    if (strncasecmp(n.name.data(), text.data(), text.size()) == 0 &&
        n.name.size() == text.size()) {
      type = n.type;
      lo = n.code_lo;
      hi = n.code_hi;
      found = true;
      break;
    }
  if (!found) {
    size_t slash = text.find('/');
    uint64_t t, c;
    if (!ParseNumber(text.substr(0, slash), 255, t)) return false;
    type = static_cast<uint8_t>(t);
    if (slash != std::string_view::npos) {
      if (!ParseNumber(text.substr(slash + 1), 255, c)) return false;
      lo = hi = static_cast<uint8_t>(c);
    }
  }
  if (!v6 && type == 0xff) canon = "any";
  else if (lo == 0 && hi == 0xff) canon = std::to_string(type);
  else canon = fmt::format("{}/{}", type, lo);
  part.value.kind = Value::Kind::kRange;
  part.value.count = type;  // the type; lo..hi are the codes
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

}  // namespace

bool ParseNumber(std::string_view text, uint64_t max, uint64_t& out) {
  if (text.empty()) return false;
  int base = 10;
  if (text.size() > 2 && text[0] == '0' && (text[1] == 'x' || text[1] == 'X')) {
    base = 16;
    text.remove_prefix(2);
  }
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return ec == std::errc() && end == text.data() + text.size() && out <= max;
}

int CodecArity(Codec codec) {
  switch (codec) {
    case Codec::kFlag: return 0;
    case Codec::kTcpFlags:
    case Codec::kSetMatch: return 2;
    default: return 1;
  }
}

std::string QuoteText(std::string_view text) {
  auto safe = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-';
  };
  bool plain = !text.empty();
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

int DecodeOption(const OptionSpec& spec, std::span<const std::string> args,
                 const DecodeContext& ctx, Part& part, std::string& error) {
  int arity = CodecArity(spec.codec);
  if (static_cast<int>(args.size()) < arity) {
    error = fmt::format("option --{} needs {} argument{}", spec.name, arity,
                        arity > 1 ? "s" : "");
    return -1;
  }
  std::string_view a = arity ? std::string_view(args[0]) : std::string_view();
  std::string canon;
  Value& v = part.value;
  auto bad = [&](std::string_view what) {
    error = fmt::format("--{}: bad {} \"{}\"", spec.name, what, a);
    return -1;
  };
  switch (spec.codec) {
    case Codec::kFlag:
      v.kind = Value::Kind::kNone;
      break;
    case Codec::kPort: {
      uint64_t lo, hi;
      auto one = [&](std::string_view t, uint64_t& out) {
        uint16_t p;
        if (!ParsePort(t, ctx, p)) return false;
        out = p;
        return true;
      };
      if (!ParseRange(a, ':', 65535, one, lo, hi)) return bad("port");
      v.kind = Value::Kind::kPorts;
      v.lo = lo;
      v.hi = hi;
      canon = PortText(static_cast<uint16_t>(lo), static_cast<uint16_t>(hi));
      break;
    }
    case Codec::kPortList: {
      std::vector<PortRange> list;
      size_t start = 0, weight = 0;
      while (start <= a.size()) {
        size_t comma = a.find(',', start);
        std::string_view item = a.substr(start, comma - start);
        uint64_t lo, hi;
        auto one = [&](std::string_view t, uint64_t& out) {
          uint16_t p;
          if (!ParsePort(t, ctx, p)) return false;
          out = p;
          return true;
        };
        if (item.empty() || item.front() == ':' || item.back() == ':' ||
            !ParseRange(item, ':', 65535, one, lo, hi))
          return bad("port list");
        list.push_back({static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)});
        weight += lo == hi ? 1 : 2;
        if (!canon.empty()) canon += ',';
        canon += PortText(static_cast<uint16_t>(lo), static_cast<uint16_t>(hi));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
      if (weight > 15) {
        error = fmt::format("--{}: too many ports specified (at most 15)", spec.name);
        return -1;
      }
      v.kind = Value::Kind::kPortList;
      v.ptr = ctx.ruleset->StoreArray(std::span<const PortRange>(list));
      v.count = static_cast<uint32_t>(list.size());
      break;
    }
    case Codec::kRange:
    case Codec::kDashRange: {
      uint64_t max = spec.max ? spec.max : 0xffffffffu, lo, hi;
      auto one = [&](std::string_view t, uint64_t& out) {
        return ParseNumber(t, max, out);
      };
      char sep = spec.codec == Codec::kRange ? ':' : '-';
      if (!ParseRange(a, sep, max, one, lo, hi)) return bad("range");
      v.kind = Value::Kind::kRange;
      v.lo = lo;
      v.hi = hi;
      canon = lo == hi ? std::to_string(lo) : fmt::format("{}{}{}", lo, sep, hi);
      break;
    }
    case Codec::kNumber: {
      uint64_t n;
      if (!ParseNumber(a, spec.max ? spec.max : 0xffffffffu, n)) return bad("number");
      v.kind = Value::Kind::kNumber;
      v.lo = n;
      canon = std::to_string(n);
      break;
    }
    case Codec::kMark: {
      uint64_t value, mask;
      if (!ParseMark(a, value, mask)) return bad("mark");
      v.kind = Value::Kind::kMark;
      v.lo = value;
      v.hi = mask;
      canon = mask == 0xffffffffu ? fmt::format("{:#x}", value)
                                  : fmt::format("{:#x}/{:#x}", value, mask);
      if (value == 0) canon = mask == 0xffffffffu ? "0x0" : fmt::format("0x0/{:#x}", mask);
      break;
    }
    case Codec::kBits: {
      uint64_t bits = 0;
      size_t start = 0;
      while (start <= a.size()) {
        size_t comma = a.find(',', start);
        uint64_t bit;
        if (!NameLookup(spec.names, a.substr(start, comma - start), bit))
          return bad("value");
        bits |= bit;
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
      for (const auto& n : spec.names)
        if (n.canonical && (bits & n.value)) {
          if (!canon.empty()) canon += ',';
          canon += n.name;
        }
      v.kind = Value::Kind::kBits;
      v.lo = bits;
      break;
    }
    case Codec::kEnum: {
      uint64_t value;
      if (!NameLookup(spec.names, a, value)) {
        uint64_t n;
        // log levels may be numbers
        if (!ParseNumber(a, 7, n) || spec.names.empty() ||
            spec.names[0].name != "emerg")
          return bad("value");
        value = n;
      }
      v.kind = Value::Kind::kNumber;
      v.lo = value;
      std::string_view name = CanonicalName(spec.names, value);
      canon = name.empty() ? std::to_string(value) : std::string(name);
      break;
    }
    case Codec::kText:
      if (spec.max && a.size() > spec.max) {
        error = fmt::format("--{}: text longer than {} characters", spec.name, spec.max);
        return -1;
      }
      v.kind = Value::Kind::kText;
      canon = a;
      break;
    case Codec::kWord:
    case Codec::kInterface:
      if (a.empty()) return bad("value");
      if (spec.codec == Codec::kInterface && a.size() > 15) return bad("interface name");
      v.kind = Value::Kind::kText;
      canon = a;
      break;
    case Codec::kCidr: {
      auto c = Cidr::Parse(a, ctx.family);
      if (!c) return bad("address");
      v.kind = Value::Kind::kCidr;
      v.ptr = ctx.ruleset->StoreArray(std::span<const Cidr>(&*c, 1));
      int len = c->PrefixLength();
      canon = len == c->address.Bits() ? c->address.ToString() : c->ToString();
      break;
    }
    case Codec::kAddress: {
      auto addr = IpAddress::Parse(a, ctx.family);
      if (!addr) return bad("address");
      auto c = Cidr::Prefix(*addr, addr->Bits());
      v.kind = Value::Kind::kCidr;
      v.ptr = ctx.ruleset->StoreArray(std::span<const Cidr>(&c, 1));
      canon = addr->ToString();
      break;
    }
    case Codec::kAddrRange: {
      size_t dash = a.find('-');
      auto lo = IpAddress::Parse(a.substr(0, dash), ctx.family);
      auto hi = dash == std::string_view::npos
                    ? lo
                    : IpAddress::Parse(a.substr(dash + 1), ctx.family);
      if (!lo || !hi) return bad("address range");
      IpAddress both[2] = {*lo, *hi};
      v.kind = Value::Kind::kAddrRange;
      v.ptr = ctx.ruleset->StoreArray(std::span<const IpAddress>(both, 2));
      canon = lo->ToString() + "-" + hi->ToString();
      break;
    }
    case Codec::kRate: {
      uint64_t avg;
      if (!ParseRate(a, avg)) return bad("rate");
      v.kind = Value::Kind::kNumber;
      v.lo = avg;
      canon = RateText(avg);
      break;
    }
    case Codec::kIcmpType:
    case Codec::kIcmp6Type:
      if (!DecodeIcmp(a, spec.codec == Codec::kIcmp6Type, part, canon))
        return bad("ICMP type");
      break;
    case Codec::kTcpFlags: {
      uint64_t mask, comp;
      if (!ParseTcpFlags(args[0], mask)) return bad("TCP flags");
      if (!ParseTcpFlags(args[1], comp)) {
        a = args[1];
        return bad("TCP flags");
      }
      v.kind = Value::Kind::kBits;
      v.hi = mask;
      v.lo = comp;
      canon = TcpFlagsText(mask) + " " + TcpFlagsText(comp);
      break;
    }
    case Codec::kSetMatch: {
      std::string_view dirs = args[1];
      size_t n = 1;
      for (char c : dirs) n += c == ',';
      if (a.empty() || a.size() > 31) return bad("set name");
      size_t start = 0;
      while (start <= dirs.size()) {
        size_t comma = dirs.find(',', start);
        std::string_view d = dirs.substr(start, comma - start);
        if (d != "src" && d != "dst") {
          a = dirs;
          return bad("set direction");
        }
        if (comma == std::string_view::npos) break;
        start = comma + 1;
      }
      if (n > 6) return bad("set direction count");
      v.kind = Value::Kind::kText;
      canon = fmt::format("{} {}", a, dirs);
      v.count = static_cast<uint32_t>(a.size());  // length of the set name
      break;
    }
    case Codec::kNatRange:
    case Codec::kToPorts:
      if (a.empty()) return bad("value");
      v.kind = Value::Kind::kText;
      canon = a;
      break;
    case Codec::kMac: {
      if (a.size() != 17) return bad("MAC address");
      for (size_t i = 0; i < 17; ++i) {
        char c = a[i];
        bool ok = i % 3 == 2 ? c == ':' : isxdigit(static_cast<unsigned char>(c));
        if (!ok) return bad("MAC address");
        canon += static_cast<char>(tolower(static_cast<unsigned char>(c)));
      }
      v.kind = Value::Kind::kText;
      break;
    }
  }
  part.text = ctx.ruleset->Store(canon);
  return arity;
}

}  // namespace swarmwall::netfilter
