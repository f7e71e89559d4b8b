// The symbolic walk of the exposure analysis: sets of packets arriving on
// one interface, followed through a TraceModel's hooks the way trace
// follows one packet (raw, conntrack, mangle, nat PREROUTING with DNAT and
// REDIRECT, the routing decision, INPUT or FORWARD and POSTROUTING; or one
// filter chain alone), split at every rule into the part that matches and
// the part that does not. An undecidable match sends its part both ways,
// marked uncertain. The result is the list of outcomes: each a box of
// arrived packets, where they end, and whether an undecidable match was
// involved.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "analyze/exposure/exposure.h"
#include "analyze/model/nft_match.h"
#include "analyze/model/packet_space.h"
#include "analyze/trace/trace.h"

namespace swarmwall::analyze {

struct FlowOutcome {
  Box box;                     // the packets, as they arrived
  FlowState st;                // their state at the end (DNAT, out interface)
  bool accepted = false;       // delivered or forwarded
  ExposureTarget::Kind kind = ExposureTarget::kHost;
};

class ExposureWalker {
 public:
  ExposureWalker(const TraceModel& model, const SpaceContext& space, const ExposureOptions& options);

  // Every outcome of the packets of START arriving on IN (IN_UNKNOWN: -i
  // matches are undecidable).
  // NOT_IN: with IN_UNKNOWN, the names it is known not to be (may be null).
  std::vector<FlowOutcome> Run(std::string_view in, bool in_unknown, const Box& start,
                               const std::vector<std::string>* not_in = nullptr);

  std::vector<ExposureUnknown> unknowns;   // every undecidable match met, once
  bool truncated = false;
  size_t flows = 0;

 private:
  struct Sink {
    std::vector<Flow> accepted, refused;
  };
  // Runs TABLE's built-in CHAIN: flows it accepts (policy or ACCEPT or NAT)
  // go to sink.accepted, the others to sink.refused.
  void Hook(const char* table, const char* chain, std::vector<Flow> in, Sink& sink);
  // Runs base chain BASE of TABLE (its policy for what returns).
  void WalkBase(const CompiledTable& table, int base, std::vector<Flow> in, Sink& sink);
  // The base chains of hook SLOT with priority in [LO, HI), in order (nat
  // chains only for flows the NAT hook sees and until one maps them):
  // returns what they all accept, appends what one refuses to REFUSED.
  std::vector<Flow> Stage(int slot, int lo, int hi, std::vector<Flow> flows, std::vector<Flow>& refused,
                          bool run_nat);
  std::string RuleText(const CompiledChain& c, const CompiledRule& r) const;
  void Walk(const CompiledTable& t, int chain, std::vector<Flow> input, int depth,
            std::vector<Flow>& returned, Sink& sink);
  struct Quick;
  Quick QuickOf(const CompiledChain& c, const CompiledRule& r) const;
  void QuickNft(const NftCondition& c, Quick& q) const;
  bool CannotMatch(const Quick& q, const Flow& f) const;
  // Splits FLOW by RULE's matches: (part, answer).
  void SplitRule(const CompiledChain& c, const CompiledRule& r, const Flow& flow,
                 std::vector<std::pair<Box, Tri>>& out);
  void NoteUnknown(const CompiledTable& t, const CompiledChain& c, size_t pos, const Flow& f,
                   const Box& part);
  void NoteUnknownTarget(const CompiledTable& t, const CompiledChain& c, size_t pos);
  void ApplyNat(const Action& a, Flow f, Sink& sink);
  void Routing(std::vector<Flow> flows, std::vector<Flow>& local,
               std::vector<std::pair<Flow, int>>& forward, std::vector<Flow>& refused);
  static void Merge(std::vector<Flow>& flows);

  const TraceModel& model_;
  const SpaceContext& space_;
  const ExposureOptions& options_;
  std::map<std::pair<const void*, std::string>, bool> seen_;
  bool can_untrack_ = false;   // the base chain being walked runs before conntrack
};

}  // namespace swarmwall::analyze
