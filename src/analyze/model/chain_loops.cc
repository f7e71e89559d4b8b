#include "analyze/model/chain_loops.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace swarmwall::analyze {

using netfilter::Chain;
using netfilter::Rule;
using netfilter::Table;
using netfilter::TargetKind;

std::string ChainLoop::Text() const {
  return fmt::format("{}: {} (a loop of jumps and gotos: the kernel refuses such a table)", table,
                     fmt::join(path, " -> "));
}

std::optional<ChainLoop> FindChainLoop(const Table& table) {
  // Iterative depth-first search (a deep chain of jumps must not overflow
  // the stack): 0 unvisited, 1 on the current path, 2 done.
  const size_t n = table.chains.size();
  std::vector<uint8_t> state(n, 0);
  struct Frame {
    size_t chain, rule;
  };
  std::vector<Frame> stack;
  auto index = [&](const Chain* c) { return static_cast<size_t>(c - table.chains.data()); };
  for (size_t root = 0; root < n; ++root) {
    if (!table.chains[root].builtin || state[root]) continue;
    stack.push_back({root, 0});
    state[root] = 1;
    while (!stack.empty()) {
      Frame& f = stack.back();
      const Chain& c = table.chains[f.chain];
      if (f.rule == c.rules.size()) {
        state[f.chain] = 2;
        stack.pop_back();
        continue;
      }
      const Rule& r = c.rules[f.rule++];
      if (r.target_kind != TargetKind::kChain) continue;
      const Chain* sub = table.FindChain(r.target);
      if (!sub) continue;
      size_t s = index(sub);
      if (state[s] == 1) {
        ChainLoop loop;
        loop.table = std::string(table.name);
        for (const Frame& g : stack) {
          loop.path.emplace_back(table.chains[g.chain].name);
          loop.rules.push_back(static_cast<int>(g.rule));   // already past it: 1-based
        }
        loop.path.emplace_back(sub->name);
        return loop;
      }
      if (state[s] == 0) {
        state[s] = 1;
        stack.push_back({s, 0});
      }
    }
  }
  return std::nullopt;
}

std::optional<ChainLoop> FindChainLoop(const netfilter::Ruleset& ruleset) {
  for (const Table& t : ruleset.tables)
    if (auto loop = FindChainLoop(t)) return loop;
  return std::nullopt;
}

}  // namespace swarmwall::analyze
