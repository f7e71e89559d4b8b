// Resolves the services, containers and labels a policy's containers rules
// name (policy::WorkloadRef) into the ports Docker publishes on the node:
// the same original-destination port rules as `ports:`, never container
// addresses, so a container recreated with another address changes nothing
// and one recreated with another port mapping changes only the ports.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "compile/node_facts.h"
#include "policy/policy.h"

namespace swarmwall::compile {

// What one name of a rule resolved to on the node.
struct SelectorMatch {
  std::string rule;                 // "containers allow #1"
  std::string selector;             // "service web", "label com.example.expose=public"
  policy::SourceLocation where;     // the name in the policy
  policy::Traffic traffic;          // its ports; empty: it resolved to nothing
  std::vector<std::string> owners;  // the containers / services behind them, sorted
  bool operator==(const SelectorMatch&) const = default;
};

struct WorkloadResolution {
  std::vector<SelectorMatch> matches;  // in rule order, then as written
  // Each containers rule that names workloads, with the union of its
  // names' ports (empty: they publish nothing here, the rule matches nothing).
  // No copy of the policy: its sets may hold 100,000 entries.
  std::vector<std::pair<const policy::Rule*, policy::Traffic>> traffic;
  // RULE's ports here; nullptr when RULE names no workload.
  const policy::Traffic* TrafficOf(const policy::Rule& rule) const;
};

// Which of PUBLISHED REF names.
bool Selects(const policy::WorkloadRef& ref, const PublishedPort& published);

WorkloadResolution ResolveWorkloads(const policy::Policy& policy,
                                    const std::vector<PublishedPort>& published);

// A warning for each name that resolved to nothing ("FILE:L:C: warning:
// containers allow #1: service web publishes no port on this node ...").
std::vector<policy::Diagnostic> UnresolvedWarnings(const std::vector<SelectorMatch>& matches);

}  // namespace swarmwall::compile
