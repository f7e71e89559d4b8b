#include "agent/keeper.h"

#include <algorithm>
#include <chrono>
#include <ctime>

#include <fmt/format.h>

#include "agent/membership.h"
#include "apply/host_session.h"
#include "apply/lockout.h"
#include "apply/state_store.h"
#include "host/local_addresses.h"
#include "base/process.h"
#include "compile/compiler.h"

namespace swarmwall::agent {
namespace {

using netfilter::Family;

std::string NowIso() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// The node's desired state on the host VIEW shows, as apply compiles it.
std::optional<compile::DesiredState> Desire(const policy::Policy& policy, const std::string& node,
                                            const apply::HostView& view, std::string& error) {
  compile::NodeFacts facts;
  facts.local_addresses = host::LocalAddresses();
  apply::SetHookFacts(view.before.ipv4, view.before.ipv6, facts);
  auto choice = compile::IdentifyNode(policy, facts, node.empty() ? std::nullopt : std::optional(node));
  if (!choice.node) {
    error = choice.error;
    return std::nullopt;
  }
  return compile::Compile(policy, *choice.node, facts);
}

std::vector<apply::FamilyDiff> Diffs(const compile::DesiredState& d, const apply::HostView& v) {
  return {apply::Compare(d.ipv4, v.before.ipv4), apply::Compare(d.ipv6, v.before.ipv6)};
}

apply::AppliedRecord RecordFor(const policy::Policy& policy, const compile::DesiredState& d,
                               const apply::HostView& v) {
  return apply::AppliedRecord{d.node, policy.file, apply::NormalizedDigest(d), v.variant.chosen.name, NowIso()};
}

bool Empty(const std::vector<apply::FamilyDiff>& diffs) {
  return std::all_of(diffs.begin(), diffs.end(), [](const auto& d) { return d.empty(); });
}

}  // namespace

std::vector<std::string> DriftKinds(const std::vector<apply::FamilyDiff>& diffs,
                                    const apply::Before& before) {
  static const char* kOrder[] = {"chain-missing", "chain-flushed", "chain-changed", "hook-missing",
                                 "hook-not-first", "hook-stale", "set", "forward-docker-user"};
  std::vector<std::string> found;
  auto add = [&](const char* k) {
    if (std::find(found.begin(), found.end(), k) == found.end()) found.push_back(k);
  };
  for (const auto& d : diffs) {
    const auto& snap = d.family == Family::kIPv4 ? before.ipv4 : before.ipv6;
    for (const auto& line : d.lines) {
      if (line.starts_with("+ chain")) {
        add("chain-missing");
      } else if (line.starts_with("+ -A ") || line.starts_with("- -A ") || line.starts_with("~ SWARMWALL")) {
        std::string chain = line.substr(line.starts_with("~ ") ? 2 : 5);
        chain = chain.substr(0, chain.find_first_of(" :"));
        auto it = std::find_if(snap.owned.chains.begin(), snap.owned.chains.end(),
                               [&](const auto& c) { return c.name == chain; });
        if (it == snap.owned.chains.end()) add("chain-missing");
        else if (it->rules.empty()) add("chain-flushed");
        else add("chain-changed");
      } else if (line.starts_with("- chain")) {
        add("chain-changed");
      } else if (line.starts_with("+ hook")) {
        add("hook-missing");
      } else if (line.starts_with("~ hook")) {
        add("hook-not-first");
      } else if (line.starts_with("- hook")) {
        add("hook-stale");
      } else if (line.find(" set ") != std::string::npos) {
        add("set");
      }
    }
    if (!d.empty() && snap.docker_chains && !snap.forward_jumps_to_docker_user &&
        snap.kernel.HasChain("DOCKER-USER"))
      add("forward-docker-user");
  }
  std::vector<std::string> ordered;
  for (const char* k : kOrder)
    if (std::find(found.begin(), found.end(), k) != found.end()) ordered.push_back(k);
  return ordered;
}

KeepResult Keeper::Ensure(const policy::Policy& policy, bool guard, bool record_same) {
  KeepResult r;
  // 1. Without the lock: usually the kernel is right and this is all.
  auto view = apply::ReadHost(dir_, true, r.error);
  if (!view) {
    r.error = "cannot read the kernel's rules: " + r.error;
    return r;
  }
  auto desired = Desire(policy, node_, *view, r.error);
  if (!desired) return r;
  r.node = desired->node;
  r.variant = view->variant.chosen.name;
  auto record_for = [&](const compile::DesiredState& d, const apply::HostView& v) {
    return RecordFor(policy, d, v);
  };
  if (Empty(Diffs(*desired, *view))) {
    r.ok = r.in_sync = true;
    if (record_same) apply::StateStore(dir_).Save(record_for(*desired, *view), r.error);
    return r;
  }
  // 2. Something differs: the same path as apply, under the host lock.
  auto session = apply::HostSession::Open(dir_, "agent", std::chrono::seconds(30), r.error, r.notes);
  if (!session) return r;
  auto locked_view = session->Read(r.error);
  if (!locked_view) {
    r.error = "cannot read the kernel's rules: " + r.error;
    return r;
  }
  desired = Desire(policy, node_, *locked_view, r.error);
  if (!desired) return r;
  auto diffs = Diffs(*desired, *locked_view);
  if (Empty(diffs)) {  // someone else put it right meanwhile
    r.ok = r.in_sync = true;
    return r;
  }
  r.kinds = DriftKinds(diffs, locked_view->before);
  for (const auto& d : diffs)
    for (const auto& l : d.lines)
      r.found.push_back((d.family == Family::kIPv4 ? "IPv4: " : "IPv6: ") + l);
  if (guard) {
    auto locked = apply::LockedOut(*desired, apply::FindSshClients());
    if (!locked.empty()) {
      r.error = "refusing: " + locked.front() + " (allow it in the policy, or run with --force)";
      return r;
    }
  }
  auto start = std::chrono::steady_clock::now();
  auto result = session->Commit(*locked_view, *desired, record_for(*desired, *locked_view), "agent");
  r.commit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.ok = result.ok;
  r.changed = result.changed;
  if (!result.ok) r.error = result.error;
  return r;
}

KeepResult Keeper::UpdateSets(const policy::Policy& policy) {
  KeepResult r;
  auto view = apply::ReadHost(dir_, true, r.error);
  if (!view) {
    r.error = "cannot read the kernel's rules: " + r.error;
    return r;
  }
  auto desired = Desire(policy, node_, *view, r.error);
  if (!desired) return r;
  auto deltas = SetOnlyDeltas(*desired, view->before);
  auto whole = [&] {
    KeepResult w = Ensure(policy, false, true);
    if (w.changed) w.how = "rules";
    return w;
  };
  if (!deltas) return whole();
  r.node = desired->node;
  r.variant = view->variant.chosen.name;
  if (deltas->empty()) {
    r.ok = r.in_sync = true;
    apply::StateStore(dir_).Save(RecordFor(policy, *desired, *view), r.error);
    return r;
  }
  auto start = std::chrono::steady_clock::now();
  {
    auto session = apply::HostSession::Open(dir_, "agent", std::chrono::seconds(30), r.error, r.notes);
    if (!session) return r;
    auto locked_view = session->Read(r.error);
    if (!locked_view) {
      r.error = "cannot read the kernel's rules: " + r.error;
      return r;
    }
    desired = Desire(policy, node_, *locked_view, r.error);
    if (!desired) return r;
    deltas = SetOnlyDeltas(*desired, locked_view->before);
    if (deltas && !deltas->empty()) {
      auto run = RunProcess({"ipset", "restore"}, {.input = RenderSetDeltas(*deltas),
                                                    .timeout = std::chrono::seconds(60)});
      if (!run.ok()) {
        r.error = "ipset restore (set entries in place) failed: " + run.err;
        return r;
      }
      r.found = DescribeSetDeltas(*deltas);
      r.kinds = {"set"};
      r.changed = true;
      r.how = "ipset";
      std::string error;
      if (!apply::StateStore(dir_).Save(RecordFor(policy, *desired, *locked_view), error))
        r.notes.push_back("the applied record was not written: " + error);
    }
  }
  if (!deltas) return whole();  // changed under us: the whole way
  r.commit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.ok = true;
  r.in_sync = !r.changed;
  return r;
}

}  // namespace swarmwall::agent
