// ComputeExposure and ComputeServiceMatrix: the outcomes of the symbolic
// walk (exposure_walk.cc) sorted into source classes and rows.
#include "analyze/exposure/exposure.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <unordered_map>

#include "analyze/exposure/exposure_walk.h"
#include "analyze/model/packet_space.h"

namespace swarmwall::analyze {

using netfilter::Cidr;
using netfilter::Family;
using netfilter::IpAddress;

const char* ReachName(Reach r) {
  switch (r) {
    case Reach::kExact: return "exact";
    case Reach::kUnder: return "under";
    case Reach::kOver: return "over";
  }
  return "?";
}

IntervalSet FromCidrs(const std::vector<Cidr>& cidrs, Family f) {
  std::vector<Interval> parts;
  int bits = f == Family::kIPv4 ? 32 : 128;
  for (const auto& c : cidrs) {
    if (c.family() != f) continue;
    int len = c.PrefixLength();
    if (len < 0) len = bits;   // a non-contiguous mask: its address only
    U128 lo = ToNumber(c.address);
    U128 host = len == 0 ? MaxOf(f) : (len == bits ? 0 : ((U128{1} << (bits - len)) - 1));
    parts.push_back({lo & ~host, (lo & ~host) | host});
  }
  return IntervalSet::Of(std::move(parts));
}

namespace {

std::vector<Cidr> ToCidrs(const IntervalSet& s, Family f) {
  std::vector<AddressSpan> spans;
  for (const auto& i : s.intervals()) spans.push_back({FromNumber(i.lo, f), FromNumber(i.hi, f)});
  return SpansToCidrs(spans);
}

std::vector<PortSpan> ToPorts(const IntervalSet& s) {
  std::vector<PortSpan> out;
  for (const auto& i : s.intervals())
    out.push_back({static_cast<uint16_t>(i.lo), static_cast<uint16_t>(i.hi)});
  return out;
}

bool ProtocolHasPorts(uint16_t p) { return p == 6 || p == 17 || p == 132 || p == 33 || p == 136; }

// Box A minus box B, as disjoint boxes.
void SubtractBox(const Box& a, const Box& b, std::vector<Box>& out) {
  for (int d = 0; d < kDims; ++d)
    if (!a.d[d].Intersects(b.d[d])) {
      out.push_back(a);
      return;
    }
  Box rest = a;
  for (int d = 0; d < kDims; ++d) {
    Box piece = rest;
    piece.d[d] = rest.d[d].Subtract(b.d[d]);
    if (!piece.d[d].empty()) out.push_back(std::move(piece));
    rest.d[d] = rest.d[d].Intersect(b.d[d]);
  }
}

struct Label {
  ExposureTarget::Kind kind = ExposureTarget::kHost;
  bool dnat = false;
  IpAddress to;
  uint16_t to_port = 0;
  std::string out;
  bool operator==(const Label&) const = default;
  auto Tuple() const { return std::tie(kind, dnat, to, to_port, out); }
  bool operator<(const Label& o) const { return Tuple() < o.Tuple(); }
};

Label LabelOf(const FlowOutcome& o) {
  Label l;
  if (!o.accepted) {
    l.kind = static_cast<ExposureTarget::Kind>(255);
    return l;
  }
  l.kind = o.kind;
  l.dnat = o.st.dnat;
  if (o.st.dnat) l.to = o.st.to_addr;
  if (o.st.to_port_set) l.to_port = o.st.to_port;
  if (o.kind != ExposureTarget::kHost) l.out = std::string(o.st.out);
  return l;
}

struct Item {
  Box box;
  int label = 0;
  Reach reach = Reach::kExact;
};

// Accepted outcomes with their certainty: a packet that met no undecidable
// match has exactly one outcome; one that did has several, all uncertain,
// and is reached for sure only when all of them agree.
bool BoxesIntersect(const Box& a, const Box& b) {
  for (int d = 0; d < kDims; ++d)
    if (!a.d[d].Intersects(b.d[d])) return false;
  return true;
}

std::vector<Item> Items(std::vector<FlowOutcome>& outcomes, std::vector<Label>& labels) {
  std::vector<Item> items;
  std::map<Label, int> ids;
  auto label_id = [&](const Label& l) {
    auto [it, fresh] = ids.emplace(l, static_cast<int>(labels.size()));
    if (fresh) labels.push_back(l);
    return it->second;
  };
  struct Uncertain {
    const FlowOutcome* o;
    int label;
    U128 lo, hi;   // the hull of its destinations
  };
  std::vector<Uncertain> uncertain;
  for (auto& o : outcomes) {
    if (o.box.Empty()) continue;
    int id = o.accepted ? label_id(LabelOf(o)) : -1;
    if (o.st.uncertain) {
      const auto& d = o.box.d[kDimDst].intervals();
      uncertain.push_back({&o, id, d.front().lo, d.back().hi});
      continue;
    }
    if (o.accepted) items.push_back({o.box, id, Reach::kExact});
  }
  // The others that may overlap one: those addressed to one of its
  // destination ports and, when it has one destination address, to that
  // address (most forks are per published port or service), plus the few
  // that span many ports or addresses.
  auto narrow = [](const IntervalSet& ports) {
    return ports.size() == 1 && ports.intervals()[0].hi - ports.intervals()[0].lo < 16;
  };
  auto point = [](const IntervalSet& s) { return s.size() == 1 && s.intervals()[0].lo == s.intervals()[0].hi; };
  std::unordered_map<uint16_t, std::vector<size_t>> by_port, by_port_wide_dst;
  std::map<std::pair<uint16_t, U128>, std::vector<size_t>> by_port_dst;
  std::vector<size_t> wide;
  for (size_t i = 0; i < uncertain.size(); ++i) {
    const Box& b = uncertain[i].o->box;
    const IntervalSet& ports = b.d[kDimDport];
    if (!narrow(ports)) {
      wide.push_back(i);
      continue;
    }
    for (U128 p = ports.First(); p <= ports.intervals()[0].hi; ++p) {
      uint16_t port = static_cast<uint16_t>(p);
      by_port[port].push_back(i);
      if (point(b.d[kDimDst])) by_port_dst[{port, b.d[kDimDst].First()}].push_back(i);
      else by_port_wide_dst[port].push_back(i);
    }
  }
  std::vector<Box> under, next;
  std::vector<size_t> cands;
  auto add = [&](const std::vector<size_t>* v) {
    if (v) cands.insert(cands.end(), v->begin(), v->end());
  };
  for (size_t ui = 0; ui < uncertain.size(); ++ui) {
    const Uncertain& u = uncertain[ui];
    if (u.label < 0) continue;
    under.assign(1, u.o->box);
    const IntervalSet& ports = u.o->box.d[kDimDport];
    cands = wide;
    if (narrow(ports)) {
      bool single = point(u.o->box.d[kDimDst]);
      for (U128 p = ports.First(); p <= ports.intervals()[0].hi; ++p) {
        uint16_t port = static_cast<uint16_t>(p);
        if (single) {
          auto it = by_port_dst.find({port, u.o->box.d[kDimDst].First()});
          add(it == by_port_dst.end() ? nullptr : &it->second);
          auto jt = by_port_wide_dst.find(port);
          add(jt == by_port_wide_dst.end() ? nullptr : &jt->second);
        } else {
          auto it = by_port.find(port);
          add(it == by_port.end() ? nullptr : &it->second);
        }
      }
    } else {
      for (size_t i = 0; i < uncertain.size(); ++i)
        if (narrow(uncertain[i].o->box.d[kDimDport])) cands.push_back(i);
    }
    std::sort(cands.begin(), cands.end());
    cands.erase(std::unique(cands.begin(), cands.end()), cands.end());
    for (size_t ci : cands) {
      const Uncertain& other = uncertain[ci];
      if (under.empty()) break;
      if (other.label == u.label || other.hi < u.lo || other.lo > u.hi) continue;
      const Box& p = other.o->box;
      next.clear();
      for (auto& b : under) {
        if (!BoxesIntersect(b, p)) next.push_back(std::move(b));
        else SubtractBox(b, p, next);
      }
      std::swap(under, next);
    }
    std::vector<Box> over{u.o->box};
    for (auto& b : under) {
      next.clear();
      for (auto& x : over) {
        if (!BoxesIntersect(x, b)) next.push_back(std::move(x));
        else SubtractBox(x, b, next);
      }
      std::swap(over, next);
      items.push_back({std::move(b), u.label, Reach::kUnder});
    }
    for (auto& b : over) items.push_back({std::move(b), u.label, Reach::kOver});
  }
  return items;
}

// Items that differ only in their sources are one (the mark a source got on
// the way, say, does not change where it ends).
std::vector<Item> MergeSources(std::vector<Item> items) {
  std::vector<Item> out;
  std::unordered_map<size_t, std::vector<size_t>> by_key;
  for (auto& it : items) {
    size_t h = static_cast<size_t>(it.label) * 31u + static_cast<size_t>(it.reach);
    for (int d = 0; d < kDims; ++d)
      if (d != kDimSrc) h = h * 1000003u ^ it.box.d[d].Hash();
    auto& cands = by_key[h];
    bool merged = false;
    for (size_t i : cands) {
      Item& o = out[i];
      if (o.label != it.label || o.reach != it.reach) continue;
      bool same = true;
      for (int d = 0; d < kDims && same; ++d)
        if (d != kDimSrc && !(o.box.d[d] == it.box.d[d])) same = false;
      if (!same) continue;
      o.box.d[kDimSrc] = o.box.d[kDimSrc].Union(it.box.d[kDimSrc]);
      merged = true;
      break;
    }
    if (!merged) {
      cands.push_back(out.size());
      out.push_back(std::move(it));
    }
  }
  return out;
}

struct Row {
  uint16_t proto = 0, proto_last = 0;
  IntervalSet ports, dst;
  int label = 0;
  Reach reach = Reach::kExact;
  bool operator==(const Row&) const = default;
  auto Key() const { return std::make_tuple(label, proto, proto_last, static_cast<int>(reach)); }
};

bool RowLess(const Row& a, const Row& b, const std::vector<Label>& labels) {
  const Label& la = labels[a.label];
  const Label& lb = labels[b.label];
  if (!(la == lb)) return la < lb;
  if (a.proto != b.proto) return a.proto < b.proto;
  if (a.proto_last != b.proto_last) return a.proto_last < b.proto_last;
  if (a.reach != b.reach) return a.reach < b.reach;
  U128 pa = a.ports.empty() ? 0 : a.ports.First(), pb = b.ports.empty() ? 0 : b.ports.First();
  if (pa != pb) return pa < pb;
  U128 da = a.dst.empty() ? 0 : a.dst.First(), db = b.dst.empty() ? 0 : b.dst.First();
  return da < db;
}

// Merges rows that differ only in destinations, then only in ports.
void MergeRows(std::vector<Row>& rows) {
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<Row> out;
    std::unordered_map<size_t, std::vector<size_t>> by_key;
    for (auto& r : rows) {
      auto [label, proto, last, reach] = r.Key();
      const IntervalSet& same = pass == 0 ? r.ports : r.dst;
      size_t h = ((static_cast<size_t>(label) * 1000003u + proto) * 1000003u + last) * 31u + reach;
      h = h * 1000003u ^ same.Hash();
      auto& cands = by_key[h];
      bool merged = false;
      for (size_t i : cands) {
        Row& o = out[i];
        if (o.Key() != r.Key()) continue;
        if (pass == 0 && o.ports == r.ports) {
          o.dst = o.dst.Union(r.dst);
          merged = true;
        } else if (pass == 1 && o.dst == r.dst) {
          o.ports = o.ports.Union(r.ports);
          merged = true;
        }
        if (merged) break;
      }
      if (!merged) {
        cands.push_back(out.size());
        out.push_back(std::move(r));
      }
    }
    rows = std::move(out);
  }
}

// The source classes: source intervals with the same items, then classes
// with the same rows merged.
std::vector<ExposureEntry> Assemble(std::vector<FlowOutcome>& outcomes, Family family,
                                    const std::vector<uint16_t>& named) {
  std::vector<Label> labels;
  std::vector<Item> items = MergeSources(Items(outcomes, labels));
  std::vector<ExposureEntry> entries;
  if (items.empty()) return entries;
  struct Event {
    U128 at;
    int item;
    bool add;
  };
  std::vector<Event> events;
  U128 max = MaxOf(family);
  for (size_t i = 0; i < items.size(); ++i)
    for (const auto& iv : items[i].box.d[kDimSrc].intervals()) {
      events.push_back({iv.lo, static_cast<int>(i), true});
      if (iv.hi != max) events.push_back({iv.hi + 1, static_cast<int>(i), false});
    }
  std::sort(events.begin(), events.end(), [](const Event& a, const Event& b) { return a.at < b.at; });
  std::map<std::vector<int>, std::vector<Interval>> by_sig;
  std::set<int> active;
  for (size_t k = 0; k < events.size();) {
    U128 at = events[k].at;
    while (k < events.size() && events[k].at == at) {
      if (events[k].add) active.insert(events[k].item);
      else active.erase(events[k].item);
      ++k;
    }
    if (active.empty()) continue;
    U128 end = k < events.size() ? events[k].at - 1 : max;
    by_sig[std::vector<int>(active.begin(), active.end())].push_back({at, end});
  }
  // Rows of each signature; signatures with equal rows are one class.
  std::vector<std::pair<std::vector<Row>, IntervalSet>> classes;
  IntervalSet named_set;
  for (uint16_t p : named) named_set = named_set.Union(IntervalSet::Range(p, p));
  for (auto& [sig, src] : by_sig) {
    std::vector<Row> rows;
    for (int i : sig) {
      const Item& it = items[i];
      const IntervalSet& protos = it.box.d[kDimProto];
      auto add = [&](uint16_t lo, uint16_t hi) {
        Row r;
        r.proto = lo;
        r.proto_last = hi == lo ? 0 : hi;
        if (hi == lo && ProtocolHasPorts(lo)) r.ports = it.box.d[kDimDport];
        r.dst = it.box.d[kDimDst];
        r.label = it.label;
        r.reach = it.reach;
        rows.push_back(std::move(r));
      };
      IntervalSet named_here = protos.Intersect(named_set), others = protos.Subtract(named_set);
      for (const auto& iv : named_here.intervals())
        for (U128 p = iv.lo; p <= iv.hi; ++p) add(static_cast<uint16_t>(p), static_cast<uint16_t>(p));
      for (const auto& iv : others.intervals())
        add(static_cast<uint16_t>(iv.lo), static_cast<uint16_t>(iv.hi));
    }
    MergeRows(rows);
    std::sort(rows.begin(), rows.end(), [&](const Row& a, const Row& b) { return RowLess(a, b, labels); });
    IntervalSet s = IntervalSet::Of(src);
    bool merged = false;
    for (auto& c : classes)
      if (c.first == rows) {
        c.second = c.second.Union(s);
        merged = true;
        break;
      }
    if (!merged) classes.emplace_back(std::move(rows), std::move(s));
  }
  for (auto& [rows, src] : classes) {
    std::vector<Cidr> sources = ToCidrs(src, family);
    for (auto& r : rows) {
      ExposureEntry e;
      e.sources = sources;
      e.protocol = r.proto;
      e.protocol_last = r.proto_last;
      e.ports = ToPorts(r.ports);
      const Label& l = labels[r.label];
      e.target.kind = l.kind;
      e.target.addresses = ToCidrs(r.dst, family);
      if (l.dnat) e.target.to_address = l.to;
      else e.target.to_address.family = family;
      e.target.to_port = l.to_port;
      e.target.out_interface = l.out;
      e.reach = r.reach;
      entries.push_back(std::move(e));
    }
  }
  std::stable_sort(entries.begin(), entries.end(), [](const ExposureEntry& a, const ExposureEntry& b) {
    auto ka = std::make_tuple(static_cast<int>(a.target.kind), a.target.to_address, a.target.to_port,
                              a.protocol, a.ports.empty() ? 0 : a.ports[0].lo);
    auto kb = std::make_tuple(static_cast<int>(b.target.kind), b.target.to_address, b.target.to_port,
                              b.protocol, b.ports.empty() ? 0 : b.ports[0].lo);
    return ka < kb;
  });
  return entries;
}

struct Arrival {
  std::string name;
  bool unknown = false;
  IntervalSet sources;
  const std::vector<std::string>* not_in = nullptr;   // "any other interface" than these
};

std::vector<Arrival> Arrivals(const TraceModel& model, const ExposureOptions& o,
                              std::vector<std::string>& ipassmt_names) {
  Family f = model.family();
  IntervalSet all = IntervalSet::Range(0, MaxOf(f));
  IntervalSet from = o.from.empty() ? all : FromCidrs(o.from, f);
  const IpAssignment* ipassmt = o.ipassmt && o.ipassmt->family == f ? o.ipassmt : nullptr;
  ipassmt_names.clear();
  if (ipassmt)
    for (const auto& e : ipassmt->entries) ipassmt_names.push_back(e.interface);
  auto sources_of = [&](const std::string& name) {
    if (!ipassmt) return from;
    const IpAssignment::Entry* e = ipassmt->Find(name);
    if (!e) return from;
    std::vector<Interval> parts;
    for (const auto& s : e->spans) parts.push_back({ToNumber(s.lo), ToNumber(s.hi)});
    return from.Intersect(IntervalSet::Of(std::move(parts)));
  };
  std::vector<Arrival> out;
  std::vector<std::string> names = o.interfaces;
  if (names.empty()) {
    if (ipassmt) {
      for (const auto& e : ipassmt->entries) names.push_back(e.interface);
    } else {
      for (const auto& i : model.host().interfaces)
        if ((i.name != "lo" || o.scope != ExposureOptions::Scope::kHost) && i.master.empty())
          names.push_back(i.name);   // bridge ports: packets arrive on the bridge
    }
  }
  if (names.empty()) {
    out.push_back({"*", true, from});
    return out;
  }
  for (const auto& n : names) out.push_back({n, false, sources_of(n)});
  // With an ipassmt, packets may also arrive on an interface it does not
  // list, from any source (fffuu's constrain mode keeps those).
  if (ipassmt && o.interfaces.empty()) out.push_back({"*", true, from, &ipassmt_names});
  return out;
}

std::vector<uint16_t> NamedProtocols(const TraceModel& model) {
  std::set<uint16_t> s{6, 17, 33, 132, 136};
  s.insert(model.family() == Family::kIPv4 ? 1 : 58);
  for (const char* t : {"raw", "mangle", "nat", "filter", "security"})
    if (const CompiledTable* table = model.table(t))
      for (const auto& c : table->chains)
        for (const auto& m : c.matches)
          if ((m.kind == MatchKind::kProtocol || m.kind == MatchKind::kCtProto) && m.a) s.insert(static_cast<uint16_t>(m.a));
  return {s.begin(), s.end()};
}

Box StartBox(const SpaceContext& space, const ExposureOptions& o, const IntervalSet& sources) {
  Box b = space.Everything();
  b.d[kDimSrc] = sources;
  if (o.protocol) b.d[kDimProto] = IntervalSet::Range(*o.protocol, *o.protocol);
  if (!o.dports.empty()) {
    std::vector<Interval> parts;
    for (const auto& p : o.dports) parts.push_back({p.lo, p.hi});
    b.d[kDimDport] = IntervalSet::Of(std::move(parts));
  }
  if (!o.sports.empty()) {
    std::vector<Interval> parts;
    for (const auto& p : o.sports) parts.push_back({p.lo, p.hi});
    b.d[kDimSport] = IntervalSet::Of(std::move(parts));
  }
  return b;
}

}  // namespace

