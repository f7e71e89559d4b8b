// The policy model: one cluster's firewall intent, read from the declarative
// YAML policy (docs/policy.md) by LoadPolicyFile / LoadPolicyText and checked
// as a whole. A Policy handed out is complete and consistent: every name is
// resolved (sets, services, node selectors), addresses are split by family,
// ports and protocols are normalised, orders are deterministic, and every
// rule and reference keeps where it was written so later layers (compile,
// apply, agent) can point their own messages at the policy.
//
// Conventions used throughout: an empty Selector / AddressMatch / Traffic
// means "no restriction" (every node, any address, every protocol and port);
// check All() / Any() before expanding one.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netfilter/address.h"

namespace swarmwall::policy {

using netfilter::Cidr;
using netfilter::Family;
using netfilter::IpAddress;

// Where something was written. Line and column are 1-based; 0 = unknown.
struct SourceLocation {
  std::string file;
  int line = 0;
  int column = 0;
  std::string ToString() const;  // "FILE:LINE:COL"
  auto operator<=>(const SourceLocation&) const = default;
};

struct Diagnostic {
  enum class Severity : uint8_t { kError, kWarning };
  Severity severity = Severity::kError;
  SourceLocation where;
  std::string message;
  // "FILE:LINE:COL: message"; warnings "FILE:LINE:COL: warning: message".
  // Without a line "FILE: message"; without a file just the message.
  std::string ToString() const;
  bool operator==(const Diagnostic&) const = default;
};

// ---------------------------------------------------------------- traffic

enum class Protocol : uint8_t { kTcp, kUdp, kSctp };
std::string_view ProtocolName(Protocol protocol);  // "tcp", "udp", "sctp"

struct PortRange {
  uint16_t first = 0;
  uint16_t last = 0;  // == first for a single port
  bool Contains(const PortRange& other) const { return first <= other.first && other.last <= last; }
  std::string ToString() const;  // "80" or "8000-8100"
  auto operator<=>(const PortRange&) const = default;
};

// The ports of one protocol. Empty ports = every port of the protocol.
struct ProtocolPorts {
  Protocol protocol = Protocol::kTcp;
  std::vector<PortRange> ports;  // sorted; overlapping and adjacent ranges merged
  bool operator==(const ProtocolPorts&) const = default;
};

// Which packets a rule matches by protocol and destination port.
// Empty = every protocol and port, ICMP included (a rule that names neither
// ports, proto nor service).
struct Traffic {
  std::vector<ProtocolPorts> protocols;  // sorted by protocol, each at most once
  bool Any() const { return protocols.empty(); }
  // True when every packet OTHER matches, this matches too.
  bool Covers(const Traffic& other) const;
  std::string ToString() const;  // "any", "22/tcp", "53/tcp,udp", "80,443/tcp 53/udp"
  bool operator==(const Traffic&) const = default;
};

// ------------------------------------------------------------------ nodes

enum class Role : uint8_t { kManager, kWorker };
std::string_view RoleName(Role role);  // "manager", "worker"

// `backend:` (the policy's, a node may override it): which firewall holds
// the rules. kAuto: nftables where Docker runs its nftables backend,
// iptables otherwise (apply/backend_choice.h decides on the host).
enum class Backend { kAuto, kIptables, kNftables };
std::string_view BackendName(Backend b);   // "auto", "iptables", "nftables"

// Interface names as iptables takes them (a trailing '+' is a wildcard).
struct Interfaces {
  std::vector<std::string> public_;  // `public`: untrusted, filtering applies here
  std::vector<std::string> cluster;  // the trusted network the nodes talk over
  bool operator==(const Interfaces&) const = default;
};

struct Node {
  std::string name;
  Role role = Role::kWorker;
  std::vector<IpAddress> addresses;           // as written; at least one
  std::vector<SourceLocation> address_where;  // where each address was written
                                              // (may be empty for nodes made in code)
  std::vector<std::string> labels;            // sorted, unique
  std::optional<Interfaces> interfaces;       // this node's own; keys it does not give are
                                              // filled from Policy::interfaces
  std::optional<Backend> backend;             // this node's own `backend:`
  std::string comment;
  SourceLocation where;  // the node's name
  bool operator==(const Node&) const = default;
};

// `on:`. One term is a role, a node name or a label.
struct SelectorTerm {
  enum class Kind : uint8_t { kRole, kName, kLabel };
  Kind kind = Kind::kName;
  Role role = Role::kWorker;  // kRole
  std::string value;          // kName: the node's name; kLabel: the label
  SourceLocation where;
  std::string ToString() const;  // "manager", "node-1", "label:ingress"
  bool operator==(const SelectorTerm&) const = default;
};

// A node is selected when any term matches it. Empty = every node.
struct Selector {
  std::vector<SelectorTerm> terms;  // as written, duplicates removed
  bool All() const { return terms.empty(); }
  bool operator==(const Selector&) const = default;
};

bool Selects(const Selector& selector, const Node& node);

// ---------------------------------------------------------------- addresses

// The most entries a set may have in one family: the ipset apply creates
// for it (hash:net, maxelem 1048576 in backend/) holds no more; one more
// and ipset says "Hash is full" (checked by Validate).
inline constexpr size_t kMaxSetEntries = 1 << 20;

// A named address set (`sets:`), or the built-in `nodes`.
struct AddressSet {
  std::string name;
  std::vector<Cidr> ipv4;  // sorted, unique; never a /0 (an ipset takes none: the
  std::vector<Cidr> ipv6;  // whole family is its two /1 halves); at most kMaxSetEntries
  std::string file;        // the address file the entries came from, or ""
  bool builtin = false;    // `nodes`: every address of every node; with
                           // Policy::auto_nodes the Swarm's nodes join it later
  std::string comment;
  SourceLocation where;  // the set's name in `sets:` (builtin: the `nodes:` key)
  const std::vector<Cidr>& Entries(Family family) const {
    return family == Family::kIPv4 ? ipv4 : ipv6;
  }
  bool Empty() const { return ipv4.empty() && ipv6.empty(); }
  bool operator==(const AddressSet&) const = default;
};

// One item of `from:` / `to:`: a set (named or `nodes`) or a literal CIDR.
struct AddressTerm {
  enum class Kind : uint8_t { kSet, kCidr };
  Kind kind = Kind::kSet;
  std::string set;  // kSet: Policy::FindSet(set) is never null
  Cidr cidr;        // kCidr
  SourceLocation where;
  std::string ToString() const;  // the set's name or the CIDR
  bool operator==(const AddressTerm&) const = default;
};

// `from:` / `to:`: an address matches when any term contains it.
// Empty = any address (`any`, or the key left out).
struct AddressMatch {
  std::vector<AddressTerm> terms;  // as written, duplicates removed
  bool Any() const { return terms.empty(); }
  bool operator==(const AddressMatch&) const = default;
};

// ------------------------------------------------------------------ rules

enum class Section : uint8_t { kHost, kContainers, kEgress };
std::string_view SectionName(Section section);  // "host", "containers", "egress"

enum class Action : uint8_t { kAccept, kDrop };
std::string_view ActionName(Action action);  // "accept", "drop"

// A name written in the policy, with where (services of a rule).
struct NameRef {
  std::string name;
  SourceLocation where;
  bool operator==(const NameRef&) const = default;
};

// What a `containers:` rule exposes when it names it rather than its ports:
// a Swarm service (`service: web` where `web` is not a named service, or
// `swarm_service: web`), a container (`container: api`) or a label
// (`label: com.example.expose=public`, `label: com.example.expose`) of a
// container or a service. The compiler resolves it into the published
// ports Docker reports on the node (compile/workloads.h).
struct WorkloadRef {
  enum class Kind : uint8_t { kService, kContainer, kLabel };
  Kind kind = Kind::kService;
  std::string name;   // kService, kContainer: the name; kLabel: the label's key
  std::optional<std::string> value;  // kLabel: the value it must have (unset: any)
  SourceLocation where;
  std::string ToString() const;  // "service web", "container api", "label k=v"
  bool operator==(const WorkloadRef&) const = default;
};

// One entry of a section's `allow:` or `deny:` list.
struct Rule {
  Section section = Section::kHost;
  Action action = Action::kAccept;  // allow: kAccept, deny: kDrop
  int index = 0;                    // 0-based position in its allow or deny list
  Selector on;                      // the nodes it applies to
  AddressMatch from;                // host, containers: source; egress: always Any()
  AddressMatch to;                  // egress: destination; host, containers: always Any()
  Traffic traffic;                  // from ports/proto, or the services resolved
  std::vector<NameRef> services;    // `service:` as written (empty when ports are given)
  // containers: the services, containers and labels it names. Its ports
  // are known only on a node (compile/workloads.h resolves them there);
  // anything that does not resolve them takes the rule as matching nothing.
  std::vector<WorkloadRef> workloads;
  // Its ports are the published ports of WORKLOADS, known on a node only.
  bool Unresolved() const { return !workloads.empty(); }
  std::string comment;
  SourceLocation where;          // the rule's mapping
  std::string Describe() const;  // "host allow #2 (22/tcp from admins on manager)"
  bool operator==(const Rule&) const = default;
};

// --------------------------------------------------------------- sections

struct RateLimit {
  enum class Unit : uint8_t { kSecond, kMinute, kHour, kDay };
  uint32_t count = 0;
  Unit unit = Unit::kSecond;
  std::string ToString() const;  // "8/second", as iptables' --limit takes it
  bool operator==(const RateLimit&) const = default;
};

// ICMP to the host on public interfaces. Always accepted whatever this says:
// IPv4 types 3 (destination unreachable) and 11 (time exceeded); ICMPv6
// 1-4 (errors), 133-136 (neighbour discovery, router solicitation/advert)
// and 143 (MLDv2 report).
struct IcmpPolicy {
  bool echo = true;                     // accept echo-request (ping), v4 and v6
  std::optional<RateLimit> echo_limit;  // unset: unlimited
  bool operator==(const IcmpPolicy&) const = default;
};

enum class ClusterMode : uint8_t {
  kAccept,     // everything arriving on cluster interfaces is accepted
  kSwarmOnly,  // cluster interfaces get the Swarm ports (from swarm.from) only
};

// `host:`: traffic to the node itself arriving on a public interface
// (INPUT). Order (docs/policy.md): loopback and related/established, every
// deny rule, the Swarm ports (from swarm.from), ICMP, every allow rule, drop.
struct HostPolicy {
  std::vector<Rule> rules;  // every deny rule, then every allow rule
  IcmpPolicy icmp;
  ClusterMode cluster = ClusterMode::kAccept;
  // Anything else arriving on a public interface is dropped.
  bool operator==(const HostPolicy&) const = default;
};

// `swarm:`: the Swarm ports, accepted only from `from`, on every interface.
struct SwarmPolicy {
  bool enabled = false;            // the policy has a `swarm:` section
  AddressMatch from;               // default: the `nodes` set
  bool docker_machine = false;     // also 2376/tcp (docker-machine's TLS daemon port)
  bool encrypted_overlay = false;  // allow ESP; 4789/udp only when IPsec-protected
  SourceLocation where;            // the `swarm:` key
  bool operator==(const SwarmPolicy&) const = default;
};

// `containers:`: published container ports reached from public interfaces
// (DOCKER-USER). Ports are the published (host) ports clients connect to.
struct ContainersPolicy {
  Action default_action = Action::kDrop;
  std::vector<Rule> rules;  // every deny rule, then every allow rule
  bool operator==(const ContainersPolicy&) const = default;
};

// `egress:`: containers' outbound traffic leaving through public interfaces.
struct EgressPolicy {
  Action default_action = Action::kAccept;
  std::vector<Rule> rules;  // every deny rule, then every allow rule
  bool operator==(const EgressPolicy&) const = default;
};

// ----------------------------------------------------------------- policy


struct Policy {
  int version = 1;
  std::string file;        // as named in messages
  bool ipv6 = true;        // false: no IPv6 rules at all (IPv6 entries ignored)
  bool log_drops = false;  // log (rate-limited) what the default drops
  Backend backend = Backend::kAuto;
  Interfaces interfaces;
  std::vector<AddressSet> sets;  // `nodes` first, then in the order written
  std::vector<Node> nodes;       // in the order written
  bool auto_nodes = false;       // `nodes: auto` or `auto` in the list: the agent
                                 // adds the Swarm's nodes (then call Validate)
  HostPolicy host;
  SwarmPolicy swarm;
  ContainersPolicy containers;
  EgressPolicy egress;

