#include "apply/remove.h"

#include "apply/apply_policy.h"
#include "apply/confirm.h"
#include "base/utc_time.h"

namespace swarmwall::apply {

RemoveOutcome Remove(const std::string& state_dir, backend::Firewall& firewall, const Notes& note) {
  RemoveOutcome out;
  auto session = OpenSession(firewall, state_dir, "remove", std::chrono::seconds(120), note);
  if (!session) return out;
  std::string error;
  auto view = session->Read(error);
  if (!view) {
    note("swarmwall remove: " + error);
    return out;
  }
  auto result = session->Remove(*view);
  if (!result.ok) {
    note("swarmwall remove: " + result.error);
    return out;
  }
  if (!result.changed) StateStore(state_dir).Forget();
  out.confirmed_pending = ConfirmPending(state_dir);
  out.changed = result.changed;
  out.ok = true;
  return out;
}

RemoveOutcome RemoveEverywhere(const std::string& state_dir, const Notes& note) {
  RemoveOutcome all;
  all.ok = true;
  // The one the last apply used first: its record goes with it.
  backend::FirewallKind first = AppliedFirewallKind(state_dir);
  backend::FirewallKind second = first == backend::FirewallKind::kNftables ? backend::FirewallKind::kIptables
                                                                          : backend::FirewallKind::kNftables;
  for (backend::FirewallKind kind : {first, second}) {
    auto firewall = OpenFirewall(state_dir, kind);
    auto out = Remove(state_dir, *firewall, note);
    all.ok = all.ok && out.ok;
    all.changed = all.changed || out.changed;
    all.confirmed_pending = all.confirmed_pending || out.confirmed_pending;
  }
  return all;
}

bool Confirm(const std::string& state_dir, backend::Firewall& firewall, const Notes& note) {
  auto session = OpenSession(firewall, state_dir, "confirm", std::chrono::seconds(120), note);
  if (!session) return false;
  if (!ClearPending(state_dir)) {
    note("swarmwall confirm: no apply is waiting for confirmation in " + state_dir);
    return false;
  }
  return true;
}

RollbackOutcome RollBackUnconfirmed(const std::string& state_dir, const std::string& token,
                                    backend::Firewall& firewall, const Notes& note) {
  RollbackOutcome out;
  auto pending = LoadPending(state_dir);
  if (!pending || pending->token != token) {
    out.line = UtcNow() + " confirmed in time: nothing to do";
    return out;
  }
  auto session = OpenSession(firewall, state_dir, "rollback-timer", std::chrono::seconds(120), note);
  // Confirmed while we waited for the lock?
  pending = LoadPending(state_dir);
  if (session && (!pending || pending->token != token)) {
    out.line = UtcNow() + " confirmed in time: nothing to do";
    return out;
  }
  std::string error;
  auto view = session ? session->Read(error) : std::nullopt;
  if (!view || !pending) {
    out.ok = false;
    out.line = UtcNow() + " ROLLBACK FAILED: cannot read the kernel: " + error;
    return out;
  }
  StateStore store(state_dir);
  auto record = store.Load().value_or(AppliedRecord{});
  record.digest = NormalizedDigest(pending->previous);
  record.time = UtcNow();
  record.policy += " (rolled back: not confirmed)";
  auto result = session->Commit(*view, pending->previous, record, "rollback");
  if (!result.ok) {
    out.ok = false;
    out.line = UtcNow() + " ROLLBACK FAILED: " + result.error;
    return out;
  }
  if (!result.changed) store.Save(record, error);
  ClearPending(state_dir);
  out.line = UtcNow() + " not confirmed: previous state put back";
  return out;
}

}  // namespace swarmwall::apply