FamilyExposure ComputeExposure(const TraceModel& model, const ExposureOptions& options) {
  FamilyExposure r;
  r.family = model.family();
  SpaceContext space(model.host(), r.family);
  ExposureWalker walker(model, space, options);
  std::vector<uint16_t> named = NamedProtocols(model);
  std::vector<std::string> listed;
  for (const auto& a : Arrivals(model, options, listed)) {
    InterfaceExposure ie;
    ie.interface = a.name;
    auto t0 = std::chrono::steady_clock::now();
    std::vector<FlowOutcome> outcomes = walker.Run(a.name, a.unknown, StartBox(space, options, a.sources), a.not_in);
    auto t1 = std::chrono::steady_clock::now();
    ie.entries = Assemble(outcomes, r.family, named);
    auto t2 = std::chrono::steady_clock::now();
    if (getenv("EXPOSURE_TIMING"))
      fprintf(stderr, "%s: walk %.3f s (%zu outcomes), assemble %.3f s\n", a.name.c_str(),
              std::chrono::duration<double>(t1 - t0).count(), outcomes.size(),
              std::chrono::duration<double>(t2 - t1).count());

    r.interfaces.push_back(std::move(ie));
  }
  r.unknowns = std::move(walker.unknowns);
  r.truncated = walker.truncated;
  r.flows = walker.flows;
  return r;
}

