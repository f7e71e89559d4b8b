// The host's nftables ruleset through libnftables, as JSON text for
// netfilter/nft_json.h: the live ruleset of this network namespace, and an
// nftables text file (/etc/nftables.conf, a saved `nft list ruleset`)
// loaded by libnftables into a throwaway network namespace and listed back,
// so that nft's own parser reads nft's grammar and nothing of the host
// changes. Errors keep libnftables' FILE:LINE:COL.
#pragma once

#include <optional>
#include <string>

namespace swarmwall::host {

// libnftables is loaded when first used. This loads it now: before a fork
// whose child may use it (a dlopen in the child of a process with threads
// can hang on a lock another thread held). False when it cannot be loaded.
bool LoadNftables();

// `nft -j list ruleset` of this namespace; nullopt (and ERROR) when
// nf_tables cannot be listed (no permission, no kernel support).
std::optional<std::string> ListNftRulesetJson(std::string& error);

// `nft -j COMMAND` ("list table ip swarmwall") of this namespace. nullopt
// with ERROR on failure; nullopt with ERROR empty and *ABSENT set when what
// it names does not exist (libnftables' "No such file or directory").
std::optional<std::string> ListNftJson(const std::string& command, std::string& error,
                                       bool* absent = nullptr);

// Runs COMMANDS, libnftables JSON ({"nftables": [{"add": ...}, ...]}), as
// ONE transaction of this namespace: the kernel commits all of it or
// nothing (a batch that fails anywhere, or whose sender dies before its
// end, is aborted whole). False with libnftables' error otherwise.
bool RunNftJson(const std::string& commands, std::string& error);

// The JSON of PATH's ruleset as libnftables loads it into a new, empty
// network namespace (needs CAP_SYS_ADMIN for the namespace). nullopt and
// ERROR (libnftables' "PATH:LINE:COL-COL: Error: ..." lines) when it does
// not load.
std::optional<std::string> NftTextToJson(const std::string& path, std::string& error);

}  // namespace swarmwall::host
