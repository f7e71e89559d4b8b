#include "backend/nftables/commands.h"

#include "backend/nftables/expr.h"

namespace swarmwall::backend::nft {
namespace {

using netfilter::Family;

Json Named(Family family, std::string_view key, std::string_view name) {
  return Json{{"family", NftFamilyOf(family)}, {"table", kTableName}, {key, name}};
}

Json Command(std::string_view verb, std::string_view object, Json body) {
  return Json{{verb, {{object, std::move(body)}}}};
}

Json Elements(std::span<const netfilter::AddressInterval> elements) {
  Json list = Json::array();
  for (const auto& e : elements) list.push_back(IntervalValue(e));
  return list;
}

}  // namespace

Json AddTableCommand(Family family) {
  return Command("add", "table", {{"family", NftFamilyOf(family)}, {"name", kTableName}});
}

Json DeleteTableCommand(Family family) {
  return Command("delete", "table", {{"family", NftFamilyOf(family)}, {"name", kTableName}});
}

Json AddBaseChainCommand(Family family, const BaseChain& chain) {
  Json body = Named(family, "name", chain.name);
  body["type"] = chain.type;
  body["hook"] = chain.hook;
  body["prio"] = chain.priority;
  body["policy"] = chain.policy;
  return Command("add", "chain", std::move(body));
}

Json AddChainCommand(Family family, std::string_view chain) {
  return Command("add", "chain", Named(family, "name", chain));
}

Json FlushChainCommand(Family family, std::string_view chain) {
  return Command("flush", "chain", Named(family, "name", chain));
}

Json DeleteChainCommand(Family family, std::string_view chain) {
  return Command("delete", "chain", Named(family, "name", chain));
}

Json AddRuleCommand(Family family, std::string_view chain, const Rule& rule) {
  Json body = Named(family, "chain", chain);
  body["expr"] = rule.expr;
  if (!rule.comment.empty()) body["comment"] = rule.comment;
  return Command("add", "rule", std::move(body));
}

Json AddJumpCommand(Family family, std::string_view chain, std::string_view target) {
  Json body = Named(family, "chain", chain);
  body["expr"] = Json::array({Json{{"jump", {{"target", target}}}}});
  return Command("add", "rule", std::move(body));
}

Json AddSetCommand(Family family, const Set& set) {
  Json body = Named(family, "name", set.name);
  body["type"] = set.type;
  if (!set.flags.empty()) body["flags"] = set.flags;
  return Command("add", "set", std::move(body));
}

Json AddSetWithElementsCommand(Family family, const Set& set) {
  Json command = AddSetCommand(family, set);
  if (!set.elements.empty()) command["add"]["set"]["elem"] = Elements(set.elements);
  return command;
}

Json FlushSetCommand(Family family, std::string_view set) {
  return Command("flush", "set", Named(family, "name", set));
}

Json DeleteSetCommand(Family family, std::string_view set) {
  return Command("delete", "set", Named(family, "name", set));
}

Json AddElementsCommand(Family family, std::string_view set,
                        std::span<const netfilter::AddressInterval> elements) {
  Json body = Named(family, "name", set);
  body["elem"] = Elements(elements);
  return Command("add", "element", std::move(body));
}

Json DeleteElementsCommand(Family family, std::string_view set,
                           std::span<const netfilter::AddressInterval> elements) {
  Json body = Named(family, "name", set);
  body["elem"] = Elements(elements);
  return Command("delete", "element", std::move(body));
}

std::vector<Json> AddTableCommands(const OwnedTable& table) {
  std::vector<Json> out;
  Family f = table.family;
  out.push_back(AddTableCommand(f));
  for (const auto& s : table.sets) out.push_back(AddSetWithElementsCommand(f, s));
  // Every chain before any rule: a jump needs its target.
  for (const auto& c : table.chains) out.push_back(AddChainCommand(f, c.name));
  for (const auto& b : table.base_chains) out.push_back(AddBaseChainCommand(f, b));
  for (const auto& c : table.chains)
    for (const auto& r : c.rules) out.push_back(AddRuleCommand(f, c.name, r));
  for (const auto& b : table.base_chains)
    for (const auto& target : b.jumps) out.push_back(AddJumpCommand(f, b.name, target));
  return out;
}

Json Batch(std::vector<Json> commands) {
  Json list = Json::array();
  for (auto& c : commands) list.push_back(std::move(c));
  return Json{{"nftables", std::move(list)}};
}

}  // namespace swarmwall::backend::nft
