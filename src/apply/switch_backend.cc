#include "apply/switch_backend.h"

#include <fmt/format.h>

#include "apply/state_store.h"

namespace swarmwall::apply {

bool RetireOtherFirewall(const std::string& state_dir, backend::FirewallKind kind, const Notes& note,
                         std::vector<std::string>& steps) {
  backend::FirewallKind other =
      kind == backend::FirewallKind::kNftables ? backend::FirewallKind::kIptables : backend::FirewallKind::kNftables;
  auto firewall = OpenFirewall(state_dir, other);
  if (!firewall->MayHoldOwned()) return true;
  std::string error;
  // Without the lock first: nearly always there is nothing to do.
  auto peek = firewall->Read(true, true, error);
  if (!peek) return true;   // that firewall cannot even be read here: nothing of ours in it
  compile::DesiredState owned = firewall->Owned(*peek);
  if (owned.ipv4.empty() && owned.ipv6.empty()) return true;
  auto session = OpenSession(*firewall, state_dir, "apply", std::chrono::seconds(120), note);
  if (!session) return false;
  auto view = session->Read(error);
  if (!view) {
    note("swarmwall apply: the " + std::string(backend::FirewallKindName(other)) + " rules stay: " + error);
    return false;
  }
  compile::DesiredState none;
  none.node = owned.node;
  none.ipv4.family = netfilter::Family::kIPv4;
  none.ipv6.family = netfilter::Family::kIPv6;
  auto record = StateStore(state_dir).Load();
  auto result = record ? session->Commit(*view, none, *record, "switch") : session->Remove(*view);
  if (!result.ok) {
    note(fmt::format("swarmwall apply: swarmwall's {} rules could not be taken away: {}",
                     backend::FirewallKindName(other), result.error));
    return false;
  }
  if (result.changed)
    steps.push_back(fmt::format("{} rules of an earlier apply taken away (this host now uses {})",
                                backend::FirewallKindName(other), backend::FirewallKindName(kind)));
  return true;
}

}  // namespace swarmwall::apply
