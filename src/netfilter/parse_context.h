// What the readers of one parse share: the options, the ruleset being built
// and its interner, the table open between "*name" and COMMIT, and the
// first error and the warnings. Used by the parser only.
#pragma once

#include <algorithm>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netfilter/arena.h"
#include "netfilter/parser.h"
#include "netfilter/ruleset.h"

namespace swarmwall::netfilter {

struct ParseContext {
  ParseContext(std::string_view text, const ParseOptions& options)
      : options(options),
        interner(ruleset.arena(), std::clamp<size_t>(text.size() / 256, 1024, 65536)) {}

  ParseOptions options;
  Ruleset ruleset;
  Interner interner;
  Table* table = nullptr;         // the table being read, until COMMIT
  bool unresolved_goto = false;   // a -g in it to a chain that did not exist (yet)
  std::optional<Diagnostic> error;
  std::vector<Diagnostic> warnings;

  // Records the error; false, for "return Fail(...)".
  bool Fail(int line, int column, std::string message) {
    error = Diagnostic{options.file_name, line, column, std::move(message)};
    return false;
  }
  void Warn(int line, int column, std::string message) {
    warnings.push_back(Diagnostic{options.file_name, line, column, std::move(message)});
  }
  Name Intern(std::string_view s) { return interner.Intern(s); }
  Family family() const { return ruleset.family; }

  // The open table's chain NAME, by its index alone (which the parser keeps
  // in step with the chains, so a miss is a miss).
  Chain* FindChain(std::string_view name) {
    auto& chains = table->chains;
    if (!table->chain_index.Valid(chains)) table->chain_index.Rebuild(chains);
    long pos = table->chain_index.Find(chains, name);
    return pos < 0 ? nullptr : &chains[static_cast<size_t>(pos)];
  }
};

}  // namespace swarmwall::netfilter
