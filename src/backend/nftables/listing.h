// swarmwall's table of one family as libnftables lists it (`nft -j list
// table ip swarmwall`, or `list ruleset`), read into an OwnedTable in the
// normal form TableOf builds: handles dropped, counter statements dropped,
// statements normalized (expr.h), set elements (addresses, prefixes,
// ranges) merged into intervals, sets by name, base chains input first.
// The JSON is checked, not trusted: what is not the shape libnftables
// lists is an error.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "backend/nftables/owned_table.h"

namespace swarmwall::backend::nft {

// nullopt with ERROR empty when the listing holds no swarmwall table of
// FAMILY; nullopt with ERROR set when the JSON is not a listing.
std::optional<OwnedTable> OwnedTableFromListing(const nlohmann::json& listing, netfilter::Family family,
                                                std::string& error);

}  // namespace swarmwall::backend::nft
