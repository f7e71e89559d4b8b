#include "apply/workflow_steps.h"

#include <algorithm>
#include <sstream>
#include <tuple>

#include "apply/backend_choice.h"
#include "apply/compile_inputs.h"
#include "apply/swarm_members.h"
#include "base/utc_time.h"
#include "compile/compiler.h"
#include "docker/engine.h"
#include "docker/published_ports.h"
#include "host/local_addresses.h"

namespace swarmwall::apply {

std::unique_ptr<backend::Firewall> OpenFirewall(const std::string& state_dir, backend::FirewallKind kind) {
  return backend::HostFirewall(state_dir, kind);
}

backend::FirewallKind AppliedFirewallKind(const std::string& state_dir) {
  if (auto record = StateStore(state_dir).Load(); record && !record->variant.empty())
    return record->variant == "nftables" ? backend::FirewallKind::kNftables : backend::FirewallKind::kIptables;
  return ChooseBackend(policy::Backend::kAuto, "", ReadDockerFirewallFacts(state_dir)).kind;
}

std::unique_ptr<backend::Firewall> OpenFirewall(const std::string& state_dir) {
  return OpenFirewall(state_dir, AppliedFirewallKind(state_dir));
}

std::optional<policy::Policy> LoadPolicy(const std::string& file, const std::string& state_dir,
                                         const std::string& manager, const Notes& note) {
  auto loaded = policy::LoadPolicyFile(file, {.address_cache_dir = state_dir + "/address-cache"});
  for (const auto& w : loaded.warnings) note(w.ToString());
  for (const auto& e : loaded.errors) note(e.ToString());
  if (!loaded.ok()) return std::nullopt;
  std::ostringstream messages;
  auto with_nodes = WithSwarmNodes(std::move(*loaded.policy), manager, state_dir, messages);
  std::istringstream lines(messages.str());
  for (std::string line; std::getline(lines, line);) note(line);
  return with_nodes;
}

std::optional<HostSession> OpenSession(backend::Firewall& firewall, const std::string& state_dir,
                                       const std::string& what, std::chrono::milliseconds wait,
                                       const Notes& note, std::vector<std::string>* recovered) {
  std::string error;
  std::vector<std::string> notes;
  auto session = HostSession::Open(firewall, state_dir, what, wait, error, notes);
  for (const auto& n : notes) note("swarmwall " + what + ": " + n);
  if (recovered) recovered->insert(recovered->end(), notes.begin(), notes.end());
  if (!session) note("swarmwall " + what + ": " + error);
  return session;
}

LocalSelectors ResolveSelectorsHere(const policy::Policy& policy) {
  LocalSelectors out;
  auto ports = docker::ReadPublishedPorts(docker::Engine(), out.docker_error);
  if (ports)
    for (auto& d : *ports)
      out.published.push_back({d.protocol, d.port, d.container, d.service, std::move(d.labels)});
  out.matches = compile::ResolveWorkloads(policy, out.published).matches;
  if (ports) out.warnings = compile::UnresolvedWarnings(out.matches);
  return out;
}

compile::NodeFacts FactsFor(const backend::Firewall& firewall, const FirewallView& view) {
  compile::NodeFacts facts;
  facts.local_addresses = host::LocalAddresses();
  firewall.AddFacts(view, facts);
  return facts;
}

namespace {

// The ports Docker publishes here, for rules that name services, containers
// or labels; unreachable, those rules match nothing (a warning says so).
void ReadPublished(const policy::Policy& policy, compile::NodeFacts& facts, Prepared& p) {
  LocalSelectors here = ResolveSelectorsHere(policy);
  facts.published = std::move(here.published);
  p.selectors = std::move(here.matches);
  if (!here.docker_error.empty())
    p.warnings.push_back("warning: cannot read what Docker publishes (" + here.docker_error +
                         "): the containers rules that name a service, container or label match nothing");
  for (const auto& w : here.warnings) p.warnings.push_back(w.ToString());
}

std::optional<Prepared> Compiled(const backend::Firewall& firewall, const policy::Policy& policy,
                                 const std::string& node_name, FirewallView view,
                                 std::optional<compile::NodeFacts> known_facts, std::string& error) {
  compile::NodeFacts facts = known_facts ? std::move(*known_facts) : FactsFor(firewall, view);
  auto choice = compile::IdentifyNode(policy, facts, node_name.empty() ? std::nullopt : std::optional(node_name));
  if (!choice.node) {
    error = choice.error;
    return std::nullopt;
  }
  Prepared p;
  if (policy.HasWorkloadRules()) ReadPublished(policy, facts, p);
  p.desired = firewall.Canonical(compile::Compile(policy, *choice.node, facts));
  p.view = std::move(view);
  p.facts = std::move(facts);
  return p;
}

}  // namespace

std::optional<Prepared> Prepare(const HostSession& session, const policy::Policy& policy,
                                const std::string& node_name, const Notes& note,
                                std::optional<FirewallView> view, std::optional<compile::NodeFacts> known_facts) {
  std::string error;
  if (!view) view = session.Read(error);
  if (!view) {
    note("swarmwall: cannot read the kernel's rules: " + error);
    return std::nullopt;
  }
  auto p = Compiled(session.firewall(), policy, node_name, std::move(*view), std::move(known_facts), error);
  if (!p) note("swarmwall: " + error);
  if (p)
    for (const auto& w : p->warnings) note("swarmwall: " + w);
  return p;
}

std::optional<Prepared> PrepareUnlocked(backend::Firewall& firewall, const policy::Policy& policy,
                                        const std::string& node_name, std::string& error) {
  auto view = firewall.Read(true, true, error);
  if (!view) {
    error = "cannot read the kernel's rules: " + error;
    return std::nullopt;
  }
  return Compiled(firewall, policy, node_name, std::move(*view), std::nullopt, error);
}

AppliedRecord MakeRecord(const Prepared& p, const policy::Policy& policy, const std::string& node_arg,
                         std::shared_future<std::optional<std::string>> inputs) {
  AppliedRecord record{p.desired.node, policy.file, NormalizedDigest(p.desired), p.view.variant, UtcNow()};
  // Inputs that are files only: published ports are Docker's, read afresh
  // at each apply (rules naming services, containers or labels).
  if (!policy.auto_nodes && !policy.HasWorkloadRules()) {
    record.files = PolicyFiles(policy);
    auto fingerprint = inputs.valid() ? inputs.get() : InputsFingerprint(record.files, node_arg, p.facts);
    record.inputs = fingerprint.value_or("");
  }
  return record;
}

bool SameRecord(const AppliedRecord& x, const AppliedRecord& y) {
  return std::tie(x.node, x.policy, x.digest, x.variant, x.inputs, x.files) ==
         std::tie(y.node, y.policy, y.digest, y.variant, y.inputs, y.files);
}

bool KeepRecord(const std::string& state_dir, const AppliedRecord& record, std::string& error) {
  StateStore store(state_dir);
  auto recorded = store.Load();
  return (recorded && SameRecord(*recorded, record)) || store.Save(record, error);
}

bool Empty(const std::vector<FamilyDiff>& diffs) {
  return std::all_of(diffs.begin(), diffs.end(), [](const auto& d) { return d.empty(); });
}

}  // namespace swarmwall::apply
