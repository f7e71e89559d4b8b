// Reading one option's arguments into a typed Value plus the canonical text
// iptables-save would print for them (see Codec in modules.h).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "netfilter/modules.h"
#include "netfilter/ruleset.h"

namespace swarmwall::netfilter {

struct DecodeContext {
  Ruleset* ruleset;        // where text and arrays are stored
  Family family;
  uint16_t protocol;       // the rule's -p, for service names
  Interner* interner = nullptr;   // stores the text once (else ruleset->Store)
  std::string* scratch = nullptr; // reused for the canonical text
};

// ARGS are the tokens after the option name (not yet consumed). On success
// returns the number of tokens used and fills PART's text and value; on
// failure returns -1 and sets ERROR.
int DecodeOption(const OptionSpec& spec, std::span<const std::string_view> args,
                 const DecodeContext& context, Part& part, std::string& error);

// How many arguments a codec takes (0, 1 or 2).
int CodecArity(Codec codec);

// The hashlimit match's options (in any order, already decoded) rewritten
// to what libxt_hashlimit saves: defaults filled in or dropped, rates in
// canonical units. False with ERROR when the combination is invalid.
bool CanonicalizeHashlimit(std::vector<Part>& opts, Family family, Ruleset& ruleset,
                           std::string& error);

// A -m limit rate ("60/minute", "8/sec") as iptables-save prints it back
// ("1/sec": the kernel keeps only the period, and the largest unit that
// divides it exactly is printed); "" when iptables would refuse it.
std::string CanonicalLimitRate(std::string_view text);

// iptables' quoting of free text: bare when made only of safe characters.
// FORCE quotes even safe text (a token that must not read as an option).
std::string QuoteText(std::string_view text, bool force = false);

// Parses one number as iptables does (strtoul base 0: 0x.. hex, 0.. octal,
// else decimal); false on garbage, overflow or a value above MAX.
bool ParseNumber(std::string_view text, uint64_t max, uint64_t& out);
// The same for a number at the start of TEXT; USED is how many characters.
bool ParseNumberPrefix(std::string_view text, uint64_t max, uint64_t& out,
                       size_t& used);

}  // namespace swarmwall::netfilter
