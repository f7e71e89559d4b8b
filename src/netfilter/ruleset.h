// The ruleset model: what iptables-save / ip6tables-save prints, as data.
// A Ruleset holds tables, a Table chains, a Chain rules. A Rule keeps the
// base match (-s -d -i -o -p -f), its match modules with their options, and
// its target. Every option of a module we know is decoded into a typed
// Value and its canonical text; modules and targets we do not know are kept
// verbatim, so printing never loses anything.
#pragma once

#include <compare>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "netfilter/address.h"
#include "netfilter/arena.h"

namespace swarmwall::netfilter {

struct Counters {
  uint64_t packets = 0;
  uint64_t bytes = 0;
  auto operator<=>(const Counters&) const = default;
};

struct PortRange {
  uint16_t lo = 0, hi = 65535;
  bool Contains(uint16_t p) const { return p >= lo && p <= hi; }
};

// A decoded option value, 24 bytes. Which accessor is meaningful depends on
// the option (see modules.h); larger values live in the ruleset's arena.
struct Value {
  enum class Kind : uint8_t {
    kNone,       // a flag without argument
    kPorts,      // ports(): lo..hi
    kRange,      // lo..hi (numbers)
    kNumber,     // lo
    kMark,       // lo = value, hi = mask
    kBits,       // lo = a flag set (ctstate, addrtype; tcp flags: hi = mask)
    kText,       // the canonical text of the Part
    kCidr,       // cidr()
    kAddrRange,  // range_lo() .. range_hi()
    kPortList,   // list()
  };
  uint64_t lo = 0;
  union {
    uint64_t hi = 0;
    const void* ptr;     // kCidr, kAddrRange, kPortList (hi is not used there)
  };
  uint16_t count = 0;
  Kind kind = Kind::kNone;

  PortRange ports() const {
    return {static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)};
  }
  const Cidr& cidr() const { return *static_cast<const Cidr*>(ptr); }
  const IpAddress& range_lo() const { return static_cast<const IpAddress*>(ptr)[0]; }
  const IpAddress& range_hi() const { return static_cast<const IpAddress*>(ptr)[1]; }
  std::span<const PortRange> list() const {
    return {static_cast<const PortRange*>(ptr), count};
  }
};

// One element of a rule after the base match: a module (-m NAME), an option
// of the module before it, a target option, or an opaque run of tokens.
// 32 bytes: kind, negated and id sit in the tail padding of value.
struct Part {
  enum class Kind : uint8_t {
    kMatch,          // -m NAME
    kOption,         // an option of the match before it
    kOpaque,         // options of a match we do not type, verbatim
    kTargetOption,   // an option of the target
    kTargetOpaque,   // options of a target we do not type, verbatim
  };
  [[no_unique_address]] Value value;
  Kind kind = Kind::kOption;
  bool negated = false;
  uint16_t id = 0;          // module id (kMatch) or option id (options)
  Name text;                // kMatch: module name; options: canonical value
                            // text; kOpaque: the tokens, printable as is
};

// A rule's parts: a read-only array in the ruleset's arena (copying a Rule
// shares it). Reads like a const std::vector<Part>.
class PartList {
 public:
  PartList() = default;
  PartList(const Part* data, size_t size)
      : data_(data), size_(static_cast<uint32_t>(size)) {}
  const Part* begin() const { return data_; }
  const Part* end() const { return data_ + size_; }
  const Part* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const Part& operator[](size_t i) const { return data_[i]; }
  const Part& at(size_t i) const;
  const Part& front() const { return data_[0]; }
  const Part& back() const { return data_[size_ - 1]; }
  operator std::span<const Part>() const { return {data_, size_}; }

 private:
  const Part* data_ = nullptr;
  uint32_t size_ = 0;
};

enum class TargetKind : uint8_t {
  kNone,      // no -j: the rule only counts
  kAccept, kDrop, kReturn, kQueue,
  kChain,     // a user chain (jump or goto)
  kExtension, // a target module: REJECT, DNAT, LOG, ... (typed or opaque)
};

