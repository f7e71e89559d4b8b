// The ruleset model: what iptables-save / ip6tables-save prints, as data.
// A Ruleset holds tables, a Table chains, a Chain rules. A Rule keeps the
// base match (-s -d -i -o -p -f), its match modules with their options, and
// its target. Every option of a module we know is decoded into a typed
// Value and its canonical text; modules and targets we do not know are kept
// verbatim, so printing never loses anything.
#pragma once

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

// A decoded option value, 32 bytes. Which accessor is meaningful depends on
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
  Kind kind = Kind::kNone;
  uint32_t count = 0;
  uint64_t lo = 0, hi = 0;
  const void* ptr = nullptr;

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
struct Part {
  enum class Kind : uint8_t {
    kMatch,          // -m NAME
    kOption,         // an option of the match before it
    kOpaque,         // options of a match we do not type, verbatim
    kTargetOption,   // an option of the target
    kTargetOpaque,   // options of a target we do not type, verbatim
  };
  Kind kind = Kind::kOption;
  bool negated = false;
  uint16_t id = 0;          // module id (kMatch) or option id (options)
  std::string_view text;    // kMatch: module name; options: canonical value
                            // text; kOpaque: the tokens, printable as is
  Value value;
};

enum class TargetKind : uint8_t {
  kNone,      // no -j: the rule only counts
  kAccept, kDrop, kReturn, kQueue,
  kChain,     // a user chain (jump or goto)
  kExtension, // a target module: REJECT, DNAT, LOG, ... (typed or opaque)
};

struct Rule {
  Counters counters;
  bool has_counters = false;

  // 0.0.0.0/0 (or ::/0) and not negated means "any" and is not printed.
  Cidr source, destination;
  bool source_negated = false, destination_negated = false;
  std::string_view in_interface, out_interface;   // "" = any; may end in '+'
  bool in_negated = false, out_negated = false;
  uint16_t protocol = 0;                          // 0 = all
  bool protocol_negated = false;
  int8_t fragment = 0;                            // 0 none, 1 -f, -1 ! -f

  std::vector<Part> parts;   // matches and their options, then target options

  TargetKind target_kind = TargetKind::kNone;
  bool is_goto = false;
  std::string_view target;   // target or chain name as written canonically
  uint16_t target_id = 0;    // module id for typed extension targets

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

struct Table {
  std::string_view name;
  std::vector<Chain> chains;

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
  template <typename T>
  const T* StoreArray(std::span<const T> items) {
    return arena_->StoreArray(items);
  }
  // Memory held by the model (approximate): arena plus vectors.
  size_t MemoryBytes() const;

 private:
  std::shared_ptr<Arena> arena_;
};

}  // namespace swarmwall::netfilter
