// The plan workflow (`swarmwall plan`): what apply would change on this
// host, and with `--exposure` how the exposure would change (ports and
// sources that open or close). Reads under the host lock; writes nothing.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "analyze/exposure/exposure_change.h"
#include "apply/other_owner_drops.h"
#include "apply/workflow_steps.h"
#include "backend/firewall.h"

namespace swarmwall::apply {

struct PlanRequest {
  std::string state_dir, policy_file, node, manager;
  bool exposure = false;
  Notes note = [](const std::string&) {};
};

struct PlanOutcome {
  bool ok = false;
  std::string node, variant;
  bool pending = false;
  std::vector<FamilyDiff> diffs;
  std::optional<std::vector<analyze::ExposureDelta>> exposure;
  // Ports the policy allows that another owner's rule would still drop
  // after the commit; nullopt: they could not be found (why in a note).
  std::optional<std::vector<OtherOwnerDrop>> other_owner_drops;
  // What each service, container and label the containers rules name
  // resolved to on this node (empty when they name none).
  std::vector<compile::SelectorMatch> selectors;
};

PlanOutcome Plan(const PlanRequest& request, backend::Firewall& firewall);

// The exposure of the kernel's rules now and as they would be after a
// commit of DESIRED (owned chains and sets replaced), both families.
std::optional<std::vector<analyze::ExposureDelta>> ExposureChange(const backend::Firewall& firewall,
                                                                  const FirewallView& view,
                                                                  const compile::DesiredState& desired,
                                                                  std::string& error);

}  // namespace swarmwall::apply
