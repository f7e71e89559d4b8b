#include "compile/desired_state_json.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cstdio>
#include <filesystem>
#include <map>

#include <fmt/format.h>

#include "base/state_file.h"
#include "base/json_text.h"
#include "netfilter/parser.h"

namespace swarmwall::compile {

using nlohmann::json;
using netfilter::Family;

json FamilyStateToJson(const compile::FamilyState& fs) {
  json j;
  j["family"] = fs.family == Family::kIPv4 ? 4 : 6;
  j["chains"] = json::array();
  for (const auto& c : fs.chains) j["chains"].push_back({{"table", c.table}, {"name", c.name}, {"rules", c.rules}});
  j["hooks"] = json::array();
  for (const auto& h : fs.hooks)
    j["hooks"].push_back({{"table", h.table}, {"chain", h.chain}, {"target", h.target}, {"create", h.create_chain}});
  j["sets"] = json::array();
  for (const auto& s : fs.sets) {
    // One string, blank-separated: 100,000 entries as a JSON array of
    // strings took ~40 ms to build and write, and a journal holds them.
    std::string entries;
    if (s.entries) {
      entries.reserve(s.entries->size() * 19);
      for (const auto& e : *s.entries) {
        if (!entries.empty()) entries += ' ';
        e.AppendTo(entries);
      }
    }
    j["sets"].push_back({{"name", s.name}, {"policy_name", s.policy_name}, {"entry_list", std::move(entries)}});
  }
  return j;
}

namespace {

bool NameChars(std::string_view name) {
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' ||
           c == '_' || c == '.';
  });
}

bool OwnedChainName(std::string_view name) {
  return name.starts_with(compile::kChainPrefix) && name.size() <= 28 && NameChars(name);
}

bool OwnedSetName(std::string_view name) {
  return name.starts_with(compile::kSetPrefix) && name.size() <= 31 && NameChars(name);
}

bool KnownTable(std::string_view t) {
  return t == "filter" || t == "raw" || t == "mangle" || t == "nat" || t == "security";
}

// Where a hook may go: a built-in chain of its table, or DOCKER-USER.
bool HookPoint(std::string_view table, std::string_view chain) {
  if (chain == "DOCKER-USER") return table == "filter";
  for (auto b : netfilter::BuiltinChains(table))
    if (b == chain) return true;
  return false;
}

[[noreturn]] void Invalid(const std::string& where, const std::string& what) {
  throw StateFormatError(where + ": " + what);
}

// Each owned rule must be one rule that the iptables-save parser accepts,
// exactly as the kernel's own rules are read: a rule text from disk goes
// into a restore text, and a newline in it would add rules of its own.
void CheckRules(const compile::FamilyState& fs) {
  std::map<std::string, std::string> text;   // table -> restore text
  for (const auto& c : fs.chains) text[c.table] += ":" + c.name + " - [0:0]\n";
  for (const auto& c : fs.chains)
    for (size_t i = 0; i < c.rules.size(); ++i) {
      const std::string& r = c.rules[i];
      if (r.empty() || r.find_first_of(std::string_view("\n\r\0", 3)) != std::string::npos)
        Invalid(fmt::format("chain {} rule {}", c.name, i + 1), "not one line");
      text[c.table] += "-A " + c.name + " " + r + "\n";
    }
  for (const auto& [table, body] : text) {
    std::string all = "*" + table + "\n" + body + "COMMIT\n";
    auto parsed = netfilter::ParseRuleset(all, {.file_name = "state", .family = fs.family});
    if (!parsed.ruleset) Invalid("table " + table, "rule not accepted: " + parsed.error->ToString());
    const auto* t = parsed.ruleset->FindTable(table);
    for (const auto& c : fs.chains) {
      if (c.table != table) continue;
      const auto* chain = t ? t->FindChain(c.name) : nullptr;
      if (!chain || chain->rules.size() != c.rules.size())
        Invalid("chain " + c.name, "its rules do not read back as written");
    }
  }
}

}  // namespace

