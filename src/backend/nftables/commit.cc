#include "backend/nftables/commit.h"

#include <algorithm>

#include "backend/nftables/commands.h"

namespace swarmwall::backend::nft {
namespace {

using nlohmann::json;
using netfilter::AddressInterval;
using netfilter::Family;

using Commands = std::vector<json>;

bool Before(const AddressInterval& a, const AddressInterval& b) {
  return a.first != b.first ? a.first < b.first : a.last < b.last;
}

template <typename T>
const T* Find(const std::vector<T>& items, const std::string& name) {
  for (const auto& i : items)
    if (i.name == name) return &i;
  return nullptr;
}

bool SameSpec(const BaseChain& a, const BaseChain& b) {
  return a.hook == b.hook && a.type == b.type && a.priority == b.priority && a.policy == b.policy;
}

void AddJumps(Family f, const BaseChain& b, Commands& commands) {
  for (const auto& target : b.jumps) commands.push_back(AddJumpCommand(f, b.name, target));
}

void AddRules(Family f, const Chain& c, Commands& commands) {
  for (const auto& r : c.rules) commands.push_back(AddRuleCommand(f, c.name, r));
}

void AppendDelete(Family f, Commands& commands) {
  // `add` first: deleting a table that is not there would fail the batch.
  commands.push_back(AddTableCommand(f));
  commands.push_back(DeleteTableCommand(f));
}

void AppendWhole(const OwnedTable& to, Commands& commands) {
  for (auto& c : AddTableCommands(to)) commands.push_back(std::move(c));
}

}  // namespace

void AppendElementChanges(Family family, const std::string& set, const std::vector<AddressInterval>& from,
                          const std::vector<AddressInterval>& to, Commands& commands) {
  // Both sorted and disjoint: elements equal on both sides stay.
  std::vector<AddressInterval> del, add;
  std::set_difference(from.begin(), from.end(), to.begin(), to.end(), std::back_inserter(del), Before);
  std::set_difference(to.begin(), to.end(), from.begin(), from.end(), std::back_inserter(add), Before);
  // The kernel deletes interval elements one by one slowly (4,000 of 8,600
  // took 47 s; a flush and refill 0.3 s): many go, the set is refilled.
  if (del.size() > kMaxElementDeletes) {
    commands.push_back(FlushSetCommand(family, set));
    if (!to.empty()) commands.push_back(AddElementsCommand(family, set, to));
    return;
  }
  if (!del.empty()) commands.push_back(DeleteElementsCommand(family, set, del));
  if (!add.empty()) commands.push_back(AddElementsCommand(family, set, add));
}

void AppendReplace(const std::optional<OwnedTable>& to, Family f, Commands& commands) {
  AppendDelete(f, commands);
  if (to) AppendWhole(*to, commands);
}

void AppendCommit(const std::optional<OwnedTable>& from, const std::optional<OwnedTable>& to, Family f,
                  Commands& commands) {
  if (!to) {
    if (from) AppendDelete(f, commands);
    return;
  }
  if (!from) {
    AppendWhole(*to, commands);
    return;
  }
  // 1. Flush what changes: base chains whose jumps or spec differ, chains
  //    whose rules differ or that go away. After this nothing refers to a
  //    chain or set that goes.
  for (const auto& b : from->base_chains) {
    const BaseChain* want = Find(to->base_chains, b.name);
    if (!want || !(*want == b)) commands.push_back(FlushChainCommand(f, b.name));
    if (!want || !SameSpec(*want, b)) commands.push_back(DeleteChainCommand(f, b.name));
  }
  for (const auto& c : from->chains) {
    const Chain* want = Find(to->chains, c.name);
    if (!want || !(want->rules == c.rules)) commands.push_back(FlushChainCommand(f, c.name));
  }
  for (const auto& c : from->chains)
    if (!Find(to->chains, c.name)) commands.push_back(DeleteChainCommand(f, c.name));
  // 2. Sets: gone or changed in type (made again), else elements in place.
  for (const auto& s : from->sets) {
    const Set* want = Find(to->sets, s.name);
    if (!want || want->type != s.type || want->flags != s.flags) commands.push_back(DeleteSetCommand(f, s.name));
  }
  for (const auto& s : to->sets) {
    const Set* had = Find(from->sets, s.name);
    if (had && had->type == s.type && had->flags == s.flags) {
      AppendElementChanges(f, s.name, had->elements, s.elements, commands);
      continue;
    }
    commands.push_back(AddSetWithElementsCommand(f, s));
  }
  // 3. Chains made and refilled, then the base chains that jump to them.
  for (const auto& c : to->chains)
    if (!Find(from->chains, c.name)) commands.push_back(AddChainCommand(f, c.name));
  for (const auto& c : to->chains) {
    const Chain* had = Find(from->chains, c.name);
    if (!had || !(had->rules == c.rules)) AddRules(f, c, commands);
  }
  for (const auto& b : to->base_chains) {
    const BaseChain* had = Find(from->base_chains, b.name);
    if (had && *had == b) continue;
    if (!had || !SameSpec(*had, b)) commands.push_back(AddBaseChainCommand(f, b));
    AddJumps(f, b, commands);
  }
}

}  // namespace swarmwall::backend::nft
