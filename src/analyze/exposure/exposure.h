// swarmwall exposure: what a host's ruleset lets in, computed symbolically
// over every packet (not sampled). For each arrival interface and each class
// of source addresses: which protocols and destination ports reach the host
// itself (INPUT) and which reach which container address:port through which
// published port (DNAT, then FORWARD), for new connections. Sources that are
// treated alike are merged into one class; a ServiceMatrix is the same for
// one fixed protocol and port as a partition of the address space into
// classes and edges "class A may reach class B" (fffuu's service matrices).
//
// The engine walks the hooks as trace does (raw, conntrack, mangle, nat
// PREROUTING with DNAT/REDIRECT, the routing decision, filter INPUT or
// FORWARD, nat POSTROUTING) with SETS of packets: products of interval sets
// over (protocol, source, destination, source port, destination port),
// split at each rule by the same Match semantics trace uses. A match that
// cannot be decided (statistic, recent, mac, ...) sends the packets both
// ways; the result then holds an over-approximation (reached under some
// reading of the unknown matches) and an under-approximation (reached under
// every reading), and says which entries are which.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "host/network.h"
#include "analyze/model/interval_set.h"
#include "analyze/model/ipassmt.h"
#include "analyze/trace/trace.h"
#include "netfilter/address.h"
#include "netfilter/ruleset.h"

