#include "backend/iptables/input_path.h"

#include <string>

namespace swarmwall::backend {
namespace {

const compile::OwnedChain* InputChain(const compile::FamilyState& fs) {
  for (const auto& c : fs.chains)
    if (c.name == "SWARMWALL-INPUT") return &c;
  return nullptr;
}

}  // namespace

bool InputChainChanges(const compile::FamilyState& desired, const FamilySnapshot& now) {
  const compile::OwnedChain* want = InputChain(desired);
  const compile::OwnedChain* have = InputChain(now.owned);
  if (!want != !have || (want && want->rules != have->rules)) return true;
  for (const auto& h : desired.hooks) {
    if (h.target != "SWARMWALL-INPUT") continue;
    auto first = now.hook_first.find({h.chain, h.target});
    if (now.kernel.Jumps(h.chain, h.target) != 1 || first == now.hook_first.end() || !first->second)
      return true;
  }
  return false;
}

bool InputSetsChange(const compile::FamilyState& desired, const FamilyDiff& diff) {
  const compile::OwnedChain* input = InputChain(desired);
  if (!input) return false;
  for (const auto& name : diff.changed_sets)
    for (const auto& r : input->rules)
      if (r.find("--match-set " + name + " ") != std::string::npos) return true;
  return false;
}

}  // namespace swarmwall::backend
