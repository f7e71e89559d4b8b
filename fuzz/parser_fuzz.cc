// libFuzzer target for the iptables-save parser and printer. Arbitrary bytes
// are parsed; whatever parses must print, the printout must parse again (as
// the same family), and printing that must give the same text: the printer's
// output is a fixed point of parse+print. Any difference aborts.
//
// Build: CC=clang CXX=clang++ cmake -DSWARMWALL_FUZZ=ON ...; run
// `parser_fuzz CORPUS_DIR` (ctest -L fuzz runs it for a minute).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "netfilter/parser.h"
#include "netfilter/printer.h"

namespace {

using swarmwall::netfilter::Family;
using swarmwall::netfilter::ParseOptions;
using swarmwall::netfilter::ParseRuleset;
using swarmwall::netfilter::PrintOptions;
using swarmwall::netfilter::PrintRuleset;

// Non-printable bytes as \xNN, so a difference in them shows.
std::string Visible(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '\n' || (c >= 0x20 && c < 0x7f)) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
  return out;
}

[[noreturn]] void Die(const char* what, const std::string& a, const std::string& b) {
  size_t at = 0;
  while (at < a.size() && at < b.size() && a[at] == b[at]) ++at;
  std::fprintf(stderr, "parser_fuzz: %s (first difference at byte %zu)\n--- first:\n%s\n"
               "--- second:\n%s\n", what, at, Visible(a).c_str(), Visible(b).c_str());
  std::abort();
}

void CheckFixedPoint(std::string_view text, const ParseOptions& first_options,
                     const PrintOptions& print) {
  auto first = ParseRuleset(text, first_options);
  if (!first.ruleset) return;
  std::string p1 = PrintRuleset(*first.ruleset, print);
  ParseOptions again;
  again.family = first.ruleset->family;
  auto second = ParseRuleset(p1, again);
  if (!second.ruleset) Die("the printout does not parse", p1, second.error->ToString());
  if (second.ruleset->family != first.ruleset->family)
    Die("the family changed", p1, "");
  std::string p2 = PrintRuleset(*second.ruleset, print);
  if (p1 != p2) Die("printing is not idempotent", p1, p2);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ParseOptions detect;                 // family from the text
  CheckFixedPoint(text, detect, {});
  PrintOptions with_counters;
  with_counters.counters = true;
  ParseOptions v6;
  v6.family = Family::kIPv6;           // and forced IPv6, which reads differently
  CheckFixedPoint(text, v6, with_counters);
  return 0;
}
