#include "apply/plan.h"

#include <iterator>

#include "analyze/exposure/exposure.h"
#include "analyze/trace/trace.h"
#include "host/network.h"
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

std::optional<std::vector<analyze::ExposureDelta>> ExposureChange(const backend::Firewall& firewall,
                                                                  const FirewallView& view,
                                                                  const compile::DesiredState& desired,
                                                                  std::string& error) {
  host::HostNetwork now;
  if (!host::LoadLiveHostNetwork(now, error)) return std::nullopt;
  host::HostNetwork after = now;
  for (auto it = after.ipsets.begin(); it != after.ipsets.end();)   // ours: as desired
    it = it->first.starts_with(compile::kSetPrefix) ? after.ipsets.erase(it) : std::next(it);
  for (const compile::FamilyState* fs : {&desired.ipv4, &desired.ipv6})
    for (const auto& s : fs->sets) {
      host::IpSet set;
      set.name = s.name;
      set.type = "hash:net";
      set.family = s.family;
      set.dimensions = {"net"};
      if (s.entries)
        for (const auto& e : *s.entries) set.entries.push_back({.net = e});
      after.ipsets[s.name] = std::move(set);
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
    auto& t = after.nftables.tables;
    std::erase_if(t, [](const netfilter::NftTable& x) {
      return x.name == "swarmwall" && (x.family == netfilter::NftFamily::kIp || x.family == netfilter::NftFamily::kIp6);
    });
    for (auto& x : parsed.ruleset->tables) t.push_back(std::move(x));
    native = true;
  }
  std::vector<analyze::FamilyExposure> before_x, after_x;
  for (auto family : {Family::kIPv4, Family::kIPv6}) {
    std::string saved;
    if (!firewall.SaveRuleset(view, family, saved, error)) return std::nullopt;
    if (saved.empty() && !native) continue;
    auto old_rules = Parse(saved, family, error);
    auto new_rules = old_rules ? Parse(firewall.RulesetAfter(saved, desired, family), family, error) : std::nullopt;
    if (!old_rules || !new_rules) return std::nullopt;
    analyze::ExposureOptions o;
    analyze::TraceModel m_old(*old_rules, now), m_new(*new_rules, after);
    before_x.push_back(analyze::ComputeExposure(m_old, o));
    after_x.push_back(analyze::ComputeExposure(m_new, o));
  }
  return analyze::CompareExposure(before_x, after_x);
}

PlanOutcome Plan(const PlanRequest& rq, backend::Firewall& firewall) {
  PlanOutcome out;
  auto policy = LoadPolicy(rq.policy_file, rq.state_dir, rq.manager, rq.note);
  auto session = policy ? OpenSession(firewall, rq.state_dir, "plan", std::chrono::seconds(120), rq.note)
                        : std::nullopt;
  auto p = session ? Prepare(*session, *policy, rq.node, rq.note) : std::nullopt;
  if (!p) return out;
  out.node = p->desired.node;
  out.variant = p->view.variant;
  out.diffs = firewall.Compare(p->desired, p->view);
  out.pending = !Empty(out.diffs);
  if (rq.exposure) {
    std::string error;
    out.exposure = ExposureChange(firewall, p->view, p->desired, error);
    if (!out.exposure) {
      rq.note("swarmwall plan --exposure: " + error);
      return out;
    }
  }
  out.ok = true;
  return out;
}

}  // namespace swarmwall::apply
