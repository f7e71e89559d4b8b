#include "analyze/model/nft_match.h"

#include "analyze/model/addr_number.h"
#include "analyze/model/match.h"
#include "analyze/model/packet_space.h"

namespace swarmwall::analyze {

using netfilter::Family;
using netfilter::IpAddress;
using netfilter::NftElement;
using netfilter::NftPart;
using netfilter::NftSelector;
using netfilter::NftStatement;

namespace {

// One value a selector read: a number, an address or a name.
struct Read {
  enum State : uint8_t { kValue, kBreak, kUnknown } state = kValue;
  uint64_t number = 0;
  IpAddress address;
  std::string_view name;
};

Read Break() { return Read{Read::kBreak}; }
Read Unknown() { return Read{Read::kUnknown}; }
Read Number(uint64_t v) {
  Read r;
  r.number = v;
  return r;
}
Read Address(const IpAddress& a) {
  Read r;
  r.address = a;
  return r;
}

bool IsMulticastAddress(const IpAddress& a) {
  return a.family == Family::kIPv4 ? (a.bytes[0] & 0xf0) == 0xe0 : a.bytes[0] == 0xff;
}

bool Tracked(const Connection& c) { return !(c.state & (kCtInvalid | kCtUntracked)); }

// ct state as the kernel's bits (NF_CT_STATE_*).
uint64_t CtStateBits(uint8_t state) {
  if (state & kCtUntracked) return 64;
  if (state & kCtInvalid) return 1;
  if (state & kCtEstablished) return 2;
  if (state & kCtRelated) return 4;
  return 8;   // new
}

// The route type (RTN_*) of A, as fib ... type answers.
uint64_t FibType(const IpAddress& a, const host::HostNetwork& host, std::string_view limit_to, bool limit) {
  uint64_t bits = AddressTypeBits(a, host, limit_to, limit);
  for (uint64_t t : {2, 3, 5, 6, 7, 8, 1, 0})
    if (bits & (uint64_t{1} << t)) {
      // IPv6's fib answers from a route lookup: no route is unreachable
      // (IPv4's answers unicast)
      if (t == 1 && a.family == Family::kIPv6 && !host.Lookup(a)) return 7;
      return t;
    }
  return 1;
}

Read ReadSelector(const NftSelector& k, const PacketState& s, const host::HostNetwork& host) {
  const Packet& p = s.packet;
  bool v4 = p.family == Family::kIPv4;
  switch (k.kind) {
    case NftSelector::kIpSaddr: return v4 ? Address(p.src) : Break();
    case NftSelector::kIpDaddr: return v4 ? Address(p.dst) : Break();
    case NftSelector::kIp6Saddr: return !v4 ? Address(p.src) : Break();
    case NftSelector::kIp6Daddr: return !v4 ? Address(p.dst) : Break();
    case NftSelector::kIpProtocol: return v4 ? Number(p.protocol) : Break();
    case NftSelector::kIp6Nexthdr: return !v4 ? Number(p.protocol) : Break();
    case NftSelector::kL4proto: return Number(p.protocol);
    case NftSelector::kSport:
    case NftSelector::kDport: {
      if (k.protocol != 0 && p.protocol != k.protocol) return Break();
      if (!p.HasPorts()) return Unknown();   // th on another header: its bytes are not modelled
      return Number(k.kind == NftSelector::kSport ? p.sport : p.dport);
    }
    case NftSelector::kTcpFlags: return p.protocol == 6 ? Number(p.tcp_flags) : Break();
    case NftSelector::kIcmpType: return p.protocol == 1 && v4 ? Number(p.icmp_type) : Break();
    case NftSelector::kIcmpCode: return p.protocol == 1 && v4 ? Number(p.icmp_code) : Break();
    case NftSelector::kIcmpv6Type: return p.protocol == 58 && !v4 ? Number(p.icmp_type) : Break();
    case NftSelector::kIcmpv6Code: return p.protocol == 58 && !v4 ? Number(p.icmp_code) : Break();
    case NftSelector::kIifname: {   // "" where the hook has no input device (the kernel's too)
      Read r;
      r.name = p.in;
      return r;
    }
    case NftSelector::kOifname: {
      Read r;
      r.name = p.out;
      return r;
    }
    case NftSelector::kNfproto: return Number(v4 ? 2 : 10);
    case NftSelector::kMark: return Number(p.mark);
    case NftSelector::kPkttype:
      return Number(IsMulticastAddress(p.dst) ? 2 : host.IsBroadcast(p.dst) ? 1 : 0);
    case NftSelector::kCtState: return Number(CtStateBits(s.conn.state));
    case NftSelector::kCtStatus: {
      if (!Tracked(s.conn)) return Break();
      uint64_t v = 0;
      if (s.conn.state & kCtSnat) v |= 16;
      if (s.conn.state & kCtDnat) v |= 32;
      if (s.conn.state & (kCtEstablished | kCtRelated)) {
        // seen-reply, assured, confirmed: not known for a traced packet
        if ((k.mask & ~uint64_t{48}) != 0) return Unknown();
      }
      return Number(v);
    }
    case NftSelector::kCtMark:
      if (!Tracked(s.conn)) return Break();
      if (!s.conn.ctmark_known) return Unknown();
      return Number(s.conn.ctmark);
    case NftSelector::kCtDirection: return Tracked(s.conn) ? Number(0) : Break();
    case NftSelector::kCtL3proto: return Tracked(s.conn) ? Number(v4 ? 2 : 10) : Break();
    case NftSelector::kCtProtocol: return Tracked(s.conn) ? Number(p.protocol) : Break();
    case NftSelector::kCtSaddr:
    case NftSelector::kCtDaddr: {
      if (!Tracked(s.conn)) return Break();
      if ((k.protocol == 4) != v4) return Break();
      bool src = k.kind == NftSelector::kCtSaddr;
      return Address(k.reply ? (src ? s.conn.repl_src : s.conn.repl_dst)
                             : (src ? s.conn.orig_src : s.conn.orig_dst));
    }
    case NftSelector::kCtProtoSrc:
    case NftSelector::kCtProtoDst: {
      if (!Tracked(s.conn)) return Break();
      if (!p.HasPorts()) return Unknown();
      bool src = k.kind == NftSelector::kCtProtoSrc;
      return Number(k.reply ? (src ? s.conn.repl_sport : s.conn.repl_dport)
                            : (src ? s.conn.orig_sport : s.conn.orig_dport));
    }
    case NftSelector::kFibDaddrType:
    case NftSelector::kFibSaddrType: {
      bool d = k.kind == NftSelector::kFibDaddrType;
      std::string_view limit = k.fib_iif ? p.in : k.fib_oif ? p.out : std::string_view();
      return Number(FibType(d ? p.dst : p.src, host, limit, k.fib_iif || k.fib_oif));
    }
    case NftSelector::kIpsec: return Number(0);   // traced packets are not IPsec-decrypted ones
    case NftSelector::kUnknown: return Unknown();
  }
  return Unknown();
}

bool PartHolds(const NftPart& part, const NftSelector& k, const Read& r) {
  switch (netfilter::ValueTypeOf(k.kind)) {
    case netfilter::NftValueType::kAddress:
      return part.addr_lo.family == r.address.family && part.addr_lo <= r.address &&
             r.address <= part.addr_hi;
    case netfilter::NftValueType::kName:
      return part.wildcard ? r.name.starts_with(part.name) : r.name == part.name;
    case netfilter::NftValueType::kNumber: {
      uint64_t v = r.number & k.mask;
      return part.lo <= v && v <= part.hi;
    }
  }
  return false;
}

}  // namespace

bool NftCondition::ReadsInterface(bool in) const {
  for (const auto& k : key) {
    if (k.kind == (in ? NftSelector::kIifname : NftSelector::kOifname)) return true;
    if ((k.kind == NftSelector::kFibDaddrType || k.kind == NftSelector::kFibSaddrType) &&
        (in ? k.fib_iif : k.fib_oif))
      return true;
  }
  return false;
}

bool NftCondition::ReadsAddressType(bool source) const {
  for (const auto& k : key) {
    if (k.kind == (source ? NftSelector::kFibSaddrType : NftSelector::kFibDaddrType)) return true;
    if (!source && k.kind == NftSelector::kPkttype) return true;
  }
  return false;
}

bool NftCondition::ReadsMark() const {
  for (const auto& k : key)
    if (k.kind == NftSelector::kMark || k.kind == NftSelector::kCtMark) return true;
  return false;
}

Tri EvaluateNft(const NftCondition& c, const PacketState& s, const host::HostNetwork& host) {
  size_t n = c.key.size();
  if (n == 1 && !c.element && c.has_values && c.values->size() == 1 &&
      (c.op == NftStatement::kEq || c.op == NftStatement::kAnyBits)) {
    // the common case, one selector against one value: no key array
    Read r = ReadSelector(c.key[0], s, host);
    if (r.state == Read::kBreak) return Tri::kFalse;
    if (r.state == Read::kUnknown) return Tri::kUnknown;
    const NftElement& e = (*c.values)[0];
    if (e.key.size() != 1) return Tri::kFalse;
    if (c.op == NftStatement::kAnyBits) return FromBool(((r.number & c.key[0].mask) & e.key[0].lo) != 0);
    return FromBool(PartHolds(e.key[0], c.key[0], r));
  }
  Read reads[8];
  if (n > 8) return Tri::kUnknown;
  bool unknown = false;
  for (size_t i = 0; i < n; ++i) {
    reads[i] = ReadSelector(c.key[i], s, host);
    if (reads[i].state == Read::kBreak) return Tri::kFalse;   // the rule stops here
    if (reads[i].state == Read::kUnknown) unknown = true;
  }
  if (unknown || !c.has_values) return Tri::kUnknown;
  auto holds = [&](const NftElement& e) {
    if (e.key.size() != n) return false;
    for (size_t i = 0; i < n; ++i)
      if (!PartHolds(e.key[i], c.key[i], reads[i])) return false;
    return true;
  };
  if (c.element) return FromBool(holds(*c.element));
  const auto& values = *c.values;
  switch (c.op) {
    case NftStatement::kEq:
    case NftStatement::kNe: {
      bool any = false;
      for (const auto& e : values)
        if (holds(e)) {
          any = true;
          break;
        }
      return FromBool(c.op == NftStatement::kEq ? any : !any);
    }
    case NftStatement::kAnyBits: {
      uint64_t v = reads[0].number & c.key[0].mask;
      uint64_t bits = values.empty() || values[0].key.empty() ? 0 : values[0].key[0].lo;
      return FromBool((v & bits) != 0);
    }
    default: {
      if (values.size() != 1 || n != 1) return Tri::kUnknown;
      const NftPart& part = values[0].key[0];
      if (netfilter::ValueTypeOf(c.key[0].kind) == netfilter::NftValueType::kAddress) {
        const IpAddress& a = reads[0].address;
        if (a.family != part.addr_lo.family) return Tri::kFalse;
        switch (c.op) {
          case NftStatement::kLt: return FromBool(a < part.addr_lo);
          case NftStatement::kGt: return FromBool(a > part.addr_lo);
          case NftStatement::kLe: return FromBool(a <= part.addr_lo);
          case NftStatement::kGe: return FromBool(a >= part.addr_lo);
          default: return Tri::kUnknown;
        }
      }
      if (netfilter::ValueTypeOf(c.key[0].kind) != netfilter::NftValueType::kNumber) return Tri::kUnknown;
      uint64_t v = reads[0].number & c.key[0].mask;
      switch (c.op) {
        case NftStatement::kLt: return FromBool(v < part.lo);
        case NftStatement::kGt: return FromBool(v > part.lo);
        case NftStatement::kLe: return FromBool(v <= part.lo);
        case NftStatement::kGe: return FromBool(v >= part.lo);
        default: return Tri::kUnknown;
      }
    }
  }
}

void NftCuts(const NftCondition& c, const FlowState& st, Family family, Cuts& out) {
  // The dimension each selector reads (kDims: constant over a flow).
  auto dim_of = [&](const NftSelector& k) -> Dim {
    switch (k.kind) {
      case NftSelector::kIpSaddr:
      case NftSelector::kIp6Saddr:
        return kDimSrc;
      case NftSelector::kIpDaddr:
      case NftSelector::kIp6Daddr:
        return CurrentDst(st);
      case NftSelector::kIpProtocol:
      case NftSelector::kIp6Nexthdr:
      case NftSelector::kL4proto:
      case NftSelector::kCtProtocol:
        return kDimProto;
      case NftSelector::kSport: return kDimSport;
      case NftSelector::kDport: return CurrentDport(st);
      case NftSelector::kCtSaddr:
        return k.reply ? CurrentDst(st) : kDimSrc;
      case NftSelector::kCtDaddr:
        return k.reply ? kDimSrc : kDimDst;
      case NftSelector::kCtProtoSrc:
        return k.reply ? CurrentDport(st) : kDimSport;
      case NftSelector::kCtProtoDst:
        return k.reply ? kDimSport : kDimDport;
      default:
        return kDims;
    }
  };
  bool any_special = false;
  for (const auto& k : c.key) {
    switch (k.kind) {
      case NftSelector::kSport:
      case NftSelector::kDport:
      case NftSelector::kTcpFlags:
      case NftSelector::kIcmpType:
      case NftSelector::kIcmpCode:
      case NftSelector::kIcmpv6Type:
      case NftSelector::kIcmpv6Code:
      case NftSelector::kCtProtoSrc:
      case NftSelector::kCtProtoDst:
        any_special = true;
        break;
      case NftSelector::kCtStatus:
        // constant over a flow, but a DNAT to where the packet already goes
        // changes nothing (no dnat bit): cut there
        if (st.dnat) out.Range(kDimDst, ToNumber(st.to_addr), ToNumber(st.to_addr));
        if (st.to_port_set) {
          out.Range(kDimDport, st.to_port, st.to_port);
          any_special = true;
        }
        break;
      default:
        break;
    }
  }
  if (any_special) ProtocolCuts(out);
  auto cut_element = [&](const NftElement& e) {
    for (size_t i = 0; i < c.key.size() && i < e.key.size(); ++i) {
      Dim d = dim_of(c.key[i]);
      if (d >= kDims) continue;
      const NftPart& part = e.key[i];
      if (netfilter::ValueTypeOf(c.key[i].kind) == netfilter::NftValueType::kAddress) {
        if (part.addr_lo.family != family) continue;
        out.Range(d, ToNumber(part.addr_lo), ToNumber(part.addr_hi));
      } else if (c.key[i].mask == ~uint64_t{0} || d == kDimProto) {
        if (c.key[i].mask != ~uint64_t{0}) {
          for (U128 v = 0; v <= 255; ++v)   // a masked protocol: every value
            out.Range(d, v, v);
        } else {
          out.Range(d, part.lo, part.hi);
        }
      } else {
        // a mask over ports: cut at every value (65,536 at most)
        U128 max = d == kDimProto ? 255 : 65535;
        for (U128 v = 0; v <= max; ++v) out.Range(d, v, v);
      }
    }
  };
  if (c.element) cut_element(*c.element);
  else if (c.values)
    for (const auto& e : *c.values) cut_element(e);
}

}  // namespace swarmwall::analyze
