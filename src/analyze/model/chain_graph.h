// The chain graph of a ruleset as a picture: one box per chain, grouped by
// table, built-in chains (the hooks) on top; an arrow for every chain that
// jumps to another, labelled with how many rules do (dashed for goto);
// colours by owner (system, Docker, Swarm, swarmwall, someone else), as
// docker_layout.h tells them apart. ChainGraphDot writes graphviz text;
// ChainGraphSvg runs `dot -Tsvg` on it.
#pragma once

#include <optional>
#include <string>

#include "netfilter/ruleset.h"

namespace swarmwall::analyze {

// V6 may be null. Tables without rules are left out; a table of more than
// MAX_CHAINS chains shows its built-in chains and the first ones jumped to.
std::string ChainGraphDot(const netfilter::Ruleset* v4, const netfilter::Ruleset* v6, size_t max_chains = 150);

// The SVG `dot -Tsvg` draws from DOT (its XML prologue removed, ready to be
// put inline in HTML); nullopt with ERROR when graphviz is missing or fails.
std::optional<std::string> RenderSvg(const std::string& dot, std::string& error);

}  // namespace swarmwall::analyze
