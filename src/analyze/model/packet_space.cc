#include "analyze/model/packet_space.h"

#include <algorithm>

#include "analyze/model/nft_match.h"
#include "netfilter/ruleset.h"

namespace swarmwall::analyze {

using netfilter::Cidr;
using netfilter::Family;
using netfilter::IpAddress;

namespace {

constexpr U128 kPortMax = 65535;

// Protocols whose answer may differ from their neighbours' for port, icmp
// and tcp-flag matches.
constexpr uint16_t kSpecialProtocols[] = {1, 6, 17, 33, 58, 132, 136};

}  // namespace

void ProtocolCuts(Cuts& out) {
  for (uint16_t p : kSpecialProtocols) out.Range(kDimProto, p, p);
}

Dim CurrentDst(const FlowState& st) { return st.dnat ? kDims : kDimDst; }
Dim CurrentDport(const FlowState& st) { return st.to_port_set ? kDims : kDimDport; }

void Cuts::Range(Dim d, U128 lo, U128 hi) {
  if (d >= kDims) return;   // a constant dimension
  at[d].push_back(lo);
  if (hi != ~U128{0}) at[d].push_back(hi + 1);
}

void Cuts::Finish() {
  for (auto& c : at) {
    std::sort(c.begin(), c.end());
    c.erase(std::unique(c.begin(), c.end()), c.end());
  }
}

SpaceContext::SpaceContext(const host::HostNetwork& host, Family family) : host_(host), family_(family) {
  Cuts c;
  auto point = [&](const IpAddress& a) {
    if (a.family == family_) c.Range(kDimDst, ToNumber(a), ToNumber(a));
  };
  for (const auto& i : host_.interfaces)
    for (const auto& ia : i.addresses) {
      point(ia.address);
      if (ia.broadcast) point(*ia.broadcast);
    }
  if (family_ == Family::kIPv4) {
    c.Range(kDimDst, 0, 0);
    c.Range(kDimDst, 0xffffffffu, 0xffffffffu);
    c.Range(kDimDst, U128{127} << 24, (U128{128} << 24) - 1);
    c.Range(kDimDst, U128{224} << 24, (U128{240} << 24) - 1);
  } else {
    c.Range(kDimDst, 0, 1);
    c.Range(kDimDst, U128{0xff} << 120, ~U128{0});
  }
  for (const auto& r : host_.routes)
    if (r.destination.family() == family_) CidrCuts(kDimDst, r.destination, c);
  c.Finish();
  host_address_cuts_ = c.at[kDimDst];
  routing_cuts_.at[kDimDst] = host_address_cuts_;
  routing_cuts_.at[kDimSrc] = host_address_cuts_;   // martian sources
}

Box SpaceContext::Everything() const {
  Box b;
  b.d[kDimProto] = IntervalSet::Range(0, 255);
  b.d[kDimSrc] = IntervalSet::Range(0, MaxOf(family_));
  b.d[kDimDst] = IntervalSet::Range(0, MaxOf(family_));
  b.d[kDimSport] = IntervalSet::Range(0, kPortMax);
  b.d[kDimDport] = IntervalSet::Range(0, kPortMax);
  return b;
}

PacketState SpaceContext::Point(const FlowState& st, const U128 v[kDims]) const {
  PacketState s;
  Packet& p = s.packet;
  p.family = family_;
  p.protocol = static_cast<uint16_t>(v[kDimProto]);
  p.src = FromNumber(v[kDimSrc], family_);
  IpAddress odst = FromNumber(v[kDimDst], family_);
  p.dst = st.dnat ? st.to_addr : odst;
  uint16_t odport = static_cast<uint16_t>(v[kDimDport]);
  bool ports = p.HasPorts();
  p.sport = ports ? static_cast<uint16_t>(v[kDimSport]) : 0;
  p.dport = ports ? (st.to_port_set ? st.to_port : odport) : 0;
  p.icmp_type = family_ == Family::kIPv4 ? 8 : 128;
  p.icmp_code = 0;
  p.tcp_flags = st.ct == kCtNew ? kTcpSyn : kTcpAck;
  p.mark = st.mark;
  p.in = st.in;
  p.out = st.out;
  s.local_origin = st.local_origin;
  Connection& c = s.conn;
  c.state = st.ct;
  c.orig_src = p.src;
  c.orig_dst = odst;
  c.orig_sport = p.sport;
  c.orig_dport = ports ? odport : 0;
  c.repl_src = p.dst;
  c.repl_dst = p.src;
  c.repl_sport = p.dport;
  c.repl_dport = p.sport;
  c.ctmark = st.ctmark;
  if ((st.ct & (kCtUntracked | kCtInvalid)) == 0 && (st.dnat || st.to_port_set) &&
      (p.dst != odst || (ports && p.dport != odport)))
    c.state |= kCtDnat;
  return s;
}

Tri SpaceContext::EvalAt(const Match& m, const FlowState& st, const U128 v[kDims]) const {
  if (st.mark_unknown && (m.kind == MatchKind::kMark || m.kind == MatchKind::kConnmark))
    return Tri::kUnknown;
  if (st.in_unknown && st.not_in && m.kind == MatchKind::kInInterface && !(m.flags & Match::kPrefix)) {
    for (const auto& name : *st.not_in)
      if (name == m.text) return m.negated ? Tri::kTrue : Tri::kFalse;   // some other interface
  }
  if (m.kind == MatchKind::kNft) {
    const auto& c = *static_cast<const NftCondition*>(m.ptr);
    if ((st.mark_unknown && c.ReadsMark()) || (st.in_unknown && c.ReadsInterface(true)) ||
        (st.out_unknown && c.ReadsInterface(false)))
      return Tri::kUnknown;
  }
  if (st.in_unknown || st.out_unknown) {
    bool in = false, out = false;
    switch (m.kind) {
      case MatchKind::kInInterface: in = true; break;
      case MatchKind::kOutInterface: out = true; break;
      case MatchKind::kSrcType:
      case MatchKind::kDstType:
        in = m.flags & Match::kLimitIn;
        out = m.flags & Match::kLimitOut;
        break;
      case MatchKind::kSet: {
        const auto* set = static_cast<const host::IpSet*>(m.ptr);
        for (size_t k = 0; k < set->dimensions.size(); ++k)
          if (set->dimensions[k] == "iface") ((m.a >> k) & 1 ? out : in) = true;
        if (set->type == "list:set") in = out = true;
        break;
      }
      default: break;
    }
    if ((in && st.in_unknown) || (out && st.out_unknown)) return Tri::kUnknown;
  }
  PacketState s = Point(st, v);
  return Evaluate(m, s, host_);
}

bool SpaceContext::CidrCuts(Dim d, const Cidr& c, Cuts& out) const {
  if (c.family() != family_) return true;
  int len = c.PrefixLength();
  int bits = family_ == Family::kIPv4 ? 32 : 128;
  U128 lo = ToNumber(c.address);
  if (len >= 0) {
    U128 host = len == 0 ? MaxOf(family_) : (len == bits ? 0 : ((U128{1} << (bits - len)) - 1));
    out.Range(d, lo & ~host, (lo & ~host) | host);
    return true;
  }
  // A non-contiguous mask: one interval per combination of the zero bits
  // above its lowest one bit.
  U128 mask = ToNumber(c.Mask());
  int low = 0;
  while (low < bits && !((mask >> low) & 1)) ++low;
  std::vector<int> free;
  for (int b = low; b < bits; ++b)
    if (!((mask >> b) & 1)) free.push_back(b);
  if (free.size() > 12) return false;
  U128 span = low == 0 ? 0 : ((U128{1} << low) - 1);
  for (uint32_t k = 0; k < (1u << free.size()); ++k) {
    U128 base = lo & mask;
    for (size_t i = 0; i < free.size(); ++i)
      if ((k >> i) & 1) base |= U128{1} << free[i];
    base &= ~span;
    out.Range(d, base, base | span);
  }
  return true;
}

void SpaceContext::AddressCuts(Dim d, Cuts& out) const {
  if (d >= kDims) return;
  out.at[d].insert(out.at[d].end(), host_address_cuts_.begin(), host_address_cuts_.end());
}

void SpaceContext::SetCuts(const host::IpSet& set, uint64_t dirs, const FlowState& st, Cuts& out,
                           int depth) const {
  if (set.type == "list:set") {
    if (depth > 4) return;
    for (const auto& e : set.entries)
      if (const host::IpSet* member = host_.FindSet(e.member)) SetCuts(*member, dirs, st, out, depth + 1);
    return;
  }
  for (size_t k = 0; k < set.dimensions.size(); ++k) {
    bool dst = (dirs >> k) & 1;
    const std::string& dim = set.dimensions[k];
    if (dim == "ip" || dim == "net") {
      Dim d = dst ? CurrentDst(st) : kDimSrc;
      for (const auto& e : set.entries) CidrCuts(d, e.net, out);
    } else if (dim == "port") {
      ProtocolCuts(out);
      Dim d = dst ? CurrentDport(st) : kDimSport;
      for (const auto& e : set.entries) {
        out.Range(kDimProto, e.protocol, e.protocol);
        out.Range(d, e.port, e.port);
      }
    }
  }
}

bool SpaceContext::MatchCuts(const Match& m, const FlowState& st, Cuts& out) const {
  auto list = [&](Dim d) {
    const auto* l = static_cast<const netfilter::PortRange*>(m.ptr);
    for (uint16_t i = 0; i < m.count; ++i) out.Range(d, l[i].lo, l[i].hi);
  };
  switch (m.kind) {
    case MatchKind::kSource: return CidrCuts(kDimSrc, m.cidr, out);
    case MatchKind::kDestination: return CidrCuts(CurrentDst(st), m.cidr, out);
    case MatchKind::kProtocol:
      if (m.a) out.Range(kDimProto, m.a, m.a);
      return true;
    case MatchKind::kSrcPort:
      ProtocolCuts(out);
      out.Range(kDimSport, m.a, m.b);
      return true;
    case MatchKind::kDstPort:
      ProtocolCuts(out);
      out.Range(CurrentDport(st), m.a, m.b);
      return true;
    case MatchKind::kSrcPorts:
      ProtocolCuts(out);
      list(kDimSport);
      return true;
    case MatchKind::kDstPorts:
      ProtocolCuts(out);
      list(CurrentDport(st));
      return true;
    case MatchKind::kAnyPorts:
      ProtocolCuts(out);
      list(kDimSport);
      list(CurrentDport(st));
      return true;
    case MatchKind::kTcpFlags:
    case MatchKind::kIcmpType:
      ProtocolCuts(out);
      return true;
    case MatchKind::kCtState:
      if ((st.dnat || st.to_port_set) && (m.a & kCtDnat)) {
        ProtocolCuts(out);
        IpAddress a = st.to_addr;
        if (st.dnat) out.Range(kDimDst, ToNumber(a), ToNumber(a));
        if (st.to_port_set) out.Range(kDimDport, st.to_port, st.to_port);
      }
      return true;
    case MatchKind::kCtProto:
      out.Range(kDimProto, m.a, m.a);
      return true;
    case MatchKind::kCtOrigSrc: return CidrCuts(kDimSrc, m.cidr, out);
    case MatchKind::kCtOrigDst: return CidrCuts(kDimDst, m.cidr, out);
    case MatchKind::kCtReplSrc: return CidrCuts(CurrentDst(st), m.cidr, out);
    case MatchKind::kCtReplDst: return CidrCuts(kDimSrc, m.cidr, out);
    case MatchKind::kCtOrigSrcPort:
    case MatchKind::kCtReplDstPort:
      ProtocolCuts(out);
      out.Range(kDimSport, m.a, m.b);
      return true;
    case MatchKind::kCtOrigDstPort:
      ProtocolCuts(out);
      out.Range(kDimDport, m.a, m.b);
      return true;
    case MatchKind::kCtReplSrcPort:
      ProtocolCuts(out);
      out.Range(CurrentDport(st), m.a, m.b);
      return true;
    case MatchKind::kSet:
      SetCuts(*static_cast<const host::IpSet*>(m.ptr), m.a, st, out, 0);
      return true;
    case MatchKind::kNft: {
      const auto& c = *static_cast<const NftCondition*>(m.ptr);
      NftCuts(c, st, family_, out);
      if (c.ReadsAddressType(false)) AddressCuts(CurrentDst(st), out);
      if (c.ReadsAddressType(true)) AddressCuts(kDimSrc, out);
      return true;
    }
    case MatchKind::kSrcType: AddressCuts(kDimSrc, out); return true;
    case MatchKind::kDstType: AddressCuts(CurrentDst(st), out); return true;
    case MatchKind::kPktType: AddressCuts(CurrentDst(st), out); return true;
    case MatchKind::kSrcRange:
    case MatchKind::kDstRange: {
      const auto* r = static_cast<const IpAddress*>(m.ptr);
      if (r[0].family != family_) return true;
      Dim d = m.kind == MatchKind::kSrcRange ? kDimSrc : CurrentDst(st);
      out.Range(d, ToNumber(r[0]), ToNumber(r[1]));
      return true;
    }
    default:
      return true;   // constant over a flow
  }
}

namespace {

struct Part {
  std::vector<IntervalSet> s;   // the dimensions still to come, in order
  int label = 0;
  bool operator==(const Part&) const = default;
};

// The pieces of SET between consecutive CUTS.
void Segments(const IntervalSet& set, const std::vector<U128>& cuts, std::vector<IntervalSet>& out) {
  if (set.empty()) return;
  U128 first = set.First(), last = set.intervals().back().hi;
  auto it = std::upper_bound(cuts.begin(), cuts.end(), first);
  U128 lo = first;
  for (; it != cuts.end() && *it <= last; ++it) {
    IntervalSet piece = set.Clip(lo, *it - 1);
    if (!piece.empty()) out.push_back(std::move(piece));
    lo = *it;
  }
  IntervalSet piece = set.Clip(lo, last);
  if (!piece.empty()) out.push_back(std::move(piece));
}

}  // namespace

void SpaceContext::Split(const Box& box, const Cuts& cuts, const Classify& classify,
                         std::vector<std::pair<Box, int>>& out) const {
  U128 v[kDims];
  std::vector<Dim> dims;
  for (int d = 0; d < kDims; ++d) {
    v[d] = box.d[d].empty() ? 0 : box.d[d].First();
    if (!cuts.at[d].empty()) dims.push_back(static_cast<Dim>(d));
  }
  if (box.Empty()) return;
  std::function<std::vector<Part>(size_t)> level = [&](size_t i) -> std::vector<Part> {
    if (i == dims.size()) return {Part{{}, classify(v)}};
    Dim d = dims[i];
    std::vector<IntervalSet> segs;
    Segments(box.d[d], cuts.at[d], segs);
    // children grouped: equal children share one set in this dimension
    std::vector<std::pair<std::vector<Part>, IntervalSet>> groups;
    for (auto& seg : segs) {
      v[d] = seg.First();
      std::vector<Part> child = level(i + 1);
      bool found = false;
      for (auto& g : groups)
        if (g.first == child) {
          g.second = g.second.Union(seg);
          found = true;
          break;
        }
      if (!found) groups.emplace_back(std::move(child), std::move(seg));
    }
    v[d] = box.d[d].First();
    std::vector<Part> result;
    for (auto& [child, set] : groups)
      for (auto& p : child) {
        Part q;
        q.label = p.label;
        q.s.reserve(p.s.size() + 1);
        q.s.push_back(set);
        for (auto& x : p.s) q.s.push_back(x);
        result.push_back(std::move(q));
      }
    return result;
  };
  std::vector<Part> parts = level(0);
  for (auto& p : parts) {
    Box b = box;
    for (size_t i = 0; i < dims.size(); ++i) b.d[dims[i]] = std::move(p.s[i]);
    out.emplace_back(std::move(b), p.label);
  }
}

}  // namespace swarmwall::analyze
