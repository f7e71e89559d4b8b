#include "analyze/exposure/exposure_walk.h"

#include <climits>

#include <unordered_map>

#include <fmt/format.h>

#include "netfilter/printer.h"

namespace swarmwall::analyze {

using netfilter::Family;
using netfilter::IpAddress;

namespace {

Tri And(Tri a, Tri b) {
  if (a == Tri::kFalse || b == Tri::kFalse) return Tri::kFalse;
  if (a == Tri::kUnknown || b == Tri::kUnknown) return Tri::kUnknown;
  return Tri::kTrue;
}

int HookSlot(std::string_view chain) {
  if (chain == "PREROUTING") return 0;
  if (chain == "INPUT") return 1;
  if (chain == "FORWARD") return 2;
  if (chain == "OUTPUT") return 3;
  return 4;
}

bool IsLoopbackAddr(const IpAddress& a) {
  if (a.family == Family::kIPv4) return a.bytes[0] == 127;
  for (int i = 0; i < 15; ++i)
    if (a.bytes[i]) return false;
  return a.bytes[15] == 1;
}

void FirstPoint(const Box& b, U128 v[kDims]) {
  for (int d = 0; d < kDims; ++d) v[d] = b.d[d].empty() ? 0 : b.d[d].First();
}

bool RunsNat(const FlowState& st) { return !(st.ct & (kCtUntracked | kCtInvalid)); }

}  // namespace

ExposureWalker::ExposureWalker(const TraceModel& model, const SpaceContext& space,
                               const ExposureOptions& options)
    : model_(model), space_(space), options_(options) {}

void ExposureWalker::Merge(std::vector<Flow>& flows) {
  if (flows.size() < 2) return;
  for (int d = 0; d < kDims; ++d) {
    std::unordered_map<size_t, std::vector<size_t>> by_key;
    std::vector<Flow> out;
    out.reserve(flows.size());
    for (auto& f : flows) {
      size_t h = f.st.mark * 31u + f.st.ct + (f.st.uncertain ? 7u : 0u) + (f.st.dnat ? 11u : 0u) +
                 f.st.to_port;
      for (int e = 0; e < kDims; ++e)
        if (e != d) h = h * 1000003u ^ f.box.d[e].Hash();
      auto& cands = by_key[h];
      bool merged = false;
      for (size_t i : cands) {
        Flow& g = out[i];
        if (!(g.st == f.st)) continue;
        bool same = true;
        for (int e = 0; e < kDims && same; ++e)
          if (e != d && !(g.box.d[e] == f.box.d[e])) same = false;
        if (!same) continue;
        g.box.d[d] = g.box.d[d].Union(f.box.d[d]);
        merged = true;
        break;
      }
      if (!merged) {
        cands.push_back(out.size());
        out.push_back(std::move(f));
      }
    }
    flows = std::move(out);
  }
}

// A rule's plain conditions, decoded once per chain walk: most rules of a
// long chain cannot match most packet sets, and this says so cheaply.
struct ExposureWalker::Quick {
  bool src = false, dst = false, proto = false, dport = false;
  U128 src_lo = 0, src_hi = 0, dst_lo = 0, dst_hi = 0;
  const netfilter::Cidr* dst_cidr = nullptr;
  uint64_t protocol = 0, port_lo = 0, port_hi = 0;
  const Match* in = nullptr;
  const Match* out = nullptr;
};

void ExposureWalker::QuickNft(const NftCondition& c, Quick& q) const {
  // one exact value or range of one selector (==): what it requires
  const netfilter::NftElement* e = c.element;
  if (!e && c.op == netfilter::NftStatement::kEq && c.values && c.values->size() == 1) e = &(*c.values)[0];
  if (!e || c.key.size() != 1 || e->key.size() != 1 || c.key[0].mask != ~uint64_t{0}) return;
  const netfilter::NftSelector& k = c.key[0];
  const netfilter::NftPart& p = e->key[0];
  using K = netfilter::NftSelector;
  switch (k.kind) {
    case K::kIpSaddr:
    case K::kIp6Saddr:
      if (p.addr_lo.family != space_.family()) return;
      q.src = true;
      q.src_lo = ToNumber(p.addr_lo);
      q.src_hi = ToNumber(p.addr_hi);
      return;
    case K::kIpDaddr:
    case K::kIp6Daddr:
      if (p.addr_lo.family != space_.family()) return;
      q.dst = true;
      q.dst_lo = ToNumber(p.addr_lo);
      q.dst_hi = ToNumber(p.addr_hi);
      return;
    case K::kDport:
      if (k.protocol != 6 && k.protocol != 17) return;
      q.proto = true;
      q.protocol = k.protocol;
      q.dport = true;
      q.port_lo = p.lo;
      q.port_hi = p.hi;
      return;
    case K::kL4proto:
    case K::kIpProtocol:
    case K::kIp6Nexthdr:
      if (p.lo != p.hi) return;
      q.proto = true;
      q.protocol = p.lo;
      return;
    default:
      return;
  }
}

ExposureWalker::Quick ExposureWalker::QuickOf(const CompiledChain& c, const CompiledRule& r) const {
  Quick q;
  const Match* ms = c.matches.data() + r.first_match;
  int bits = space_.family() == Family::kIPv4 ? 32 : 128;
  for (uint32_t i = 0; i < r.match_count; ++i) {
    const Match& m = ms[i];
    if (m.negated) continue;
    switch (m.kind) {
      case MatchKind::kSource:
      case MatchKind::kDestination: {
        int len = m.cidr.PrefixLength();
        if (len < 0 || m.cidr.family() != space_.family()) break;
        U128 lo = ToNumber(m.cidr.address);
        U128 host = len == 0 ? MaxOf(space_.family()) : (len == bits ? 0 : ((U128{1} << (bits - len)) - 1));
        if (m.kind == MatchKind::kSource) {
          q.src = true;
          q.src_lo = lo & ~host;
          q.src_hi = (lo & ~host) | host;
        } else {
          q.dst = true;
          q.dst_lo = lo & ~host;
          q.dst_hi = (lo & ~host) | host;
          q.dst_cidr = &m.cidr;
        }
        break;
      }
      case MatchKind::kProtocol:
        if (m.a) {
          q.proto = true;
          q.protocol = m.a;
        }
        break;
      case MatchKind::kDstPort:
        q.dport = true;
        q.port_lo = m.a;
        q.port_hi = m.b;
        break;
      case MatchKind::kInInterface: q.in = &m; break;
      case MatchKind::kOutInterface: q.out = &m; break;
      case MatchKind::kNft: QuickNft(*static_cast<const NftCondition*>(m.ptr), q); break;
      default: break;
    }
  }
  return q;
}

bool ExposureWalker::CannotMatch(const Quick& q, const Flow& f) const {
  if (q.dst) {
    if (f.st.dnat) {
      U128 to = ToNumber(f.st.to_addr);
      if (f.st.to_addr.family != space_.family() || to < q.dst_lo || to > q.dst_hi) return true;
    } else if (!f.box.d[kDimDst].IntersectsRange(q.dst_lo, q.dst_hi)) {
      return true;
    }
  }
  if (q.proto && !f.box.d[kDimProto].Contains(q.protocol)) return true;
  if (q.src && !f.box.d[kDimSrc].IntersectsRange(q.src_lo, q.src_hi)) return true;
  if (q.dport && (f.st.to_port_set ? (f.st.to_port < q.port_lo || f.st.to_port > q.port_hi)
                                   : !f.box.d[kDimDport].IntersectsRange(q.port_lo, q.port_hi)))
    return true;
  if (q.in && !f.st.in_unknown && !InterfaceMatches(q.in->text, q.in->flags & Match::kPrefix, f.st.in))
    return true;
  if (q.out && !f.st.out_unknown && !InterfaceMatches(q.out->text, q.out->flags & Match::kPrefix, f.st.out))
    return true;
  return false;
}

void ExposureWalker::SplitRule(const CompiledChain& c, const CompiledRule& r, const Flow& flow,
                               std::vector<std::pair<Box, Tri>>& out) {
  std::vector<std::pair<Box, Tri>> parts{{flow.box, Tri::kTrue}}, next;
  std::vector<std::pair<Box, int>> pieces;
  const Match* ms = c.matches.data() + r.first_match;
  for (uint32_t i = 0; i < r.match_count; ++i) {
    const Match& m = ms[i];
    bool live = false;
    for (auto& p : parts) live |= p.second != Tri::kFalse;
    if (!live) break;
    Cuts cuts;
    bool exact = space_.MatchCuts(m, flow.st, cuts);
    cuts.Finish();
    next.clear();
    for (auto& [b, t] : parts) {
      if (t == Tri::kFalse) {
        next.emplace_back(std::move(b), t);
        continue;
      }
      if (!exact) {
        next.emplace_back(std::move(b), And(t, Tri::kUnknown));
        continue;
      }
      if (!cuts.Any()) {
        U128 v[kDims];
        FirstPoint(b, v);
        next.emplace_back(std::move(b), And(t, space_.EvalAt(m, flow.st, v)));
        continue;
      }
      pieces.clear();
      space_.Split(b, cuts,
                   [&](const U128 v[kDims]) { return static_cast<int>(space_.EvalAt(m, flow.st, v)); },
                   pieces);
      for (auto& [pb, label] : pieces) next.emplace_back(std::move(pb), And(t, static_cast<Tri>(label)));
    }
    std::swap(parts, next);
  }
  for (auto& p : parts) out.push_back(std::move(p));
}

std::string ExposureWalker::RuleText(const CompiledChain& c, const CompiledRule& r) const {
  if (r.rule) return fmt::format("-A {} {}", c.name, netfilter::RuleSpec(*r.rule, space_.family()));
  return r.nft_rule ? r.nft_rule->text : std::string();
}

void ExposureWalker::NoteUnknown(const CompiledTable& t, const CompiledChain& c, size_t pos,
                                 const Flow& f, const Box& part) {
  const CompiledRule& r = c.rules[pos];
  const Match* ms = c.matches.data() + r.first_match;
  U128 v[kDims];
  FirstPoint(part, v);
  for (uint32_t i = 0; i < r.match_count; ++i) {
    const Match& m = ms[i];
    Cuts cuts;
    bool exact = space_.MatchCuts(m, f.st, cuts);
    if (exact && space_.EvalAt(m, f.st, v) != Tri::kUnknown) continue;
    std::string what, why;
    if ((m.kind == MatchKind::kMark || m.kind == MatchKind::kConnmark) && f.st.mark_unknown) {
      what = std::string(m.kind == MatchKind::kMark ? "-m mark" : "-m connmark");
      why = "marks are set in chains a filter-chain-alone analysis does not walk";
    } else if (m.kind == MatchKind::kInInterface || m.kind == MatchKind::kOutInterface) {
      bool in = m.kind == MatchKind::kInInterface;
      what = fmt::format("{}{} {}{}", m.negated ? "! " : "", in ? "-i" : "-o", m.text,
                         (m.flags & Match::kPrefix) ? "+" : "");
      std::string name = fmt::format("{}{}", m.text, (m.flags & Match::kPrefix) ? "+" : "");
      if (!in)
        why = fmt::format("the output interface is not known (no routes): it may or may not be {}", name);
      else if (f.st.not_in)
        why = fmt::format("the ipassmt does not list {}: a packet of an interface it does not list may or "
                          "may not arrive on it",
                          name);
      else
        why = fmt::format("the arrival interface is not known (no host facts, no ipassmt): it may or may "
                          "not be {}",
                          name);
    } else if (!exact) {
      what = DescribeMatch(m);
      why = "a non-contiguous mask with too many pieces";
    } else {
      what = DescribeMatch(m);
      if (what.empty()) what = std::string(m.text);
      why = std::string(m.why);
    }
    auto key = std::make_pair(r.rule ? static_cast<const void*>(r.rule) : static_cast<const void*>(r.nft_rule), what);
    if (seen_.count(key)) continue;
    seen_[key] = true;
    ExposureUnknown u;
    u.table = std::string(t.name);
    u.chain = std::string(c.name);
    u.rule_number = r.number;
    u.rule = RuleText(c, r);
    u.what = std::move(what);
    u.why = std::move(why);
    unknowns.push_back(std::move(u));
  }
}

void ExposureWalker::NoteUnknownTarget(const CompiledTable& t, const CompiledChain& c, size_t pos) {
  const CompiledRule& r = c.rules[pos];
  std::string what = r.rule ? fmt::format("-j {}", r.rule->target.view()) : std::string(r.unknown_action);
  auto key = std::make_pair(r.rule ? static_cast<const void*>(r.rule) : static_cast<const void*>(r.nft_rule), what);
  if (seen_.count(key)) return;
  seen_[key] = true;
  ExposureUnknown u;
  u.table = std::string(t.name);
  u.chain = std::string(c.name);
  u.rule_number = r.number;
  u.rule = RuleText(c, r);
  u.what = std::move(what);
  u.why = r.action.kind == Action::kNetmap
              ? "NETMAP's rewrite is not followed by the exposure analysis"
          : r.rule ? "a target the analyzer does not know (continue, ACCEPT or DROP)"
                   : "an nftables statement the analyzer does not model (continue, ACCEPT or DROP)";
  unknowns.push_back(std::move(u));
}

void ExposureWalker::ApplyNat(const Action& a, Flow f, Sink& sink) {
  f.st.nat_bound = true;
  auto set_ports = [&](Flow g) {
    if (a.port_lo == 0 && a.port_hi == 0) {
      sink.accepted.push_back(std::move(g));
      return;
    }
    if (a.port_lo == a.port_hi) {
      g.st.to_port_set = true;
      g.st.to_port = a.port_lo;
      sink.accepted.push_back(std::move(g));
      return;
    }
    // A port range: ports inside are kept, the others take its first port.
    IntervalSet inside = IntervalSet::Range(a.port_lo, a.port_hi);
    Flow keep = g;
    keep.box.d[kDimDport] = g.box.d[kDimDport].Intersect(inside);
    if (!keep.box.Empty()) sink.accepted.push_back(keep);
    g.box.d[kDimDport] = g.box.d[kDimDport].Subtract(inside);
    g.st.to_port_set = true;
    g.st.to_port = a.port_lo;
    if (!g.box.Empty()) sink.accepted.push_back(std::move(g));
  };
  switch (a.kind) {
    case Action::kDnat:
      if (a.has_addr) {
        f.st.dnat = true;
        f.st.to_addr = a.addr_lo;
      }
      set_ports(std::move(f));
      return;
    case Action::kRedirect: {
      std::optional<IpAddress> to;
      if (f.st.local_origin) {
        IpAddress lo{};
        lo.family = space_.family();
        if (lo.family == Family::kIPv4) {
          lo.bytes[0] = 127;
          lo.bytes[3] = 1;
        } else {
          lo.bytes[15] = 1;
        }
        to = lo;
      } else {
        to = space_.host().PrimaryAddress(f.st.in, space_.family());
      }
      if (!to) {
        sink.refused.push_back(std::move(f));
        return;
      }
      f.st.dnat = true;
      f.st.to_addr = *to;
      set_ports(std::move(f));
      return;
    }
    case Action::kMasquerade: {
      U128 v[kDims];
      FirstPoint(f.box, v);
      PacketState s = space_.Point(f.st, v);
      const host::Route* route = space_.host().Lookup(s.packet.dst);
      auto src = space_.host().SourceFor(f.st.out, s.packet.dst,
                                         route && route->device == f.st.out ? route : nullptr);
      if (!src) sink.refused.push_back(std::move(f));
      else sink.accepted.push_back(std::move(f));
      return;
    }
    case Action::kNetmap:
      f.st.uncertain = true;
      sink.accepted.push_back(std::move(f));
      return;
    default:   // SNAT
      sink.accepted.push_back(std::move(f));
      return;
  }
}

void ExposureWalker::Walk(const CompiledTable& t, int chain, std::vector<Flow> input, int depth,
                          std::vector<Flow>& returned, Sink& sink) {
  const CompiledChain& c = t.chains[chain];
  size_t flows_at_start = flows, n_input = input.size();
  std::vector<Flow> current = std::move(input), next, matched;
  std::vector<std::pair<Box, Tri>> parts;
  size_t merged_at = current.size();
  for (size_t pos = 0; pos < c.rules.size() && !current.empty(); ++pos) {
    if (truncated) return;
    const CompiledRule& r = c.rules[pos];
    Quick quick = QuickOf(c, r);
    next.clear();
    matched.clear();
    for (auto& f : current) {
      if (++flows > options_.max_flows) {
        truncated = true;
        return;
      }
      // A native rule's part after a side effect: only the packets that hit
      // the part before it (CompiledRule::after).
      if (r.after >= 0 ? f.st.hit != r.after : f.st.hit >= 0) {
        if (r.after < 0) f.st.hit = -1;
        else {
          next.push_back(std::move(f));
          continue;
        }
      }
      if (CannotMatch(quick, f)) {
        next.push_back(std::move(f));
        continue;
      }
      parts.clear();
      SplitRule(c, r, f, parts);
      for (auto& [b, tri] : parts) {
        if (b.Empty()) continue;
        if (tri == Tri::kFalse) {
          next.push_back(Flow{std::move(b), f.st});
        } else if (tri == Tri::kTrue) {
          matched.push_back(Flow{std::move(b), f.st});
        } else {
          NoteUnknown(t, c, pos, f, b);
          Flow g{std::move(b), f.st};
          g.st.uncertain = true;
          matched.push_back(g);
          next.push_back(std::move(g));
        }
      }
    }
    std::swap(current, next);
    if (!matched.empty()) {
      const Action& a = r.action;
      Action::Kind kind = a.kind;
      if (kind == Action::kUnknown) {
        NoteUnknownTarget(t, c, pos);
        for (auto& f : matched) {
          f.st.uncertain = true;
          sink.accepted.push_back(f);
          sink.refused.push_back(f);
          f.st.hit = static_cast<int32_t>(pos);
          current.push_back(f);
        }
        kind = Action::kNone;
        matched.clear();
      }
      switch (kind) {
        case Action::kNone:
          for (auto& f : matched) {
            f.st.hit = static_cast<int32_t>(pos);
            current.push_back(std::move(f));
          }
          break;
        case Action::kAccept:
          for (auto& f : matched) sink.accepted.push_back(std::move(f));
          break;
        case Action::kDrop:
        case Action::kReject:
        case Action::kQueue:
          for (auto& f : matched) sink.refused.push_back(std::move(f));
          break;
        case Action::kReturn:
          for (auto& f : matched) returned.push_back(std::move(f));
          break;
        case Action::kJump:
        case Action::kGoto: {
          if (depth >= 63) {
            for (auto& f : matched) sink.refused.push_back(std::move(f));
            break;
          }
          std::vector<Flow> back;
          for (auto& f : matched) f.st.hit = -1;
          Walk(t, a.chain, std::move(matched), depth + 1, back, sink);
          auto& dest = kind == Action::kJump ? current : returned;
          for (auto& f : back) {
            f.st.hit = -1;
            dest.push_back(std::move(f));
          }
          matched.clear();
          break;
        }
        case Action::kDnat:
        case Action::kSnat:
        case Action::kMasquerade:
        case Action::kRedirect:
        case Action::kNetmap:
          if (kind == Action::kNetmap) NoteUnknownTarget(t, c, pos);
          for (auto& f : matched) ApplyNat(a, std::move(f), sink);
          break;
        case Action::kMark:
          for (auto& f : matched) {
            f.st.mark = (f.st.mark & ~a.mask) ^ a.value;
            f.st.hit = static_cast<int32_t>(pos);
            current.push_back(std::move(f));
          }
          break;
        case Action::kConnmark:
          for (auto& f : matched) {
            if (a.mode == 0) f.st.ctmark = (f.st.ctmark & ~a.mask) ^ a.value;
            else if (a.mode == 1) f.st.ctmark = (f.st.ctmark & ~a.ctmask) | (f.st.mark & a.nfmask);
            else f.st.mark = (f.st.mark & ~a.nfmask) | (f.st.ctmark & a.ctmask);
            f.st.hit = static_cast<int32_t>(pos);
            current.push_back(std::move(f));
          }
          break;
        case Action::kNotrack:
          for (auto& f : matched) {
            if (can_untrack_) f.st.ct = kCtUntracked;
            f.st.hit = static_cast<int32_t>(pos);
            current.push_back(std::move(f));
          }
          break;
        case Action::kUnknown:
          break;
      }
    }
    if (current.size() > 2 * merged_at + 8) {
      Merge(current);
      merged_at = current.size();
    }
  }
  for (auto& f : current) {
    f.st.hit = -1;
    returned.push_back(std::move(f));
  }
  if (getenv("EXPOSURE_TIMING") && flows - flows_at_start > 20000)
    fprintf(stderr, "  %.*s %.*s: %zu rules, %zu packet sets x rules, %zu in, %zu returned\n",
            static_cast<int>(t.name.size()), t.name.data(), static_cast<int>(c.name.size()), c.name.data(),
            c.rules.size(), flows - flows_at_start, n_input, returned.size());
}

void ExposureWalker::Hook(const char* table, const char* chain, std::vector<Flow> in, Sink& sink) {
  const CompiledTable* t = model_.table(table);
  int base = t ? t->hooks[HookSlot(chain)] : -1;
  if (base < 0) {
    for (auto& f : in) sink.accepted.push_back(std::move(f));
    return;
  }
  WalkBase(*t, base, std::move(in), sink);
}

void ExposureWalker::WalkBase(const CompiledTable& table, int base, std::vector<Flow> in, Sink& sink) {
  const CompiledTable* t = &table;
  can_untrack_ = t->chains[base].priority < kConntrackPriority;
  std::vector<Flow> returned;
  Walk(*t, base, std::move(in), 0, returned, sink);

  Merge(returned);
  auto& dest = t->chains[base].policy == Action::kDrop ? sink.refused : sink.accepted;
  for (auto& f : returned) dest.push_back(std::move(f));
}

std::vector<Flow> ExposureWalker::Stage(int slot, int lo, int hi, std::vector<Flow> flows,
                                       std::vector<Flow>& refused, bool run_nat) {
  bool first_nat = true;
  for (const HookEntry& e : model_.Schedule(slot)) {
    if (e.priority < lo || e.priority >= hi || flows.empty()) continue;
    const CompiledTable& t = model_.tables()[e.table];
    std::vector<Flow> pass;
    if (e.nat) {
      if (!run_nat) continue;
      if (first_nat) {
        for (auto& f : flows) f.st.nat_bound = false;   // a new NAT hook: no mapping yet
        first_nat = false;
      }
      std::vector<Flow> n;
      for (auto& f : flows) (RunsNat(f.st) && !f.st.nat_bound ? n : pass).push_back(std::move(f));
      flows = std::move(n);
    }
    Sink s;
    WalkBase(t, e.chain, std::move(flows), s);
    for (auto& f : s.refused) refused.push_back(std::move(f));
    flows = std::move(s.accepted);
    for (auto& f : pass) flows.push_back(std::move(f));
  }
  return flows;
}

void ExposureWalker::Routing(std::vector<Flow> flows, std::vector<Flow>& local,
                             std::vector<std::pair<Flow, int>>& forward, std::vector<Flow>& refused) {
  const host::HostNetwork& host = space_.host();
  std::vector<std::pair<Box, int>> pieces;
  for (auto& f : flows) {
    Cuts cuts = space_.RoutingCuts();
    if (f.st.dnat) cuts.at[kDimDst].clear();
    pieces.clear();
    space_.Split(f.box, cuts,
                 [&](const U128 v[kDims]) {
                   PacketState s = space_.Point(f.st, v);
                   const Packet& p = s.packet;
                   bool lo_in = p.in == "lo";
                   if (!lo_in && (IsLoopbackAddr(p.dst) || IsLoopbackAddr(p.src))) return -2;
                   if (!lo_in && p.family == Family::kIPv4 && host.IsLocal(p.src)) return -2;
                   if (host.IsLocal(p.dst) || host.IsBroadcast(p.dst)) return -1;
                   const host::Route* route = host.Lookup(p.dst);
                   if (!route || route->type != "unicast" || route->device.empty()) return -3;
                   if (!host.forwarding) return -4;
                   return static_cast<int>(route - host.routes.data());
                 },
                 pieces);
    for (auto& [b, label] : pieces) {
      Flow g{std::move(b), f.st};
      if (label == -1) local.push_back(std::move(g));
      else if (label >= 0) forward.emplace_back(std::move(g), label);
      else refused.push_back(std::move(g));
    }
  }
}

std::vector<FlowOutcome> ExposureWalker::Run(std::string_view in, bool in_unknown, const Box& start,
                                             const std::vector<std::string>* not_in) {
  std::vector<FlowOutcome> out;
  auto done = [&](std::vector<Flow>& flows, bool accepted, ExposureTarget::Kind kind) {
    for (auto& f : flows) {
      if (!accepted && !f.st.uncertain) continue;
      FlowOutcome o;
      o.box = std::move(f.box);
      o.st = f.st;
      o.accepted = accepted;
      o.kind = kind;
      if (accepted && kind == ExposureTarget::kForward && (f.st.dnat || f.st.to_port_set))
        o.kind = ExposureTarget::kContainer;
      out.push_back(std::move(o));
    }
    flows.clear();
  };
  Flow f0;
  f0.box = start;
  f0.st.in = in;
  f0.st.in_unknown = in_unknown;
  f0.st.not_in = not_in;
  if (f0.box.Empty()) return out;
  const host::HostNetwork& host = space_.host();
  using Scope = ExposureOptions::Scope;

  if (options_.scope != Scope::kHost) {
    f0.st.ct = options_.state;
    f0.st.mark_unknown = true;   // set by mangle rules this scope does not walk
    std::vector<std::pair<Flow, int>> routed;
    std::vector<Flow> flows{f0};
    if (options_.scope == Scope::kFilterForward) {
      flows.clear();
      if (host.routes.empty()) {
        f0.st.out_unknown = true;
        flows.push_back(f0);
      } else {
        // -o from the routes; what they do not route has an unknown -o.
        std::vector<std::pair<Box, int>> pieces;
        Cuts cuts;
        cuts.at[kDimDst] = space_.RoutingCuts().at[kDimDst];
        space_.Split(f0.box, cuts,
                     [&](const U128 v[kDims]) {
                       const host::Route* r = host.Lookup(FromNumber(v[kDimDst], space_.family()));
                       if (!r || r->type != "unicast" || r->device.empty()) return -1;
                       return static_cast<int>(r - host.routes.data());
                     },
                     pieces);
        for (auto& [b, label] : pieces) {
          Flow g{std::move(b), f0.st};
          if (label < 0) g.st.out_unknown = true;
          else g.st.out = host.routes[label].device;
          flows.push_back(std::move(g));
        }
      }
    }
    Sink sink;
    Hook("filter", options_.scope == Scope::kFilterInput ? "INPUT" : "FORWARD", std::move(flows), sink);
    auto kind = options_.scope == Scope::kFilterInput ? ExposureTarget::kHost : ExposureTarget::kForward;
    done(sink.accepted, true, kind);
    done(sink.refused, false, kind);
    return out;
  }

  // Before conntrack (raw PREROUTING): INVALID for ctstate.
  f0.st.ct = kCtInvalid;
  std::vector<Flow> refused;
  std::vector<Flow> flows = Stage(0, INT_MIN, kConntrackPriority, {f0}, refused, true);
  done(refused, false, ExposureTarget::kHost);
  for (auto& f : flows)
    if (f.st.ct != kCtUntracked) f.st.ct = options_.state;
  flows = Stage(0, kConntrackPriority, INT_MAX, std::move(flows), refused, true);
  done(refused, false, ExposureTarget::kHost);

  std::vector<Flow> local;
  std::vector<std::pair<Flow, int>> forward;
  Routing(std::move(flows), local, forward, refused);
  done(refused, false, ExposureTarget::kHost);

  // Local delivery.
  {
    std::vector<Flow> in = Stage(1, INT_MIN, INT_MAX, std::move(local), refused, true);
    done(refused, false, ExposureTarget::kHost);
    done(in, true, ExposureTarget::kHost);
  }
  // Forwarding, one group per route.
  std::map<int, std::vector<Flow>> by_route;
  for (auto& [f, route] : forward) {
    f.st.out = host.routes[route].device;
    by_route[route].push_back(std::move(f));
  }
  std::map<std::string_view, std::vector<Flow>> by_device;
  for (auto& [route, group] : by_route) {
    auto& v = by_device[host.routes[route].device];
    for (auto& f : group) v.push_back(std::move(f));
  }
  for (auto& [device, group] : by_device) {
    std::vector<Flow> fwd = std::move(group);
    Merge(fwd);
    fwd = Stage(2, INT_MIN, INT_MAX, std::move(fwd), refused, true);
    done(refused, false, ExposureTarget::kForward);
    fwd = Stage(4, INT_MIN, INT_MAX, std::move(fwd), refused, true);
    done(refused, false, ExposureTarget::kForward);
    done(fwd, true, ExposureTarget::kForward);
  }
  return out;
}

}  // namespace swarmwall::analyze
