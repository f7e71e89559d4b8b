// Loops in a table's chain graph. The kernel refuses to load a table where a
// built-in chain reaches a loop of jumps and gotos (legacy's
// mark_source_chains, nf_tables' loop check; iptables-restore fails with
// "Too many levels of links"), so a saved text with one is not a ruleset any
// host runs: the walkers (trace, exposure, audit) stop on it, in bounded
// time, instead of following it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "netfilter/ruleset.h"

namespace swarmwall::analyze {

struct ChainLoop {
  std::string table;
  // The path from a built-in chain into the loop, the loop's first chain
  // repeated at its end: INPUT, A, B, A.
  std::vector<std::string> path;
  // The 1-based number of the rule that jumps or goes on, in each chain of
  // PATH but the last (the last one closes the loop).
  std::vector<int> rules;
  // "filter: INPUT -> A -> B -> A (a loop of jumps and gotos: the kernel refuses such a table)"
  std::string Text() const;
};

// The first loop a built-in chain reaches (jumps and gotos alike), or
// nullopt. Loops among chains no built-in chain reaches are not walked by
// anything and are left alone. Linear in the rules.
std::optional<ChainLoop> FindChainLoop(const netfilter::Table& table);
std::optional<ChainLoop> FindChainLoop(const netfilter::Ruleset& ruleset);

}  // namespace swarmwall::analyze
