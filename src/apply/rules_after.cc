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

bool PutOwnedInPlace(host::HostNetwork& after, const std::string& native_tables,
                     const compile::DesiredState& desired, std::string& error) {
  // The firewall's own native tables (the nftables backend) as DESIRED
  // makes them, in place of the live ones; its sets are in them.
  bool native = !native_tables.empty();
  if (native) {
    auto parsed = netfilter::ParseNftJson(native_tables, "swarmwall's tables after the commit");
    if (!parsed.ruleset) {
      error = "swarmwall's nftables tables after the commit: " + (parsed.error ? parsed.error->ToString() : "?");
      return false;
    }
    auto& t = after.nftables.tables;
    std::erase_if(t, [](const netfilter::NftTable& x) {
      return x.name == "swarmwall" && (x.family == netfilter::NftFamily::kIp || x.family == netfilter::NftFamily::kIp6);
    });
    for (auto& x : parsed.ruleset->tables) t.push_back(std::move(x));
  }
  // swarmwall's ipsets: as desired with a backend that keeps its sets as
  // ipsets; none with one whose sets live in its native tables (a
  // 100,000-entry set was also modelled as an ipset there that no commit
  // makes, beside the nft set: ~10 MB and its time, for every apply).
  for (auto it = after.ipsets.begin(); it != after.ipsets.end();)
    it = it->first.starts_with(compile::kSetPrefix) ? after.ipsets.erase(it) : std::next(it);
  if (!native)
    for (const compile::FamilyState* fs : {&desired.ipv4, &desired.ipv6})
      for (const auto& s : fs->sets) {
        host::IpSet set;
        set.name = s.name;
        set.type = "hash:net";
        set.family = s.family;
        set.dimensions = {"net"};
        if (s.entries) {
          set.entries.reserve(s.entries->size());
          for (const auto& e : *s.entries) set.entries.push_back({.net = e});
        }
        after.ipsets[s.name] = std::move(set);
      }
  return true;
}

std::optional<RulesAfter> ReadRulesAfter(const backend::Firewall& firewall, const backend::FirewallView& view,
                                         const compile::DesiredState& desired, std::string& error) {
  RulesAfter r;
  if (!host::LoadLiveHostNetwork(r.now, error)) return std::nullopt;
  r.after = r.now;
  std::string native_tables = firewall.NativeTablesAfter(desired);
  bool native = !native_tables.empty();
  if (!PutOwnedInPlace(r.after, native_tables, desired, error)) return std::nullopt;
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
