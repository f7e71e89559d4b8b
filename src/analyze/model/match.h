// The semantics of every match of the ruleset model, in one place. A rule's
// base match (-s -d -i -o -p -f) and each typed option become one Match of a
// MatchKind with its parameters decoded once (set names resolved against the
// host's ipsets, interface wildcards split off). Evaluate() answers for one
// concrete packet, three-valued: kUnknown for what cannot be decided from the
// packet and the host's facts (unknown modules, rate and history matches),
// each with a reason. The exposure analysis will ask the same Match about
// classes of packets, so nothing else in the analyzer interprets matches.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "host/network.h"
#include "analyze/model/packet.h"
#include "netfilter/ruleset.h"

namespace swarmwall::analyze {

enum class MatchKind : uint8_t {
  kSource, kDestination,          // cidr
  kInInterface, kOutInterface,    // text (+ wildcard: flag kPrefix)
  kProtocol,                      // a = protocol number (0 = all)
  kFragment,                      // -f: never a fragment here
  kSrcPort, kDstPort,             // a..b
  kSrcPorts, kDstPorts, kAnyPorts,// multiport list (ptr, count)
  kTcpFlags,                      // a = comp, b = mask
  kTcpOption,                     // unknown (options are not modelled)
  kIcmpType,                      // a = type, b = code lo << 8 | code hi
  kCtState,                       // a = bits (ctstate / state)
  kCtProto,                       // a = protocol
  kCtOrigSrc, kCtOrigDst, kCtReplSrc, kCtReplDst,      // cidr
  kCtOrigSrcPort, kCtOrigDstPort, kCtReplSrcPort, kCtReplDstPort,  // a..b
  kSet,                           // set (ptr), a = direction bits (bit k: dst)
  kSrcType, kDstType,             // a = addrtype bits, flags kLimitIn/kLimitOut
  kSrcRange, kDstRange,           // ptr = two IpAddress
  kMark, kConnmark,               // a = value, b = mask
  kPktType,                       // a = 0 unicast, 1 broadcast, 2 multicast, 3 otherhost
  kPolicyNone,                    // policy --pol none (true) / ipsec (false): a
  kAlways,                        // comment, limit, hashlimit-upto: true
  kNft,                           // a native nftables match: ptr = NftCondition (nft_match.h)
  kUnknown,                       // text: the match, why: the reason
};

struct Match {
  MatchKind kind = MatchKind::kAlways;
  bool negated = false;
  uint8_t flags = 0;
  uint16_t count = 0;
  uint64_t a = 0, b = 0;
  netfilter::Cidr cidr;
  const void* ptr = nullptr;
  std::string_view text;          // interface name, set name, unknown text
  std::string_view why;           // kUnknown: why (static text)
  std::string_view module, option;   // kUnknown: where it comes from (for reports)

  enum Flags : uint8_t {
    kPrefix = 1, kLimitIn = 2, kLimitOut = 4,
    kReturnNomatch = 8,      // set: --return-nomatch
    kConntrackOption = 16,   // an option of -m conntrack other than --ctstate
    kNoConnTrue = 32,        // ... whose instance has --ctstate: true without a connection
  };
};

// A rule's matches in evaluation order (the kernel evaluates the base match
// first, then the modules in order; all must hold).
// Appends RULE's matches to OUT; HOST resolves set names.
void CompileMatches(const netfilter::Rule& rule, netfilter::Family family,
                    const host::HostNetwork& host, std::vector<Match>& out);

// One match against one packet.
Tri Evaluate(const Match& m, const PacketState& s, const host::HostNetwork& host);

// Interface NAME against a rule's PATTERN ("eth+" matches every name that
// starts with "eth").
bool InterfaceMatches(std::string_view pattern, bool prefix, std::string_view name);

// The address type bits (addrtype's names) of A on HOST; LIMIT_TO: only
// addresses on that interface count as LOCAL ("" = any).
uint64_t AddressTypeBits(const netfilter::IpAddress& a, const host::HostNetwork& host,
                         std::string_view limit_to, bool limit);

// Human text of a match for reports ("-m statistic --mode random ...").
std::string DescribeMatch(const Match& m);

}  // namespace swarmwall::analyze
