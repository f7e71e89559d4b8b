#include "apply/health.h"

#include <fmt/format.h>

#include "apply/diff.h"
#include "apply/host_session.h"
#include "host/local_addresses.h"
#include "compile/compiler.h"

namespace swarmwall::apply {

FirewallHealth CheckFirewall(const policy::Policy& policy, const std::string& node,
                             const std::string& state_dir) {
  FirewallHealth h;
  std::string error;
  auto view = ReadHost(state_dir, true, error);
  if (!view) {
    h.reason = "cannot read the kernel's rules: " + error;
    return h;
  }
  h.variant = view->variant.chosen.name;
  compile::NodeFacts facts;
  facts.local_addresses = host::LocalAddresses();
  SetHookFacts(view->before.ipv4, view->before.ipv6, facts);
  auto choice = compile::IdentifyNode(policy, facts, node.empty() ? std::nullopt : std::optional(node));
  if (!choice.node) {
    h.reason = choice.error;
    return h;
  }
  auto desired = compile::Compile(policy, *choice.node, facts);
  h.node = desired.node;
  size_t changes = 0;
  for (const auto& d : {Compare(desired.ipv4, view->before.ipv4), Compare(desired.ipv6, view->before.ipv6)}) {
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
