// Reads libnftables' JSON (`nft -j list ruleset`, or a file saved from it)
// into an NftRuleset, validating everything: families, hooks, priorities,
// jump targets and set references must exist, addresses and numbers must
// be what their selector reads. All or nothing: on the first error nothing
// is returned, and the error says FILE:LINE:COL of the JSON object at fault.
#pragma once

#include <optional>
#include <string_view>
#include <vector>

#include "netfilter/nft_ruleset.h"
#include "netfilter/parser.h"

namespace swarmwall::netfilter {

struct NftParseResult {
  std::optional<NftRuleset> ruleset;   // set when there is no error
  std::optional<Diagnostic> error;
  std::vector<Diagnostic> warnings;    // e.g. a family the analyzer does not model
};

NftParseResult ParseNftJson(std::string_view json, std::string_view file_name = "-");

}  // namespace swarmwall::netfilter
