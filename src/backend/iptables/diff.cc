#include "backend/iptables/diff.h"

#include <algorithm>
#include <map>
#include <memory>
#include <string_view>
#include <unordered_set>

#include <fmt/format.h>

namespace swarmwall::backend {

compile::FamilyState Normalized(const compile::FamilyState& state) {
  compile::FamilyState n = state;
  std::sort(n.chains.begin(), n.chains.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& h : n.hooks) h.create_chain = false;
  std::sort(n.hooks.begin(), n.hooks.end(), [](const auto& a, const auto& b) {
    return std::tie(a.chain, a.target) < std::tie(b.chain, b.target);
  });
  std::sort(n.sets.begin(), n.sets.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  for (auto& s : n.sets) {
    if (!s.entries || std::is_sorted(s.entries->begin(), s.entries->end())) continue;
    auto sorted = std::make_shared<std::vector<netfilter::Cidr>>(*s.entries);
    std::sort(sorted->begin(), sorted->end());
    s.entries = std::move(sorted);
  }
  return n;
}

FamilyDiff Compare(const compile::FamilyState& desired_in, const FamilySnapshot& now) {
  FamilyDiff d;
  d.family = desired_in.family;
  compile::FamilyState desired = Normalized(desired_in);
  compile::FamilyState actual = Normalized(now.owned);
  // Owned chains, rule by rule.
  std::map<std::string, const compile::OwnedChain*> have;
  for (const auto& c : actual.chains) have[c.name] = &c;
  for (const auto& c : desired.chains) {
    auto it = have.find(c.name);
    if (it == have.end()) {
      d.rules = true;
      d.lines.push_back(fmt::format("+ chain {}", c.name));
      for (const auto& r : c.rules) d.lines.push_back(fmt::format("+ -A {} {}", c.name, r));
      continue;
    }
    const auto& old_rules = it->second->rules;
    if (old_rules != c.rules) {
      d.rules = true;
      // Hashed, not searched: 1,000-rule chains made this quadratic.
      std::unordered_set<std::string_view> in_old(old_rules.begin(), old_rules.end());
      std::unordered_set<std::string_view> in_new(c.rules.begin(), c.rules.end());
      for (const auto& r : old_rules)
        if (!in_new.count(r)) d.lines.push_back(fmt::format("- -A {} {}", c.name, r));
      for (const auto& r : c.rules)
        if (!in_old.count(r)) d.lines.push_back(fmt::format("+ -A {} {}", c.name, r));
      if (d.lines.empty() || d.lines.back().find(c.name) == std::string::npos)
        d.lines.push_back(fmt::format("~ {}: same rules in another order", c.name));
    }
    have.erase(it);
  }
  for (const auto& [name, chain] : have) {
    d.rules = true;
    d.lines.push_back(fmt::format("- chain {} ({} rules)", name, chain->rules.size()));
  }
  // Hooks: exactly one jump, first in its chain.
  for (const auto& h : desired.hooks) {
    auto key = std::make_pair(h.chain, h.target);
    int count = now.kernel.Jumps(h.chain, h.target);
    auto first = now.hook_first.find(key);
    if (count == 0) {
      d.rules = true;
      d.lines.push_back(fmt::format("+ hook -I {} 1 -j {}", h.chain, h.target));
    } else if (count > 1 || first == now.hook_first.end() || !first->second) {
      d.rules = true;
      d.lines.push_back(fmt::format("~ hook {} -> {}: {} jump(s), {}; made one, first", h.chain,
                                    h.target, count,
                                    first != now.hook_first.end() && first->second ? "first" : "not first"));
    }
  }
  for (const auto& h : actual.hooks)
    if (std::none_of(desired.hooks.begin(), desired.hooks.end(), [&](const auto& w) {
          return w.chain == h.chain && w.target == h.target;
        })) {
      d.rules = true;
      d.lines.push_back(fmt::format("- hook {} -> {}", h.chain, h.target));
    }
  // Sets.
  std::map<std::string, const compile::IpSet*> sets;
  for (const auto& s : actual.sets) sets[s.name] = &s;
  for (const auto& s : desired.sets) {
    auto it = sets.find(s.name);
    if (it == sets.end()) {
      d.changed_sets.push_back(s.name);
      d.lines.push_back(fmt::format("+ set {} ({} entries)", s.name, s.entries->size()));
      continue;
    }
    const auto& a = *it->second->entries;
    const auto& b = *s.entries;
    if (a != b) {
      size_t added = 0, removed = 0;
      for (const auto& e : b) added += !std::binary_search(a.begin(), a.end(), e);
      for (const auto& e : a) removed += !std::binary_search(b.begin(), b.end(), e);
      d.changed_sets.push_back(s.name);
      d.lines.push_back(fmt::format("~ set {}: +{} -{} entries", s.name, added, removed));
    }
    sets.erase(it);
  }
  for (const auto& [name, set] : sets) {
    d.stale_sets.push_back(name);
    d.lines.push_back(fmt::format("- set {}", name));
  }
  return d;
}

}  // namespace swarmwall::backend
