// Native nftables tables in the trace model: each table of the model's
// family (ip or ip6, and inet) becomes a CompiledTable whose rules are
// Matches of kind kNft and the same Actions iptables targets decode to.
// An nft rule can do more than an iptables rule (side effects between its
// matches, a verdict map), so one nft rule may become several compiled
// rules: a verdict map one per element (at most one of them matches), and
// a rule with a side effect in the middle continues in the next compiled
// rule, which applies only when the one before it hit (CompiledRule::after).
#pragma once

#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "analyze/model/nft_match.h"
#include "analyze/trace/trace.h"
#include "netfilter/nft_ruleset.h"

namespace swarmwall::analyze {

struct NativeStore {
  std::deque<NftCondition> conditions;
  std::deque<std::string> names;   // "inet docker-bridges": table names as reports show them
};

// Appends the tables of RULESET that belong to FAMILY to TABLES. XTABLES:
// names of the iptables tables the model already has from iptables-save
// (iptables-nft's own tables of that name are skipped: iptables-save shows
// their xtables matches, which the JSON cannot).
void CompileNativeTables(const netfilter::NftRuleset& ruleset, netfilter::Family family,
                         const std::vector<std::string_view>& xtables, std::vector<CompiledTable>& tables,
                         NativeStore& store);

}  // namespace swarmwall::analyze
