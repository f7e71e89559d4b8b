// The steps the workflows (plan, apply, status, remove, the agent's repairs)
// share: where their messages go, loading the policy, opening the host
// session, reading and compiling, and the applied record. Named steps, so
// that each workflow reads as the sequence it is.
#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <string>

#include "apply/host_session.h"
#include "apply/state_store.h"
#include "backend/firewall.h"
#include "compile/desired_state.h"
#include "compile/node_facts.h"
#include "compile/workloads.h"
#include "policy/policy.h"

namespace swarmwall::apply {

// Where a workflow's messages for the operator go as they happen (the CLI:
// stderr with the command's name; the agent: its log). Never null.
using Notes = std::function<void(const std::string&)>;

// This host's firewall of KIND (backend::HostFirewall), for callers above
// apply; without KIND, the one the last apply here used (STATE_DIR's
// record), else auto's choice (backend_choice.h).
std::unique_ptr<backend::Firewall> OpenFirewall(const std::string& state_dir, backend::FirewallKind kind);
std::unique_ptr<backend::Firewall> OpenFirewall(const std::string& state_dir);
backend::FirewallKind AppliedFirewallKind(const std::string& state_dir);

// The policy file, with parsed address files kept in
// STATE_DIR/address-cache between runs, and with the Swarm's nodes when it
// says `nodes: auto` (from MANAGER, see swarm_members.h); each warning and
// error noted.
std::optional<policy::Policy> LoadPolicy(const std::string& file, const std::string& state_dir,
                                         const std::string& manager, const Notes& note);

// The session of a writing workflow; recovery notes and a failure noted
// (the recovery notes also added to RECOVERED, when given).
std::optional<HostSession> OpenSession(backend::Firewall& firewall, const std::string& state_dir,
                                       const std::string& what, std::chrono::milliseconds wait,
                                       const Notes& note, std::vector<std::string>* recovered = nullptr);

// The node facts the compiler needs: the firewall's (where it hooks,
// whether Docker runs) and the host's local addresses.
compile::NodeFacts FactsFor(const backend::Firewall& firewall, const FirewallView& view);

// A read of the host and the node's desired state from it.
struct Prepared {
  FirewallView view;
  compile::DesiredState desired;
  compile::NodeFacts facts;
  // What the containers rules' services, containers and labels resolved to
  // here, and warnings (a name that publishes nothing, Docker not reached).
  std::vector<compile::SelectorMatch> selectors;
  std::vector<std::string> warnings;
};

// What the containers rules' services, containers and labels resolve to
// on this host (Docker asked at DOCKER_HOST), for policies that name them.
struct LocalSelectors {
  std::vector<compile::PublishedPort> published;
  std::vector<compile::SelectorMatch> matches;
  std::vector<policy::Diagnostic> warnings;  // names that publish nothing here
  std::string docker_error;                  // "" when Docker answered
};
LocalSelectors ResolveSelectorsHere(const policy::Policy& policy);

// Reads through SESSION (unless VIEW was read already) and compiles POLICY
// for NODE_NAME (empty: the node with an address here). KNOWN_FACTS: those
// of VIEW, when made already. Failures noted.
std::optional<Prepared> Prepare(const HostSession& session, const policy::Policy& policy,
                                const std::string& node_name, const Notes& note,
                                std::optional<FirewallView> view = std::nullopt,
                                std::optional<compile::NodeFacts> known_facts = std::nullopt);
// The same without a session (no lock: a read-only check).
std::optional<Prepared> PrepareUnlocked(backend::Firewall& firewall, const policy::Policy& policy,
                                        const std::string& node_name, std::string& error);

// What an apply records of P: the desired state's digest and, unless the
// nodes come from Swarm, the fingerprint of everything it was compiled
// from (compile_inputs.h) so that the next apply of the same inputs is a
// no-op without loading the policy. INPUTS: that fingerprint, when it is
// being made already (of P's facts).
AppliedRecord MakeRecord(const Prepared& p, const policy::Policy& policy, const std::string& node_arg,
                         std::shared_future<std::optional<std::string>> inputs = {});

// Both records name the same applied state and inputs (time aside).
bool SameRecord(const AppliedRecord& x, const AppliedRecord& y);

// Saves RECORD in STATE_DIR unless the one there is the same already
// (nothing written: a new policy compiling to the same state is still
// recorded). False with ERROR when it could not be written.
bool KeepRecord(const std::string& state_dir, const AppliedRecord& record, std::string& error);

bool Empty(const std::vector<FamilyDiff>& diffs);

}  // namespace swarmwall::apply