compile::FamilyState FamilyStateFromJson(const json& j) {
  if (!j.is_object()) throw StateFormatError(std::string("a family state must be an object, not ") + j.type_name());
  compile::FamilyState fs;
  int64_t family = OptIntField(j, "family", 4);
  if (family != 4 && family != 6) Invalid("family", "must be 4 or 6");
  fs.family = family == 4 ? Family::kIPv4 : Family::kIPv6;
  if (j.contains("chains"))
    for (const auto& c : ArrayField(j, "chains")) {
      compile::OwnedChain chain{OptStringField(c, "table", "filter"), StringField(c, "name"),
                                OptStringList(c, "rules")};
      if (!KnownTable(chain.table)) Invalid("chain " + chain.name, "unknown table");
      if (!OwnedChainName(chain.name)) Invalid("chain", "\"" + chain.name + "\" is not a chain swarmwall owns");
      for (const auto& other : fs.chains)
        if (other.name == chain.name) Invalid("chain " + chain.name, "listed twice");
      fs.chains.push_back(std::move(chain));
    }
  if (j.contains("hooks"))
    for (const auto& h : ArrayField(j, "hooks")) {
      compile::Hook hook{OptStringField(h, "table", "filter"), StringField(h, "chain"), StringField(h, "target"),
                         OptBoolField(h, "create", false)};
      if (!KnownTable(hook.table) || !HookPoint(hook.table, hook.chain))
        Invalid("hook", "\"" + hook.chain + "\" is not a place swarmwall hooks into");
      if (!OwnedChainName(hook.target)) Invalid("hook", "\"" + hook.target + "\" is not a chain swarmwall owns");
      fs.hooks.push_back(std::move(hook));
    }
  if (j.contains("sets"))
    for (const auto& s : ArrayField(j, "sets")) {
      compile::IpSet set;
      set.name = StringField(s, "name");
      if (!OwnedSetName(set.name)) Invalid("set", "\"" + set.name + "\" is not a set swarmwall owns");
      set.policy_name = OptStringField(s, "policy_name");
      set.family = fs.family;
      std::vector<netfilter::Cidr> entries;
      auto add = [&](std::string_view text) {
        auto c = netfilter::Cidr::Parse(text, fs.family);
        if (!c) Invalid("set " + set.name, "\"" + std::string(text) + "\" is not an address of its family");
        entries.push_back(*c);
      };
      std::string list = OptStringField(s, "entry_list");
      std::string_view rest = list;
      while (!rest.empty()) {
        size_t blank = rest.find(' ');
        add(rest.substr(0, blank));
        rest = blank == std::string_view::npos ? std::string_view() : rest.substr(blank + 1);
      }
      for (const auto& e : OptStringList(s, "entries")) add(e);   // the earlier form
      set.entries = std::make_shared<const std::vector<netfilter::Cidr>>(std::move(entries));
      fs.sets.push_back(std::move(set));
    }
  CheckRules(fs);
  return fs;
}

json DesiredStateToJson(const compile::DesiredState& s) {
  return {{"node", s.node}, {"policy_file", s.policy_file}, {"ipv4", FamilyStateToJson(s.ipv4)},
          {"ipv6", FamilyStateToJson(s.ipv6)}};
}

compile::DesiredState DesiredStateFromJson(const json& j) {
  compile::DesiredState s;
  s.node = OptStringField(j, "node");
  s.policy_file = OptStringField(j, "policy_file");
  s.ipv4 = FamilyStateFromJson(j.contains("ipv4") ? Field(j, "ipv4") : json::object());
  s.ipv6 = FamilyStateFromJson(j.contains("ipv6") ? Field(j, "ipv6") : json{{"family", 6}});
  if (s.ipv4.family != Family::kIPv4 || s.ipv6.family != Family::kIPv6) Invalid("family", "ipv4 and ipv6 swapped");
  return s;
}

namespace {

bool Plain(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == ':' || c == '/' || c == ' ' || c == '-' || c == '_';
  });
}

// Moves J's long plain strings into OUT, leaving "\u0001N" in their place.
void TakeLongStrings(json& j, std::vector<std::string>& out) {
  if (j.is_string()) {
    auto& s = j.get_ref<std::string&>();
    if (s.size() >= 4096 && Plain(s)) {
      out.push_back(std::move(s));
      j = "\x01" + std::to_string(out.size() - 1);
    }
  } else if (j.is_structured()) {
    for (auto& v : j) TakeLongStrings(v, out);
  }
}

bool HasMarker(const json& j) {
  if (j.is_string()) return j.get_ref<const std::string&>().starts_with('\x01');
  if (j.is_structured())
    for (const auto& v : j)
      if (HasMarker(v)) return true;
  return false;
}

}  // namespace

std::string DumpJson(json j) {
  if (HasMarker(j)) return JsonText(j);   // a string of its own looks like a placeholder
  std::vector<std::string> taken;
  TakeLongStrings(j, taken);
  std::string text = JsonText(j);
  if (taken.empty()) return text;
  // A control character is always escaped by dump, so the only "\u0001" in
  // TEXT are the placeholders.
  std::string out;
  size_t size = text.size();
  for (const auto& t : taken) size += t.size();
  out.reserve(size);
  size_t at = 0;
  for (;;) {
    size_t p = text.find("\"\\u0001", at);
    if (p == std::string::npos) break;
    size_t digits = p + 7, end = digits;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    out.append(text, at, p + 1 - at);   // up to and with the opening quote
    out += taken[std::stoul(text.substr(digits, end - digits))];
    at = end;   // the closing quote comes next
  }
  out.append(text, at, std::string::npos);
  return out;
}

}  // namespace swarmwall::compile