ServiceMatrix ComputeServiceMatrix(const TraceModel& model, uint16_t protocol, uint16_t port,
                                   const ExposureOptions& options) {
  ServiceMatrix m;
  m.family = model.family();
  m.protocol = protocol;
  m.port = port;
  ExposureOptions o = options;
  o.protocol = protocol;
  o.dports = {PortSpan{port, port}};
  SpaceContext space(model.host(), m.family);
  ExposureWalker walker(model, space, o);
  // (src, dst) boxes accepted: over (some reading), under (every reading).
  std::vector<std::pair<IntervalSet, IntervalSet>> over, under;
  IntervalSet all_sports = IntervalSet::Range(0, 65535);
  std::vector<std::string> listed;
  for (const auto& a : Arrivals(model, o, listed)) {
    std::vector<FlowOutcome> outcomes = walker.Run(a.name, a.unknown, StartBox(space, o, a.sources), a.not_in);
    std::vector<Label> labels;
    for (auto& it : Items(outcomes, labels)) {
      over.emplace_back(it.box.d[kDimSrc], it.box.d[kDimDst]);
      if (it.reach != Reach::kOver &&
          (!ProtocolHasPorts(protocol) || it.box.d[kDimSport] == all_sports))
        under.emplace_back(it.box.d[kDimSrc], it.box.d[kDimDst]);
    }
  }
  m.unknowns = std::move(walker.unknowns);
  m.truncated = walker.truncated;
  // Elementary intervals of every source and destination set.
  U128 max = MaxOf(m.family);
  std::vector<U128> cuts{0};
  for (auto* list : {&over, &under})
    for (auto& [s, d] : *list)
      for (auto* set : {&s, &d})
        for (const auto& iv : set->intervals()) {
          cuts.push_back(iv.lo);
          if (iv.hi != max) cuts.push_back(iv.hi + 1);
        }
  std::sort(cuts.begin(), cuts.end());
  cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
  size_t n = cuts.size();
  auto index_set = [&](const IntervalSet& s) {
    std::vector<Interval> parts;
    for (const auto& iv : s.intervals()) {
      size_t lo = std::lower_bound(cuts.begin(), cuts.end(), iv.lo) - cuts.begin();
      size_t hi = iv.hi == max ? n - 1
                               : static_cast<size_t>(std::lower_bound(cuts.begin(), cuts.end(), iv.hi + 1) -
                                                     cuts.begin()) - 1;
      parts.push_back({lo, hi});
    }
    return IntervalSet::Of(std::move(parts));
  };
  // rows[e]: the elements e reaches; cols[e]: the elements that reach e.
  auto relation = [&](const std::vector<std::pair<IntervalSet, IntervalSet>>& boxes,
                      std::vector<IntervalSet>& rows, std::vector<IntervalSet>& cols) {
    rows.assign(n, {});
    cols.assign(n, {});
    for (int side = 0; side < 2; ++side) {
      std::vector<std::vector<std::pair<int, bool>>> at(n + 1);
      std::vector<IntervalSet> other;
      for (size_t i = 0; i < boxes.size(); ++i) {
        IntervalSet from = index_set(side == 0 ? boxes[i].first : boxes[i].second);
        other.push_back(index_set(side == 0 ? boxes[i].second : boxes[i].first));
        for (const auto& iv : from.intervals()) {
          at[static_cast<size_t>(iv.lo)].emplace_back(static_cast<int>(i), true);
          at[static_cast<size_t>(iv.hi) + 1].emplace_back(static_cast<int>(i), false);
        }
      }
      std::set<int> active;
      IntervalSet cur;
      bool dirty = false;
      for (size_t e = 0; e < n; ++e) {
        for (auto& [i, add] : at[e]) {
          if (add) active.insert(i);
          else active.erase(i);
          dirty = true;
        }
        if (dirty) {
          cur = IntervalSet();
          for (int i : active) cur = cur.Union(other[i]);
          dirty = false;
        }
        (side == 0 ? rows : cols)[e] = cur;
      }
    }
  };
  std::vector<IntervalSet> ro, co, ru, cu;
  relation(over, ro, co);
  relation(under, ru, cu);
  // Classes: elements with the same row and column of the over-approximation
  // (the coarsest partition, as fffuu's).
  struct Sig {
    const IntervalSet *a, *b;
    bool operator<(const Sig& o) const {
      auto less = [](const IntervalSet* x, const IntervalSet* y) {
        return x->intervals().size() != y->intervals().size()
                   ? x->intervals().size() < y->intervals().size()
                   : std::lexicographical_compare(
                         x->intervals().begin(), x->intervals().end(), y->intervals().begin(),
                         y->intervals().end(), [](const Interval& p, const Interval& q) {
                           return p.lo != q.lo ? p.lo < q.lo : p.hi < q.hi;
                         });
      };
      if (less(a, o.a)) return true;
      if (less(o.a, a)) return false;
      return less(b, o.b);
    }
  };
  std::map<Sig, int> class_of;
  std::vector<std::vector<Interval>> members;        // addresses
  std::vector<std::vector<Interval>> member_index;   // element indices
  std::vector<size_t> rep;
  for (size_t e = 0; e < n; ++e) {
    Sig s{&ro[e], &co[e]};
    auto [it, fresh] = class_of.emplace(s, static_cast<int>(members.size()));
    if (fresh) {
      members.emplace_back();
      member_index.emplace_back();
      rep.push_back(e);
    }
    members[it->second].push_back({cuts[e], e + 1 < n ? cuts[e + 1] - 1 : max});
    member_index[it->second].push_back({e, e});
  }
  std::vector<IntervalSet> index_sets;
  for (auto& mi : member_index) index_sets.push_back(IntervalSet::Of(mi));
  for (auto& mem : members) m.classes.push_back(ToCidrs(IntervalSet::Of(mem), m.family));
  for (size_t a = 0; a < rep.size(); ++a)
    for (size_t b = 0; b < rep.size(); ++b) {
      if (!ro[rep[a]].Contains(rep[b])) continue;
      m.edges.emplace_back(static_cast<int>(a), static_cast<int>(b));
      // Under: every element of A reaches every element of B for sure.
      bool all = true;
      for (const auto& iv : index_sets[a].intervals()) {
        for (U128 e = iv.lo; e <= iv.hi && all; ++e)
          all = index_sets[b].Subtract(ru[static_cast<size_t>(e)]).empty();
        if (!all) break;
      }
      if (all) m.edges_under.emplace_back(static_cast<int>(a), static_cast<int>(b));
    }
  return m;
}

