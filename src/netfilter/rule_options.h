// Which option a token of a rule names, as getopt_long sees it in
// iptables: iptables' own options (-s, --source, --src, ...), a module's
// option by its name or an alias, the attached spellings "--opt=value" and
// "-ptcp", and unambiguous prefixes ("--dpo" for --dport). Used by the
// parser only.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "netfilter/modules.h"
#include "netfilter/tokenizer.h"

namespace swarmwall::netfilter {

enum class BaseOption : uint8_t {
  kNone, kSource, kDestination, kIn, kOut, kProtocol, kFragment, kMatch, kJump, kGoto,
  kCounters,
};

// Which base option T spells exactly ("-s", "--source", "--src", ...).
BaseOption BaseOptionOf(std::string_view t);
inline bool IsBaseOption(std::string_view t) { return BaseOptionOf(t) != BaseOption::kNone; }

// A base option in any of getopt's spellings: "-p", "--protocol",
// "-ptcp", "--protocol=tcp".
bool StartsBaseOption(std::string_view t);

// getopt_long's attached values: TOKS[I] "--option=value", or "-Xvalue" for
// a base option that takes an argument, becomes two tokens.
void SplitAttachedValue(Tokens& toks, size_t i);

// Extension (match and target) names as iptables loads them.
bool ValidExtensionName(std::string_view n);

// MODULE's option NAME (without "--"), by its name or an alias.
const OptionSpec* FindModuleOption(const ModuleSpec& module, std::string_view name);

// A module the rule has loaded so far (-m NAME, or implicitly by -p).
struct LoadedModule {
  const ModuleSpec* spec;      // nullptr: opaque
  size_t part_index;           // its kMatch part
};

// What getopt makes of an option NAME that no module knows by its full
// name: an unambiguous prefix of a loaded module's option, of the target's
// or of a base option's long name.
struct PrefixMatch {
  int matches = 0;                    // > 1: ambiguous
  std::string_view base;              // the base option's short form ("-p")
  const OptionSpec* option = nullptr; // else the module option
  const ModuleSpec* owner = nullptr;
  bool for_target = false;
  int group = -1;                     // index into LOADED of its module
};
PrefixMatch MatchOptionPrefix(std::string_view name, std::span<const LoadedModule> loaded,
                              const ModuleSpec* target);

}  // namespace swarmwall::netfilter
