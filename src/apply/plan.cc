#include "apply/plan.h"

#include "analyze/exposure/exposure.h"
#include "analyze/trace/trace.h"
#include "apply/other_owner_drops.h"
#include "apply/rules_after.h"

namespace swarmwall::apply {

std::optional<std::vector<analyze::ExposureDelta>> ExposureChange(const backend::Firewall& firewall,
                                                                  const FirewallView& view,
                                                                  const compile::DesiredState& desired,
                                                                  std::string& error) {
  auto r = ReadRulesAfter(firewall, view, desired, error);
  if (!r) return std::nullopt;
  std::vector<analyze::FamilyExposure> before_x, after_x;
  for (auto [before, after] : {std::pair{&r->before4, &r->after4}, std::pair{&r->before6, &r->after6}}) {
    if (!*before || !*after) continue;
    analyze::ExposureOptions o;
    analyze::TraceModel m_old(**before, r->now), m_new(**after, r->after);
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
  out.selectors = p->selectors;
  out.pending = !Empty(out.diffs);
  {
    std::string error;
    out.other_owner_drops = OtherOwnerDropsAfter(*policy, firewall, p->view, p->desired, error);
    if (!out.other_owner_drops) rq.note("swarmwall plan: ports another owner drops not checked: " + error);
  }
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
