#include "apply/rules_after.h"

#include <iterator>

#include "netfilter/nft_json.h"
#include "netfilter/parser.h"

namespace swarmwall::apply {
namespace {

using netfilter::Family;

std::optional<netfilter::Ruleset> Parse(const std::string& text, Family family, std::string& error) {
  netfilter::ParseOptions options;
  options.family = family;
  auto r = netfilter::ParseRuleset(text, options);
  if (!r.ruleset) {
    error = "cannot read the rules back: " + r.error->ToString();
    return std::nullopt;
  }
  return std::move(r.ruleset);
}

}  // namespace

std::optional<RulesAfter> ReadRulesAfter(const backend::Firewall& firewall, const backend::FirewallView& view,
                                         const compile::DesiredState& desired, std::string& error) {
  RulesAfter r;
  if (!host::LoadLiveHostNetwork(r.now, error)) return std::nullopt;
  r.after = r.now;
  for (auto it = r.after.ipsets.begin(); it != r.after.ipsets.end();)   // ours: as desired
    it = it->first.starts_with(compile::kSetPrefix) ? r.after.ipsets.erase(it) : std::next(it);
  for (const compile::FamilyState* fs : {&desired.ipv4, &desired.ipv6})
    for (const auto& s : fs->sets) {
      host::IpSet set;
      set.name = s.name;
      set.type = "hash:net";
      set.family = s.family;
      set.dimensions = {"net"};
      if (s.entries)
        for (const auto& e : *s.entries) set.entries.push_back({.net = e});
      r.after.ipsets[s.name] = std::move(set);
    }
  // The firewall's own native tables (the nftables backend) as DESIRED
  // makes them, in place of the live ones.
  bool native = false;
  if (std::string tables = firewall.NativeTablesAfter(desired); !tables.empty()) {
    auto parsed = netfilter::ParseNftJson(tables, "swarmwall's tables after the commit");
    if (!parsed.ruleset) {
      error = "swarmwall's nftables tables after the commit: " + (parsed.error ? parsed.error->ToString() : "?");
      return std::nullopt;
    }
    auto& t = r.after.nftables.tables;
    std::erase_if(t, [](const netfilter::NftTable& x) {
      return x.name == "swarmwall" && (x.family == netfilter::NftFamily::kIp || x.family == netfilter::NftFamily::kIp6);
    });
    for (auto& x : parsed.ruleset->tables) t.push_back(std::move(x));
    native = true;
  }
  for (auto family : {Family::kIPv4, Family::kIPv6}) {
    std::string saved;
    if (!firewall.SaveRuleset(view, family, saved, error)) return std::nullopt;
    if (saved.empty() && !native) continue;
    auto old_rules = Parse(saved, family, error);
    auto new_rules = old_rules ? Parse(firewall.RulesetAfter(saved, desired, family), family, error) : std::nullopt;
    if (!old_rules || !new_rules) return std::nullopt;
    (family == Family::kIPv4 ? r.before4 : r.before6) = std::move(old_rules);
    (family == Family::kIPv4 ? r.after4 : r.after6) = std::move(new_rules);
  }
  return r;
}

}  // namespace swarmwall::apply
