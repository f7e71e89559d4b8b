#include "netfilter/ruleset.h"

#include "netfilter/modules.h"

namespace swarmwall::netfilter {

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

Chain* Table::FindChain(std::string_view name) {
  for (auto& c : chains)
    if (c.name == name) return &c;
  return nullptr;
}

const Chain* Table::FindChain(std::string_view name) const {
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
  size_t bytes = arena_->BytesAllocated() + sizeof(*this);
  for (const auto& t : tables) {
    bytes += sizeof(Table) + t.chains.capacity() * sizeof(Chain);
    for (const auto& c : t.chains) {
      bytes += c.rules.capacity() * sizeof(Rule);
      for (const auto& r : c.rules) bytes += r.parts.capacity() * sizeof(Part);
    }
  }
  return bytes;
}

}  // namespace swarmwall::netfilter
