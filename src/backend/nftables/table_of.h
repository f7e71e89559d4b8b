// The compiler's state of one family as swarmwall's nftables table: each
// owned chain's iptables rule specs translated one to one into nftables
// statements (a closed vocabulary: what the compiler emits), its hooks as
// jumps from base chains at priority -10 (INPUT: input; DOCKER-USER and
// FORWARD: forward), its ipsets as interval sets. A spec outside the
// vocabulary is an error naming the rule, never dropped.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "backend/nftables/owned_table.h"
#include "compile/desired_state.h"

namespace swarmwall::backend::nft {

std::optional<OwnedTable> TableOf(const compile::FamilyState& state, std::string& error);

// A comment as nftables holds it: nft's text parser takes at most 128 bytes
// and no double quote, so the table keeps only that (cut between UTF-8
// characters, '"' written as '\'') and the JSON and text forms agree.
inline constexpr size_t kMaxNftCommentBytes = 128;
std::string NftComment(std::string_view text);

}  // namespace swarmwall::backend::nft