namespace swarmwall::analyze {

// An inclusive range of destination (or source) ports.
struct PortSpan {
  uint16_t lo = 0, hi = 65535;
  bool operator==(const PortSpan&) const = default;
};

// How sure an entry is.
enum class Reach : uint8_t {
  kExact,   // no undecidable match was involved: reached, exactly
  kUnder,   // undecidable matches were met, but it is reached whatever they
            // answer (part of the under-approximation, and of the over one)
  kOver,    // reached only under some answers of undecidable matches (part of
            // the over-approximation only)
};
const char* ReachName(Reach r);   // "exact", "under", "over"

// Where the packets of an entry end.
struct ExposureTarget {
  enum Kind : uint8_t {
    kHost,        // delivered to the host itself (INPUT): addresses = the
                  // local destination addresses reached
    kContainer,   // DNATed (published port) and forwarded: to_address:to_port,
                  // addresses = the published (original) destination addresses
    kForward,     // forwarded without DNAT: addresses = destinations reached
  };
  Kind kind = kHost;
  std::vector<netfilter::Cidr> addresses;   // original destinations, as CIDRs
  netfilter::IpAddress to_address;          // kContainer: the DNAT target
  uint16_t to_port = 0;                     // kContainer: 0 = port unchanged
  std::string out_interface;                // kContainer/kForward ("" unknown)
  bool operator==(const ExposureTarget&) const = default;
};

// One row of the matrix: sources of one class reach TARGET with PROTOCOL on
// PORTS (the destination ports as the client addresses them, that is the
// published port for kContainer).
struct ExposureEntry {
  std::vector<netfilter::Cidr> sources;     // the source class, as CIDRs
  uint16_t protocol = 6;                    // 6 tcp, 17 udp, 132 sctp, 1 icmp, 58 icmpv6, ...
  uint16_t protocol_last = 0;               // 0: PROTOCOL alone; else the last of a range
                                            // PROTOCOL..PROTOCOL_LAST of protocols no rule
                                            // names (treated alike)
  std::vector<PortSpan> ports;              // empty for protocols without ports
  ExposureTarget target;
  Reach reach = Reach::kExact;
};

struct InterfaceExposure {
  std::string interface;                    // the arrival interface
  std::vector<ExposureEntry> entries;       // sorted: target, protocol, ports, sources
};

// Every undecidable match met, once.
struct ExposureUnknown {
  std::string table, chain;
  int rule_number = 0;
  std::string rule;                         // the rule's text
  std::string what, why;
};

struct FamilyExposure {
  netfilter::Family family = netfilter::Family::kIPv4;
  std::vector<InterfaceExposure> interfaces;
  std::vector<ExposureUnknown> unknowns;
  bool truncated = false;                   // the flow limit was hit: partial
  size_t flows = 0;                         // packet sets walked (a cost figure)
  // True when no undecidable match was met: over == under == exact.
  bool Exact() const { return unknowns.empty() && !truncated; }
};

struct ExposureOptions {
  // Which part of the path: the whole arrival path (raw ... nat ... routing
  // ... INPUT/FORWARD ... POSTROUTING), or one built-in chain of the filter
  // table alone as fffuu analyses it (its jumps are followed; no NAT, no
  // routing: every destination; -o from the routes when the host facts have
  // them, else undecidable).
  enum class Scope : uint8_t { kHost, kFilterInput, kFilterForward };
  Scope scope = Scope::kHost;
  std::vector<std::string> interfaces;      // arrival interfaces (empty: every
                                            // interface of the host or of IPASSMT,
                                            // lo excluded in kHost scope)
  std::vector<netfilter::Cidr> from;        // only these sources (empty: all)
  std::optional<uint16_t> protocol;         // only this protocol
  std::vector<PortSpan> dports;             // only these destination ports (empty: all)
  std::vector<PortSpan> sports;             // only these source ports (empty: all; fffuu
                                            // takes 10000)
  // Interface -> source addresses (fffuu's ipassmt): packets arriving on an
  // interface come only from its addresses. Null: any source on any
  // interface.
  const IpAssignment* ipassmt = nullptr;
  uint8_t state = kCtNew;                   // connection state of the packets (NEW)
  size_t max_flows = 20'000'000;            // packet sets walked before giving up
};

// The exposure of MODEL's family. The model's ruleset and host must outlive
// the call only.
FamilyExposure ComputeExposure(const TraceModel& model, const ExposureOptions& options);

// fffuu's service matrix for one protocol and destination port: a partition
// of the address space into classes (addresses treated alike as source and
// as destination in the over-approximation: the coarsest such partition, as
// fffuu's) and the edges class -> class of the packets accepted
// (scope kFilterForward: accepted by the chain; kHost: delivered or
// forwarded; the destination is the original one). Source port 10000 as
// fffuu takes it is irrelevant here: every source port is covered, and an
// edge holds when some source port passes (over) / every one of them does
// (under only in edges_under).
struct ServiceMatrix {
  netfilter::Family family = netfilter::Family::kIPv4;
  uint16_t protocol = 6, port = 0;
  std::vector<std::vector<netfilter::Cidr>> classes;
  std::vector<std::pair<int, int>> edges;        // over-approximation (== exact
                                                 // when there are no unknowns)
  std::vector<std::pair<int, int>> edges_under;  // under-approximation: every
                                                 // address of A reaches every one of B
  std::vector<ExposureUnknown> unknowns;
  bool truncated = false;
};
ServiceMatrix ComputeServiceMatrix(const TraceModel& model, uint16_t protocol, uint16_t port,
                                   const ExposureOptions& options);

// The world: every address minus the private and special ranges (IPv4:
// 0.0.0.0/0 minus 0/8, 10/8, 100.64/10, 127/8, 169.254/16, 172.16/12,
// 192.168/16, 224/4, 240/4; IPv6: ::/0 minus ::/128, ::1/128, fc00::/7,
// fe80::/10, ff00::/8). Documentation ranges (198.51.100/24, 2001:db8::/32)
// count as the world: the tests' strangers come from there.
std::vector<netfilter::Cidr> WorldRanges(netfilter::Family family);
// True when SOURCES (a class) overlap the world.
bool TouchesWorld(const std::vector<netfilter::Cidr>& sources);

// Swarm and Docker API ports (2375, 2376, 2377, 7946, 4789) that ENTRY
// exposes (over-approximation) to the world: the first such port, or 0.
uint16_t ExposedControlPort(const ExposureEntry& entry);

// The addresses of CIDRS of family F (others skipped) as numbers.
IntervalSet FromCidrs(const std::vector<netfilter::Cidr>& cidrs, netfilter::Family f);

}  // namespace swarmwall::analyze
