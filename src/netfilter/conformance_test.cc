// Conformance with iptables' own rule-syntax tests (extensions/*.t in the
// shared corpus, read at run time from $SWARMWALL_SHARED). For every line of
// a module or target we type (and the base syntax files), the rule is wrapped
// in a one-rule table, parsed and printed: an OK line must print as its
// expected canonical form, a FAIL line must be rejected with an error.
//
// The .t format: ":CHAIN,CHAIN" selects chains (we use the first), "*table"
// switches table, "RULE;EXPECTED;RESULT[;VARIANT[;ALT]]" is a test where
// EXPECTED "=" means the rule prints back unchanged; "#" and "@" lines are
// comments and external commands. libxt_ and libipt_ files are IPv4 (as
// iptables-test.py runs them), libip6t_ files IPv6.
//
// Every line that does not pass is listed in kKnownFailures with a reason;
// a new failure, or a listed line that now passes, fails the test.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "netfilter/modules.h"
#include "netfilter/parser.h"
#include "netfilter/printer.h"

namespace swarmwall::netfilter {
namespace {

namespace fs = std::filesystem;

struct Known {
  std::string_view file;
  std::string_view rule;
  std::string_view reason;
};

// Lines we knowingly do not pass, each with why. Keep this short.
constexpr Known kKnownFailures[] = {
    {"libip6t_icmp6.t", "-m icmpv6",
     "match names we do not know are kept verbatim (xtables-addons and other "
     "out-of-tree modules exist); iptables fails only because no libxt_icmpv6.so "
     "is installed"},
    {"libxt_set.t", "-m set --match-set foo src,dst",
     "fails in iptables only because the kernel has no ipset 'foo'; a parser "
     "cannot know which sets exist"},
};

struct Case {
  std::string file;      // base name, e.g. libxt_tcp.t
  int line = 0;
  std::string module;    // tcp, DNAT, standard, iptables
  Family family = Family::kIPv4;
  std::string table, chain, rule, expected;
  bool ok = true;        // expected result
};

std::string Trim(std::string_view s) {
  size_t a = s.find_first_not_of(" \t\r\n");
  if (a == std::string_view::npos) return "";
  size_t b = s.find_last_not_of(" \t\r\n");
  return std::string(s.substr(a, b - a + 1));
}

std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  if (!s.empty() && s.back() == sep) out.emplace_back();
  return out;
}

bool InScope(const std::string& module, Family family) {
  if (module == "standard" || module == "iptables" || module == "ip6tables")
    return true;
  bool target = !module.empty() && std::isupper(static_cast<unsigned char>(module[0]));
  return FindModule(module, target, family) != nullptr;
}

struct Skips {
  int variant = 0;   // LEGACY/NFT-only lines
  int malformed = 0; // lines without a result field
};

std::vector<Case> LoadCases(const fs::path& dir, Skips& skips) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir))
    if (e.path().extension() == ".t") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<Case> cases;
  for (const auto& path : files) {
    std::string base = path.filename().string();
    std::string stem = path.stem().string();
    Family family = Family::kIPv4;
    std::string module;
    if (stem.starts_with("libxt_")) module = stem.substr(6);
    else if (stem.starts_with("libipt_")) module = stem.substr(7);
    else if (stem.starts_with("libip6t_")) {
      module = stem.substr(8);
      family = Family::kIPv6;
    } else if (stem == "iptables") module = stem;
    else if (stem == "ip6tables") {
      module = stem;
      family = Family::kIPv6;
    } else continue;   // libarpt_, libebt_: arptables / ebtables
    if (!InScope(module, family)) continue;

    std::ifstream in(path);
    std::string line, table = "filter", chain = "INPUT";
    int lineno = 0;
    while (std::getline(in, line)) {
      ++lineno;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.empty() || line[0] == '#' || line[0] == '@') continue;
      if (line[0] == ':') {
        chain = Trim(Split(line.substr(1), ',').at(0));
        continue;
      }
      if (line[0] == '*') {
        table = Trim(line.substr(1));
        continue;
      }
      auto fields = Split(line, ';');
      if (fields.size() < 3) {
        ++skips.malformed;
        continue;
      }
      if (fields.size() > 3 && !Trim(fields[3]).empty()) {
        ++skips.variant;   // a legacy- or nft-only expectation
        continue;
      }
      Case c;
      c.file = base;
      c.line = lineno;
      c.module = module;
      c.family = family;
      c.table = table;
      c.chain = chain;
      c.rule = Trim(fields[0]);
      std::string expected = Trim(fields[1]);
      c.expected = expected == "=" ? c.rule : expected;
      c.ok = Trim(fields[2]) == "OK";
      cases.push_back(std::move(c));
    }
  }
  return cases;
}

