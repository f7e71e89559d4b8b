#include "analyze/model/match.h"

#include "analyze/model/nft_match.h"

#include <fmt/format.h>

#include "netfilter/modules.h"
#include "netfilter/parser.h"

namespace swarmwall::analyze {

using netfilter::Cidr;
using netfilter::Family;
using netfilter::IpAddress;
using netfilter::Part;
using netfilter::PortRange;

namespace {

Match Unknown(std::string_view text, std::string_view why, bool negated = false) {
  Match m;
  m.kind = MatchKind::kUnknown;
  m.text = text;
  m.why = why;
  m.negated = negated;
  return m;
}

bool IsMulticast(const IpAddress& a) {
  return a.family == Family::kIPv4 ? (a.bytes[0] & 0xf0) == 0xe0 : a.bytes[0] == 0xff;
}

bool IsZero(const IpAddress& a) {
  for (int i = 0; i < (a.family == Family::kIPv4 ? 4 : 16); ++i)
    if (a.bytes[i]) return false;
  return true;
}

// One option of a typed module.
void CompileOption(std::string_view module, const Part& p, const host::HostNetwork& host,
                   std::vector<Match>& out) {
  std::string_view opt = netfilter::OptionById(p.id).name;
  const auto& v = p.value;
  // Every undecidable option of this module instance says where it is from.
  struct Tag {
    std::vector<Match>& out;
    std::string_view module, opt;
    size_t before;
    ~Tag() {
      if (out.size() > before && out.back().kind == MatchKind::kUnknown) {
        out.back().module = module;
        out.back().option = opt;
      }
    }
  } tag{out, module, opt, out.size()};
  Match m;
  m.negated = p.negated;
  m.text = p.text;
  auto ports = [&](MatchKind k) {
    m.kind = k;
    m.a = v.ports().lo;
    m.b = v.ports().hi;
  };
  if (module == "tcp" || module == "udp") {
    if (opt == "sport") ports(MatchKind::kSrcPort);
    else if (opt == "dport") ports(MatchKind::kDstPort);
    else if (opt == "tcp-flags") {
      m.kind = MatchKind::kTcpFlags;
      m.a = v.lo;
      m.b = v.hi;
    } else if (opt == "tcp-option") {
      m = Unknown(p.text, "TCP options are not part of the packet model", p.negated);
    } else {
      m = Unknown(p.text, "unknown tcp option", p.negated);
    }
  } else if (module == "icmp" || module == "icmp6") {
    m.kind = MatchKind::kIcmpType;
    m.a = v.count;
    m.b = (v.lo << 8) | v.hi;
  } else if (module == "multiport") {
    m.kind = opt == "sports" ? MatchKind::kSrcPorts
             : opt == "dports" ? MatchKind::kDstPorts : MatchKind::kAnyPorts;
    m.ptr = v.list().data();
    m.count = static_cast<uint16_t>(v.list().size());
  } else if (module == "conntrack" || module == "state") {
    if (opt == "ctstate" || opt == "state") {
      m.kind = MatchKind::kCtState;
      m.a = v.lo;
    } else if (opt == "ctproto") {
      m.kind = MatchKind::kCtProto;
      m.a = v.lo;
    } else if (opt == "ctorigsrc" || opt == "ctorigdst" || opt == "ctreplsrc" ||
               opt == "ctrepldst") {
      m.kind = opt == "ctorigsrc" ? MatchKind::kCtOrigSrc
               : opt == "ctorigdst" ? MatchKind::kCtOrigDst
               : opt == "ctreplsrc" ? MatchKind::kCtReplSrc : MatchKind::kCtReplDst;
      m.cidr = v.cidr();
    } else if (opt == "ctorigsrcport") ports(MatchKind::kCtOrigSrcPort);
    else if (opt == "ctorigdstport") ports(MatchKind::kCtOrigDstPort);
    else if (opt == "ctreplsrcport") ports(MatchKind::kCtReplSrcPort);
    else if (opt == "ctrepldstport") ports(MatchKind::kCtReplDstPort);
    else if (opt == "ctdir") {
      m.kind = MatchKind::kPolicyNone;   // a constant: traced packets go the original way
      m.a = v.lo == 0;
    } else {
      m = Unknown(p.text, "conntrack status and expiry are not modelled", p.negated);
    }
  } else if (module == "set") {
    if (opt == "match-set") {
      std::string_view text = p.text;
      std::string_view name = text.substr(0, v.count);
      std::string_view dirs = text.substr(std::min(text.size(), size_t{v.count} + 1));
      m.text = name;
      if (!host.ipsets_known) {
        m = Unknown(p.text, "the host's ipsets are not known (give --ipsets)", p.negated);
      } else if (const host::IpSet* set = host.FindSet(name); !set) {
        m = Unknown(p.text, "no such ipset on the host", p.negated);
      } else if (!set->supported) {
        m = Unknown(p.text, "an ipset type the analyzer does not evaluate", p.negated);
      } else {
        m.kind = MatchKind::kSet;
        m.ptr = set;
        uint64_t bits = 0;
        uint16_t n = 0;
        size_t start = 0;
        while (start <= dirs.size()) {
          size_t comma = dirs.find(',', start);
          if (dirs.substr(start, comma - start) == "dst") bits |= 1u << n;
          ++n;
          if (comma == std::string_view::npos) break;
          start = comma + 1;
        }
        m.a = bits;
        m.count = n;
      }
    } else if (opt == "return-nomatch") {
      // Changes how nomatch entries answer: flag the set match before it.
      for (auto it = out.rbegin(); it != out.rend(); ++it)
        if (it->kind == MatchKind::kSet) {
          it->flags |= Match::kReturnNomatch;
          break;
        }
      return;
    } else if (opt == "update-counters" || opt == "update-subcounters") {
      return;   // side effects only
    } else {
      m = Unknown(p.text, "ipset counters are not modelled", p.negated);
    }
  } else if (module == "addrtype") {
    if (opt == "limit-iface-in" || opt == "limit-iface-out") {
      for (auto it = out.rbegin(); it != out.rend(); ++it)
        if (it->kind == MatchKind::kSrcType || it->kind == MatchKind::kDstType) {
          // applies to every type option of this module
          it->flags |= opt == "limit-iface-in" ? Match::kLimitIn : Match::kLimitOut;
        } else {
          break;
        }
      return;
    }
    m.kind = opt == "src-type" ? MatchKind::kSrcType : MatchKind::kDstType;
    m.a = v.lo;
  } else if (module == "iprange") {
    m.kind = opt == "src-range" ? MatchKind::kSrcRange : MatchKind::kDstRange;
    m.ptr = &v.range_lo();
  } else if (module == "mark" || module == "connmark") {
    m.kind = module == "mark" ? MatchKind::kMark : MatchKind::kConnmark;
    m.a = v.lo;
    m.b = v.hi;
  } else if (module == "comment" || module == "limit") {
    return;   // comment: no condition; limit: assumed under its rate
  } else if (module == "hashlimit") {
    if (opt == "hashlimit-upto") m.kind = MatchKind::kAlways;
    else if (opt == "hashlimit-above") {
      m.kind = MatchKind::kAlways;
      m.negated = !m.negated;   // assumed under the rate: "above" does not match
    } else {
      return;
    }
  } else if (module == "pkttype") {
    m.kind = MatchKind::kPktType;
    m.a = v.lo;
  } else if (module == "policy") {
    if (opt == "pol") {
      m.kind = MatchKind::kPolicyNone;
      m.a = v.lo == 0;   // traced packets never went through IPsec
    } else if (opt == "dir" || opt == "strict") {
      return;
    } else {
      m = Unknown(p.text, "IPsec policy details are not modelled", p.negated);
    }
  } else {
    // One report per module instance (recent --rcheck --name x is one match).
    if (!out.empty() && out.back().kind == MatchKind::kUnknown && out.back().module == module &&
        out.back().why == std::string_view("a match on what the packet model does not hold")) {
      out.back().option = {};
      return;
    }
    m = Unknown(p.text, "a match on what the packet model does not hold", p.negated);
  }
  out.push_back(m);
}

uint8_t IfaceFlags(netfilter::Name name) {
  return !name.empty() && name.back() == '+' ? Match::kPrefix : 0;
}

std::string_view IfaceText(netfilter::Name name) {
  std::string_view s = name;
  if (!s.empty() && s.back() == '+') s.remove_suffix(1);
  return s;
}

bool PortIn(uint16_t port, uint64_t lo, uint64_t hi) { return port >= lo && port <= hi; }

bool InList(const Match& m, uint16_t port) {
  const auto* list = static_cast<const PortRange*>(m.ptr);
  for (uint16_t i = 0; i < m.count; ++i)
    if (list[i].Contains(port)) return true;
  return false;
}

// The address of a set dimension: DST picks destination, else source.
Tri SetContains(const host::IpSet& set, uint64_t dir_bits, uint16_t dims, bool return_nomatch,
                const PacketState& s, const host::HostNetwork& host, int depth = 0) {
  const Packet& p = s.packet;
  if (set.dimensions.empty() && set.type != "list:set") return Tri::kUnknown;
  if (set.type == "list:set") {
    if (depth > 4) return Tri::kUnknown;
    for (const auto& e : set.entries) {
      const host::IpSet* member = host.FindSet(e.member);
      if (!member || !member->supported) return Tri::kUnknown;
      Tri t = SetContains(*member, dir_bits, dims, return_nomatch, s, host, depth + 1);
      if (t != Tri::kFalse) return t;
    }
    return Tri::kFalse;
  }
  if (dims < set.dimensions.size()) return Tri::kFalse;
  if (set.family != p.family) return Tri::kFalse;
  const IpAddress* addr = nullptr;
  uint16_t port = 0;
  std::string_view iface;
  bool want_port = false, want_iface = false;
  for (size_t k = 0; k < set.dimensions.size(); ++k) {
    bool dst = dir_bits & (1u << k);
    const std::string& d = set.dimensions[k];
    if (d == "ip" || d == "net") {
      if (!addr) addr = dst ? &p.dst : &p.src;
    } else if (d == "port") {
      if (!p.HasPorts() && !p.IsIcmp()) return Tri::kFalse;
      port = p.IsIcmp() ? p.icmp_type : (dst ? p.dport : p.sport);
      want_port = true;
    } else if (d == "iface") {
      iface = dst ? p.out : p.in;
      want_iface = true;
    }
  }
  const host::IpSet::Entry* best = nullptr;
  for (const auto& e : set.entries) {
    if (addr && !e.net.Contains(*addr)) continue;
    if (want_port && (e.protocol != p.protocol || e.port != port)) continue;
    if (want_iface && e.member != iface) continue;
    if (!best || e.net.PrefixLength() > best->net.PrefixLength()) best = &e;
  }
  if (!best) return Tri::kFalse;
  if (best->nomatch) return FromBool(return_nomatch);
  return Tri::kTrue;
}

// xt_addrtype for IPv6 (match_type6): the types are not exclusive (a local
// address is UNICAST and LOCAL); MULTICAST, UNICAST and UNSPEC are checked
// on the address, the others by a route lookup, where LOCAL only counts
// without --limit-iface-*.
bool MatchType6(const IpAddress& a, uint64_t mask, const host::HostNetwork& host, bool limit) {
  constexpr uint64_t kUnspec = 1 << 0, kUnicast = 1 << 1, kLocal = 1 << 2, kAnycast = 1 << 4,
                     kMulticast = 1 << 5, kBlackhole = 1 << 6, kUnreachable = 1 << 7;
  bool multicast = IsMulticast(a), unspec = IsZero(a);
  if ((mask & kMulticast) && !multicast) return false;
  if ((mask & kUnicast) && (multicast || unspec)) return false;
  if ((mask & kUnspec) && !unspec) return false;
  if (!(mask & (kLocal | kAnycast | kBlackhole | kUnreachable))) return true;
  uint64_t ret = 0;
  if (!limit && host.IsLocal(a)) ret |= kLocal;
  if (const host::Route* r = host.Lookup(a))
    if (r->type == "unreachable" || r->type == "prohibit" || r->type == "blackhole")
      ret |= kUnreachable;
  return (mask & ret) != 0;
}

}  // namespace

bool InterfaceMatches(std::string_view pattern, bool prefix, std::string_view name) {
  if (prefix) return name.substr(0, pattern.size()) == pattern;
  return name == pattern;
}

uint64_t AddressTypeBits(const IpAddress& a, const host::HostNetwork& host, std::string_view limit_to,
                         bool limit) {
  constexpr uint64_t kUnspec = 1 << 0, kUnicast = 1 << 1, kLocal = 1 << 2, kBroadcast = 1 << 3,
                     kMulticast = 1 << 5, kBlackhole = 1 << 6, kUnreachable = 1 << 7,
                     kProhibit = 1 << 8;
  if (a.family == Family::kIPv4 && IsZero(a)) return kBroadcast;
  if (a.family == Family::kIPv6 && IsZero(a)) return kUnspec;
  if (limit ? host.IsLocalOn(a, limit_to) : host.IsLocal(a)) return kLocal;
  if (IsMulticast(a)) return kMulticast;
  if (host.IsBroadcast(a)) return kBroadcast;
  if (const host::Route* r = host.Lookup(a)) {
    if (r->type == "blackhole") return kBlackhole;
    if (r->type == "unreachable") return kUnreachable;
    if (r->type == "prohibit") return kProhibit;
  }
  return kUnicast;
}

void CompileMatches(const netfilter::Rule& rule, Family family, const host::HostNetwork& host,
                    std::vector<Match>& out) {
  (void)family;
  if (!rule.in_interface.empty()) {
    Match m;
    m.kind = MatchKind::kInInterface;
    m.negated = rule.in_negated;
    m.flags = IfaceFlags(rule.in_interface);
    m.text = IfaceText(rule.in_interface);
    out.push_back(m);
  }
  if (!rule.out_interface.empty()) {
    Match m;
    m.kind = MatchKind::kOutInterface;
    m.negated = rule.out_negated;
    m.flags = IfaceFlags(rule.out_interface);
    m.text = IfaceText(rule.out_interface);
    out.push_back(m);
  }
  if (rule.protocol != 0 || rule.protocol_negated) {
    Match m;
    m.kind = MatchKind::kProtocol;
    m.negated = rule.protocol_negated;
    m.a = rule.protocol;
    out.push_back(m);
  }
  if (!rule.source.IsAny() || rule.source_negated) {
    Match m;
    m.kind = MatchKind::kSource;
    m.negated = rule.source_negated;
    m.cidr = rule.source;
    out.push_back(m);
  }
  if (!rule.destination.IsAny() || rule.destination_negated) {
    Match m;
    m.kind = MatchKind::kDestination;
    m.negated = rule.destination_negated;
    m.cidr = rule.destination;
    out.push_back(m);
  }
  if (rule.fragment != 0) {
    Match m;
    m.kind = MatchKind::kFragment;
    m.negated = rule.fragment < 0;
    out.push_back(m);
  }
  std::string_view module;
  bool known = false;
  // xt_conntrack without a connection (raw PREROUTING, INVALID, UNTRACKED):
  // the module instance matches when it has --ctstate (and that passed),
  // whatever its other options say; flag those options accordingly.
  size_t ct_first = out.size();
  bool in_conntrack = false;
  auto finish_conntrack = [&] {
    if (!in_conntrack) return;
    bool has_state = false;
    for (size_t i = ct_first; i < out.size(); ++i) has_state |= out[i].kind == MatchKind::kCtState;
    for (size_t i = ct_first; i < out.size(); ++i)
      if (out[i].kind != MatchKind::kCtState) {
        out[i].flags |= Match::kConntrackOption;
        if (has_state) out[i].flags |= Match::kNoConnTrue;
      }
    in_conntrack = false;
  };
  for (const Part& p : rule.parts) {
    switch (p.kind) {
      case Part::Kind::kMatch: {
        finish_conntrack();
        module = p.text;
        if (module == "conntrack") {
          in_conntrack = true;
          ct_first = out.size();
        }
        const auto& spec = netfilter::ModuleById(p.id);
        known = !spec.target && spec.name == module;
        if (!known) {
          // Options (if any) follow as one opaque part; a module loaded
          // alone still decides something we cannot see.
          out.push_back(Unknown(module, module == netfilter::kUnreadableModule
                                            ? "a value the --lenient reading could not read"
                                            : "a match module the analyzer does not know"));
        }
        break;
      }
      case Part::Kind::kOption:
        if (known) CompileOption(module, p, host, out);
        break;
      case Part::Kind::kOpaque:
        if (!out.empty() && out.back().kind == MatchKind::kUnknown && out.back().text == module)
          out.back().b = reinterpret_cast<uintptr_t>(p.text.prefixed());
        break;
      default:
        break;
    }
  }
  finish_conntrack();
}

Tri Evaluate(const Match& m, const PacketState& s, const host::HostNetwork& host) {
  const Packet& p = s.packet;
  const Connection& c = s.conn;
  if ((m.flags & Match::kConntrackOption) && (c.state & (kCtUntracked | kCtInvalid)))
    return FromBool(m.flags & Match::kNoConnTrue);
  Tri r;
  switch (m.kind) {
    case MatchKind::kSource: r = FromBool(m.cidr.family() == p.family && m.cidr.Contains(p.src)); break;
    case MatchKind::kDestination: r = FromBool(m.cidr.family() == p.family && m.cidr.Contains(p.dst)); break;
    case MatchKind::kInInterface: r = FromBool(InterfaceMatches(m.text, m.flags & Match::kPrefix, p.in)); break;
    case MatchKind::kOutInterface: r = FromBool(InterfaceMatches(m.text, m.flags & Match::kPrefix, p.out)); break;
    case MatchKind::kProtocol: r = FromBool(m.a == 0 || m.a == p.protocol); break;
    case MatchKind::kFragment: r = Tri::kFalse; break;
    case MatchKind::kSrcPort: r = FromBool(p.HasPorts() && PortIn(p.sport, m.a, m.b)); break;
    case MatchKind::kDstPort: r = FromBool(p.HasPorts() && PortIn(p.dport, m.a, m.b)); break;
    case MatchKind::kSrcPorts: r = FromBool(p.HasPorts() && InList(m, p.sport)); break;
    case MatchKind::kDstPorts: r = FromBool(p.HasPorts() && InList(m, p.dport)); break;
    case MatchKind::kAnyPorts:
      r = FromBool(p.HasPorts() && (InList(m, p.sport) || InList(m, p.dport)));
      break;
    case MatchKind::kTcpFlags: r = FromBool(p.protocol == 6 && (p.tcp_flags & m.b) == m.a); break;
    case MatchKind::kIcmpType:
      if (!p.IsIcmp()) r = Tri::kFalse;
      else if (m.a == 0xff && p.family == Family::kIPv4) r = Tri::kTrue;   // "any"
      else
        r = FromBool(p.icmp_type == m.a && p.icmp_code >= (m.b >> 8) &&
                     p.icmp_code <= (m.b & 0xff));
      break;
    case MatchKind::kCtState: r = FromBool((c.state & m.a) != 0); break;
    case MatchKind::kCtProto:
      r = (c.state & kCtUntracked) ? Tri::kFalse : FromBool(m.a == p.protocol);
      break;
    case MatchKind::kCtOrigSrc:
    case MatchKind::kCtOrigDst:
    case MatchKind::kCtReplSrc:
    case MatchKind::kCtReplDst: {
      if (c.state & (kCtUntracked | kCtInvalid)) {
        r = Tri::kFalse;
        break;
      }
      const IpAddress& a = m.kind == MatchKind::kCtOrigSrc   ? c.orig_src
                           : m.kind == MatchKind::kCtOrigDst ? c.orig_dst
                           : m.kind == MatchKind::kCtReplSrc ? c.repl_src : c.repl_dst;
      r = FromBool(m.cidr.family() == a.family && m.cidr.Contains(a));
      break;
    }
    case MatchKind::kCtOrigSrcPort:
    case MatchKind::kCtOrigDstPort:
    case MatchKind::kCtReplSrcPort:
    case MatchKind::kCtReplDstPort: {
      if (c.state & (kCtUntracked | kCtInvalid)) {
        r = Tri::kFalse;
        break;
      }
      uint16_t port = m.kind == MatchKind::kCtOrigSrcPort   ? c.orig_sport
                      : m.kind == MatchKind::kCtOrigDstPort ? c.orig_dport
                      : m.kind == MatchKind::kCtReplSrcPort ? c.repl_sport : c.repl_dport;
      r = FromBool(p.HasPorts() && PortIn(port, m.a, m.b));
      break;
    }
    case MatchKind::kSet:
      r = SetContains(*static_cast<const host::IpSet*>(m.ptr), m.a, m.count, m.flags & Match::kReturnNomatch, s, host);
      break;
    case MatchKind::kSrcType:
    case MatchKind::kDstType: {
      bool src = m.kind == MatchKind::kSrcType;
      bool limit = m.flags & (Match::kLimitIn | Match::kLimitOut);
      std::string_view iface = (m.flags & Match::kLimitIn) ? p.in : p.out;
      const IpAddress& a = src ? p.src : p.dst;
      if (a.family == Family::kIPv6) r = FromBool(MatchType6(a, m.a, host, limit));
      else r = FromBool((AddressTypeBits(a, host, iface, limit) & m.a) != 0);
      break;
    }
    case MatchKind::kSrcRange:
    case MatchKind::kDstRange: {
      const auto* range = static_cast<const IpAddress*>(m.ptr);
      const IpAddress& a = m.kind == MatchKind::kSrcRange ? p.src : p.dst;
      r = FromBool(a.family == range[0].family && range[0] <= a && a <= range[1]);
      break;
    }
    case MatchKind::kMark: r = FromBool((p.mark & m.b) == m.a); break;
    case MatchKind::kConnmark:
      r = !c.ctmark_known ? Tri::kUnknown : FromBool((c.ctmark & m.b) == m.a);
      break;
    case MatchKind::kPktType: {
      uint64_t type = IsMulticast(p.dst) ? 2 : host.IsBroadcast(p.dst) ? 1 : 0;
      r = FromBool(type == m.a);
      break;
    }
    case MatchKind::kPolicyNone: r = FromBool(m.a != 0); break;
    case MatchKind::kAlways: r = Tri::kTrue; break;
    case MatchKind::kNft: r = EvaluateNft(*static_cast<const NftCondition*>(m.ptr), s, host); break;
    case MatchKind::kUnknown: return Tri::kUnknown;
    default: return Tri::kUnknown;
  }
  return m.negated ? Not(r) : r;
}

std::string DescribeMatch(const Match& m) {
  if (m.kind != MatchKind::kUnknown) return std::string(m.text);
  if (m.module.empty()) {   // a module we do not know, with its options verbatim
    std::string s = fmt::format("-m {}", m.text);
    if (m.b) s += netfilter::Name::FromPrefixed(reinterpret_cast<const char*>(m.b)).view();
    return s;
  }
  if (m.option.empty()) return fmt::format("-m {}", m.module);
  return fmt::format("-m {} {}--{} {}", m.module, m.negated ? "! " : "", m.option, m.text);
}

}  // namespace swarmwall::analyze