  const AddressSet* FindSet(std::string_view name) const;
  const Node* FindNode(std::string_view name) const;
  // The node's own interfaces, else the policy's.
  const Interfaces& InterfacesOf(const Node& node) const;
  // The node's own backend, else the policy's.
  Backend BackendOf(const Node& node) const { return node.backend.value_or(backend); }
  const std::vector<Rule>& Rules(Section section) const;
  // A containers rule names a service, container or label (WorkloadRef).
  bool HasWorkloadRules() const;
  // The rules of SECTION that apply to NODE, in evaluation order.
  std::vector<const Rule*> RulesFor(Section section, const Node& node) const;
  // The nodes (listed ones) SELECTOR selects, in policy order.
  std::vector<const Node*> NodesSelectedBy(const Selector& selector) const;
  // The CIDRs of FAMILY that MATCH stands for: sets expanded, sorted, unique.
  // Meaningless when match.Any(); an empty result then means "nothing of
  // this family" (the rule does not apply to that family).
  std::vector<Cidr> Resolve(const AddressMatch& match, Family family) const;
  bool operator==(const Policy&) const = default;
};

// What the Swarm needs open on a node of ROLE (swarm.from only):
// 2377/tcp (managers), 7946/tcp+udp, 4789/udp, and 2376/tcp with
// docker_machine. With encrypted_overlay 4789/udp is left out: the compiler
// accepts ESP and 4789/udp under an IPsec policy match instead.
Traffic SwarmTraffic(const SwarmPolicy& swarm, Role role);

// Every Swarm port any node may use, to be closed to everyone outside
// swarm.from: SwarmTraffic of a manager, plus 4789/udp with encrypted_overlay
// (there it is accepted only under IPsec).
Traffic SwarmPortsToClose(const SwarmPolicy& swarm);

// ------------------------------------------------------------------ loading

struct LoadResult {
  std::optional<Policy> policy;      // set only when there is no error
  std::vector<Diagnostic> errors;    // sorted by location
  std::vector<Diagnostic> warnings;  // sorted by location
  bool ok() const { return policy.has_value(); }
};

struct LoadOptions {
  // Where parsed address files are kept between runs (policy/address_cache.h);
  // "" for none.
  std::string address_cache_dir;
};

// Reads, checks and resolves a policy; address files are read relative to
// the policy's directory. Every problem is reported, not just the first.
LoadResult LoadPolicyFile(const std::string& path, const LoadOptions& options = {});
// The same for text in memory: NAME is used in messages, address files are
// read relative to BASE_DIR.
LoadResult LoadPolicyText(std::string_view yaml, const std::string& name,
                          const std::string& base_dir, const LoadOptions& options = {});
// Checks and resolves a policy built or changed in code, e.g. after the
// agent added the Swarm's nodes to a `nodes: auto` policy (the `nodes` set is
// recomputed). Runs the same checks as loading, minus YAML and files.
LoadResult Validate(Policy policy);

}  // namespace swarmwall::policy
