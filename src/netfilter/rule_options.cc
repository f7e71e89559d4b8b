#include "netfilter/rule_options.h"

#include <array>
#include <utility>

namespace swarmwall::netfilter {

namespace {

// iptables' own long options that may appear in a rule, for getopt_long's
// unambiguous prefixes ("--proto tcp", "--dest 1.2.3.4").
constexpr std::pair<std::string_view, std::string_view> kBaseLongOptions[] = {
    {"source", "-s"},        {"src", "-s"},           {"destination", "-d"},
    {"dst", "-d"},           {"protocol", "-p"},      {"in-interface", "-i"},
    {"out-interface", "-o"}, {"jump", "-j"},          {"goto", "-g"},
    {"match", "-m"},         {"fragments", "-f"},     {"set-counters", "-c"},
};

// The base options that take an argument, which getopt lets one attach.
constexpr std::string_view kAttachable = "sdiopjgmc";

// (isalnum of the C locale, as a table.)
constexpr auto kNameChars = [] {
  std::array<uint8_t, 256> t{};   // 1: alphanumeric, 2: '_' or '-'
  for (int c = '0'; c <= '9'; ++c) t[c] = 1;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = 1;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = 1;
  t['_'] = t['-'] = 2;
  return t;
}();

}  // namespace

BaseOption BaseOptionOf(std::string_view t) {
  if (t.size() < 2 || t[0] != '-') return BaseOption::kNone;
  if (t.size() == 2) {
    switch (t[1]) {
      case 's': return BaseOption::kSource;
      case 'd': return BaseOption::kDestination;
      case 'i': return BaseOption::kIn;
      case 'o': return BaseOption::kOut;
      case 'p': return BaseOption::kProtocol;
      case 'f': return BaseOption::kFragment;
      case 'm': return BaseOption::kMatch;
      case 'j': return BaseOption::kJump;
      case 'g': return BaseOption::kGoto;
      case 'c': return BaseOption::kCounters;
      default: return BaseOption::kNone;
    }
  }
  if (t[1] != '-') return BaseOption::kNone;
  std::string_view n = t.substr(2);
  switch (n.size()) {
    case 3:
      if (n == "src") return BaseOption::kSource;
      if (n == "dst") return BaseOption::kDestination;
      break;
    case 4:
      if (n == "jump") return BaseOption::kJump;
      if (n == "goto") return BaseOption::kGoto;
      break;
    case 5:
      if (n == "match") return BaseOption::kMatch;
      break;
    case 6:
      if (n == "source") return BaseOption::kSource;
      break;
    case 8:
      if (n == "protocol") return BaseOption::kProtocol;
      if (n == "fragment") return BaseOption::kFragment;
      break;
    case 9:
      if (n == "fragments") return BaseOption::kFragment;
      break;
    case 11:
      if (n == "destination") return BaseOption::kDestination;
      break;
    case 12:
      if (n == "in-interface") return BaseOption::kIn;
      if (n == "set-counters") return BaseOption::kCounters;
      break;
    case 13:
      if (n == "out-interface") return BaseOption::kOut;
      break;
  }
  return BaseOption::kNone;
}

bool StartsBaseOption(std::string_view t) {
  if (IsBaseOption(t)) return true;
  if (t.size() > 2 && t[0] == '-' && t[1] != '-')
    return kAttachable.find(t[1]) != std::string_view::npos;
  size_t eq = t.find('=');
  return t.starts_with("--") && eq != std::string_view::npos && IsBaseOption(t.substr(0, eq));
}

void SplitAttachedValue(Tokens& toks, size_t i) {
  std::string_view raw = toks[i].text;
  if (raw.size() <= 2 || raw[0] != '-') return;
  size_t eq = raw[1] == '-' ? raw.find('=') : std::string_view::npos;
  if (raw[1] == '-' && eq != std::string_view::npos && eq > 2) {
    Token value{raw.substr(eq + 1), toks[i].column + static_cast<int>(eq) + 1, toks[i].quoted};
    toks[i].text = raw.substr(0, eq);
    toks.insert(i + 1, value);
  } else if (raw[1] != '-' && kAttachable.find(raw[1]) != std::string_view::npos) {
    Token value{raw.substr(2), toks[i].column + 2, toks[i].quoted};
    toks[i].text = raw.substr(0, 2);
    toks.insert(i + 1, value);
  }
}

bool ValidExtensionName(std::string_view n) {
  if (n.empty() || n.size() > 28 || kNameChars[static_cast<unsigned char>(n[0])] != 1)
    return false;
  for (char c : n)
    if (!kNameChars[static_cast<unsigned char>(c)]) return false;
  return true;
}

const OptionSpec* FindModuleOption(const ModuleSpec& module, std::string_view name) {
  for (const auto& o : module.options) {
    if (o.name == name) return &o;
    std::string_view al = o.aliases;
    while (!al.empty()) {
      size_t comma = al.find(',');
      if (al.substr(0, comma) == name) return &o;
      if (comma == std::string_view::npos) break;
      al.remove_prefix(comma + 1);
    }
  }
  return nullptr;
}

PrefixMatch MatchOptionPrefix(std::string_view name, std::span<const LoadedModule> loaded,
                              const ModuleSpec* target) {
  PrefixMatch out;
  const OptionSpec* unique = nullptr;
  const ModuleSpec* unique_owner = nullptr;
  int matches = 0;
  auto try_prefix = [&](const ModuleSpec& m) {
    for (const auto& o : m.options)
      if (o.name.starts_with(name) && !o.name.empty()) {
        unique = &o;
        unique_owner = &m;
        ++matches;
      }
  };
  int last_group = -1;
  for (size_t k = 0; k < loaded.size(); ++k)
    if (loaded[k].spec) {
      int before = matches;
      try_prefix(*loaded[k].spec);
      if (matches > before) last_group = static_cast<int>(k);
    }
  int before_target = matches;
  if (target) try_prefix(*target);
  // The base options' long names take part in getopt's prefixes too.
  std::string_view base_short;
  int base_matches = 0;
  for (const auto& [long_name, short_name] : kBaseLongOptions)
    if (long_name.starts_with(name) && short_name != base_short) {
      base_short = short_name;
      ++base_matches;
    }
  out.matches = matches + base_matches;
  if (out.matches != 1) return out;
  if (base_matches == 1) {
    out.base = base_short;
  } else {
    out.option = unique;
    out.owner = unique_owner;
    out.for_target = matches > before_target;
    out.group = out.for_target ? -1 : last_group;
  }
  return out;
}

}  // namespace swarmwall::netfilter
