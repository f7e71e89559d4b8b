// The policy's intended exposure of one node, and the proof that a ruleset
// implements it. PolicyIntent answers, from the policy alone (the order of
// docs/policy.md, as the compiler writes it), whether a NEW packet from a
// source arriving on an interface may reach a port of the host or a
// published container port. ProvePolicy enumerates every class of source
// addresses, ports, protocols and interfaces the ruleset, the host's facts
// and the policy can tell apart (audit_classes.h), follows one
// representative of each with the tracer through the real ruleset, and
// lists every class where the two disagree, with a concrete packet and its
// trace's deciding rule. It never claims a host it could not see in full:
// what it could not see (blind spots: the caller's and its own) and the
// undecidable matches a verdict depended on are named, and the verdict is
// then "cannot prove" (ProofVerdict).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyze/audit/audit.h"
#include "policy/policy.h"

namespace swarmwall::analyze {

enum class IfaceClass { kPublic, kCluster, kOther };

struct Intent {
  bool governed = false;   // false: the policy says nothing (e.g. an interface it does not name)
  bool accept = false;
  std::string why;         // "host allow #1 (22/tcp from admins)", "default: drop", ...
};

class PolicyIntent {
 public:
  // POLICY and NODE must outlive this.
  PolicyIntent(const policy::Policy& policy, const policy::Node& node);
  IfaceClass Classify(std::string_view iface) const;
  // To the host itself (INPUT).
  Intent Host(const netfilter::IpAddress& src, std::string_view iface, uint16_t protocol, uint16_t port) const;
  // To a published container port PORT (DOCKER-USER).
  Intent Container(const netfilter::IpAddress& src, std::string_view iface, uint16_t protocol,
                   uint16_t port) const;
  // Every CIDR and port the policy names for FAMILY (class boundaries).
  std::vector<netfilter::Cidr> Cidrs(netfilter::Family family) const;
  std::vector<std::pair<uint16_t, uint16_t>> Ports() const;
  bool UsesSctp() const;
  const policy::Policy& policy() const { return policy_; }
  const policy::Node& node() const { return node_; }

 private:
  bool From(const policy::AddressMatch& m, const netfilter::IpAddress& a) const;
  const policy::Policy& policy_;
  const policy::Node& node_;
  mutable std::map<std::pair<const policy::AddressMatch*, netfilter::Family>, std::vector<netfilter::Cidr>> resolved_;
};

struct PolicyDifference {
  std::string kind;            // "host" or "container"
  std::string iface, proto;
  std::string sources;         // the source class ("198.51.100.0/24")
  std::string ports;           // the port class(es) ("8080", "1-21")
  bool policy_accepts = false, ruleset_accepts = false;
  bool undecided = false;      // the ruleset's answer depends on matches the analyzer cannot decide
  std::string policy_why;
  ExamplePacket example;       // confirmed by a full trace
  std::vector<RuleRef> rules;  // the rule (or policy) that decided in the trace
};

struct PolicyProof {
  std::string node;
  std::vector<PolicyDifference> differences;
  size_t classes_checked = 0;  // packets traced
  // What could not be seen or modelled: AuditInput::blind_spots, then the
  // proof's own ("no IPv6 ruleset: IPv6 was not checked", ...).
  std::vector<std::string> blind_spots;
  // The undecidable matches some class's verdict depended on, once each
  // ("filter INPUT rule 3: -m set ...: the host's ipsets are not known ...").
  std::vector<std::string> undecidable;
  // What the checks looked at, for people.
  std::vector<std::string> public_ifaces, cluster_ifaces;
  std::optional<PolicyIntent> intent;
};

// kDiffers: a difference the ruleset decides (whatever else is unknown);
// kCannotProve: none, but a blind spot or an undecided class; kImplements:
// every class was traced and agrees, nothing was out of sight.
enum class ProofVerdict { kImplements, kDiffers, kCannotProve };
ProofVerdict Verdict(const PolicyProof& proof);
const char* ProofVerdictName(ProofVerdict v);   // "implements", "differs", "cannot-prove"

// Without INPUT's host (addresses and routes) nothing is traced: the proof
// says so as a blind spot.
PolicyProof ProvePolicy(const policy::Policy& policy, const policy::Node& node, const AuditInput& input);

// The policy's own allows on NODE, one packet each (the first source the
// rule names, a stranger for "any"; its first port, a container rule's
// first published one; per protocol and public interface), traced: each the
// policy accepts and the ruleset does not deliver. One trace per allow
// where ProvePolicy walks every class (minutes for a 500-entry set behind
// 1,000 port rules): what plan and apply can afford before and after every
// commit; the complete answer is ProvePolicy's.
std::vector<PolicyDifference> CheckAllows(const policy::Policy& policy, const policy::Node& node,
                                          const AuditInput& input);

// Findings of audit that the policy asks for (a published port it allows
// from anywhere, the Swarm ports from a `swarm.from: any`) become info.
void DowngradeIntended(const PolicyProof& proof, std::vector<AuditFinding>& findings);

// For a difference the policy allows but a rule of another owner (not
// swarmwall's chains or tables) drops: what to do about it ("" otherwise).
std::string OtherOwnerFix(const PolicyDifference& d);
nlohmann::json ProofJson(const PolicyProof& proof);
std::string ProofText(const PolicyProof& proof);

}  // namespace swarmwall::analyze
