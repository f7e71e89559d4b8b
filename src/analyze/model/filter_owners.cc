#include "analyze/model/filter_owners.h"

#include <algorithm>

#include "compile/compiler.h"
#include "compile/desired_state.h"
#include "netfilter/modules.h"

namespace swarmwall::analyze {

using netfilter::Chain;
using netfilter::Part;
using netfilter::Rule;
using netfilter::TargetKind;

namespace {

bool JumpsTo(const Rule& r, std::string_view chain) {
  return r.target_kind == TargetKind::kChain && r.target == chain;
}

// No condition at all (comments aside).
bool Unconditional(const Rule& r) {
  if (!r.source.IsAny() || r.source_negated || !r.destination.IsAny() || r.destination_negated ||
      !r.in_interface.empty() || !r.out_interface.empty() || r.protocol != 0 || r.fragment != 0)
    return false;
  for (const Part& p : r.parts)
    if (p.kind == Part::Kind::kOpaque || (p.kind == Part::Kind::kMatch && p.text != "comment") ||
        (p.kind == Part::Kind::kOption && netfilter::ModuleOfOption(p.id).name != "comment"))
      return false;
  return true;
}

}  // namespace

bool IsSwarmwallChain(std::string_view name) { return name.starts_with(compile::kChainPrefix); }

const OwnedHook* FilterOwners::FindHook(std::string_view chain, std::string_view target) const {
  for (const auto& h : hooks)
    if (h.chain == chain && h.target == target) return &h;
  return nullptr;
}

FilterOwners ReadFilterOwners(const netfilter::Ruleset& rs) {
  FilterOwners o;
  const netfilter::Table* filter = rs.FindTable("filter");
  if (!filter) return o;
  o.read = true;
  DockerUserHook& h = o.docker_user;
  o.chains.reserve(filter->chains.size());
  for (const Chain& chain : filter->chains) {
    o.chains.emplace_back(chain.name);
    o.docker_chains |= chain.name.starts_with("DOCKER") && chain.name != "DOCKER-USER";
    bool owned = IsSwarmwallChain(chain.name);
    if (owned) o.owned.push_back(&chain);
    bool forward = chain.name == "FORWARD";
    for (size_t i = 0; i < chain.rules.size(); ++i) {
      const Rule& r = chain.rules[i];
      if (JumpsTo(r, "DOCKER-USER")) {
        o.docker_user_referenced = true;
        if (forward && h.jump == 0) h.jump = static_cast<int>(i + 1);
      }
      bool jump_to_owned = r.target_kind == TargetKind::kChain && IsSwarmwallChain(r.target);
      if (!owned && !jump_to_owned) ++o.foreign_rules;
      if (!jump_to_owned) continue;
      auto key = std::make_pair(std::string(chain.name), std::string(r.target));
      if (o.owned_jumps[key]++ == 0 && !owned) o.hooks.push_back({key.first, key.second, i == 0});
    }
  }
  h.docker_forward = o.docker_chains;
  if (const Chain* fwd = filter->FindChain("FORWARD"))
    h.swarmwall_first = !fwd->rules.empty() && JumpsTo(fwd->rules[0], compile::kUserChain);
  const Chain* user = filter->FindChain("DOCKER-USER");
  h.exists = user != nullptr;
  if (user)
    for (const Rule& r : user->rules) {
      bool to_owned = r.target_kind == TargetKind::kChain && IsSwarmwallChain(r.target);
      if (!to_owned) o.docker_user_foreign_rules = true;
      if (r.target_kind == TargetKind::kReturn && Unconditional(r)) continue;
      if (h.swarmwall_first && to_owned) continue;
      h.filters = true;
    }
  return o;
}

DockerUserHook JudgeDockerUserHook(const netfilter::Ruleset& rs) { return ReadFilterOwners(rs).docker_user; }

}  // namespace swarmwall::analyze
