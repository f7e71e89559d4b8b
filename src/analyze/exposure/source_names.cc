#include "analyze/exposure/source_names.h"

#include "analyze/exposure/exposure.h"

namespace swarmwall::analyze {

using netfilter::Family;

void SourceNames::Add(const std::string& name, Family family, const std::vector<netfilter::Cidr>& cidrs) {
  IntervalSet addresses = FromCidrs(cidrs, family);
  if (addresses.empty()) return;
  for (const auto& s : sets_)
    if (s.family == family && s.addresses == addresses) return;
  sets_.push_back({name, family, std::move(addresses)});
}

void SourceNames::AddHostSets(const host::HostNetwork& host) {
  for (const auto& [name, set] : host.ipsets) {
    if (!set.supported || set.dimensions.size() != 1 || (set.dimensions[0] != "ip" && set.dimensions[0] != "net"))
      continue;
    std::vector<netfilter::Cidr> cidrs;
    bool nomatch = false;
    for (const auto& e : set.entries) {
      nomatch = nomatch || e.nomatch;
      cidrs.push_back(e.net);
    }
    if (!nomatch) Add(name, set.family, cidrs);
  }
}

std::string SourceNames::Name(Family family, const std::vector<netfilter::Cidr>& sources) const {
  IntervalSet addresses = FromCidrs(sources, family);
  if (addresses.empty()) return "";
  IntervalSet all = IntervalSet::Range(0, MaxOf(family)), named;
  for (const auto& s : sets_) {
    if (s.family != family) continue;
    if (s.addresses == addresses) return s.name;
    if (all.Subtract(s.addresses) == addresses) return "everyone but " + s.name;
    named = named.Union(s.addresses);
  }
  if (addresses == all) return "anywhere";
  if (!named.empty() && all.Subtract(named) == addresses) return "everyone else";
  return "";
}

}  // namespace swarmwall::analyze
