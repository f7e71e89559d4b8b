// libnftables JSON commands on swarmwall's table of one family, each one
// object of a batch's "nftables" list ({"add": {"chain": {...}}}), for the
// firewall to put together into one transaction (Batch). A rule or set is
// written as OwnedTable holds it, which is what the kernel lists back.
#pragma once

#include <span>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/nftables/owned_table.h"

namespace swarmwall::backend::nft {

nlohmann::json AddTableCommand(netfilter::Family family);
nlohmann::json DeleteTableCommand(netfilter::Family family);

nlohmann::json AddBaseChainCommand(netfilter::Family family, const BaseChain& chain);   // without its jumps
nlohmann::json AddChainCommand(netfilter::Family family, std::string_view chain);
nlohmann::json FlushChainCommand(netfilter::Family family, std::string_view chain);
nlohmann::json DeleteChainCommand(netfilter::Family family, std::string_view chain);   // empty, unreferenced

// A rule appended to CHAIN (with its comment, if any).
nlohmann::json AddRuleCommand(netfilter::Family family, std::string_view chain, const Rule& rule);
// A base chain's rule "jump TARGET".
nlohmann::json AddJumpCommand(netfilter::Family family, std::string_view chain, std::string_view target);

nlohmann::json AddSetCommand(netfilter::Family family, const Set& set);   // without its elements
// A set made with its elements in its own declaration ("elem" of the set,
// nft's `elements = { ... }`), for a set that does not exist yet: libnftables
// 1.0.6 loads 100,000 elements declared so in 1.0 s, and the same given as a
// separate `add element` in 1.7 s (text or JSON alike: `nft -f` of both
// forms in a namespace); the rendered text, `nft -f`'s yardstick, declares
// them so too.
nlohmann::json AddSetWithElementsCommand(netfilter::Family family, const Set& set);
nlohmann::json FlushSetCommand(netfilter::Family family, std::string_view set);
nlohmann::json DeleteSetCommand(netfilter::Family family, std::string_view set);   // unreferenced
// Elements of SET, one per interval (an address, a prefix or a range).
// The kernel deletes an element only as it was added, and libnftables
// 1.0.6 deletes from a large interval set slowly (47 s for 4,000 of 8,600
// elements): to change a set's contents, flush it and add them all in one
// transaction (0.3 s) -- but not in the transaction that created the set
// (the kernel then refuses an element overlapping a flushed one: "File
// exists"). ELEMENTS must not be empty (libnftables refuses an empty list).
nlohmann::json AddElementsCommand(netfilter::Family family, std::string_view set,
                                  std::span<const netfilter::AddressInterval> elements);
nlohmann::json DeleteElementsCommand(netfilter::Family family, std::string_view set,
                                     std::span<const netfilter::AddressInterval> elements);

// Everything of TABLE, made from nothing: the table, its sets with their
// elements, its regular chains and base chains, then the rules of each.
// The table must not exist. To replace one that may exist, in one batch:
// AddTableCommand, DeleteTableCommand (safe now that there is one), then
// these.
std::vector<nlohmann::json> AddTableCommands(const OwnedTable& table);

// {"nftables": COMMANDS}: one libnftables transaction.
nlohmann::json Batch(std::vector<nlohmann::json> commands);

}  // namespace swarmwall::backend::nft
