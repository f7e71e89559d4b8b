#include "backend/iptables/set_entries.h"

#include <algorithm>
#include <iterator>

#include <fmt/format.h>

#include "backend/iptables/diff.h"

namespace swarmwall::backend {

using netfilter::Cidr;

std::optional<std::vector<SetEntryChange>> SetOnlyChanges(const compile::DesiredState& desired,
                                                          const Before& now) {
  std::vector<SetEntryChange> out;
  for (int f = 0; f < 2; ++f) {
    const compile::FamilyState* pair = f == 0 ? &desired.ipv4 : &desired.ipv6;
    const auto& snap = f == 0 ? now.ipv4 : now.ipv6;
    FamilyDiff d = Compare(*pair, snap);
    if (d.rules || !d.stale_sets.empty()) return std::nullopt;
    for (const auto& name : d.changed_sets) {
      auto want = std::find_if(pair->sets.begin(), pair->sets.end(), [&](const auto& s) { return s.name == name; });
      auto have = std::find_if(snap.owned.sets.begin(), snap.owned.sets.end(),
                               [&](const auto& s) { return s.name == name; });
      if (want == pair->sets.end() || have == snap.owned.sets.end()) return std::nullopt;  // to create
      std::vector<Cidr> a = have->entries ? *have->entries : std::vector<Cidr>{};
      std::vector<Cidr> b = want->entries ? *want->entries : std::vector<Cidr>{};
      std::sort(a.begin(), a.end());
      std::sort(b.begin(), b.end());
      SetEntryChange change;
      change.set = name;
      std::set_difference(b.begin(), b.end(), a.begin(), a.end(), std::back_inserter(change.add));
      std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(change.del));
      if (!change.add.empty() || !change.del.empty()) out.push_back(std::move(change));
    }
  }
  return out;
}

std::string RenderSetEntryChanges(const std::vector<SetEntryChange>& changes) {
  std::string out;
  for (const auto& c : changes) {
    for (const auto& e : c.del) out += fmt::format("del {} {} -exist\n", c.set, e.ToString());
    for (const auto& e : c.add) out += fmt::format("add {} {} -exist\n", c.set, e.ToString());
  }
  return out;
}

}  // namespace swarmwall::backend
