// swarmwall trace: the path of one packet through a host's netfilter hooks.
// A TraceModel is a ruleset compiled once against a host's facts (matches
// decoded, jumps resolved to chain positions, NAT and MARK targets decoded);
// Trace() then follows a packet through raw, conntrack, mangle, nat, the
// routing decision, filter and security, the way the kernel does, and says
// which rules it met, what NAT did, and where it ends: delivered to a local
// port, forwarded out of an interface, dropped or rejected. A match the model
// cannot decide forks the trace: every combination is followed (up to a
// limit), so the verdict is a set ("ACCEPT or DROP") when they disagree.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "host/network.h"
#include "analyze/model/match.h"
#include "analyze/model/packet.h"
#include "netfilter/ruleset.h"

namespace swarmwall::analyze {

// A decoded target.
struct Action {
  enum Kind : uint8_t {
    kNone,        // no -j, LOG, NFLOG, TRACE, TCPMSS, ...: continue
    kAccept, kDrop, kReject, kReturn, kJump, kGoto, kQueue,
    kDnat, kSnat, kMasquerade, kRedirect, kNetmap,
    kMark, kConnmark, kNotrack,
    kUnknown,     // a target we do not know: continue, ACCEPT or DROP
  };
  Kind kind = kNone;
  int chain = -1;                   // kJump/kGoto: index in the table's chains
  // NAT: address range (addr_lo == addr_hi for one), port range (0,0: keep)
  bool has_addr = false;
  netfilter::IpAddress addr_lo, addr_hi;
  uint16_t port_lo = 0, port_hi = 0;
  netfilter::Cidr netmap;
  // kMark/kConnmark: x = (x & ~mask) ^ value; kConnmark save/restore: mode
  uint32_t value = 0, mask = 0, nfmask = 0xffffffff, ctmask = 0xffffffff;
  uint8_t mode = 0;                 // kConnmark: 0 set, 1 save, 2 restore
};

struct CompiledRule {
  const netfilter::Rule* rule = nullptr;        // an iptables rule, or
  const netfilter::NftRule* nft_rule = nullptr; // a native nftables rule (native_tables.h)
  uint32_t first_match = 0, match_count = 0;   // in CompiledChain::matches
  Action action;
  int number = 0;         // native: the nft rule's position in its chain (1-based)
  int after = -1;         // native: applies only when the compiled rule at this
                          // index hit (a side effect in the middle of an nft rule)
  std::string_view unknown_action;   // native: the statement of an kUnknown action
};

// Which rules of a long chain can match a packet at all, by one field: the
// rules that require one exact destination, source or (protocol, port) sit
// in a bucket of that value, the others in `wild`. Rules outside the
// packet's bucket and `wild` cannot match it, so the fast path skips them;
// the order of the rules met is kept. Built for chains of 16 rules or more.
struct RuleIndex {
  enum Field : uint8_t { kDestination, kSource, kPort } field = kDestination;
  struct Span {
    const uint32_t* begin = nullptr;
    const uint32_t* end = nullptr;
  };
  // Open addressing over the buckets (end == 0: empty slot); the rule
  // numbers of every bucket are runs of `lists`.
  struct Slot {
    uint64_t key = 0;
    uint32_t begin = 0, end = 0;
  };
  std::vector<Slot> slots;
  std::vector<uint32_t> lists;
  std::vector<uint32_t> wild;
  size_t buckets = 0;
  static uint64_t Key(Field f, const Packet& p);
  void Build(const std::unordered_map<uint64_t, std::vector<uint32_t>>& by_key);
  Span Find(uint64_t key) const;
  // The first rule at or after FROM that the packet (its bucket) may match.
  size_t Next(Span bucket, size_t from, size_t end) const;
};

struct CompiledChain {
  std::string_view name;
  bool builtin = false;                 // a base chain (iptables: built-in)
  int priority = 0;                     // native base chains (iptables: by table)
  bool nat = false;                     // a nat base chain
  std::string_view hook;                // native base chains: "prerouting", ...
  uint64_t handle = 0;                  // native: creation order within the table
  Action::Kind policy = Action::kAccept;
  std::vector<CompiledRule> rules;
  std::vector<Match> matches;
  std::unique_ptr<RuleIndex> index;   // long chains only
};

struct CompiledTable {
  std::string_view name;                // "filter", or "inet docker-bridges" (native)
  bool native = false;
  uint64_t handle = 0;                  // native: creation order among tables
  std::vector<CompiledChain> chains;
  int hooks[5] = {-1, -1, -1, -1, -1};   // PREROUTING INPUT FORWARD OUTPUT POSTROUTING
  int Find(std::string_view chain) const;
};

// Where the packet ends.
enum class Fate : uint8_t {
  kLocal,       // delivered to a local socket (address:port on this host)
  kForward,     // forwarded out of an interface
  kSent,        // generated locally, sent out of an interface
  kDrop,        // a DROP rule or policy
  kReject,      // a REJECT rule (the sender gets an error)
  kQueue,       // handed to a userspace queue (NFQUEUE/QUEUE)
  kNoRoute,     // no route (or an unreachable/blackhole route)
  kMartian,     // a loopback or local address where the kernel refuses it
  kNotForwarded,// routed, but forwarding is off
};
const char* FateName(Fate f);
inline bool Accepted(Fate f) {
  return f == Fate::kLocal || f == Fate::kForward || f == Fate::kSent;
}

struct TraceStep {
  enum Kind : uint8_t { kRule, kPolicy, kEvent } kind = kRule;
  std::string_view table, chain;
  int rule_number = 0;              // 1-based within the chain (kRule)
  const netfilter::Rule* rule = nullptr;
  std::string_view nft_text;        // a native rule's text (rule is null)
  Tri matched = Tri::kFalse;        // kUnknown: a match was undecidable; the
                                    // trace took the branch in `assumed`
  bool assumed = false;
  std::string note;                 // what happened ("jump DOCKER", "DNAT to ...")
  int depth = 0;                    // call depth (jumps)
};

struct Outcome {
  Fate fate = Fate::kDrop;
  Packet final_packet;              // after every rewrite
  std::string where;                // "table/chain rule N" that decided, or the hook
  bool operator==(const Outcome& o) const {
    return fate == o.fate && where == o.where && final_packet.dst == o.final_packet.dst &&
           final_packet.dport == o.final_packet.dport && final_packet.src == o.final_packet.src &&
           final_packet.out == o.final_packet.out;
  }
};

struct UnknownMatch {
  std::string_view table, chain;
  int rule_number = 0;
  const netfilter::Rule* rule = nullptr;
  std::string_view nft_text;        // a native rule's text (rule is null)
  std::string what, why;
};

struct TraceResult {
  std::vector<TraceStep> steps;     // the first path (undecidable matches: no match)
  Outcome outcome;                  // of that path
  std::vector<Outcome> alternatives;   // other outcomes possible under unknowns
  std::vector<UnknownMatch> unknowns;  // every undecidable match met
  bool truncated = false;           // more than the path limit; alternatives partial
  std::vector<std::string> rewrites;   // "DNAT 203.0.113.11:80 -> 172.17.0.3:80"
  // Every outcome possible (the first, then the alternatives).
  bool Definite() const { return alternatives.empty() && !truncated; }
};

struct TraceInput {
  Packet packet;                    // in: the arrival interface (or local origin)
  uint8_t state = kCtNew;           // kCtNew, kCtEstablished, kCtRelated, kCtInvalid
  bool local_origin = false;        // sent by the host itself (OUTPUT path)
};

// One base chain at a hook, in the order the kernel runs them: by
// priority, nat chains together at the NAT hook's own priority (the kernel
// registers them behind one NAT hook and runs them in their priority order
// until one sets up a mapping), equal priorities by creation order.
struct HookEntry {
  int table = -1, chain = -1;
  int priority = 0;                 // where it runs (nat chains: the NAT hook's)
  bool nat = false;
};

// iptables tables' priorities at each hook (nat: the NAT hook's).
int XtablesPriority(std::string_view table, int slot);
// The priority of conntrack at PREROUTING and OUTPUT: chains before it see
// no connection (ct state invalid), and only they can make a packet untracked.
inline constexpr int kConntrackPriority = -200;

struct NativeStore;

class TraceModel {
 public:
  // RULESET and HOST must outlive the model. HOST.nftables's tables of the
  // ruleset's family run beside it, each base chain at its hook and priority.
  TraceModel(const netfilter::Ruleset& ruleset, const host::HostNetwork& host);
  ~TraceModel();
  TraceModel(const TraceModel&) = delete;
  TraceModel& operator=(const TraceModel&) = delete;

  // The full trace with every rule met.
  TraceResult Trace(const TraceInput& input) const;
  // Only the outcome of the first path, recording nothing (the fast path).
  Outcome Verdict(const TraceInput& input) const;

  const host::HostNetwork& host() const { return host_; }
  netfilter::Family family() const { return family_; }
  const CompiledTable* table(std::string_view name) const;
  const std::vector<CompiledTable>& tables() const { return tables_; }
  // The base chains at hook SLOT (0 PREROUTING .. 4 POSTROUTING), in order.
  const std::vector<HookEntry>& Schedule(int slot) const { return schedule_[slot]; }
  // Native tables the model leaves out (netdev, bridge, arp), for reports.
  const std::vector<std::string>& Unmodelled() const { return unmodelled_; }

 private:
  friend class Tracer;
  const host::HostNetwork& host_;
  netfilter::Family family_;
  std::vector<CompiledTable> tables_;
  std::vector<HookEntry> schedule_[5];
  std::unique_ptr<NativeStore> native_;
  std::vector<std::string> unmodelled_;
};

}  // namespace swarmwall::analyze
