// The libnftables commands that take one family's table from what the
// kernel holds (FROM) to what is wanted (TO), to be run as part of ONE
// transaction: only what differs is written. A chain whose rules differ is
// flushed and refilled; a chain or set no longer wanted is deleted after
// the chains that used it were flushed; a set whose elements differ gets
// its missing elements added and its extra ones deleted (a 100,000-entry
// set is not rewritten for one port); a base chain whose hook, priority or
// policy differs is deleted and made again. With FROM absent the table is
// made whole; with TO absent it is deleted. Replace gives the commands that
// make TO from any state at all (the table deleted and made again), for a
// commit whose delta failed because the kernel moved under it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "backend/nftables/owned_table.h"

namespace swarmwall::backend::nft {

// Appends to COMMANDS (commands.h's; Batch makes them one transaction).
void AppendCommit(const std::optional<OwnedTable>& from, const std::optional<OwnedTable>& to,
                  netfilter::Family family, std::vector<nlohmann::json>& commands);
void AppendReplace(const std::optional<OwnedTable>& to, netfilter::Family family, std::vector<nlohmann::json>& commands);

// Element changes of one set, in place.
void AppendElementChanges(netfilter::Family family, const std::string& set,
                          const std::vector<netfilter::AddressInterval>& from,
                          const std::vector<netfilter::AddressInterval>& to, std::vector<nlohmann::json>& commands);

}  // namespace swarmwall::backend::nft
