// swarmwall audit: what is wrong with a ruleset, each finding with its
// severity, the rules involved, what it means and the fix. Two kinds of
// checks: structural ones that read only the rules (shadowed rules, rules
// after a catch-all, chains never jumped to, DOCKER-USER and swarmwall's
// hooks, the RELATED/ESTABLISHED accept, INVALID), and reachability ones
// that follow a stranger's packets with the tracer over the host's facts
// (Swarm ports and the Docker API from public interfaces, published ports
// that bypass INPUT, IPv6 open where IPv4 is closed). doctor (doctor.h) is
// about the host (variants, persistence files, sockets); audit is about the
// rules, and points at them.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "host/network.h"
#include "netfilter/ruleset.h"

namespace swarmwall::analyze {

enum class AuditSeverity { kCritical, kHigh, kMedium, kLow, kInfo };
const char* AuditSeverityName(AuditSeverity s);   // "critical", ...

// One rule (or a chain's policy when number == 0) a finding is about.
struct RuleRef {
  netfilter::Family family = netfilter::Family::kIPv4;
  std::string table, chain;
  int number = 0;          // 1-based in its chain; 0: the chain itself / its policy
  std::string file;        // where the ruleset came from ("" live)
  int line = 0;            // line in FILE (0 unknown)
  std::string text;        // the rule as iptables-save prints it
  std::string Where() const;   // "filter INPUT rule 3 (m1.iptables-save:12)"
};

// A concrete packet that shows a finding, as the tracer followed it.
struct ExamplePacket {
  netfilter::Family family = netfilter::Family::kIPv4;
  std::string src, dst, proto, in;
  int dport = 0;
  std::string fate;        // "ACCEPT (delivered to 203.0.113.11:2377)" ...
  std::string decided_by;  // the tracer's "filter INPUT policy"
  std::string Text() const;
};

struct AuditFinding {
  AuditSeverity severity = AuditSeverity::kMedium;
  std::string code;        // stable kebab-case id ("swarm-port-public", ...)
  std::string title;       // one line
  std::string meaning;     // what it means
  std::string fix;         // what to do
  std::vector<RuleRef> rules;
  std::vector<ExamplePacket> examples;
};

struct AuditInput {
  const netfilter::Ruleset* v4 = nullptr;   // either may be null
  const netfilter::Ruleset* v6 = nullptr;
  std::string file4, file6;                 // names for RuleRef::file
  // The host's interfaces, routes and ipsets; null: the reachability checks
  // are skipped (an info finding says so).
  const host::HostNetwork* host = nullptr;
  // Interfaces that face the public (names, '+' wildcards). Empty: guessed
  // from the host (interfaces with an address that are not loopback, not a
  // bridge Docker or a container uses, not a bridge port, not a tunnel).
  std::vector<std::string> public_interfaces;
  // Addresses that are the cluster's own nodes (from a policy): never taken
  // as the stranger.
  std::vector<netfilter::Cidr> trusted;
  // The policy's own sets by name (from a policy, both families): the
  // exposure matrix names a class of sources that equals one ("office"),
  // whether or not the host holds a copy of it.
  std::vector<std::pair<std::string, std::vector<netfilter::Cidr>>> named_sets;
  // What the caller could not see or model ("nftables tables not read",
  // "table netdev X: not modelled"): the policy proof names each and never
  // claims the ruleset implements the policy while any is left.
  std::vector<std::string> blind_spots;
};

// Every finding, most severe first (then by code, then by rule). A ruleset
// with a loop of chains (chain_loops.h) gets one critical chain-loop
// finding and no other check: no kernel runs it.
std::vector<AuditFinding> Audit(const AuditInput& input);
// That finding for RS, or nullopt when its chains have no loop.
std::optional<AuditFinding> ChainLoopFinding(const netfilter::Ruleset& rs, const std::string& file);

// The parts, for tests and for the policy proof.
void AuditStructure(const netfilter::Ruleset& rs, const std::string& file,
                    std::vector<AuditFinding>& out);
void AuditReachability(const AuditInput& input, std::vector<AuditFinding>& out);

// The public interfaces AuditInput would use for HOST (see public_interfaces).
std::vector<std::string> GuessPublicInterfaces(const host::HostNetwork& host);
// The names of INPUT.host's interfaces that INPUT.public_interfaces (or the
// guess) stand for.
std::vector<std::string> PublicInterfaceNames(const AuditInput& input);

// A RuleRef for rule NUMBER (1-based; 0 = the chain) of TABLE/CHAIN.
RuleRef MakeRuleRef(const netfilter::Ruleset& rs, const std::string& file, std::string_view table,
                    std::string_view chain, int number);

// True when every packet B matches, A matches too (syntactically, for
// the matches the model knows; false when unsure).
bool RuleCovers(const netfilter::Rule& a, const netfilter::Rule& b);

// The highest severity in FINDINGS (kInfo when empty).
AuditSeverity WorstSeverity(const std::vector<AuditFinding>& findings);

}  // namespace swarmwall::analyze
