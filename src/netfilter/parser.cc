#include "netfilter/parser.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <initializer_list>
#include <optional>

#include <fmt/format.h>

#include "netfilter/codecs.h"
#include "netfilter/modules.h"

namespace swarmwall::netfilter {

std::string Diagnostic::ToString() const {
  return fmt::format("{}:{}:{}: {}", file, line, column, message);
}

namespace {

constexpr std::string_view kFilterChains[] = {"INPUT", "FORWARD", "OUTPUT"};
constexpr std::string_view kNatChains[] = {"PREROUTING", "INPUT", "OUTPUT",
                                           "POSTROUTING"};
constexpr std::string_view kMangleChains[] = {"PREROUTING", "INPUT", "FORWARD",
                                              "OUTPUT", "POSTROUTING"};
constexpr std::string_view kRawChains[] = {"PREROUTING", "OUTPUT"};

struct Token {
  std::string text;
  int column;           // 1-based
  bool quoted = false;  // had quotes: a quoted "!" is a value, not a negation
  bool IsBang() const { return !quoted && text == "!"; }
};

// Splits a line as iptables-restore does (add_param_to_argv): blanks
// separate; a double quote opens a quoted run, inside which a backslash
// takes the next character literally; the closing quote ends the word.
// Outside quotes a backslash is an ordinary character. An unterminated
// quote is an error here (iptables would swallow the rest of the line).
bool Tokenize(std::string_view line, std::vector<Token>& out, int& error_col) {
  out.clear();
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    if (i >= line.size()) break;
    Token t;
    t.column = static_cast<int>(i) + 1;
    while (i < line.size()) {
      char c = line[i];
      if (c == ' ' || c == '\t') break;
      if (c != '"') {
        t.text += c;
        ++i;
        continue;
      }
      size_t open = i++;
      t.quoted = true;
      bool closed = false;
      while (i < line.size()) {
        char q = line[i++];
        if (q == '\\' && i < line.size()) {
          t.text += line[i++];
        } else if (q == '"') {
          closed = true;
          break;
        } else {
          t.text += q;
        }
      }
      if (!closed) {
        error_col = static_cast<int>(open) + 1;
        return false;
      }
      break;   // the closing quote ends the word
    }
    out.push_back(std::move(t));
  }
  return true;
}

// A counter as sscanf("%llu") reads it, but the whole word.
bool ParseDecimal(std::string_view text, unsigned long long& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// iptables' own long options that may appear in a rule, for getopt_long's
// unambiguous prefixes ("--proto tcp", "--dest 1.2.3.4").
constexpr std::pair<std::string_view, std::string_view> kBaseLongOptions[] = {
    {"source", "-s"},        {"src", "-s"},           {"destination", "-d"},
    {"dst", "-d"},           {"protocol", "-p"},      {"in-interface", "-i"},
    {"out-interface", "-o"}, {"jump", "-j"},          {"goto", "-g"},
    {"match", "-m"},         {"fragments", "-f"},     {"set-counters", "-c"},
};

// Extension (match and target) names as iptables loads them.
bool ValidExtensionName(std::string_view n) {
  if (n.empty() || n.size() > 28 || !isalnum(static_cast<unsigned char>(n[0]))) return false;
  for (char c : n)
    if (!(isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
  return true;
}

// Names printed bare (chains, interfaces) must read back as one token.
bool PrintableName(std::string_view n) {
  return !n.empty() && n.find_first_of(" \t\"") == std::string_view::npos;
}

bool IsBaseOption(std::string_view t) {
  static constexpr std::string_view kBase[] = {
      "-s", "--source", "--src", "-d", "--destination", "--dst",
      "-i", "--in-interface", "-o", "--out-interface", "-p", "--protocol",
      "-f", "--fragment", "--fragments", "-m", "--match", "-j", "--jump", "-g", "--goto",
      "-c", "--set-counters"};
  return std::find(std::begin(kBase), std::end(kBase), t) != std::end(kBase);
}

// A base option in any of getopt's spellings: "-p", "--protocol",
// "-ptcp", "--protocol=tcp".
bool StartsBaseOption(std::string_view t) {
  if (IsBaseOption(t)) return true;
  if (t.size() > 2 && t[0] == '-' && t[1] != '-')
    return std::string_view("sdiopjgmc").find(t[1]) != std::string_view::npos;
  size_t eq = t.find('=');
  return t.starts_with("--") && eq != std::string_view::npos && IsBaseOption(t.substr(0, eq));
}

struct LoadedModule {
  const ModuleSpec* spec;      // nullptr: opaque
  size_t part_index;           // its kMatch part (or first target part)
};

class Parser {
 public:
  Parser(std::string_view text, const ParseOptions& options)
      : text_(text), options_(options) {}

  ParseResult Run();

 private:
  bool Fail(int line, int column, std::string message) {
    result_.error = Diagnostic{options_.file_name, line, column, std::move(message)};
    return false;
  }
  void Warn(int line, int column, std::string message) {
    result_.warnings.push_back(
        Diagnostic{options_.file_name, line, column, std::move(message)});
  }
  bool ParseLine(std::string_view line, int lineno);
  bool DeclareChain(const Token& t, const std::vector<Token>& toks, int lineno);
  bool ParseCommand(std::vector<Token>& toks, int lineno);
  bool ParseRule(std::vector<Token>& toks, int lineno, Chain& chain,
                 std::vector<Rule>& out);
  bool FinishRule(Rule& rule, std::vector<LoadedModule>& loaded,
                  const std::vector<int>& group_of, const Chain& chain,
                  int lineno, int column);
  bool CommitTable(int lineno);
  bool CanonicalizePolicy(std::vector<Part>& opts, const Chain& chain, int lineno,
                          int column);
  Chain* FindChainOrFail(const Token& t, int lineno);
  const std::string_view Intern(std::string_view s) { return ruleset_.Store(s); }

  std::string_view text_;
  ParseOptions options_;
  ParseResult result_;
  Ruleset ruleset_;
  Table* table_ = nullptr;       // table being read, until COMMIT
  int table_line_ = 0;
  bool seen_table_ = false;
  std::vector<Token> tokens_;
  std::vector<std::string> args_;   // scratch for option arguments
};

ParseResult Parser::Run() {
  ruleset_.family = options_.family ? *options_.family : DetectFamily(text_);
  int lineno = 0;
  size_t pos = 0;
  bool ok = true;
  while (ok && pos < text_.size()) {
    size_t end = text_.find('\n', pos);
    if (end == std::string_view::npos) end = text_.size();
    std::string_view line = text_.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++lineno;
    pos = end + 1;
    ok = ParseLine(line, lineno);
  }
  if (ok && table_)
    ok = Fail(lineno, 1, fmt::format("table '{}' (line {}) has no COMMIT",
                                     table_->name, table_line_));
  if (ok && !seen_table_ && !result_.warnings.empty()) {
    // Text but not one table: a script or a listing, not a dump.
    Diagnostic first = result_.warnings.front();
    result_.warnings.clear();
    ok = Fail(first.line, first.column,
              "no '*table' line: this is not iptables-save output (a shell script or "
              "'iptables -L' listing?)");
  }
  ParseResult out;
  out.error = std::move(result_.error);
  out.warnings = std::move(result_.warnings);
  if (ok) out.ruleset.emplace(std::move(ruleset_));
  return out;
}

bool Parser::ParseLine(std::string_view line, int lineno) {
  size_t first = line.find_first_not_of(" \t");
  if (first == std::string_view::npos) return true;
  std::string_view body = line.substr(first);
  int col0 = static_cast<int>(first) + 1;
  if (body[0] == '#') return true;
  if (body[0] == '*') {
    if (table_)
      return Fail(lineno, col0, fmt::format("table '{}' (line {}) has no COMMIT",
                                            table_->name, table_line_));
    std::string_view name = body.substr(1);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
      name.remove_suffix(1);
    static constexpr std::string_view kTables[] = {"filter", "nat", "mangle",
                                                   "raw", "security"};
    if (std::find(std::begin(kTables), std::end(kTables), name) == std::end(kTables))
      return Fail(lineno, col0 + 1, fmt::format("unknown table '{}'", name));
    seen_table_ = true;
    table_line_ = lineno;
    table_ = ruleset_.FindTable(name);
    if (!table_) {
      ruleset_.tables.push_back(Table{Intern(name), {}});
      table_ = &ruleset_.tables.back();
      for (std::string_view c : BuiltinChains(name)) {
        Chain chain;
        chain.name = c;
        chain.builtin = true;
        chain.policy = "ACCEPT";
        table_->chains.push_back(chain);
      }
    }
    return true;
  }
  if (!table_) {
    if (body == "COMMIT" || body[0] == ':' || body[0] == '-')
      return Fail(lineno, col0, "rule or chain outside a table (no '*table' line before it)");
    if (!seen_table_) {
      Warn(lineno, col0, "skipping text before the first table");
      return true;
    }
    return Fail(lineno, col0, fmt::format("unexpected text after COMMIT: '{}'", body));
  }
  if (body == "COMMIT" || body.starts_with("COMMIT ") || body.starts_with("COMMIT\t"))
    return CommitTable(lineno);
  int error_col = 0;
  if (!Tokenize(line, tokens_, error_col))
    return Fail(lineno, error_col, "unterminated quote");
  if (body[0] == ':') return DeclareChain(tokens_[0], tokens_, lineno);
  return ParseCommand(tokens_, lineno);
}

bool Parser::DeclareChain(const Token& t, const std::vector<Token>& toks, int lineno) {
  std::string_view name = std::string_view(t.text).substr(1);
  if (name.empty()) return Fail(lineno, t.column, "chain name missing after ':'");
  if (!PrintableName(name) || t.quoted)
    return Fail(lineno, t.column + 1, fmt::format("bad chain name '{}'", name));
  if (name.size() > 28)
    return Fail(lineno, t.column + 1, fmt::format("chain name '{}' is longer than 28 characters", name));
  if (toks.size() < 2) return Fail(lineno, t.column, "chain policy missing");
  const Token& policy = toks[1];
  Chain* chain = table_->FindChain(name);
  bool builtin = chain && chain->builtin;
  if (!builtin) {
    if (policy.text != "-")
      return Fail(lineno, policy.column,
                  fmt::format("user chain '{}' cannot have policy {}", name, policy.text));
    if (!chain) {
      Chain c;
      c.name = Intern(name);
      table_->chains.push_back(c);
      chain = &table_->chains.back();
    }
  } else {
    if (policy.text != "ACCEPT" && policy.text != "DROP" && policy.text != "-")
      return Fail(lineno, policy.column, fmt::format("bad policy '{}'", policy.text));
    if (policy.text != "-") chain->policy = policy.text == "ACCEPT" ? "ACCEPT" : "DROP";
  }
  if (toks.size() >= 3) {
    const std::string& c = toks[2].text;
    unsigned long long p = 0, b = 0;
    if (sscanf(c.c_str(), "[%llu:%llu]", &p, &b) != 2)
      return Fail(lineno, toks[2].column, fmt::format("bad counters '{}'", c));
    chain->counters = {p, b};
  }
  return true;
}

Chain* Parser::FindChainOrFail(const Token& t, int lineno) {
  Chain* c = table_->FindChain(t.text);
  if (!c)
    Fail(lineno, t.column, fmt::format("chain '{}' does not exist in table '{}'",
                                       t.text, table_->name));
  return c;
}

bool Parser::CommitTable(int lineno) {
  for (auto& chain : table_->chains)
    for (auto& rule : chain.rules)
      if (rule.target_kind == TargetKind::kChain && !table_->FindChain(rule.target))
        return Fail(static_cast<int>(rule.line), 1,
                    fmt::format("jump to chain '{}', which does not exist", rule.target));
  (void)lineno;
  // Built-in chains first in hook order, then user chains by name, as
  // iptables-save lists them.
  std::stable_sort(table_->chains.begin(), table_->chains.end(),
                   [](const Chain& a, const Chain& b) {
                     if (a.builtin != b.builtin) return a.builtin;
                     if (a.builtin) return false;
                     return a.name < b.name;
                   });
  table_ = nullptr;
  return true;
}

bool Parser::ParseCommand(std::vector<Token>& toks, int lineno) {
  Counters prefix_counters;
  bool has_prefix_counters = false;
  size_t i = 0;
  if (!toks.empty() && toks[0].text.starts_with('[')) {
    unsigned long long p = 0, b = 0;
    if (sscanf(toks[0].text.c_str(), "[%llu:%llu]", &p, &b) != 2)
      return Fail(lineno, toks[0].column, fmt::format("bad counters '{}'", toks[0].text));
    prefix_counters = {p, b};
    has_prefix_counters = true;
    i = 1;
  }
  if (i >= toks.size()) return Fail(lineno, 1, "command missing");
  const Token& cmd = toks[i];
  const std::string& c = cmd.text;
  auto need_chain = [&]() -> Chain* {
    if (i + 1 >= toks.size()) {
      Fail(lineno, cmd.column, fmt::format("{} needs a chain name", c));
      return nullptr;
    }
    return FindChainOrFail(toks[i + 1], lineno);
  };
  if (c == "-A" || c == "--append" || c == "-I" || c == "--insert") {
    Chain* chain = need_chain();
    if (!chain) return false;
    size_t rest = i + 2;
    size_t position = chain->rules.size();
    if (c == "-I" || c == "--insert") {
      position = 0;
      uint64_t n;
      if (rest < toks.size() && ParseNumber(toks[rest].text, 1u << 30, n)) {
        if (n < 1 || n > chain->rules.size() + 1)
          return Fail(lineno, toks[rest].column, fmt::format("index {} out of range", n));
        position = n - 1;
        ++rest;
      }
    }
    std::vector<Rule> rules;
    toks.erase(toks.begin(), toks.begin() + static_cast<long>(rest));
    if (!ParseRule(toks, lineno, *chain, rules)) return false;
    for (auto& r : rules) {
      if (has_prefix_counters) {
        r.counters = prefix_counters;
        r.has_counters = true;
      }
    }
    chain->rules.insert(chain->rules.begin() + static_cast<long>(position),
                        rules.begin(), rules.end());
    return true;
  }
  if (c == "-N" || c == "--new-chain") {
    if (i + 1 >= toks.size()) return Fail(lineno, cmd.column, "-N needs a chain name");
    const Token& n = toks[i + 1];
    if (!PrintableName(n.text) || n.text.size() > 28)
      return Fail(lineno, n.column, fmt::format("bad chain name '{}'", n.text));
    if (table_->FindChain(n.text))
      return Fail(lineno, n.column, fmt::format("chain '{}' already exists", n.text));
    Chain chain;
    chain.name = Intern(n.text);
    table_->chains.push_back(chain);
    return true;
  }
  if (c == "-P" || c == "--policy") {
    Chain* chain = need_chain();
    if (!chain) return false;
    if (i + 2 >= toks.size()) return Fail(lineno, cmd.column, "-P needs a policy");
    const Token& p = toks[i + 2];
    if (!chain->builtin)
      return Fail(lineno, p.column, "only built-in chains have a policy");
    if (p.text != "ACCEPT" && p.text != "DROP")
      return Fail(lineno, p.column, fmt::format("bad policy '{}'", p.text));
    chain->policy = p.text == "ACCEPT" ? "ACCEPT" : "DROP";
    return true;
  }
  if (c == "-F" || c == "--flush" || c == "-X" || c == "--delete-chain" ||
      c == "-Z" || c == "--zero") {
    bool flush = c == "-F" || c == "--flush";
    bool zero = c == "-Z" || c == "--zero";
    if (i + 1 < toks.size()) {
      Chain* chain = need_chain();
      if (!chain) return false;
      if (flush) chain->rules.clear();
      else if (zero) {
        chain->counters = {};
        for (auto& r : chain->rules) r.counters = {};
      } else {
        if (chain->builtin)
          return Fail(lineno, toks[i + 1].column, "cannot delete a built-in chain");
        std::string name(chain->name);
        std::erase_if(table_->chains, [&](const Chain& ch) { return ch.name == name; });
      }
      return true;
    }
    if (flush) for (auto& ch : table_->chains) ch.rules.clear();
    else if (zero) for (auto& ch : table_->chains) ch.counters = {};
    else std::erase_if(table_->chains, [](const Chain& ch) { return !ch.builtin; });
    return true;
  }
  if (c.starts_with("-"))
    return Fail(lineno, cmd.column, fmt::format("command '{}' is not supported here", c));
  return Fail(lineno, cmd.column, fmt::format("unexpected '{}': expected a rule (-A CHAIN ...), a chain (:NAME), COMMIT or a table (*name)", c));
}

bool Parser::ParseRule(std::vector<Token>& toks, int lineno, Chain& chain,
                       std::vector<Rule>& out) {
  Rule rule;
  rule.line = static_cast<uint32_t>(lineno);
  std::vector<Cidr> sources, destinations;
  std::vector<LoadedModule> loaded;
  std::vector<int> group_of;   // per part: index into loaded, -1 for the target
  bool negate = false;
  int negate_col = 0;
  bool target_seen = false;
  const ModuleSpec* target_spec = nullptr;
  bool protocol_seen = false;
  const Family family = ruleset_.family;
  int rule_col = toks.empty() ? 1 : toks[0].column;

  auto take_neg = [&]() {
    bool n = negate;
    negate = false;
    return n;
  };
  auto value_at = [&](size_t& i, const Token& opt, std::string& out_value) -> bool {
    if (i + 1 < toks.size() && toks[i + 1].IsBang()) {  // old form: -s ! x
      if (negate) return Fail(lineno, toks[i + 1].column, "double negation");
      negate = true;
      negate_col = toks[i + 1].column;
      ++i;
    }
    if (i + 1 >= toks.size())
      return Fail(lineno, opt.column, fmt::format("option {} needs a value", opt.text));
    out_value = toks[++i].text;
    return true;
  };
  auto parse_addresses = [&](const Token& opt, const std::string& v,
                             std::vector<Cidr>& into) -> bool {
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      std::string_view item = std::string_view(v).substr(start, comma - start);
      auto c = Cidr::Parse(item, family);
      if (!c)
        return Fail(lineno, opt.column,
                    fmt::format("bad {} address '{}'",
                                family == Family::kIPv4 ? "IPv4" : "IPv6", item));
      into.push_back(*c);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return true;
  };
  // Collects tokens of an opaque module or target until the next base option.
  auto collect_opaque = [&](size_t& i) {
    std::string text;
    while (i + 1 < toks.size()) {
      const std::string& next = toks[i + 1].text;
      // (the attached spellings "-ptcp", "--jump=X" only when not quoted: an
      // opaque option's value may well start with a dash)
      auto base = [&](const Token& t) {
        return IsBaseOption(t.text) || (!t.quoted && StartsBaseOption(t.text));
      };
      if (base(toks[i + 1])) break;
      if (toks[i + 1].IsBang() && i + 2 < toks.size() && base(toks[i + 2])) break;
      ++i;
      text += ' ';
      // Printed so that it reads back as the same token.
      bool plain = !next.empty() && next.find_first_of(" \t\"'\\") == std::string::npos &&
                   !(toks[i].quoted && (next == "!" || StartsBaseOption(next)));
      text += plain ? next : QuoteText(next, /*force=*/true);
    }
    return text;
  };
  auto load_module = [&](const ModuleSpec* spec, std::string_view name) {
    Part p;
    p.kind = Part::Kind::kMatch;
    p.id = spec ? ModuleId(*spec) : 0;
    p.text = Intern(name);
    loaded.push_back({spec, rule.parts.size()});
    rule.parts.push_back(p);
    group_of.push_back(static_cast<int>(loaded.size()) - 1);
  };

  for (size_t i = 0; i < toks.size(); ++i) {
    // getopt_long forms: "--option=value" and "-Xvalue" for the base
    // options that take an argument.
    if (toks[i].text.size() > 2 && toks[i].text[0] == '-') {
      std::string& raw = toks[i].text;
      size_t eq = raw.find('=');
      if (raw[1] == '-' && eq != std::string::npos && eq > 2) {
        Token value{raw.substr(eq + 1), toks[i].column + static_cast<int>(eq) + 1,
                    toks[i].quoted};
        raw.resize(eq);
        toks.insert(toks.begin() + static_cast<long>(i) + 1, std::move(value));
      } else if (raw[1] != '-' && std::string_view("sdiopjgmc").find(raw[1]) !=
                                      std::string_view::npos) {
        Token value{raw.substr(2), toks[i].column + 2, toks[i].quoted};
        raw.resize(2);
        toks.insert(toks.begin() + static_cast<long>(i) + 1, std::move(value));
      }
    }
    const Token& t = toks[i];
    const std::string& s = t.text;
    if (t.IsBang()) {
      if (negate) return Fail(lineno, t.column, "double negation");
      negate = true;
      negate_col = t.column;
      continue;
    }
    std::string v;
    if (s == "-s" || s == "--source" || s == "--src") {
      if (!value_at(i, t, v)) return false;
      rule.source_negated = take_neg();
      if (!sources.empty()) return Fail(lineno, t.column, "multiple -s flags not allowed");
      if (!parse_addresses(t, v, sources)) return false;
    } else if (s == "-d" || s == "--destination" || s == "--dst") {
      if (!value_at(i, t, v)) return false;
      rule.destination_negated = take_neg();
      if (!destinations.empty()) return Fail(lineno, t.column, "multiple -d flags not allowed");
      if (!parse_addresses(t, v, destinations)) return false;
    } else if (s == "-i" || s == "--in-interface" || s == "-o" || s == "--out-interface") {
      if (!value_at(i, t, v)) return false;
      bool in = s == "-i" || s == "--in-interface";
      if (v.empty() || v.size() > 15 || !PrintableName(v))
        return Fail(lineno, toks[i].column, fmt::format("bad interface name '{}'", v));
      bool neg = take_neg();
      if (v == "+" && !neg) v.clear();   // "+" alone matches any interface
      (in ? rule.in_interface : rule.out_interface) = v.empty() ? std::string_view() : Intern(v);
      (in ? rule.in_negated : rule.out_negated) = neg;
    } else if (s == "-p" || s == "--protocol") {
      if (!value_at(i, t, v)) return false;
      if (protocol_seen) return Fail(lineno, t.column, "multiple -p flags not allowed");
      protocol_seen = true;
      if (!ParseProtocol(v, rule.protocol))
        return Fail(lineno, toks[i].column, fmt::format("unknown protocol '{}'", v));
      rule.protocol_negated = take_neg();
      if (rule.protocol == 0 && rule.protocol_negated)
        return Fail(lineno, t.column, "rule would never match protocol");
    } else if (s == "-f" || s == "--fragment" || s == "--fragments") {
      if (family == Family::kIPv6)
        return Fail(lineno, t.column, "-f is not allowed in ip6tables; use the frag match");
      rule.fragment = take_neg() ? -1 : 1;
    } else if (s == "-c" || s == "--set-counters") {
      // "-c PKTS BYTES" or "-c PKTS,BYTES"
      unsigned long long p = 0, b = 0;
      std::string pkts, bytes;
      if (i + 1 < toks.size()) pkts = toks[i + 1].text;
      size_t comma = pkts.find(',');
      size_t used = 1;
      if (comma != std::string::npos) {
        bytes = pkts.substr(comma + 1);
        pkts.resize(comma);
      } else if (i + 2 < toks.size() && !toks[i + 2].text.starts_with('-') &&
                 !toks[i + 2].text.starts_with('!')) {
        bytes = toks[i + 2].text;
        used = 2;
      } else {
        return Fail(lineno, t.column, "-c needs packet and byte counts");
      }
      if (!ParseDecimal(pkts, p) || !ParseDecimal(bytes, b))
        return Fail(lineno, t.column, fmt::format("-c: bad counters '{} {}'", pkts, bytes));
      rule.counters = {p, b};
      rule.has_counters = true;
      i += used;
    } else if (s == "-m" || s == "--match") {
      if (i + 1 >= toks.size()) return Fail(lineno, t.column, "-m needs a module name");
      if (negate) return Fail(lineno, negate_col, "'!' cannot negate -m");
      const Token& name = toks[++i];
      if (!ValidExtensionName(name.text))
        return Fail(lineno, name.column, fmt::format("bad match name '{}'", name.text));
      const ModuleSpec* spec = FindModule(name.text, false, family);
      load_module(spec, name.text);
      if (!spec) {
        std::string text = collect_opaque(i);
        if (!text.empty()) {
          Part p;
          p.kind = Part::Kind::kOpaque;
          p.text = Intern(text);
          rule.parts.push_back(p);
          group_of.push_back(static_cast<int>(loaded.size()) - 1);
        }
      }
    } else if (s == "-j" || s == "--jump" || s == "-g" || s == "--goto") {
      if (i + 1 >= toks.size()) return Fail(lineno, t.column, fmt::format("{} needs a target", s));
      if (target_seen) return Fail(lineno, t.column, "multiple -j or -g flags not allowed");
      if (negate) return Fail(lineno, negate_col, "'!' cannot negate a target");
      target_seen = true;
      const Token& name = toks[++i];
      rule.is_goto = s == "-g" || s == "--goto";
      const std::string& n = name.text;
      if (n == "ACCEPT") rule.target_kind = TargetKind::kAccept;
      else if (n == "DROP") rule.target_kind = TargetKind::kDrop;
      else if (n == "RETURN") rule.target_kind = TargetKind::kReturn;
      else if (n == "QUEUE") rule.target_kind = TargetKind::kQueue;
      else if (table_->FindChain(n) || rule.is_goto) rule.target_kind = TargetKind::kChain;
      else {
        if (!ValidExtensionName(n))
          return Fail(lineno, name.column, fmt::format("bad target name '{}'", n));
        rule.target_kind = TargetKind::kExtension;
        target_spec = FindModule(n, true, family);
        if (target_spec) {
          rule.target_id = ModuleId(*target_spec);
        } else {
          std::string text = collect_opaque(i);
          if (!text.empty()) {
            Part p;
            p.kind = Part::Kind::kTargetOpaque;
            p.text = Intern(text);
            rule.parts.push_back(p);
            group_of.push_back(-1);
          }
        }
      }
      if (rule.is_goto && rule.target_kind != TargetKind::kChain)
        return Fail(lineno, name.column, fmt::format("goto needs a user chain, not '{}'", n));
      if (n.size() > 28) return Fail(lineno, name.column, "target name too long");
      rule.target = Intern(n);
    } else if (s.starts_with("--") && s.size() > 2) {
      std::string_view opt_name = std::string_view(s).substr(2);
      // Which module owns this option: the target, the latest loaded
      // module that knows it, or the protocol's implicit module.
      const OptionSpec* spec = nullptr;
      bool for_target = false;
      int group = -1;
      auto lookup = [&](const ModuleSpec& m) -> const OptionSpec* {
        for (const auto& o : m.options) {
          if (o.name == opt_name) return &o;
          std::string_view al = o.aliases;
          while (!al.empty()) {
            size_t comma = al.find(',');
            if (al.substr(0, comma) == opt_name) return &o;
            if (comma == std::string_view::npos) break;
            al.remove_prefix(comma + 1);
          }
        }
        return nullptr;
      };
      if (target_spec) {
        spec = lookup(*target_spec);
        for_target = spec != nullptr;
      }
      for (size_t k = loaded.size(); !spec && k-- > 0;)
        if (loaded[k].spec && (spec = lookup(*loaded[k].spec)) != nullptr)
          group = static_cast<int>(k);
      if (!spec && rule.protocol && !rule.protocol_negated) {
        std::string_view implicit = ImplicitModule(rule.protocol, family);
        const ModuleSpec* m = implicit.empty() ? nullptr : FindModule(implicit, false, family);
        if (m && (spec = lookup(*m)) != nullptr) {
          bool have = std::any_of(loaded.begin(), loaded.end(),
                                  [&](const LoadedModule& l) { return l.spec == m; });
          if (!have) load_module(m, implicit);
          for (size_t k = 0; k < loaded.size(); ++k)
            if (loaded[k].spec == m) group = static_cast<int>(k);
        }
      }
      if (!spec) {
        // getopt-style unambiguous prefixes (old dumps abbreviate).
        const OptionSpec* unique = nullptr;
        int matches = 0;
        auto try_prefix = [&](const ModuleSpec& m) {
          for (const auto& o : m.options)
            if (o.name.starts_with(opt_name) && !o.name.empty()) {
              unique = &o;
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
        if (target_spec) try_prefix(*target_spec);
        // The base options' long names take part in getopt's prefixes too.
        std::string_view base_short;
        int base_matches = 0;
        for (const auto& [name, short_name] : kBaseLongOptions)
          if (name.starts_with(opt_name) && short_name != base_short) {
            base_short = short_name;
            ++base_matches;
          }
        if (matches + base_matches > 1)
          return Fail(lineno, t.column, fmt::format("option '{}' is ambiguous", s));
        if (base_matches == 1) {
          toks[i].text = std::string(base_short);
          --i;   // read it again as the base option
          continue;
        }
        if (matches == 1) {
          spec = unique;
          for_target = matches > before_target;
          group = for_target ? -1 : last_group;
        }
      }
      if (!spec)
        return Fail(lineno, t.column, fmt::format("unknown option '{}'", s));
      // old form: --dport ! 80
      if (CodecArity(spec->codec) > 0 && i + 1 < toks.size() && toks[i + 1].IsBang()) {
        if (negate) return Fail(lineno, toks[i + 1].column, "double negation");
        negate = true;
        negate_col = toks[i + 1].column;
        ++i;
      }
      bool neg = take_neg();
      if (neg && !spec->negatable)
        return Fail(lineno, negate_col, fmt::format("option '{}' cannot be negated", s));
      args_.clear();
      for (size_t k = i + 1; k < toks.size() && k <= i + 2; ++k) args_.push_back(toks[k].text);
      Part part;
      part.kind = for_target ? Part::Kind::kTargetOption : Part::Kind::kOption;
      part.negated = neg;
      uint16_t id = OptionId(*spec);
      std::string error;
      DecodeContext ctx{&ruleset_, family, rule.protocol};
      int used = DecodeOption(*spec, args_, ctx, part, error);
      if (used < 0) return Fail(lineno, t.column, error);
      if (!spec->prints_as.empty()) {
        const ModuleSpec& m = ModuleOfOption(id);
        id = FindOptionId(m.name, spec->prints_as);
        if (spec->name == "syn") {
          part.value.kind = Value::Kind::kBits;
          part.value.hi = 0x17;
          part.value.lo = 0x02;
          part.text = "FIN,SYN,RST,ACK SYN";
        } else {
          // MARK/CONNMARK: everything becomes --set-xmark value/mask
          uint64_t val = part.value.lo, mask = part.value.hi;
          if (spec->name == "set-mark") mask = mask | val;
          else if (spec->name == "and-mark") { mask = ~val & 0xffffffffu; val = 0; }
          else if (spec->name == "or-mark") mask = val;
          else if (spec->name == "xor-mark") mask = 0;
          part.value.lo = val;
          part.value.hi = mask;
          part.text = Intern(fmt::format("{:#x}/{:#x}", val, mask));
          if (val == 0) part.text = Intern(fmt::format("0x0/{:#x}", mask));
        }
      }
      part.id = id;
      i += static_cast<size_t>(used);
      rule.parts.push_back(part);
      group_of.push_back(for_target ? -1 : group);
    } else {
      return Fail(lineno, t.column, fmt::format("unexpected '{}'", s));
    }
  }
  if (negate) return Fail(lineno, negate_col, "'!' at the end of the rule");
  if (!FinishRule(rule, loaded, group_of, chain, lineno, rule_col)) return false;

  if (sources.empty()) sources.push_back(Cidr::Any(family));
  if (destinations.empty()) destinations.push_back(Cidr::Any(family));
  for (const auto& src : sources)
    for (const auto& dst : destinations) {
      Rule r = rule;
      r.source = src;
      r.destination = dst;
      out.push_back(std::move(r));
    }
  return true;
}

// The policy match: --dir, --pol, --strict, then policy elements separated
// by --next, each printed in libxt_policy's order and checked as it does.
bool Parser::CanonicalizePolicy(std::vector<Part>& opts, const Chain& chain,
                                int lineno, int column) {
  auto order = [](const Part& a, const Part& b) {
    return OptionOrder(a.id) < OptionOrder(b.id);
  };
  auto name_of = [](const Part& p) { return OptionById(p.id).name; };
  std::vector<Part> flags;
  std::vector<std::vector<Part>> elems(1);
  std::optional<Part> next;
  for (const auto& p : opts) {
    std::string_view o = name_of(p);
    if (o == "dir" || o == "pol" || o == "strict") {
      flags.push_back(p);
    } else if (o == "next") {
      if (!next) next = p;
      elems.emplace_back();
    } else {
      elems.back().push_back(p);
    }
  }
  std::stable_sort(flags.begin(), flags.end(), order);
  bool dir = false, dir_in = false, none = false, strict = false, pol = false;
  for (size_t j = 0; j < flags.size(); ++j) {
    if (j && flags[j].id == flags[j - 1].id)
      return Fail(lineno, column, fmt::format("policy: option --{} given twice", name_of(flags[j])));
    std::string_view o = name_of(flags[j]);
    if (o == "dir") {
      dir = true;
      dir_in = flags[j].value.lo == 0;
    }
    if (o == "pol") {
      pol = true;
      none = flags[j].value.lo == 0;
    }
    strict |= o == "strict";
  }
  if (!dir) return Fail(lineno, column, "policy: neither --dir in nor --dir out specified");
  if (!pol) {
    Part p;
    p.id = FindOptionId("policy", "pol");
    p.value.kind = Value::Kind::kNumber;
    p.value.lo = 1;
    p.text = "ipsec";
    flags.insert(flags.begin() + 1, p);
  }
  if (elems.size() > 1 && !strict)
    return Fail(lineno, column, "policy: --next needs --strict");
  if (elems.size() > 4) return Fail(lineno, column, "policy: maximum policy depth reached");
  if (none) {
    if (strict) return Fail(lineno, column, "policy: policy none but --strict given");
    if (elems.size() > 1 || !elems[0].empty())
      return Fail(lineno, column, "policy: policy none but policy given");
  }
  std::string_view c = chain.builtin ? chain.name : std::string_view();
  if (!dir_in && (c == "PREROUTING" || c == "INPUT"))
    return Fail(lineno, column, fmt::format("policy: --dir out is not valid in {}", c));
  if (dir_in && (c == "POSTROUTING" || c == "OUTPUT"))
    return Fail(lineno, column, fmt::format("policy: --dir in is not valid in {}", c));
  for (size_t e = 0; e < elems.size(); ++e) {
    auto& elem = elems[e];
    std::stable_sort(elem.begin(), elem.end(), order);
    bool addr = false, mode = false, tunnel = false, mode_neg = false;
    for (size_t j = 0; j < elem.size(); ++j) {
      if (j && elem[j].id == elem[j - 1].id)
        return Fail(lineno, column, fmt::format("policy: double --{} option", name_of(elem[j])));
      std::string_view o = name_of(elem[j]);
      addr |= o == "tunnel-src" || o == "tunnel-dst";
      if (o == "mode") {
        mode = true;
        tunnel = elem[j].value.lo == 1;
        mode_neg = elem[j].negated;
      }
    }
    if (strict && elem.empty())
      return Fail(lineno, column,
                  fmt::format("policy: empty policy element {}: --strict needs at least one of "
                              "--reqid, --spi, --tunnel-src, --tunnel-dst, --proto or --mode", e));
    if (addr && (!mode || tunnel == mode_neg))
      return Fail(lineno, column, "policy: --tunnel-src/--tunnel-dst is only valid in tunnel mode");
  }
  opts = std::move(flags);
  for (size_t e = 0; e < elems.size(); ++e) {
    if (e) opts.push_back(*next);
    opts.insert(opts.end(), elems[e].begin(), elems[e].end());
  }
  return true;
}

bool Parser::FinishRule(Rule& rule, std::vector<LoadedModule>& loaded,
                        const std::vector<int>& group_of, const Chain& chain,
                        int lineno, int column) {
  // Group options under their module, in the module's print order, as
  // iptables-save prints them whatever order they were written in.
  std::vector<Part> matches, target;
  std::vector<std::vector<Part>> groups(loaded.size());
  for (size_t i = 0; i < rule.parts.size(); ++i) {
    const Part& p = rule.parts[i];
    if (p.kind == Part::Kind::kMatch) continue;
    if (group_of[i] < 0) target.push_back(p);
    else groups[static_cast<size_t>(group_of[i])].push_back(p);
  }
  Family family = ruleset_.family;
  for (size_t k = 0; k < loaded.size(); ++k) {
    const ModuleSpec* spec = loaded[k].spec;
    auto& opts = groups[k];
    if (spec && spec->name == "policy") {
      if (!CanonicalizePolicy(opts, chain, lineno, column)) return false;
    } else if (spec) {
      if (spec->name == "owner") {
        // --suppl-groups needs a --gid-owner before it
        bool gid = false;
        for (const auto& p : opts) {
          std::string_view o = OptionById(p.id).name;
          gid |= o == "gid-owner";
          if (o == "suppl-groups" && !gid)
            return Fail(lineno, column, "owner: --suppl-groups needs --gid-owner before it");
        }
      }
      std::stable_sort(opts.begin(), opts.end(), [](const Part& a, const Part& b) {
        return OptionOrder(a.id) < OptionOrder(b.id);
      });
      for (size_t j = 1; j < opts.size(); ++j)
        if (opts[j].id == opts[j - 1].id)
          return Fail(lineno, column, fmt::format("{}: option --{} given twice", spec->name,
                                                  OptionById(opts[j].id).name));
      if (spec->needs_option && opts.empty())
        return Fail(lineno, column, fmt::format("match '{}' needs an option", spec->name));
      if (!spec->protocol.empty()) {
        uint16_t need = 0;
        ParseProtocol(spec->protocol, need);
        if (rule.protocol != need || rule.protocol_negated)
          return Fail(lineno, column, fmt::format("match '{}' needs '-p {}'", spec->name,
                                                  spec->protocol));
      }
      std::string_view n = spec->name;
      if (n == "tcp" || n == "udp") {
        // a full port range matches everything and is not printed
        std::erase_if(opts, [](const Part& p) {
          return !p.negated && p.value.kind == Value::Kind::kPorts && p.value.lo == 0 &&
                 p.value.hi == 65535;
        });
      } else if (n == "limit") {
        bool has_rate = false;
        for (const auto& p : opts) has_rate |= OptionById(p.id).name == "limit";
        if (!has_rate) {
          Part p;
          p.id = FindOptionId("limit", "limit");
          p.value.kind = Value::Kind::kNumber;
          p.value.lo = 10000ull * 60 * 60 / 3;
          p.text = "3/hour";
          opts.insert(opts.begin(), p);
        }
        std::erase_if(opts, [](const Part& p) {
          return OptionById(p.id).name == "limit-burst" && p.value.lo == 5;
        });
      } else if (n == "recent") {
        int commands = 0;
        bool name = false, mask = false, dir = false;
        for (const auto& p : opts) {
          std::string_view o = OptionById(p.id).name;
          commands += o == "set" || o == "rcheck" || o == "update" || o == "remove";
          name |= o == "name";
          mask |= o == "mask";
          dir |= o == "rsource" || o == "rdest";
        }
        if (commands != 1)
          return Fail(lineno, column, "recent: exactly one of --set, --rcheck, --update, --remove");
        bool set_or_remove = false, rttl = false, reap = false, seconds = false;
        for (const auto& p : opts) {
          std::string_view o = OptionById(p.id).name;
          set_or_remove |= o == "set" || o == "remove";
          rttl |= o == "rttl";
          reap |= o == "reap";
          seconds |= o == "seconds";
          if (o == "seconds" && p.value.lo == 0)
            return Fail(lineno, column, "recent: --seconds must be at least 1");
          if (o == "hitcount" && p.value.lo > 65535)
            return Fail(lineno, column, "recent: --hitcount is at most 65535");
        }
        if (rttl && set_or_remove)
          return Fail(lineno, column, "recent: --rttl only goes with --rcheck or --update");
        if (reap && !seconds)
          return Fail(lineno, column, "recent: --reap needs --seconds");
        std::erase_if(opts, [](const Part& p) {
          return OptionById(p.id).name == "hitcount" && p.value.lo == 0;
        });
        auto add = [&](std::string_view opt, std::string_view text) {
          Part p;
          p.id = FindOptionId("recent", opt);
          p.value.kind = Value::Kind::kText;
          p.text = text;
          opts.push_back(p);
        };
        if (!name) add("name", "DEFAULT");
        if (!mask) add("mask", family == Family::kIPv4 ? "255.255.255.255"
                                                      : "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
        if (!dir) add("rsource", "");
        std::stable_sort(opts.begin(), opts.end(), [](const Part& a, const Part& b) {
          return OptionOrder(a.id) < OptionOrder(b.id);
        });
      } else if (n == "hashlimit") {
        std::string error;
        if (!CanonicalizeHashlimit(opts, family, ruleset_, error))
          return Fail(lineno, column, "hashlimit: " + error);
      } else if (n == "addrtype") {
        bool src = false, dst = false, in = false, out = false;
        for (const auto& p : opts) {
          std::string_view o = OptionById(p.id).name;
          src |= o == "src-type";
          dst |= o == "dst-type";
          in |= o == "limit-iface-in";
          out |= o == "limit-iface-out";
        }
        if (!src && !dst)
          return Fail(lineno, column, "addrtype: you must specify --src-type or --dst-type");
        if (in && out)
          return Fail(lineno, column,
                      "addrtype: --limit-iface-in and --limit-iface-out exclude each other");
        std::string_view c = chain.builtin ? chain.name : std::string_view();
        if (out && (c == "INPUT" || c == "PREROUTING"))
          return Fail(lineno, column, fmt::format("addrtype: --limit-iface-out is not valid in {}", c));
        if (in && (c == "OUTPUT" || c == "POSTROUTING"))
          return Fail(lineno, column, fmt::format("addrtype: --limit-iface-in is not valid in {}", c));
      } else if (n == "ttl" || n == "hl") {
        if (opts.size() > 1)
          return Fail(lineno, column, fmt::format("{}: only one of --{}-eq, --{}-lt, --{}-gt",
                                                  n, n, n, n));
      } else if (n == "owner") {
        std::string_view c = chain.builtin ? chain.name : std::string_view();
        if (c == "INPUT" || c == "FORWARD" || c == "PREROUTING")
          return Fail(lineno, column, fmt::format("owner: only valid in OUTPUT and POSTROUTING, not {}", c));
      } else if (n == "multiport") {
        if (opts.size() > 1)
          return Fail(lineno, column, "multiport: only one of --sports, --dports, --ports");
        if (rule.protocol != 6 && rule.protocol != 17 && rule.protocol != 132 &&
            rule.protocol != 136 && rule.protocol != 33)
          return Fail(lineno, column, "multiport needs -p tcp, udp, udplite, sctp or dccp");
      }
    }
    Part m = rule.parts[loaded[k].part_index];
    matches.push_back(m);
    matches.insert(matches.end(), opts.begin(), opts.end());
  }
  // Target defaults and checks.
  if (rule.target_kind == TargetKind::kExtension && rule.target_id) {
    const ModuleSpec& spec = ModuleById(rule.target_id);
    std::stable_sort(target.begin(), target.end(), [](const Part& a, const Part& b) {
      return OptionOrder(a.id) < OptionOrder(b.id);
    });
    for (size_t j = 1; j < target.size(); ++j)
      if (target[j].id == target[j - 1].id)
        return Fail(lineno, column, fmt::format("{}: option --{} given twice", spec.name,
                                                OptionById(target[j].id).name));
    if (spec.needs_option && target.empty())
      return Fail(lineno, column, fmt::format("target '{}' needs an option", spec.name));
    std::string_view n = spec.name;
    // Where the kernel allows the target (table and built-in chains).
    std::string_view table = table_ ? table_->name : std::string_view();
    std::string_view c = chain.builtin ? chain.name : std::string_view();
    auto only_in = [&](std::string_view want_table,
                       std::initializer_list<std::string_view> hooks) {
      if (table != want_table)
        return Fail(lineno, column, fmt::format("target {} is only valid in the {} table", n,
                                                want_table));
      if (!c.empty() && std::find(hooks.begin(), hooks.end(), c) == hooks.end())
        return Fail(lineno, column, fmt::format("target {} is not valid in chain {}", n, c));
      return true;
    };
    if (n == "DNAT" || n == "REDIRECT") {
      if (!only_in("nat", {"PREROUTING", "OUTPUT"})) return false;
    } else if (n == "SNAT") {
      if (!only_in("nat", {"POSTROUTING", "INPUT"})) return false;
    } else if (n == "MASQUERADE") {
      if (!only_in("nat", {"POSTROUTING"})) return false;
    } else if (n == "NETMAP") {
      if (!only_in("nat", {"PREROUTING", "OUTPUT", "POSTROUTING", "INPUT"})) return false;
    } else if (n == "CT" || n == "NOTRACK" || n == "TRACE") {
      if (!only_in("raw", {"PREROUTING", "OUTPUT"})) return false;
    }
    if (n == "REJECT") {
      for (const auto& p : target)
        if (p.text == "tcp-reset" && (rule.protocol != 6 || rule.protocol_negated))
          return Fail(lineno, column, "REJECT --reject-with tcp-reset needs -p tcp");
    }
    if (n == "CT") {
      // zone 0 is the default and not printed
      std::erase_if(target, [](const Part& p) {
        return OptionById(p.id).codec == Codec::kZone && p.value.lo == 0 && p.value.hi == 0;
      });
    }
    if (n == "REJECT" && target.empty()) {
      Part p;
      p.kind = Part::Kind::kTargetOption;
      p.id = OptionId(spec.options[0]);
      p.value.kind = Value::Kind::kNumber;
      p.value.lo = family == Family::kIPv4 ? 3 : 4;
      p.text = family == Family::kIPv4 ? "icmp-port-unreachable" : "icmp6-port-unreachable";
      target.push_back(p);
    } else if (n == "LOG") {
      std::erase_if(target, [](const Part& p) {
        return OptionById(p.id).name == "log-level" && p.value.lo == 4;
      });
      for (auto& p : target)
        if (OptionById(p.id).name == "log-level") p.text = Intern(std::to_string(p.value.lo));
    } else if (n == "NFLOG") {
      std::erase_if(target, [](const Part& p) {
        return OptionById(p.id).name == "nflog-group" && p.value.lo == 0;
      });
    } else if (n == "CONNMARK") {
      bool save = false, restore = false, nf = false, ct = false;
      for (const auto& p : target) {
        std::string_view o = OptionById(p.id).name;
        save |= o == "save-mark";
        restore |= o == "restore-mark";
        nf |= o == "nfmask";
        ct |= o == "ctmask";
      }
      std::string mask_text;
      for (auto it = target.begin(); it != target.end(); ++it)
        if (OptionById(it->id).name == "mask") {
          mask_text = std::string(it->text);
          target.erase(it);
          break;
        }
      if (save || restore) {
        auto add = [&](std::string_view opt) {
          Part p;
          p.kind = Part::Kind::kTargetOption;
          p.id = FindOptionId("CONNMARK", opt);
          p.value.kind = Value::Kind::kMark;
          p.value.lo = 0xffffffffu;
          p.text = mask_text.empty() ? std::string_view("0xffffffff") : Intern(mask_text);
          target.push_back(p);
        };
        if (!nf) add("nfmask");
        if (!ct) add("ctmask");
        std::stable_sort(target.begin(), target.end(), [](const Part& a, const Part& b) {
          return OptionOrder(a.id) < OptionOrder(b.id);
        });
      }
    }
  }
  // Interfaces that cannot exist at this hook (iptables refuses them).
  if (chain.builtin) {
    std::string_view c = chain.name;
    if (!rule.out_interface.empty() && (c == "INPUT" || c == "PREROUTING"))
      return Fail(lineno, column, fmt::format("can't use -o with {}", c));
    if (!rule.in_interface.empty() && (c == "OUTPUT" || c == "POSTROUTING"))
      return Fail(lineno, column, fmt::format("can't use -i with {}", c));
  }
  rule.parts = std::move(matches);
  rule.parts.insert(rule.parts.end(), target.begin(), target.end());
  return true;
}

}  // namespace

std::span<const std::string_view> BuiltinChains(std::string_view table) {
  if (table == "filter" || table == "security") return kFilterChains;
  if (table == "nat") return kNatChains;
  if (table == "mangle") return kMangleChains;
  if (table == "raw") return kRawChains;
  return {};
}

Family DetectFamily(std::string_view text) {
  // Strongest evidence first: the tool's own header, then addresses (an
  // IPv4 rule cannot hold a colon), then IPv6-only protocol names.
  if (text.find("# Generated by ip6tables") != std::string_view::npos) return Family::kIPv6;
  if (text.find("# Generated by iptables") != std::string_view::npos) return Family::kIPv4;
  bool v4_seen = false;
  for (std::string_view opt : {" -s ", " -d "}) {
    size_t pos = 0;
    while ((pos = text.find(opt, pos)) != std::string_view::npos) {
      pos += opt.size();
      if (text.substr(pos).starts_with("! ")) pos += 2;
      size_t end = text.find_first_of(" \r\n", pos);
      std::string_view a = text.substr(pos, end - pos);
      if (a.find(':') != std::string_view::npos) return Family::kIPv6;
      v4_seen |= a.find('.') != std::string_view::npos;
    }
  }
  if (v4_seen) return Family::kIPv4;
  for (std::string_view hint : {"-p icmpv6", "-p ipv6-icmp", "-m icmp6", "-p 58 "})
    if (text.find(hint) != std::string_view::npos) return Family::kIPv6;
  return Family::kIPv4;
}

ParseResult ParseRuleset(std::string_view text, const ParseOptions& options) {
  return Parser(text, options).Run();
}

}  // namespace swarmwall::netfilter
