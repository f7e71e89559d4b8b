#include "apply/other_owner_drops.h"

#include <fmt/format.h>

#include "analyze/audit/policy_proof.h"
#include "analyze/model/chain_loops.h"
#include "apply/state_store.h"
#include "apply/workflow_steps.h"

namespace swarmwall::apply {

std::vector<OtherOwnerDrop> OtherOwnerDrops(const policy::Policy& policy, const policy::Node& node,
                                            const RulesAfter& rules) {
  analyze::AuditInput input;
  // A family whose chains loop is not traced (no kernel runs it; audit
  // says so).
  if (rules.after4 && !analyze::FindChainLoop(*rules.after4)) input.v4 = &*rules.after4;
  if (rules.after6 && !analyze::FindChainLoop(*rules.after6)) input.v6 = &*rules.after6;
  input.host = &rules.after;
  input.public_interfaces = policy.InterfacesOf(node).public_;
  for (const auto& n : policy.nodes)
    for (const auto& a : n.addresses) input.trusted.push_back(netfilter::Cidr::Prefix(a, a.Bits()));
  std::vector<OtherOwnerDrop> out;
  for (const auto& d : analyze::CheckAllows(policy, node, input)) {
    std::string fix = analyze::OtherOwnerFix(d);
    if (fix.empty()) continue;
    out.push_back({fmt::format("{} {}/{} from {} in {}: the policy allows it ({}), {} drops it", d.kind, d.ports,
                               d.proto, d.sources, d.iface, d.policy_why, d.example.decided_by),
                   std::move(fix)});
  }
  return out;
}

std::optional<std::vector<OtherOwnerDrop>> OtherOwnerDropsAfter(const policy::Policy& policy,
                                                                const backend::Firewall& firewall,
                                                                const backend::FirewallView& view,
                                                                const compile::DesiredState& desired,
                                                                std::string& error) {
  const policy::Node* node = policy.FindNode(desired.node);
  if (!node) {
    error = "the policy has no node " + desired.node;
    return std::nullopt;
  }
  auto rules = ReadRulesAfter(firewall, view, desired, error);
  if (!rules) return std::nullopt;
  return OtherOwnerDrops(policy, *node, *rules);
}

std::optional<std::vector<OtherOwnerDrop>> OtherOwnerDropsApplied(const std::string& state_dir, std::string& error) {
  auto record = StateStore(state_dir).Load();
  if (!record) {
    error = "nothing applied here";
    return std::nullopt;
  }
  auto policy = LoadPolicy(record->policy, state_dir, "", [&](const std::string& line) { error = line; });
  if (!policy) {
    error = "the applied policy " + record->policy + " does not load: " + error;
    return std::nullopt;
  }
  auto firewall = OpenFirewall(state_dir, AppliedFirewallKind(state_dir));
  // Under the host lock: the read of the host's ipsets would otherwise hold
  // busy a set an agent's commit swaps.
  auto session = OpenSession(*firewall, state_dir, "doctor", std::chrono::seconds(30),
                             [&](const std::string& line) { error = line; });
  if (!session) {
    if (error.empty()) error = "cannot take the host lock";
    return std::nullopt;
  }
  auto view = session->Read(error);
  if (!view) return std::nullopt;
  compile::DesiredState in_place = firewall->Owned(*view);
  in_place.node = record->node;
  return OtherOwnerDropsAfter(*policy, *firewall, *view, in_place, error);
}

}  // namespace swarmwall::apply
