#include "analyze/model/docker_user_hook.h"

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

DockerUserHook JudgeDockerUserHook(const netfilter::Ruleset& rs) {
  DockerUserHook h;
  const netfilter::Table* filter = rs.FindTable("filter");
  if (!filter) return h;
  for (const Chain& c : filter->chains)
    h.docker_forward |= c.name.starts_with("DOCKER") && c.name != "DOCKER-USER";
  if (const Chain* fwd = filter->FindChain("FORWARD")) {
    for (size_t i = 0; i < fwd->rules.size() && h.jump == 0; ++i)
      if (JumpsTo(fwd->rules[i], "DOCKER-USER")) h.jump = static_cast<int>(i + 1);
    h.swarmwall_first = !fwd->rules.empty() && JumpsTo(fwd->rules[0], compile::kUserChain);
  }
  const Chain* user = filter->FindChain("DOCKER-USER");
  h.exists = user != nullptr;
  if (user)
    for (const Rule& r : user->rules) {
      if (r.target_kind == TargetKind::kReturn && Unconditional(r)) continue;
      if (h.swarmwall_first && r.target_kind == TargetKind::kChain && r.target.starts_with(compile::kChainPrefix))
        continue;
      h.filters = true;
    }
  return h;
}

}  // namespace swarmwall::analyze
