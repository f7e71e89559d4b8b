#include "netfilter/ruleset.h"

#include <algorithm>
#include <stdexcept>

#include "netfilter/modules.h"

namespace swarmwall::netfilter {

#if defined(__GNUC__) && defined(__x86_64__)
// The layouts the memory budget counts on (bench/RESULTS.md).
static_assert(sizeof(Value) == 24);
static_assert(sizeof(Part) == 32);
static_assert(sizeof(Cidr) == 20);
static_assert(sizeof(Name) == 8);
static_assert(sizeof(Rule) == 104);
#endif

const Part& PartList::at(size_t i) const {
  if (i >= size_) throw std::out_of_range("PartList::at");
  return data_[i];
}

const Part* Rule::FindMatch(std::string_view module) const {
  for (const auto& p : parts)
    if (p.kind == Part::Kind::kMatch && p.text == module) return &p;
  return nullptr;
}

const Part* Rule::FindOption(uint16_t option_id) const {
  for (const auto& p : parts)
    if ((p.kind == Part::Kind::kOption || p.kind == Part::Kind::kTargetOption) &&
        p.id == option_id)
      return &p;
  return nullptr;
}

// ---- ChainIndex: open addressing, linear probing, load <= 3/4 -------------

namespace {
size_t SlotsFor(size_t chains) {
  size_t want = 16;
  while (want * 3 < chains * 4) want *= 2;
  return want;
}
}  // namespace

void ChainIndex::Insert(uint64_t hash, size_t position) {
  size_t mask = slots_.size() - 1;
  uint64_t entry = (hash & 0xffffffff00000000ull) | (position + 1);
  for (size_t i = hash & mask;; i = (i + 1) & mask)
    if (slots_[i] == 0) {
      slots_[i] = entry;
      return;
    }
}

void ChainIndex::Rebuild(const std::vector<Chain>& chains, size_t expected) {
  size_t want = SlotsFor(std::max(chains.size(), expected));
  if (slots_.size() < want) slots_.resize(want);
  std::fill(slots_.begin(), slots_.end(), 0);
  for (size_t i = 0; i < chains.size(); ++i) Insert(HashText(chains[i].name), i);
  data_ = chains.data();
  size_ = chains.size();
}

void ChainIndex::Added(const std::vector<Chain>& chains) {
  if (size_ + 1 != chains.size() || SlotsFor(chains.size()) > slots_.size()) {
    Rebuild(chains);
    return;
  }
  Insert(HashText(chains.back().name), chains.size() - 1);
  data_ = chains.data();
  size_ = chains.size();
}

long ChainIndex::Find(const std::vector<Chain>& chains, std::string_view name) const {
  if (slots_.empty()) return -1;
  uint64_t hash = HashText(name);
  uint64_t tag = hash & 0xffffffff00000000ull;
  size_t mask = slots_.size() - 1;
  for (size_t i = hash & mask;; i = (i + 1) & mask) {
    uint64_t e = slots_[i];
    if (e == 0) return -1;
    if ((e & 0xffffffff00000000ull) == tag) {
      size_t pos = (e & 0xffffffffu) - 1;
      if (chains[pos].name == name) return static_cast<long>(pos);
    }
  }
}

// A hit in the index is checked against the chain's name, so it is always
// right; a miss is confirmed by a scan, so that a chain renamed or replaced
// in place (which the index cannot notice) is still found.
Chain* Table::FindChain(std::string_view name) {
  if (!chain_index.Valid(chains)) chain_index.Rebuild(chains);
  long pos = chain_index.Find(chains, name);
  if (pos >= 0) return &chains[static_cast<size_t>(pos)];
  for (auto& c : chains)
    if (c.name == name) return &c;
  return nullptr;
}

const Chain* Table::FindChain(std::string_view name) const {
  if (chain_index.Valid(chains)) {
    long pos = chain_index.Find(chains, name);
    if (pos >= 0) return &chains[static_cast<size_t>(pos)];
  }
  for (const auto& c : chains)
    if (c.name == name) return &c;
  return nullptr;
}

Table* Ruleset::FindTable(std::string_view name) {
  for (auto& t : tables)
    if (t.name == name) return &t;
  return nullptr;
}

const Table* Ruleset::FindTable(std::string_view name) const {
  for (const auto& t : tables)
    if (t.name == name) return &t;
  return nullptr;
}

const Chain* Ruleset::FindChain(std::string_view table, std::string_view chain) const {
  const Table* t = FindTable(table);
  return t ? t->FindChain(chain) : nullptr;
}

size_t Ruleset::RuleCount() const {
  size_t n = 0;
  for (const auto& t : tables)
    for (const auto& c : t.chains) n += c.rules.size();
  return n;
}

size_t Ruleset::MemoryBytes() const {
  // Parts, their texts and arrays live in the arena.
  size_t bytes = arena_->BytesAllocated() + sizeof(*this) + tables.capacity() * sizeof(Table);
  for (const auto& t : tables) {
    bytes += t.chains.capacity() * sizeof(Chain) + t.chain_index.MemoryBytes();
    for (const auto& c : t.chains) bytes += c.rules.capacity() * sizeof(Rule);
  }
  return bytes;
}

}  // namespace swarmwall::netfilter
