// The nftables ruleset model: what `nft -j list ruleset` prints (libnftables'
// JSON), as validated, typed data. Tables hold chains (base chains with
// their hook, type and priority), named sets and maps with their elements,
// and rules as lists of statements. Symbolic constants ("tcp",
// "established", "local", "echo-request") are resolved to numbers when read,
// so the analyzer compares numbers only. What the model does not know (a
// selector, a statement) is kept as kUnknown with its JSON text: the
// analyzer treats it as undecidable, never as absent.
//
// Read from JSON only (nft_json.h); nftables text goes through libnftables
// itself (host/nftables.h), never through a grammar of ours.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "netfilter/address.h"

namespace swarmwall::netfilter {

enum class NftFamily : uint8_t { kIp, kIp6, kInet, kArp, kBridge, kNetdev };
std::string_view NftFamilyName(NftFamily f);

// What a match reads from the packet, its connection or the host.
struct NftSelector {
  enum Kind : uint8_t {
    kIpSaddr, kIpDaddr, kIpProtocol, kIp6Saddr, kIp6Daddr, kIp6Nexthdr,
    kSport, kDport,                 // protocol: 6 tcp, 17 udp, 0 th (any transport)
    kTcpFlags, kIcmpType, kIcmpCode, kIcmpv6Type, kIcmpv6Code,
    kIifname, kOifname,             // also meta iif / oif (shown by name)
    kL4proto, kNfproto, kMark, kPkttype,
    kCtState, kCtStatus, kCtMark, kCtDirection, kCtL3proto, kCtProtocol,
    kCtSaddr, kCtDaddr, kCtProtoSrc, kCtProtoDst,   // reply: `reply` is set
    kFibDaddrType,                  // fib daddr [. iif/oif] type
    kFibSaddrType,
    kIpsec,                         // meta ipsec (exists / missing)
    kUnknown,                       // text: the JSON
  };
  Kind kind = kUnknown;
  uint16_t protocol = 0;            // kSport/kDport: 6, 17, 0 (th)
  bool reply = false;               // ct ... reply
  bool fib_iif = false, fib_oif = false;   // fib's . iif / . oif
  uint64_t mask = ~uint64_t{0};     // `selector & mask` (numbers only)
  std::string text;                 // as nft shows it ("ip saddr"), or the JSON
};

// The value type a selector compares: numbers (ports, marks, states, ...),
// addresses, interface names.
enum class NftValueType : uint8_t { kNumber, kAddress, kName };
NftValueType ValueTypeOf(NftSelector::Kind k);
// True for selectors whose values are bit flags (ct state, ct status, tcp
// flags): `in` and a bare list mean "any of these bits".
bool IsFlagSelector(NftSelector::Kind k);

// One part of a key: an inclusive range of numbers or addresses, or an
// interface name (wildcard: "eth*" matches every name starting with "eth").
struct NftPart {
  uint64_t lo = 0, hi = 0;          // kNumber
  IpAddress addr_lo, addr_hi;       // kAddress
  std::string name;                 // kName
  bool wildcard = false;            // kName: name is a prefix
};

struct NftVerdict {
  enum Kind : uint8_t { kNone, kAccept, kDrop, kContinue, kReturn, kJump, kGoto, kQueue };
  Kind kind = kNone;
  std::string chain;                // kJump / kGoto
  int chain_index = -1;             // in the table's chains (resolved when read)
};

// One element of a set (key only), a verdict map (key -> verdict) or an
// anonymous set; a key has one part per selector of a concatenation.
struct NftElement {
  std::vector<NftPart> key;
  NftVerdict verdict;               // verdict maps
};

struct NftSet {
  std::string name;
  bool is_map = false;
  bool verdict_map = false;         // map ... : verdict
  std::vector<NftValueType> key_types;
  std::vector<NftElement> elements;
  bool empty_known = false;         // listed without elements: it holds none
};

struct NftStatement {
  enum Kind : uint8_t {
    kMatch,                         // key op right
    kVerdict,                       // accept, drop, jump X, ...
    kVmap,                          // key vmap { ... } / @map
    kReject,
    kDnat, kSnat, kMasquerade, kRedirect,
    kSetMark,                       // meta mark set VALUE (or ct mark: from_ct)
    kSetCtMark,                     // ct mark set VALUE (or meta mark: from_meta)
    kNotrack,
    kNoEffect,                      // counter, log, comment-like: continue
    kLimit,                         // limit rate (over: `negated`): undecidable when over
    kUnknown,                       // a statement we do not know: its effect is undecidable
  };
  Kind kind = kNoEffect;
  enum Op : uint8_t { kEq, kNe, kLt, kGt, kLe, kGe, kAnyBits };   // kAnyBits: (x & v) != 0
  Op op = kEq;
  std::vector<NftSelector> key;     // kMatch / kVmap: one, or a concatenation
  std::vector<NftElement> values;   // the right side: one element, or an anonymous set
  int set = -1;                     // ... or a named set/map of the table (index)
  bool negated = false;             // `!= @set`, limit over
  NftVerdict verdict;               // kVerdict
  // NAT: kDnat/kSnat: an address range (has_addr) and a port range (0,0: keep)
  bool has_addr = false;
  IpAddress addr_lo, addr_hi;
  uint16_t port_lo = 0, port_hi = 0;
  // NAT in an inet table with a family (`dnat ip to ...`), reject of type
  // icmp / icmpv6: only that family's packets (4, 6; 0: both). A reject
  // `with tcp reset` applies to TCP only (nft lists neither dependency).
  uint8_t only_family = 0;
  bool tcp_only = false;
  // kSetMark / kSetCtMark: value, or copied from the other mark
  uint64_t value = 0;
  bool from_other = false;
  std::string text;                 // for reports; the JSON for kUnknown
};

struct NftRule {
  uint64_t handle = 0;
  std::string comment;
  std::vector<NftStatement> statements;
  std::string text;                 // nft-like text, for reports
};

struct NftChain {
  std::string name;
  uint64_t handle = 0;
  bool base = false;
  std::string type;                 // "filter", "nat", "route"
  std::string hook;                 // "prerouting", "input", "forward", "output",
                                    // "postrouting", "ingress", ...
  int priority = 0;
  NftVerdict::Kind policy = NftVerdict::kAccept;
  std::vector<NftRule> rules;
};

struct NftTable {
  NftFamily family = NftFamily::kIp;
  std::string name;
  uint64_t handle = 0;
  std::vector<NftChain> chains;
  std::vector<NftSet> sets;
  int FindChain(std::string_view name) const;
  int FindSet(std::string_view name) const;
};

struct NftRuleset {
  std::vector<NftTable> tables;
  std::string nft_version;          // metainfo (nft's version), "" when absent
  bool Empty() const { return tables.empty(); }
  size_t RuleCount() const;
};

// True when TABLE is one of iptables-nft's own (filter, nat, mangle, raw,
// security of family ip or ip6): iptables-save shows it better.
bool IsXtablesTable(const NftTable& table);

}  // namespace swarmwall::netfilter
