// Reads iptables-save / ip6tables-save text (and what iptables-restore
// accepts of hand-written files) into a Ruleset. All or nothing: on the
// first error nothing of the file is returned.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netfilter/ruleset.h"

namespace swarmwall::netfilter {

struct Diagnostic {
  std::string file;
  int line = 0;
  int column = 0;
  std::string message;
  std::string ToString() const;   // "FILE:LINE:COL: message"
};

struct ParseOptions {
  std::string file_name = "-";            // used in messages
  std::optional<Family> family;           // unset: detect from the text
  // For analysis of dumps people share (anonymised: MACs as
  // XX:XX:XX:XX:XX:XX, <private_ip>, host names, reversed port ranges of
  // old kernels): a value that cannot be read does not fail the ruleset; it
  // becomes a match of the module kUnreadableModule holding the text (the
  // analyzer cannot decide it), or an unreadable target (Rule::
  // target_unreadable), each with a warning. Never for rules that are
  // printed back or applied.
  bool lenient = false;
};

// The module of a --lenient reading's unreadable values ("-m unreadable -s <private_ip>").
inline constexpr std::string_view kUnreadableModule = "unreadable";

struct ParseResult {
  std::optional<Ruleset> ruleset;         // set when there is no error
  std::optional<Diagnostic> error;
  std::vector<Diagnostic> warnings;       // e.g. stray text before a table
};

ParseResult ParseRuleset(std::string_view text, const ParseOptions& options = {});

// Guesses IPv4 or IPv6 from the text (header comment, addresses, icmp6).
Family DetectFamily(std::string_view text);

// The built-in chains of a table, in the order iptables-save lists them.
std::span<const std::string_view> BuiltinChains(std::string_view table);

}  // namespace swarmwall::netfilter