// Returns "" on success, else what went wrong.
std::string RunCase(const Case& c) {
  std::string text = "*" + c.table + "\n";
  bool builtin = false;
  for (std::string_view b : BuiltinChains(c.table)) builtin |= b == c.chain;
  if (!builtin) text += ":" + c.chain + " - [0:0]\n";
  text += "-A " + c.chain + " " + c.rule + "\nCOMMIT\n";
  ParseOptions options;
  options.file_name = c.file;
  options.family = c.family;
  auto r = ParseRuleset(text, options);
  if (!c.ok) {
    if (r.ruleset) {
      const Chain* ch = r.ruleset->FindChain(c.table, c.chain);
      std::string got = ch && !ch->rules.empty() ? RuleSpec(ch->rules[0], c.family) : "";
      return "accepted, should fail; printed: " + got;
    }
    if (!r.error || r.error->message.empty()) return "rejected without a message";
    return "";
  }
  if (!r.ruleset) return "rejected: " + r.error->message;
  const Chain* ch = r.ruleset->FindChain(c.table, c.chain);
  if (!ch || ch->rules.size() != 1)
    return fmt::format("{} rules instead of 1", ch ? ch->rules.size() : 0);
  std::string got = RuleSpec(ch->rules[0], c.family);
  if (got != c.expected) return "printed: " + got;
  return "";
}

const Known* FindKnown(const Case& c) {
  for (const auto& k : kKnownFailures)
    if (k.file == c.file && k.rule == c.rule) return &k;
  return nullptr;
}

TEST(Conformance, IptablesExtensionTests) {
  const char* shared = std::getenv("SWARMWALL_SHARED");
  if (!shared) GTEST_SKIP() << "SWARMWALL_SHARED is not set";
  fs::path dir = fs::path(shared) / "corpus/iptables-tests/extensions";
  if (!fs::is_directory(dir)) GTEST_SKIP() << dir << " not found";

  Skips skips;
  std::vector<Case> cases = LoadCases(dir, skips);
  ASSERT_GT(cases.size(), 500u) << "too few test lines found in " << dir;

  struct Tally {
    int passed = 0, total = 0, known = 0;
  };
  std::map<std::string, Tally> per_module;
  Tally all;
  int new_failures = 0, stale_known = 0;
  for (const auto& c : cases) {
    std::string what = RunCase(c);
    const Known* known = FindKnown(c);
    Tally& t = per_module[c.module];
    ++t.total;
    ++all.total;
    if (what.empty()) {
      ++t.passed;
      ++all.passed;
      if (known) {
        ++stale_known;
        ADD_FAILURE() << c.file << ":" << c.line << ": listed as known failure but passes: "
                      << c.rule;
      }
      continue;
    }
    if (known) {
      ++t.known;
      ++all.known;
      continue;
    }
    ++new_failures;
    ADD_FAILURE() << c.file << ":" << c.line << " [" << c.table << " " << c.chain << "] "
                  << c.rule << "\n  expected: "
                  << (c.ok ? c.expected : std::string("(rejected)")) << "\n  " << what;
  }

  std::string table = "module               passed/total  known-failing\n";
  for (const auto& [module, t] : per_module)
    table += fmt::format("{:<20} {:>6}/{:<6} {}\n", module, t.passed, t.total,
                         t.known ? std::to_string(t.known) : "");
  table += fmt::format("{:<20} {:>6}/{:<6} {}\n", "TOTAL", all.passed, all.total, all.known);
  table += fmt::format("skipped: {} variant-specific (LEGACY/NFT) lines, {} lines without a result\n",
                       skips.variant, skips.malformed);
  std::fputs(table.c_str(), stdout);
  EXPECT_EQ(new_failures, 0);
  EXPECT_EQ(stale_known, 0);
}

}  // namespace
}  // namespace swarmwall::netfilter
