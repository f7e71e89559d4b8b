#include "agent/keeper.h"

#include "apply/apply_policy.h"
#include "apply/backend_choice.h"

namespace swarmwall::agent {
namespace {

KeepResult From(const apply::ApplyOutcome& out) {
  KeepResult r;
  r.ok = out.ok;
  r.in_sync = out.in_sync;
  r.changed = out.result.changed;
  r.node = out.node;
  r.variant = out.variant;
  r.kinds = out.drift_kinds;
  for (const auto& d : out.result.diffs)
    for (const auto& l : d.lines) r.found.push_back((d.family == netfilter::Family::kIPv4 ? "IPv4: " : "IPv6: ") + l);
  r.notes = out.recovered;
  r.error = out.error;
  r.commit_seconds = out.commit_seconds;
  return r;
}

apply::ApplyRequest Request(const std::string& dir, const std::string& node, const policy::Policy& policy) {
  apply::ApplyRequest rq;
  rq.state_dir = dir;
  rq.policy = &policy;
  rq.node = node;
  rq.operation = "agent";
  rq.check_unlocked_first = true;
  rq.lock_wait = std::chrono::seconds(30);
  return rq;
}

}  // namespace

KeepResult Keeper::Ensure(const policy::Policy& policy, bool guard, bool record_same) {
  auto rq = Request(dir_, node_, policy);
  rq.lockout_guard = guard;
  rq.record_same = record_same;
  auto choice = apply::ChooseHostBackend(backend_, policy, node_, dir_);
  if (!choice.ok()) {
    KeepResult r;
    r.error = choice.error;
    return r;
  }
  auto firewall = apply::OpenFirewall(dir_, choice.kind);
  return From(apply::Apply(rq, *firewall));
}

KeepResult Keeper::UpdateSets(const policy::Policy& policy) {
  auto rq = Request(dir_, node_, policy);
  rq.lockout_guard = false;
  auto choice = apply::ChooseHostBackend(backend_, policy, node_, dir_);
  if (!choice.ok()) {
    KeepResult r;
    r.error = choice.error;
    return r;
  }
  auto firewall = apply::OpenFirewall(dir_, choice.kind);
  std::string how;
  std::vector<std::string> entries;
  auto out = apply::ApplySetEntries(rq, *firewall, how, entries);
  KeepResult r = From(out);
  if (how == "entries") {
    r.found = entries;
    // Entries written in place: ipset's, or the nftables table's set elements.
    r.how = choice.kind == backend::FirewallKind::kNftables ? "nft-set" : "ipset";
  } else {
    r.how = how;
  }
  return r;
}

std::optional<std::vector<apply::ExposedControlPort>> Keeper::ControlPorts(const policy::Policy& policy,
                                                                           std::string& error) {
  auto choice = apply::ChooseHostBackend(backend_, policy, node_, dir_);
  if (!choice.ok()) {
    error = choice.error;
    return std::nullopt;
  }
  auto firewall = apply::OpenFirewall(dir_, choice.kind);
  return apply::ExposedControlPorts(*firewall, error);
}

}  // namespace swarmwall::agent
