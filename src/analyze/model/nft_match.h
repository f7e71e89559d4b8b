// The semantics of an nftables match (one `selector op value` statement, or
// one element of a verdict map) against one packet, and where its answer
// can change over a space of packets. A Match of kind kNft points at an
// NftCondition; Evaluate() and SpaceContext::MatchCuts() send it here, so
// trace and exposure read native rules through the same Match as iptables
// rules.
#pragma once

#include <string>
#include <vector>

#include "analyze/model/packet.h"
#include "host/network.h"
#include "netfilter/nft_ruleset.h"

namespace swarmwall::analyze {

struct Cuts;
struct FlowState;

struct NftCondition {
  std::vector<netfilter::NftSelector> key;          // one, or a concatenation
  netfilter::NftStatement::Op op = netfilter::NftStatement::kEq;
  const std::vector<netfilter::NftElement>* values = nullptr;   // anonymous or a named set's
  const netfilter::NftElement* element = nullptr;   // one element of a verdict map (== it)
  bool has_values = true;                           // false: a set of a type we do not model
  std::string text;
  bool ReadsInterface(bool in) const;
  bool ReadsMark() const;
  // fib ... type / pkttype: the answer changes at the host's address boundaries.
  bool ReadsAddressType(bool source) const;
};

Tri EvaluateNft(const NftCondition& c, const PacketState& s, const host::HostNetwork& host);
// Adds the values where C's answer may change for flows in ST (see packet_space.h).
void NftCuts(const NftCondition& c, const FlowState& st, netfilter::Family family, Cuts& out);

}  // namespace swarmwall::analyze
