// Sets of packets for the exposure analysis: a Box is a product of interval
// sets over (protocol, source, destination, source port, destination port)
// of the packet as it arrived; a Flow is a box plus what is the same for all
// its packets (interfaces, marks, connection state, a DNAT rewrite to one
// address:port). SpaceContext answers the class-level question the walk
// needs: split a flow into parts on which a Match (or the routing decision)
// is constant. It asks the same Evaluate() trace uses, on one point of each
// part, after cutting each dimension at every value where the match's
// answer may change (the "cuts"), so its answers are exactly trace's.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "host/network.h"
#include "analyze/model/interval_set.h"
#include "analyze/model/match.h"
#include "analyze/model/packet.h"

namespace swarmwall::analyze {

enum Dim : uint8_t { kDimProto, kDimSrc, kDimDst, kDimSport, kDimDport, kDims };

struct Box {
  IntervalSet d[kDims];
  bool Empty() const {
    for (const auto& s : d)
      if (s.empty()) return true;
    return false;
  }
  bool operator==(const Box&) const = default;
};

// What all packets of a flow share.
struct FlowState {
  std::string_view in, out;
  bool in_unknown = false, out_unknown = false;   // -i / -o matches are undecidable
  // With in_unknown: names the arrival interface is known not to be (the
  // interfaces of an ipassmt, for "any other interface"); null: none.
  const std::vector<std::string>* not_in = nullptr;
  bool mark_unknown = false;                      // mark/connmark matches are undecidable
                                                  // (a filter chain alone: mangle not walked)
  bool local_origin = false;
  uint32_t mark = 0, ctmark = 0;
  uint8_t ct = kCtNew;                            // kCtNew, kCtUntracked, kCtInvalid ...
  bool dnat = false;                              // the destination is now to_addr
  netfilter::IpAddress to_addr;
  bool to_port_set = false;                       // the destination port is now to_port
  uint16_t to_port = 0;
  bool uncertain = false;                         // an undecidable match sent it here
  bool nat_bound = false;                         // a NAT rule mapped it at this hook
  int32_t hit = -1;                               // native: the rule of the chain it hit last
                                                  // (CompiledRule::after)
  bool operator==(const FlowState&) const = default;
};

struct Flow {
  Box box;
  FlowState st;
};

// Values where an answer may change, per dimension (c: c-1 and c may differ).
struct Cuts {
  std::vector<U128> at[kDims];
  bool Any() const {
    for (const auto& c : at)
      if (!c.empty()) return true;
    return false;
  }
  void Range(Dim d, U128 lo, U128 hi);   // [lo, hi] as two cuts
  void Finish();                          // sorts, removes duplicates
};

// Cuts at the protocols whose port, ICMP and TCP-flag answers may differ
// from their neighbours'.
void ProtocolCuts(Cuts& out);
// The dimension holding the packet's current destination (port): the
// arrived one, or kDims (a constant) once a DNAT set it for the flow.
Dim CurrentDst(const FlowState& st);
Dim CurrentDport(const FlowState& st);

class SpaceContext {
 public:
  SpaceContext(const host::HostNetwork& host, netfilter::Family family);

  netfilter::Family family() const { return family_; }
  const host::HostNetwork& host() const { return host_; }
  // The whole space of the family.
  Box Everything() const;

  // The packet (and its connection) at point V of flow state ST.
  PacketState Point(const FlowState& st, const U128 v[kDims]) const;
  // M's answer at point V (with ST's undecidable interfaces).
  Tri EvalAt(const Match& m, const FlowState& st, const U128 v[kDims]) const;
  // Where M's answer may change for flows in state ST. False: M cannot be
  // cut exactly (a non-contiguous mask with too many pieces): treat as unknown.
  bool MatchCuts(const Match& m, const FlowState& st, Cuts& out) const;
  // Where the routing decision (local or not, the route, martians) may change.
  const Cuts& RoutingCuts() const { return routing_cuts_; }

  // Splits BOX into parts on which CLASSIFY (called on one point of each
  // candidate part) is constant, given every value where it may change in
  // CUTS; appends (part, label) with parts merged by label as far as one
  // product allows.
  using Classify = std::function<int(const U128 v[kDims])>;
  void Split(const Box& box, const Cuts& cuts, const Classify& classify,
             std::vector<std::pair<Box, int>>& out) const;

 private:
  void AddressCuts(Dim d, Cuts& out) const;   // the host's address facts
  bool CidrCuts(Dim d, const netfilter::Cidr& c, Cuts& out) const;
  void SetCuts(const host::IpSet& set, uint64_t dirs, const FlowState& st, Cuts& out, int depth) const;

  const host::HostNetwork& host_;
  netfilter::Family family_;
  std::vector<U128> host_address_cuts_;
  Cuts routing_cuts_;
};

}  // namespace swarmwall::analyze
