#include "apply/health.h"

#include <fmt/format.h>

#include "apply/backend_choice.h"
#include "apply/workflow_steps.h"
#include "backend/firewall.h"

namespace swarmwall::apply {

FirewallHealth CheckFirewall(const policy::Policy& policy, const std::string& node,
                             const std::string& state_dir) {
  FirewallHealth h;
  // The firewall the policy chooses for this node (iptables refused where
  // Docker runs nftables: then that is the health problem).
  auto choice = ChooseHostBackend("", policy, node, state_dir);
  if (!choice.ok()) {
    h.reason = choice.error;
    return h;
  }
  auto firewall = OpenFirewall(state_dir, choice.kind);
  std::string error;
  auto p = PrepareUnlocked(*firewall, policy, node, error);
  if (!p) {
    h.reason = error;
    if (auto view = firewall->Read(true, false, error)) h.variant = view->variant;
    return h;
  }
  h.variant = p->view.variant;
  h.node = p->desired.node;
  size_t changes = 0;
  for (const auto& d : firewall->Compare(p->desired, p->view)) {
    if (d.empty()) continue;
    const char* family = d.family == netfilter::Family::kIPv4 ? "IPv4: " : "IPv6: ";
    for (const auto& l : d.lines) h.diff.push_back(family + l);
    changes += d.lines.empty() ? 1 : d.lines.size();
  }
  if (changes == 0) {
    h.ok = true;
    return h;
  }
  h.reason = fmt::format("node {}: the firewall differs from the policy ({} change(s) pending{}{})", h.node,
                         changes, h.diff.empty() ? "" : ", first: ", h.diff.empty() ? "" : h.diff.front());
  return h;
}

}  // namespace swarmwall::apply
