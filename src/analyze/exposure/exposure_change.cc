#include "analyze/exposure/exposure_change.h"

#include <algorithm>
#include <map>
#include <optional>
#include <tuple>

#include <fmt/format.h>

#include "analyze/model/addr_number.h"
#include "analyze/exposure/exposure_report.h"
#include "analyze/model/interval_set.h"
#include "analyze/model/ipassmt.h"

namespace swarmwall::analyze {
namespace {

using Spans = std::vector<PortSpan>;

// Sorted, merged spans.
Spans Normal(Spans s) {
  std::sort(s.begin(), s.end(), [](auto a, auto b) { return a.lo < b.lo; });
  Spans out;
  for (auto p : s) {
    if (!out.empty() && p.lo <= static_cast<uint32_t>(out.back().hi) + 1) {
      out.back().hi = std::max(out.back().hi, p.hi);
    } else {
      out.push_back(p);
    }
  }
  return out;
}

// Rows are compared as sets of (source address, port) per family,
// interface, protocol and target, so that a source class split in two by
// the change (a new set carves a range out) is not reported as a change.
using Key = std::tuple<std::string, std::string, uint16_t, uint16_t, std::string>;

struct Row {
  IntervalSet sources;
  Spans ports;          // empty: a protocol without ports
};

struct Group {
  netfilter::Family family = netfilter::Family::kIPv4;
  std::string family_name, interface, protocol, target;
  std::vector<Row> before, after;
};

IntervalSet SourcesOf(const std::vector<netfilter::Cidr>& cidrs) {
  std::vector<Interval> parts;
  for (const auto& c : cidrs) {
    if (c.PrefixLength() < 0) continue;
    U128 lo = ToNumber(c.address);
    int host_bits = c.address.Bits() - c.PrefixLength();
    U128 span = host_bits >= 128 ? ~U128{0} : (U128{1} << host_bits) - 1;
    parts.push_back({lo, lo + span});
  }
  return IntervalSet::Of(std::move(parts));
}

void Collect(const std::vector<FamilyExposure>& families, bool after, std::map<Key, Group>& groups) {
  for (const auto& f : families)
    for (const auto& i : f.interfaces)
      for (const auto& e : i.entries) {
        std::string target = TargetText(e.target, e.protocol);
        Key k{f.family == netfilter::Family::kIPv4 ? "IPv4" : "IPv6", i.interface, e.protocol,
              e.protocol_last, target};
        Group& g = groups[k];
        g.family = f.family;
        g.family_name = std::get<0>(k);
        g.interface = i.interface;
        g.protocol = ProtocolText(e.protocol, e.protocol_last);
        g.target = target;
        (after ? g.after : g.before).push_back({SourcesOf(e.sources), Normal(e.ports)});
      }
}

// The sources of ROWS that reach port segment [LO, HI] (rows without ports:
// LO = HI = 0 and PORTLESS).
IntervalSet Reaching(const std::vector<Row>& rows, uint32_t lo, uint32_t hi, bool portless) {
  IntervalSet out;
  for (const auto& r : rows) {
    bool hit = portless ? r.ports.empty()
                        : std::any_of(r.ports.begin(), r.ports.end(),
                                      [&](PortSpan p) { return p.lo <= lo && hi <= p.hi; });
    if (hit) out = out.Union(r.sources);
  }
  return out;
}

std::vector<netfilter::Cidr> CidrsOf(const IntervalSet& s, netfilter::Family family) {
  std::vector<AddressSpan> spans;
  for (const auto& i : s.intervals()) spans.push_back({FromNumber(i.lo, family), FromNumber(i.hi, family)});
  return SpansToCidrs(spans);
}

}  // namespace

std::vector<ExposureDelta> CompareExposure(const std::vector<FamilyExposure>& before,
                                           const std::vector<FamilyExposure>& after) {
  std::map<Key, Group> groups;
  Collect(before, false, groups);
  Collect(after, true, groups);
  // One delta per group and source set: ports with the same opened (or
  // closed) sources are told together.
  std::vector<ExposureDelta> out;
  for (const auto& group : groups) {
    const auto& g = group.second;  // a lambda below captures it (clang 14: no bindings)
    std::vector<uint32_t> cuts{0, 65536};
    bool portless = false;
    for (const auto* rows : {&g.before, &g.after})
      for (const auto& r : *rows) {
        if (r.ports.empty()) portless = true;
        for (auto p : r.ports) {
          cuts.push_back(p.lo);
          cuts.push_back(static_cast<uint32_t>(p.hi) + 1);
        }
      }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
    std::map<std::string, ExposureDelta> by_sources;   // "+" / "-" and the sources text
    auto add = [&](bool open, const IntervalSet& s, std::optional<PortSpan> ports) {
      if (s.empty()) return;
      std::string text = CidrsText(CidrsOf(s, g.family), g.family);
      ExposureDelta& d = by_sources[(open ? "+" : "-") + text];
      d.family = g.family_name;
      d.interface = g.interface;
      d.protocol = g.protocol;
      d.target = g.target;
      d.sources = text;
      if (!ports) (open ? d.whole_opened : d.whole_closed) = true;
      else (open ? d.opened : d.closed).push_back(*ports);
    };
    if (portless) {
      IntervalSet b = Reaching(g.before, 0, 0, true), a = Reaching(g.after, 0, 0, true);
      add(true, a.Subtract(b), std::nullopt);
      add(false, b.Subtract(a), std::nullopt);
    }
    for (size_t i = 0; i + 1 < cuts.size(); ++i) {
      uint32_t lo = cuts[i], hi = cuts[i + 1] - 1;
      IntervalSet b = Reaching(g.before, lo, hi, false), a = Reaching(g.after, lo, hi, false);
      if (b == a) continue;
      PortSpan span{static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)};
      add(true, a.Subtract(b), span);
      add(false, b.Subtract(a), span);
    }
    for (auto& [text, d] : by_sources) {
      d.opened = Normal(std::move(d.opened));
      d.closed = Normal(std::move(d.closed));
      out.push_back(std::move(d));
    }
  }
  return out;
}

std::vector<std::string> ExposureDeltaLines(const std::vector<ExposureDelta>& deltas) {
  std::vector<std::string> out;
  for (const auto& d : deltas) {
    auto line = [&](char sign, const Spans& ports) {
      out.push_back(fmt::format("{} {} {} {}{} from {} -> {}", sign, d.family, d.interface, d.protocol,
                                ports.empty() ? "" : " " + PortsText(ports), d.sources, d.target));
    };
    if (!d.opened.empty() || d.whole_opened) line('+', d.opened);
    if (!d.closed.empty() || d.whole_closed) line('-', d.closed);
  }
  return out;
}

nlohmann::json ExposureDeltaJson(const std::vector<ExposureDelta>& deltas) {
  auto spans = [](const Spans& s) {
    nlohmann::json j = nlohmann::json::array();
    for (auto p : s) j.push_back({p.lo, p.hi});
    return j;
  };
  nlohmann::json j = nlohmann::json::array();
  for (const auto& d : deltas)
    j.push_back({{"family", d.family}, {"interface", d.interface}, {"sources", d.sources},
                 {"protocol", d.protocol}, {"target", d.target}, {"opened", spans(d.opened)},
                 {"closed", spans(d.closed)}, {"opened_all", d.whole_opened},
                 {"closed_all", d.whole_closed}});
  return j;
}

}  // namespace swarmwall::analyze
