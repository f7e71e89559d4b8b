#include "analyze/exposure/source_names.h"

#include "analyze/exposure/exposure.h"
#include "analyze/model/addr_number.h"

namespace swarmwall::analyze {

using netfilter::Family;

void SourceNames::Add(const std::string& name, Family family, const std::vector<netfilter::Cidr>& cidrs) {
  AddIntervals(name, family, FromCidrs(cidrs, family));
}

void SourceNames::AddIntervals(const std::string& name, Family family, IntervalSet addresses) {
  if (addresses.empty()) return;
  for (const auto& s : sets_)
    if (s.family == family && s.addresses == addresses) return;
  sets_.push_back({name, family, std::move(addresses)});
}

namespace {

// swarmwall's own sets (ipsets and the nftables backend's named sets) by
// the policy's name: "swarmwall-office-v4" is "office".
std::string PolicyName(const std::string& set) {
  std::string_view n = set;
  if (!n.starts_with("swarmwall-") || !(n.ends_with("-v4") || n.ends_with("-v6"))) return set;
  n.remove_prefix(10);
  n.remove_suffix(3);
  return n.empty() ? set : std::string(n);
}

}  // namespace

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
    if (!nomatch) Add(PolicyName(name), set.family, cidrs);
  }
  if (!host.nftables_known) return;
  for (const auto& table : host.nftables.tables) {
    bool ours = table.name == "swarmwall";
    for (const auto& set : table.sets) {
      if (set.is_map || set.key_types.size() != 1 || set.key_types[0] != netfilter::NftValueType::kAddress)
        continue;
      // Per family (an inet table's set holds one family; its elements say which).
      std::vector<Interval> parts[2];
      for (const auto& e : set.elements) {
        if (e.key.size() != 1 || e.key[0].addr_lo.family != e.key[0].addr_hi.family) continue;
        int f = e.key[0].addr_lo.family == Family::kIPv4 ? 0 : 1;
        parts[f].push_back({ToNumber(e.key[0].addr_lo), ToNumber(e.key[0].addr_hi)});
      }
      std::string name = ours ? PolicyName(set.name) : table.name + "/" + set.name;
      AddIntervals(name, Family::kIPv4, IntervalSet::Of(std::move(parts[0])));
      AddIntervals(name, Family::kIPv6, IntervalSet::Of(std::move(parts[1])));
    }
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