std::vector<Cidr> WorldRanges(Family family) {
  IntervalSet all = IntervalSet::Range(0, MaxOf(family));
  std::vector<const char*> special =
      family == Family::kIPv4
          ? std::vector<const char*>{"0.0.0.0/8", "10.0.0.0/8", "100.64.0.0/10", "127.0.0.0/8",
                                     "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16",
                                     "224.0.0.0/4", "240.0.0.0/4"}
          : std::vector<const char*>{"::/128", "::1/128", "fc00::/7", "fe80::/10", "ff00::/8"};
  std::vector<Cidr> cidrs;
  for (const char* s : special) cidrs.push_back(*Cidr::Parse(s, family));
  return ToCidrs(all.Subtract(FromCidrs(cidrs, family)), family);
}

bool TouchesWorld(const std::vector<Cidr>& sources) {
  if (sources.empty()) return false;
  Family f = sources.front().family();
  return FromCidrs(sources, f).Intersects(FromCidrs(WorldRanges(f), f));
}

uint16_t ExposedControlPort(const ExposureEntry& entry) {
  if (entry.protocol_last != 0 || (entry.protocol != 6 && entry.protocol != 17)) return 0;
  if (!TouchesWorld(entry.sources)) return 0;
  for (uint16_t port : {2375, 2376, 2377, 7946, 4789})
    for (const auto& p : entry.ports)
      if (port >= p.lo && port <= p.hi) return port;
  return 0;
}

}  // namespace swarmwall::analyze
