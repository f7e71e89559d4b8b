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
};

// ARGS are the tokens after the option name (not yet consumed). On success
// returns the number of tokens used and fills PART's text and value; on
// failure returns -1 and sets ERROR.
int DecodeOption(const OptionSpec& spec, std::span<const std::string> args,
                 const DecodeContext& context, Part& part, std::string& error);

// How many arguments a codec takes (0, 1 or 2).
int CodecArity(Codec codec);

// iptables' quoting of free text: bare when made only of safe characters.
std::string QuoteText(std::string_view text);

// Parses "N" or "N:M"-style numbers; false on garbage or overflow.
bool ParseNumber(std::string_view text, uint64_t max, uint64_t& out);

}  // namespace swarmwall::netfilter