// 104 bytes.
struct Rule {
  Counters counters;

  // 0.0.0.0/0 (or ::/0) and not negated means "any" and is not printed.
  Cidr source, destination;
  uint16_t protocol = 0;                          // 0 = all
  uint16_t target_id = 0;    // module id for typed extension targets
  TargetKind target_kind = TargetKind::kNone;
  int8_t fragment = 0;                            // 0 none, 1 -f, -1 ! -f
  bool has_counters : 1 = false;
  bool source_negated : 1 = false;
  bool destination_negated : 1 = false;
  bool in_negated : 1 = false;
  bool out_negated : 1 = false;
  bool protocol_negated : 1 = false;
  bool is_goto : 1 = false;
  bool target_unreadable : 1 = false;   // ParseOptions::lenient: its options could not be read

  Name in_interface, out_interface;   // "" = any; may end in '+'
  Name target;               // target or chain name as written canonically

  // matches and their options, then target options
  [[no_unique_address]] PartList parts;
  uint32_t line = 0;         // source line, for messages (0 if built in code)

  // Convenience for the analyzer and explain.
  const Part* FindMatch(std::string_view module) const;
  const Part* FindOption(uint16_t option_id) const;
};

struct Chain {
  std::string_view name;
  bool builtin = false;
  std::string_view policy;   // "ACCEPT"/"DROP" for builtins, "" for user chains
  Counters counters;
  std::vector<Rule> rules;
};

// Name -> position in a table's chains, by hash. It is valid for the exact
// vector it was built for (same data pointer and size). Table::FindChain
// rebuilds a stale one (const: scans instead), checks every hit against the
// chain's name and confirms a miss with a scan, so it stays right whatever
// code does to the chains; only the parser's own lookups trust a miss.
class ChainIndex {
 public:
  bool Valid(const std::vector<Chain>& chains) const {
    return data_ == chains.data() && size_ == chains.size();
  }
  // With room for EXPECTED chains without growing.
  void Rebuild(const std::vector<Chain>& chains, size_t expected = 0);
  // chains.back() was just appended to a vector the index was valid for.
  void Added(const std::vector<Chain>& chains);
  // Position of NAME in CHAINS (for which the index must be valid), or -1.
  long Find(const std::vector<Chain>& chains, std::string_view name) const;
  size_t MemoryBytes() const { return slots_.capacity() * sizeof(uint64_t); }

 private:
  void Insert(uint64_t hash, size_t position);
  std::vector<uint64_t> slots_;   // hash's top 32 bits << 32 | position + 1
  const Chain* data_ = nullptr;
  size_t size_ = 0;
};

struct Table {
  std::string_view name;
  std::vector<Chain> chains;
  ChainIndex chain_index;   // see ChainIndex; the parser keeps it in step

  Chain* FindChain(std::string_view name);
  const Chain* FindChain(std::string_view name) const;
};

class Ruleset {
 public:
  Ruleset() : arena_(std::make_shared<Arena>()) {}

  Family family = Family::kIPv4;
  std::vector<Table> tables;

  Table* FindTable(std::string_view name);
  const Table* FindTable(std::string_view name) const;
  const Chain* FindChain(std::string_view table, std::string_view chain) const;
  size_t RuleCount() const;

  // Keeps TEXT (or an array of trivially copyable T) alive as long as this
  // ruleset and its copies live.
  std::string_view Store(std::string_view text) { return arena_->Store(text); }
  Name StoreName(std::string_view text) { return arena_->StoreName(text); }
  template <typename T>
  const T* StoreArray(std::span<const T> items) {
    return arena_->StoreArray(items);
  }
  Arena& arena() { return *arena_; }
  // Memory held by the model (approximate): arena plus vectors.
  size_t MemoryBytes() const;

 private:
  std::shared_ptr<Arena> arena_;
};

}  // namespace swarmwall::netfilter
