#include "backend/nftables/listing.h"

#include <algorithm>

#include <fmt/format.h>

#include "backend/nftables/expr.h"
#include "backend/nftables/family_state_of.h"
#include "base/json_text.h"

namespace swarmwall::backend::nft {
namespace {

using netfilter::Family;

const Json* Field(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

// Reads the listing's objects, failing with a message on the first one
// that is not as libnftables writes it.
class ListingReader {
 public:
  ListingReader(Family family, std::string& error) : family_(family), error_(error) {
    table_.family = family;
  }

  bool Object(const Json& item) {
    if (!item.is_object() || item.size() != 1) return Fail("an item that is not an object of one key", item);
    const std::string& kind = item.begin().key();
    const Json& body = item.begin().value();
    if (kind == "metainfo") return true;
    if (!body.is_object()) return Fail("an object that is not an object", item);
    // Objects of other tables are none of ours (but must name their table).
    const Json* family = Field(body, "family");
    if (!family || !family->is_string()) return Fail("an object without a family", item);
    if (kind == "table") {
      auto name = String(body, "name");
      if (!name) return Fail("a table without a name", item);
      if (!Ours(*family, *name)) return true;
      if (found_) return Fail("a second swarmwall table", item);
      found_ = true;
      return true;
    }
    auto table = String(body, "table");
    if (!table) return Fail("an object without its table", item);
    if (!Ours(*family, *table)) return true;
    if (!found_) return Fail("an object of swarmwall's table before the table", item);
    if (kind == "chain") return ChainObject(body, item);
    if (kind == "set" || kind == "map") return SetObject(kind, body, item);
    if (kind == "rule") return RuleObject(body, item);
    return true;   // counters, quotas, ...: nothing swarmwall makes or reads
  }

  std::optional<OwnedTable> Finish() {
    if (!found_) return std::nullopt;
    auto rank = [](const BaseChain& b) { return b.name == "input" ? 0 : b.name == "forward" ? 1 : 2; };
    std::stable_sort(table_.base_chains.begin(), table_.base_chains.end(),
                     [&](const BaseChain& a, const BaseChain& b) {
                       return rank(a) != rank(b) ? rank(a) < rank(b) : a.name < b.name;
                     });
    std::sort(table_.sets.begin(), table_.sets.end(), [](const Set& a, const Set& b) { return a.name < b.name; });
    return std::move(table_);
  }

 private:
  bool Fail(std::string_view what, const Json& item) {
    std::string text = JsonText(item);
    if (text.size() > 200) text = text.substr(0, 200) + "...";
    error_ = fmt::format("the nftables listing holds {}: {}", what, text);
    return false;
  }

  static std::optional<std::string> String(const Json& body, std::string_view key) {
    const Json* j = Field(body, key);
    if (!j || !j->is_string()) return std::nullopt;
    return j->get<std::string>();
  }

  bool Ours(const Json& family, const std::string& table) const {
    return table == kTableName && family.get_ref<const std::string&>() == NftFamilyOf(family_);
  }

  bool ChainObject(const Json& body, const Json& item) {
    auto name = String(body, "name");
    if (!name) return Fail("a chain without a name", item);
    if (Known(*name)) return Fail("a chain listed twice", item);
    if (!Field(body, "hook")) {
      if (Field(body, "type") || Field(body, "prio") || Field(body, "policy"))
        return Fail("a regular chain with a base chain's type, priority or policy", item);
      table_.chains.push_back({*name, {}});
      return true;
    }
    auto hook = String(body, "hook");
    auto type = String(body, "type");
    auto policy = String(body, "policy");
    const Json* prio = Field(body, "prio");
    if (!hook || !type || !policy || !prio || !prio->is_number_integer())
      return Fail("a base chain without hook, type, priority or policy", item);
    BaseChain b;
    b.name = *name;
    b.hook = *hook;
    b.type = *type;
    b.policy = *policy;
    int64_t p = prio->get<int64_t>();
    if (p < INT32_MIN || p > INT32_MAX) return Fail("a priority out of range", item);
    b.priority = static_cast<int>(p);
    table_.base_chains.push_back(std::move(b));
    return true;
  }

  bool Known(const std::string& chain) const {
    return std::any_of(table_.chains.begin(), table_.chains.end(), [&](const Chain& c) { return c.name == chain; }) ||
           std::any_of(table_.base_chains.begin(), table_.base_chains.end(),
                       [&](const BaseChain& c) { return c.name == chain; });
  }

  bool SetObject(const std::string& kind, const Json& body, const Json& item) {
    auto name = String(body, "name");
    auto type = String(body, "type");
    if (!name) return Fail("a set without a name", item);
    if (!type) {
      // Concatenations ("type": [...]) and maps are no set of swarmwall's:
      // kept by name only, so the table differs from any it makes.
      if (!Field(body, "type")) return Fail("a set without a type", item);
      type = JsonText(*Field(body, "type"));
    }
    Set s;
    s.name = *name;
    s.type = kind == "map" ? "map " + *type : *type;
    s.flags.clear();
    if (const Json* flags = Field(body, "flags")) {
      // One flag alone may be listed as a string.
      for (const auto& f : flags->is_array() ? *flags : Json::array({*flags})) {
        if (!f.is_string()) return Fail("a set flag that is not a string", item);
        s.flags.push_back(f.get<std::string>());
      }
    }
    if (const Json* elem = Field(body, "elem")) {
      if (!elem->is_array()) return Fail("set elements that are not a list", item);
      if (kind == "set" && s.type == AddressType(family_)) {
        std::vector<netfilter::AddressInterval> intervals;
        intervals.reserve(elem->size());
        for (const auto& e : *elem) {
          auto i = IntervalOfValue(e, family_);
          if (!i) return Fail(fmt::format("set {} with an element {}", s.name, JsonText(e)), item);
          intervals.push_back(*i);
        }
        s.elements = netfilter::MergeIntervals(std::move(intervals));
      }
    }
    if (std::any_of(table_.sets.begin(), table_.sets.end(), [&](const Set& o) { return o.name == s.name; }))
      return Fail("a set listed twice", item);
    table_.sets.push_back(std::move(s));
    return true;
  }

  bool RuleObject(const Json& body, const Json& item) {
    auto chain = String(body, "chain");
    const Json* expr = Field(body, "expr");
    if (!chain || !expr || !expr->is_array()) return Fail("a rule without its chain or statements", item);
    Rule rule;
    for (const auto& s : *expr) {
      if (!s.is_object() || s.size() != 1) return Fail("a statement that is not an object of one key", item);
      if (s.begin().key() == "counter") continue;   // counts, decides nothing
      rule.expr.push_back(s);
    }
    if (const Json* comment = Field(body, "comment")) {
      if (!comment->is_string()) return Fail("a comment that is not a string", item);
      rule.comment = comment->get<std::string>();
    }
    rule.expr = NormalizedExpr(rule.expr);
    for (auto& c : table_.chains)
      if (c.name == *chain) {
        c.rules.push_back(std::move(rule));
        return true;
      }
    for (auto& b : table_.base_chains)
      if (b.name == *chain) {
        // Only a plain jump is a hook; anything else shows as a target no
        // chain has, so the table differs from any TableOf makes.
        const Json* jump = rule.expr.size() == 1 ? Field(rule.expr[0], "jump") : nullptr;
        const Json* target = jump && jump->size() == 1 ? Field(*jump, "target") : nullptr;
        if (target && target->is_string() && rule.comment.empty()) {
          b.jumps.push_back(target->get<std::string>());
        } else {
          Json j{{"expr", rule.expr}};
          if (!rule.comment.empty()) j["comment"] = rule.comment;
          b.jumps.push_back(std::string(kUnknownRule) + JsonText(j));
        }
        return true;
      }
    return Fail("a rule of a chain not listed before it", item);
  }

  Family family_;
  std::string& error_;
  bool found_ = false;
  OwnedTable table_;
};

}  // namespace

std::optional<OwnedTable> OwnedTableFromListing(const Json& listing, Family family, std::string& error) {
  error.clear();
  const Json* items = Field(listing, "nftables");
  if (!items || !items->is_array() || listing.size() != 1) {
    error = "the nftables listing is not an object {\"nftables\": [...]}";
    return std::nullopt;
  }
  ListingReader reader(family, error);
  for (const auto& item : *items)
    if (!reader.Object(item)) return std::nullopt;
  return reader.Finish();
}

}  // namespace swarmwall::backend::nft
