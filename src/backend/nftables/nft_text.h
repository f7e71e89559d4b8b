// `swarmwall render --backend nftables`: a node's state as one nft script
// that `nft -f NODE.nft` loads in one transaction, and again with the same
// result: per family `table F swarmwall {}` (made if missing), `delete
// table F swarmwall` (so emptied of everything), then the whole table. A
// family without rules (ipv6: false) is only deleted. Docker's tables and
// iptables-nft's are not touched: the table's base chains run first
// (priority -10), DROP ends a packet there, RETURN lets Docker decide.
#pragma once

#include <optional>
#include <string>

#include "backend/nftables/owned_table.h"
#include "compile/desired_state.h"

namespace swarmwall::backend::nft {

// "table F swarmwall { ... }\n" of TABLE; nullopt and ERROR when a chain or
// set name is not one nft's grammar reads bare (letters, digits, _ . / -,
// not starting with a digit, '/' or '-').
std::optional<std::string> TableText(const OwnedTable& table, std::string& error);

// The whole script of STATE with its header comment.
std::optional<std::string> NftText(const compile::DesiredState& state, std::string& error);

}  // namespace swarmwall::backend::nft
