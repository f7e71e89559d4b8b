#include "netfilter/parser.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <initializer_list>
#include <optional>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <fmt/format.h>

#include "netfilter/codecs.h"
#include "netfilter/modules.h"
#include "netfilter/tokenizer.h"

namespace swarmwall::netfilter {

std::string Diagnostic::ToString() const {
  return fmt::format("{}:{}:{}: {}", file, line, column, message);
}

namespace {

// Built-in chain names and verdicts are stored length-prefixed (see Name),
// so that a rule's target can point at them.
constexpr char kPrerouting[] = "\x0aPREROUTING";
constexpr char kInput[] = "\x05INPUT";
constexpr char kForward[] = "\x07" "FORWARD";
constexpr char kOutput[] = "\x06OUTPUT";
constexpr char kPostrouting[] = "\x0bPOSTROUTING";
constexpr std::string_view Unprefixed(const char* p) {
  return {p + 1, static_cast<size_t>(static_cast<uint8_t>(p[0]))};
}
constexpr std::string_view kFilterChains[] = {Unprefixed(kInput), Unprefixed(kForward),
                                              Unprefixed(kOutput)};
constexpr std::string_view kNatChains[] = {Unprefixed(kPrerouting), Unprefixed(kInput),
                                           Unprefixed(kOutput), Unprefixed(kPostrouting)};
constexpr std::string_view kMangleChains[] = {Unprefixed(kPrerouting), Unprefixed(kInput),
                                              Unprefixed(kForward), Unprefixed(kOutput),
                                              Unprefixed(kPostrouting)};
constexpr std::string_view kRawChains[] = {Unprefixed(kPrerouting), Unprefixed(kOutput)};

constexpr Name kAcceptName = Name::FromPrefixed("\x06" "ACCEPT");
constexpr Name kDropName = Name::FromPrefixed("\x04" "DROP");
constexpr Name kReturnName = Name::FromPrefixed("\x06" "RETURN");
constexpr Name kQueueName = Name::FromPrefixed("\x05QUEUE");

// "[PACKETS:BYTES]" as sscanf("[%llu:%llu]") reads it (and, like sscanf,
// without caring what follows the second number).
bool ParseCounters(std::string_view text, unsigned long long& p, unsigned long long& b) {
  if (text == "[0:0]") {
    p = b = 0;
    return true;
  }
  // The plain form, digits only, without sscanf.
  if (text.size() >= 5 && text.front() == '[' && text.back() == ']') {
    size_t colon = text.find(':');
    std::string_view a = text.substr(1, colon - 1);
    std::string_view c = colon == std::string_view::npos
                             ? std::string_view()
                             : text.substr(colon + 1, text.size() - colon - 2);
    auto digits = [](std::string_view d) {
      return !d.empty() && d.size() <= 19 &&
             std::all_of(d.begin(), d.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
    };
    if (digits(a) && digits(c)) {
      std::from_chars(a.data(), a.data() + a.size(), p);
      std::from_chars(c.data(), c.data() + c.size(), b);
      return true;
    }
  }
  std::string copy(text);
  return sscanf(copy.c_str(), "[%llu:%llu]", &p, &b) == 2;
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
// (isalnum of the C locale, as a table.)
constexpr auto kNameChars = [] {
  std::array<uint8_t, 256> t{};   // 1: alphanumeric, 2: '_' or '-'
  for (int c = '0'; c <= '9'; ++c) t[c] = 1;
  for (int c = 'a'; c <= 'z'; ++c) t[c] = 1;
  for (int c = 'A'; c <= 'Z'; ++c) t[c] = 1;
  t['_'] = t['-'] = 2;
  return t;
}();
bool ValidExtensionName(std::string_view n) {
  if (n.empty() || n.size() > 28 || kNameChars[static_cast<unsigned char>(n[0])] != 1)
    return false;
  for (char c : n)
    if (!kNameChars[static_cast<unsigned char>(c)]) return false;
  return true;
}

// Bytes that make a token need quotes when printed (a table, unlike
// find_first_of, which calls memchr per character).
enum : uint8_t { kBlankOrQuote = 1, kOpaqueSpecial = 2 };
constexpr auto kSpecialChars = [] {
  std::array<uint8_t, 256> t{};
  for (unsigned char c : {' ', '\t', '"'}) t[c] = kBlankOrQuote | kOpaqueSpecial;
  for (unsigned char c : {'\'', '\\'}) t[c] = kOpaqueSpecial;
  return t;
}();
bool HasAny(std::string_view s, uint8_t what) {
  for (char c : s)
    if (kSpecialChars[static_cast<unsigned char>(c)] & what) return true;
  return false;
}

// Names printed bare (chains, interfaces) must read back as one token.
bool PrintableName(std::string_view n) { return !n.empty() && !HasAny(n, kBlankOrQuote); }

enum class Base : uint8_t {
  kNone, kSource, kDestination, kIn, kOut, kProtocol, kFragment, kMatch, kJump, kGoto,
  kCounters,
};

// Which base option T spells exactly ("-s", "--source", "--src", ...).
Base BaseOptionOf(std::string_view t) {
  if (t.size() < 2 || t[0] != '-') return Base::kNone;
  if (t.size() == 2) {
    switch (t[1]) {
      case 's': return Base::kSource;
      case 'd': return Base::kDestination;
      case 'i': return Base::kIn;
      case 'o': return Base::kOut;
      case 'p': return Base::kProtocol;
      case 'f': return Base::kFragment;
      case 'm': return Base::kMatch;
      case 'j': return Base::kJump;
      case 'g': return Base::kGoto;
      case 'c': return Base::kCounters;
      default: return Base::kNone;
    }
  }
  if (t[1] != '-') return Base::kNone;
  std::string_view n = t.substr(2);
  switch (n.size()) {
    case 3:
      if (n == "src") return Base::kSource;
      if (n == "dst") return Base::kDestination;
      break;
    case 4:
      if (n == "jump") return Base::kJump;
      if (n == "goto") return Base::kGoto;
      break;
    case 5:
      if (n == "match") return Base::kMatch;
      break;
    case 6:
      if (n == "source") return Base::kSource;
      break;
    case 8:
      if (n == "protocol") return Base::kProtocol;
      if (n == "fragment") return Base::kFragment;
      break;
    case 9:
      if (n == "fragments") return Base::kFragment;
      break;
    case 11:
      if (n == "destination") return Base::kDestination;
      break;
    case 12:
      if (n == "in-interface") return Base::kIn;
      if (n == "set-counters") return Base::kCounters;
      break;
    case 13:
      if (n == "out-interface") return Base::kOut;
      break;
  }
  return Base::kNone;
}

bool IsBaseOption(std::string_view t) { return BaseOptionOf(t) != Base::kNone; }

// A base option in any of getopt's spellings: "-p", "--protocol",
// "-ptcp", "--protocol=tcp".
bool StartsBaseOption(std::string_view t) {
  if (IsBaseOption(t)) return true;
  if (t.size() > 2 && t[0] == '-' && t[1] != '-')
    return std::string_view("sdiopjgmc").find(t[1]) != std::string_view::npos;
  size_t eq = t.find('=');
  return t.starts_with("--") && eq != std::string_view::npos && IsBaseOption(t.substr(0, eq));
}

// Modules and targets FinishRule treats specially, by module id.
enum class Special : uint8_t {
  kNone, kPolicy, kOwner, kTcpUdp, kLimit, kRecent, kHashlimit, kAddrtype, kTtlHl,
  kMultiport,
  // targets
  kDnatRedirect, kSnat, kMasquerade, kNetmap, kCt, kNotrackTrace, kReject, kLog, kNflog,
  kConnmark,
};

Special SpecialOf(const ModuleSpec& spec) {
  static const auto table = [] {
    std::array<Special, 256> t{};
    for (size_t id = 0; id < ModuleCount(); ++id) {
      const ModuleSpec& m = ModuleById(static_cast<uint16_t>(id));
      std::string_view n = m.name;
      Special s = Special::kNone;
      if (!m.target) {
        if (n == "policy") s = Special::kPolicy;
        else if (n == "owner") s = Special::kOwner;
        else if (n == "tcp" || n == "udp") s = Special::kTcpUdp;
        else if (n == "limit") s = Special::kLimit;
        else if (n == "recent") s = Special::kRecent;
        else if (n == "hashlimit") s = Special::kHashlimit;
        else if (n == "addrtype") s = Special::kAddrtype;
        else if (n == "ttl" || n == "hl") s = Special::kTtlHl;
        else if (n == "multiport") s = Special::kMultiport;
      } else {
        if (n == "DNAT" || n == "REDIRECT") s = Special::kDnatRedirect;
        else if (n == "SNAT") s = Special::kSnat;
        else if (n == "MASQUERADE") s = Special::kMasquerade;
        else if (n == "NETMAP") s = Special::kNetmap;
        else if (n == "CT") s = Special::kCt;
        else if (n == "NOTRACK" || n == "TRACE") s = Special::kNotrackTrace;
        else if (n == "REJECT") s = Special::kReject;
        else if (n == "LOG") s = Special::kLog;
        else if (n == "NFLOG") s = Special::kNflog;
        else if (n == "CONNMARK") s = Special::kConnmark;
      }
      t[id] = s;
    }
    return t;
  }();
  return table[ModuleId(spec)];
}

// A stable sort by print order, for the few options of one module.
void SortByOptionOrder(std::vector<Part>& v) {
  if (v.size() < 2) return;
  if (v.size() > 16) {
    std::stable_sort(v.begin(), v.end(), [](const Part& a, const Part& b) {
      return OptionOrder(a.id) < OptionOrder(b.id);
    });
    return;
  }
  for (size_t i = 1; i < v.size(); ++i) {
    Part p = v[i];
    int key = OptionOrder(p.id);
    size_t j = i;
    while (j > 0 && OptionOrder(v[j - 1].id) > key) {
      v[j] = v[j - 1];
      --j;
    }
    v[j] = p;
  }
}

struct LoadedModule {
  const ModuleSpec* spec;      // nullptr: opaque
  size_t part_index;           // its kMatch part (or first target part)
};

// The Name of a chain of a table this parser built: every such chain's
// name is stored as a Name (the built-ins' static names included).
Name ChainName(const Chain& c) { return Name::FromPrefixed(c.name.data() - 1); }

class Parser {
 public:
  Parser(std::string_view text, const ParseOptions& options)
      : text_(text),
        options_(options),
        interner_(ruleset_.arena(), std::clamp<size_t>(text.size() / 256, 1024, 65536)) {}

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
  bool OpenTable(std::string_view name, int lineno, int col0);
  bool DeclareChain(const Token& t, const std::vector<Token>& toks, int lineno);
  bool ParseCommand(std::vector<Token>& toks, int lineno, std::string_view line);
  bool ParseRule(std::vector<Token>& toks, size_t first, int lineno, Chain& chain);
  bool FinishRule(Rule& rule, const Chain& chain, int lineno, int column);
  bool CanonicalizeMatch(const ModuleSpec& spec, std::vector<Part>& opts, Rule& rule,
                         const Chain& chain, int lineno, int column);
  bool CanonicalizeTarget(const ModuleSpec& spec, std::vector<Part>& target, Rule& rule,
                          const Chain& chain, int lineno, int column);
  bool CommitTable(int lineno);
  bool CanonicalizePolicy(std::vector<Part>& opts, const Chain& chain, int lineno,
                          int column);
  Chain* FindChainOrFail(const Token& t, int lineno);
  // The open table's chain NAME, by its index alone (which the parser keeps
  // in step with the chains, so a miss is a miss).
  Chain* FindChain(std::string_view name) {
    auto& chains = table_->chains;
    if (!table_->chain_index.Valid(chains)) table_->chain_index.Rebuild(chains);
    long pos = table_->chain_index.Find(chains, name);
    return pos < 0 ? nullptr : &chains[static_cast<size_t>(pos)];
  }
  Chain& AddChain(Chain chain);
  void ReserveRules(Chain& chain, std::string_view line, const Token& name);
  Name Intern(std::string_view s) { return interner_.Intern(s); }

  // Where the line starting at POS ends ('\n' or the end of the text).
  size_t FindLineEnd(size_t pos) const {
    const void* nl = memchr(text_.data() + pos, '\n', text_.size() - pos);
    return nl ? static_cast<size_t>(static_cast<const char*>(nl) - text_.data()) : text_.size();
  }
  // The end of the Kth line after the current one (which must exist),
  // remembered so that Run does not search for it again.
  size_t AheadEnd(size_t k) {
    while (ahead_.size() - ahead_used_ <= k)
      ahead_.push_back(FindLineEnd(ahead_.size() > ahead_used_ ? ahead_.back() + 1 : next_line_));
    return ahead_[ahead_used_ + k];
  }

  std::string_view text_;
  ParseOptions options_;
  ParseResult result_;
  Ruleset ruleset_;
  Interner interner_;
  Table* table_ = nullptr;       // table being read, until COMMIT
  Chain* last_chain_ = nullptr;  // of the last -A (reset when chains move)
  int table_line_ = 0;
  bool seen_table_ = false;
  size_t next_line_ = 0;         // where the line after the current one starts
  size_t readable_ = 0;          // bytes of text_ from the current line's start
  std::vector<size_t> ahead_;    // line ends found by look-aheads (see AheadEnd)
  size_t ahead_used_ = 0;        // ... of which Run has taken so many
  bool chains_deleted_ = false;  // -X in the open table
  bool unresolved_goto_ = false; // -g to a chain that did not exist (yet)

  // Scratch, reused from line to line and rule to rule.
  std::vector<Token> tokens_;
  LineBits line_bits_;
  std::string unescaped_;
  std::string canon_, opaque_;
  Rule rule_;
  Cidr any_;                         // 0.0.0.0/0 or ::/0
  std::vector<Cidr> sources_, destinations_;
  std::vector<Part> parts_;          // in the order written
  std::vector<int> group_of_;        // per part: index into loaded_, -1 for the target
  std::vector<LoadedModule> loaded_;
  std::vector<Part> final_, opts_, target_;
};

ParseResult Parser::Run() {
  ruleset_.family = options_.family ? *options_.family : DetectFamily(text_);
  any_ = Cidr::Any(ruleset_.family);
  int lineno = 0;
  size_t pos = 0;
  bool ok = true;
  while (ok && pos < text_.size()) {
    size_t end;
    if (ahead_used_ < ahead_.size()) {
      end = ahead_[ahead_used_++];   // found by a look-ahead already
    } else {
      ahead_.clear();
      ahead_used_ = 0;
      end = FindLineEnd(pos);
    }
    std::string_view line = text_.substr(pos, end - pos);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    ++lineno;
    pos = end + 1;
    next_line_ = std::min(pos, text_.size());
    readable_ = text_.size() - static_cast<size_t>(line.data() - text_.data());
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
    return OpenTable(name, lineno, col0);
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
  if (!Tokenize(line, readable_, line_bits_, tokens_, unescaped_, error_col))
    return Fail(lineno, error_col, "unterminated quote");
  if (body[0] == ':') return DeclareChain(tokens_[0], tokens_, lineno);
  return ParseCommand(tokens_, lineno, line);
}

bool Parser::OpenTable(std::string_view name, int lineno, int col0) {
  static constexpr std::string_view kTables[] = {"filter", "nat", "mangle", "raw",
                                                 "security"};
  if (std::find(std::begin(kTables), std::end(kTables), name) == std::end(kTables))
    return Fail(lineno, col0 + 1, fmt::format("unknown table '{}'", name));
  seen_table_ = true;
  table_line_ = lineno;
  chains_deleted_ = false;
  unresolved_goto_ = false;
  table_ = ruleset_.FindTable(name);
  if (table_) return true;
  ruleset_.tables.push_back(Table{ruleset_.Store(name), {}});
  table_ = &ruleset_.tables.back();
  // Room for the chains declared next (":NAME ..." lines, as iptables-save
  // writes them right after the table line), so the vector and its index
  // are sized once.
  size_t declared = 0;
  for (size_t k = 0, pos = next_line_; pos < text_.size() && text_[pos] == ':'; ++k) {
    ++declared;
    pos = AheadEnd(k) + 1;
  }
  auto builtins = BuiltinChains(name);
  table_->chains.reserve(builtins.size() + declared);
  table_->chain_index.Rebuild(table_->chains, builtins.size() + declared);
  for (std::string_view c : builtins) {
    Chain chain;
    chain.name = c;
    chain.builtin = true;
    chain.policy = "ACCEPT";
    AddChain(std::move(chain));
  }
  return true;
}

Chain& Parser::AddChain(Chain chain) {
  last_chain_ = nullptr;
  table_->chains.push_back(std::move(chain));
  table_->chain_index.Added(table_->chains);
  return table_->chains.back();
}

bool Parser::DeclareChain(const Token& t, const std::vector<Token>& toks, int lineno) {
  std::string_view name = t.text.substr(1);
  if (name.empty()) return Fail(lineno, t.column, "chain name missing after ':'");
  if (!PrintableName(name) || t.quoted)
    return Fail(lineno, t.column + 1, fmt::format("bad chain name '{}'", name));
  if (name.size() > 28)
    return Fail(lineno, t.column + 1, fmt::format("chain name '{}' is longer than 28 characters", name));
  if (toks.size() < 2) return Fail(lineno, t.column, "chain policy missing");
  const Token& policy = toks[1];
  Chain* chain = FindChain(name);
  bool builtin = chain && chain->builtin;
  if (!builtin) {
    if (policy.text != "-")
      return Fail(lineno, policy.column,
                  fmt::format("user chain '{}' cannot have policy {}", name, policy.text));
    if (!chain) {
      Chain c;
      c.name = ruleset_.StoreName(name).view();
      chain = &AddChain(std::move(c));
    }
  } else {
    if (policy.text != "ACCEPT" && policy.text != "DROP" && policy.text != "-")
      return Fail(lineno, policy.column, fmt::format("bad policy '{}'", policy.text));
    if (policy.text != "-") chain->policy = policy.text == "ACCEPT" ? "ACCEPT" : "DROP";
  }
  if (toks.size() >= 3) {
    std::string_view c = toks[2].text;
    unsigned long long p = 0, b = 0;
    if (!ParseCounters(c, p, b))
      return Fail(lineno, toks[2].column, fmt::format("bad counters '{}'", c));
    chain->counters = {p, b};
  }
  return true;
}

Chain* Parser::FindChainOrFail(const Token& t, int lineno) {
  // A dump appends to one chain line after line.
  if (last_chain_ && last_chain_->name == t.text) return last_chain_;
  Chain* c = last_chain_ = FindChain(t.text);
  if (!c)
    Fail(lineno, t.column, fmt::format("chain '{}' does not exist in table '{}'",
                                       t.text, table_->name));
  return c;
}

bool Parser::CommitTable(int lineno) {
  (void)lineno;
  // A jump target found at its rule still exists unless a chain was deleted
  // since; gotos may name chains declared later. Check all only then.
  if (chains_deleted_ || unresolved_goto_)
    for (auto& chain : table_->chains)
      for (auto& rule : chain.rules)
        if (rule.target_kind == TargetKind::kChain && !FindChain(rule.target))
          return Fail(static_cast<int>(rule.line), 1,
                      fmt::format("jump to chain '{}', which does not exist", rule.target));
  // Built-in chains first in hook order, then user chains by name, as
  // iptables-save lists them (and, usually, as the dump already has them).
  auto order = [](const Chain& a, const Chain& b) {
    if (a.builtin != b.builtin) return a.builtin;
    if (a.builtin) return false;
    return a.name < b.name;
  };
  auto& chains = table_->chains;
  if (!std::is_sorted(chains.begin(), chains.end(), order)) {
    std::stable_sort(chains.begin(), chains.end(), order);
    table_->chain_index.Rebuild(chains);
  }
  for (auto& chain : chains)
    if (chain.rules.capacity() > chain.rules.size()) chain.rules.shrink_to_fit();
  table_ = nullptr;
  last_chain_ = nullptr;
  return true;
}

// Reserves CHAIN's rules for this "-A NAME" line and the lines right after
// it that append to the same chain (iptables-save writes a chain's rules
// together), so the vector is allocated once, at its final size.
void Parser::ReserveRules(Chain& chain, std::string_view line, const Token& name) {
  size_t prefix_len = 3 + name.text.size() + 1;   // "-A NAME "
  if (!line.starts_with("-A ") || name.column != 4 || name.quoted ||
      line.size() < prefix_len || line[prefix_len - 1] != ' ')
    return;
  std::string_view prefix = line.substr(0, prefix_len);
  size_t count = 1;
  for (size_t k = 0, pos = next_line_;
       pos < text_.size() && text_.compare(pos, prefix_len, prefix) == 0; ++k) {
    ++count;
    pos = AheadEnd(k) + 1;
  }
  chain.rules.reserve(count);
}

bool Parser::ParseCommand(std::vector<Token>& toks, int lineno, std::string_view line) {
  Counters prefix_counters;
  bool has_prefix_counters = false;
  size_t i = 0;
  if (!toks.empty() && toks[0].text.starts_with('[')) {
    unsigned long long p = 0, b = 0;
    if (!ParseCounters(toks[0].text, p, b))
      return Fail(lineno, toks[0].column, fmt::format("bad counters '{}'", toks[0].text));
    prefix_counters = {p, b};
    has_prefix_counters = true;
    i = 1;
  }
  if (i >= toks.size()) return Fail(lineno, 1, "command missing");
  const Token& cmd = toks[i];
  const std::string_view c = cmd.text;
  auto need_chain = [&]() -> Chain* {
    if (i + 1 >= toks.size()) {
      Fail(lineno, cmd.column, fmt::format("{} needs a chain name", c));
      return nullptr;
    }
    return FindChainOrFail(toks[i + 1], lineno);
  };
  bool append = c == "-A" || c == "--append";
  if (append || c == "-I" || c == "--insert") {
    Chain* chain = need_chain();
    if (!chain) return false;
    size_t rest = i + 2;
    size_t position = chain->rules.size();
    if (!append) {
      position = 0;
      uint64_t n;
      if (rest < toks.size() && ParseNumber(toks[rest].text, 1u << 30, n)) {
        if (n < 1 || n > chain->rules.size() + 1)
          return Fail(lineno, toks[rest].column, fmt::format("index {} out of range", n));
        position = n - 1;
        ++rest;
      }
    } else if (chain->rules.capacity() == 0 && i == 0) {
      ReserveRules(*chain, line, toks[1]);
    }
    if (!ParseRule(toks, rest, lineno, *chain)) return false;
    Rule& rule = rule_;
    if (has_prefix_counters) {
      rule.counters = prefix_counters;
      rule.has_counters = true;
    }
    size_t ns = std::max<size_t>(1, sources_.size()), nd = std::max<size_t>(1, destinations_.size());
    auto& rules = chain->rules;
    if (position == rules.size()) {
      for (size_t s = 0; s < ns; ++s)
        for (size_t d = 0; d < nd; ++d) {
          rules.push_back(rule);
          rules.back().source = sources_.empty() ? any_ : sources_[s];
          rules.back().destination = destinations_.empty() ? any_ : destinations_[d];
        }
    } else {
      auto at = rules.insert(rules.begin() + static_cast<long>(position), ns * nd, rule);
      for (size_t s = 0; s < ns; ++s)
        for (size_t d = 0; d < nd; ++d, ++at) {
          at->source = sources_.empty() ? any_ : sources_[s];
          at->destination = destinations_.empty() ? any_ : destinations_[d];
        }
    }
    return true;
  }
  if (c == "-N" || c == "--new-chain") {
    if (i + 1 >= toks.size()) return Fail(lineno, cmd.column, "-N needs a chain name");
    const Token& n = toks[i + 1];
    if (!PrintableName(n.text) || n.text.size() > 28)
      return Fail(lineno, n.column, fmt::format("bad chain name '{}'", n.text));
    if (FindChain(n.text))
      return Fail(lineno, n.column, fmt::format("chain '{}' already exists", n.text));
    Chain chain;
    chain.name = ruleset_.StoreName(n.text).view();
    AddChain(std::move(chain));
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
        std::string_view name = chain->name;   // arena text: outlives the chain
        std::erase_if(table_->chains, [&](const Chain& ch) { return ch.name == name; });
        chains_deleted_ = true;
        last_chain_ = nullptr;
      }
      return true;
    }
    if (flush) for (auto& ch : table_->chains) ch.rules.clear();
    else if (zero) for (auto& ch : table_->chains) ch.counters = {};
    else {
      std::erase_if(table_->chains, [](const Chain& ch) { return !ch.builtin; });
      chains_deleted_ = true;
      last_chain_ = nullptr;
    }
    return true;
  }
  if (c.starts_with("-"))
    return Fail(lineno, cmd.column, fmt::format("command '{}' is not supported here", c));
  return Fail(lineno, cmd.column, fmt::format("unexpected '{}': expected a rule (-A CHAIN ...), a chain (:NAME), COMMIT or a table (*name)", c));
}

bool Parser::ParseRule(std::vector<Token>& toks, size_t first, int lineno, Chain& chain) {
  Rule& rule = rule_;
  rule = Rule{};
  rule.line = static_cast<uint32_t>(lineno);
  sources_.clear();
  destinations_.clear();
  parts_.clear();
  group_of_.clear();
  loaded_.clear();
  bool negate = false;
  int negate_col = 0;
  bool target_seen = false;
  const ModuleSpec* target_spec = nullptr;
  bool protocol_seen = false;
  const Family family = ruleset_.family;
  int rule_col = first < toks.size() ? toks[first].column : 1;

  auto take_neg = [&]() {
    bool n = negate;
    negate = false;
    return n;
  };
  auto value_at = [&](size_t& i, const Token& opt, std::string_view& out_value) -> bool {
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
  // Collects tokens of an opaque module or target until the next base option.
  auto collect_opaque = [&](size_t& i) -> std::string_view {
    std::string& text = opaque_;
    text.clear();
    while (i + 1 < toks.size()) {
      const std::string_view next = toks[i + 1].text;
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
      bool plain = !next.empty() && !HasAny(next, kOpaqueSpecial) &&
                   !(toks[i].quoted && (next == "!" || StartsBaseOption(next)));
      if (plain) text += next;
      else text += QuoteText(next, /*force=*/true);
    }
    return text;
  };
  auto load_module = [&](const ModuleSpec* spec, std::string_view name) {
    Part p;
    p.kind = Part::Kind::kMatch;
    p.id = spec ? ModuleId(*spec) : 0;
    p.text = spec ? ModuleName(*spec) : Intern(name);
    loaded_.push_back({spec, parts_.size()});
    parts_.push_back(p);
    group_of_.push_back(static_cast<int>(loaded_.size()) - 1);
  };
  // A value that cannot be read: the error, or with ParseOptions::lenient a
  // match of its own that holds TEXT (" -s <private_ip>") and a warning.
  auto unreadable = [&](int column, const std::string& text, const std::string& why) -> bool {
    if (!options_.lenient) return Fail(lineno, column, why);
    Warn(lineno, column, why + ": read as a match the analysis cannot decide (--lenient)");
    load_module(nullptr, kUnreadableModule);
    Part p;
    p.kind = Part::Kind::kOpaque;
    p.text = Intern(text);
    parts_.push_back(p);
    group_of_.push_back(static_cast<int>(loaded_.size()) - 1);
    return true;
  };
  auto negation = [](bool neg) { return neg ? std::string(" !") : std::string(); };
  auto parse_addresses = [&](const Token& opt, std::string_view v, std::vector<Cidr>& into,
                             bool neg) -> bool {
    size_t start = 0;
    while (start <= v.size()) {
      size_t comma = v.find(',', start);
      std::string_view item = v.substr(start, comma - start);
      auto c = Cidr::Parse(item, family);
      if (!c) {
        into.clear();
        return unreadable(opt.column, fmt::format("{} {} {}", negation(neg), opt.text, QuoteText(v, false)),
                          fmt::format("bad {} address '{}'", family == Family::kIPv4 ? "IPv4" : "IPv6",
                                      item));
      }
      into.push_back(*c);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    return true;
  };

  for (size_t i = first; i < toks.size(); ++i) {
    // getopt_long forms: "--option=value" and "-Xvalue" for the base
    // options that take an argument.
    if (toks[i].text.size() > 2 && toks[i].text[0] == '-') {
      std::string_view raw = toks[i].text;
      size_t eq = raw[1] == '-' ? raw.find('=') : std::string_view::npos;
      if (raw[1] == '-' && eq != std::string_view::npos && eq > 2) {
        Token value{raw.substr(eq + 1), toks[i].column + static_cast<int>(eq) + 1,
                    toks[i].quoted};
        toks[i].text = raw.substr(0, eq);
        toks.insert(toks.begin() + static_cast<long>(i) + 1, value);
      } else if (raw[1] != '-' && std::string_view("sdiopjgmc").find(raw[1]) !=
                                      std::string_view::npos) {
        Token value{raw.substr(2), toks[i].column + 2, toks[i].quoted};
        toks[i].text = raw.substr(0, 2);
        toks.insert(toks.begin() + static_cast<long>(i) + 1, value);
      }
    }
    const Token& t = toks[i];
    const std::string_view s = t.text;
    if (t.IsBang()) {
      if (negate) return Fail(lineno, t.column, "double negation");
      negate = true;
      negate_col = t.column;
      continue;
    }
    std::string_view v;
    switch (BaseOptionOf(s)) {
      case Base::kSource:
        if (!value_at(i, t, v)) return false;
        rule.source_negated = take_neg();
        if (!sources_.empty()) return Fail(lineno, t.column, "multiple -s flags not allowed");
        if (!parse_addresses(t, v, sources_, rule.source_negated)) return false;
        if (sources_.empty()) rule.source_negated = false;   // --lenient: unreadable
        break;
      case Base::kDestination:
        if (!value_at(i, t, v)) return false;
        rule.destination_negated = take_neg();
        if (!destinations_.empty()) return Fail(lineno, t.column, "multiple -d flags not allowed");
        if (!parse_addresses(t, v, destinations_, rule.destination_negated)) return false;
        if (destinations_.empty()) rule.destination_negated = false;
        break;
      case Base::kIn:
      case Base::kOut: {
        if (!value_at(i, t, v)) return false;
        bool in = BaseOptionOf(s) == Base::kIn;
        bool neg = take_neg();
        if (v.empty() || v.size() > 15 || !PrintableName(v)) {
          if (!unreadable(toks[i].column, fmt::format("{} {} {}", negation(neg), t.text, QuoteText(v, false)),
                          fmt::format("bad interface name '{}'", v)))
            return false;
          break;
        }
        if (v == "+" && !neg) v = {};   // "+" alone matches any interface
        Name n = Intern(v);
        if (in) {
          rule.in_interface = n;
          rule.in_negated = neg;
        } else {
          rule.out_interface = n;
          rule.out_negated = neg;
        }
        break;
      }
      case Base::kProtocol:
        if (!value_at(i, t, v)) return false;
        if (protocol_seen) return Fail(lineno, t.column, "multiple -p flags not allowed");
        protocol_seen = true;
        if (!ParseProtocol(v, rule.protocol)) {
          rule.protocol = 0;
          if (!unreadable(toks[i].column, fmt::format("{} {} {}", negation(take_neg()), t.text, QuoteText(v, false)),
                          fmt::format("unknown protocol '{}'", v)))
            return false;
          break;
        }
        rule.protocol_negated = take_neg();
        if (rule.protocol == 0 && rule.protocol_negated)
          return Fail(lineno, t.column, "rule would never match protocol");
        break;
      case Base::kFragment:
        if (family == Family::kIPv6)
          return Fail(lineno, t.column, "-f is not allowed in ip6tables; use the frag match");
        rule.fragment = take_neg() ? -1 : 1;
        break;
      case Base::kCounters: {
        // "-c PKTS BYTES" or "-c PKTS,BYTES"
        unsigned long long p = 0, b = 0;
        std::string_view pkts, bytes;
        if (i + 1 < toks.size()) pkts = toks[i + 1].text;
        size_t comma = pkts.find(',');
        size_t used = 1;
        if (comma != std::string_view::npos) {
          bytes = pkts.substr(comma + 1);
          pkts = pkts.substr(0, comma);
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
        break;
      }
      case Base::kMatch: {
        if (i + 1 >= toks.size()) return Fail(lineno, t.column, "-m needs a module name");
        if (negate) return Fail(lineno, negate_col, "'!' cannot negate -m");
        const Token& name = toks[++i];
        if (!ValidExtensionName(name.text))
          return Fail(lineno, name.column, fmt::format("bad match name '{}'", name.text));
        const ModuleSpec* spec = FindModule(name.text, false, family);
        load_module(spec, name.text);
        if (!spec) {
          std::string_view text = collect_opaque(i);
          if (!text.empty()) {
            Part p;
            p.kind = Part::Kind::kOpaque;
            p.text = Intern(text);
            parts_.push_back(p);
            group_of_.push_back(static_cast<int>(loaded_.size()) - 1);
          }
        }
        break;
      }
      case Base::kJump:
      case Base::kGoto: {
        if (i + 1 >= toks.size()) return Fail(lineno, t.column, fmt::format("{} needs a target", s));
        if (target_seen) return Fail(lineno, t.column, "multiple -j or -g flags not allowed");
        if (negate) return Fail(lineno, negate_col, "'!' cannot negate a target");
        target_seen = true;
        const Token& name = toks[++i];
        rule.is_goto = BaseOptionOf(s) == Base::kGoto;
        const std::string_view n = name.text;
        const Chain* target_chain = nullptr;
        if (n == "ACCEPT") {
          rule.target_kind = TargetKind::kAccept;
          rule.target = kAcceptName;
        } else if (n == "DROP") {
          rule.target_kind = TargetKind::kDrop;
          rule.target = kDropName;
        } else if (n == "RETURN") {
          rule.target_kind = TargetKind::kReturn;
          rule.target = kReturnName;
        } else if (n == "QUEUE") {
          rule.target_kind = TargetKind::kQueue;
          rule.target = kQueueName;
        } else if ((target_chain = FindChain(n)) != nullptr || rule.is_goto) {
          rule.target_kind = TargetKind::kChain;
          unresolved_goto_ |= target_chain == nullptr;
        } else {
          if (!ValidExtensionName(n))
            return Fail(lineno, name.column, fmt::format("bad target name '{}'", n));
          rule.target_kind = TargetKind::kExtension;
          target_spec = FindModule(n, true, family);
          if (target_spec) {
            rule.target_id = ModuleId(*target_spec);
          } else {
            std::string_view text = collect_opaque(i);
            if (!text.empty()) {
              Part p;
              p.kind = Part::Kind::kTargetOpaque;
              p.text = Intern(text);
              parts_.push_back(p);
              group_of_.push_back(-1);
            }
          }
        }
        if (rule.is_goto && rule.target_kind != TargetKind::kChain)
          return Fail(lineno, name.column, fmt::format("goto needs a user chain, not '{}'", n));
        if (n.size() > 28) return Fail(lineno, name.column, "target name too long");
        if (target_chain) rule.target = ChainName(*target_chain);
        else if (rule.target.empty()) rule.target = Intern(n);
        break;
      }
      case Base::kNone: {
        if (!s.starts_with("--") || s.size() <= 2) {
          if (!unreadable(t.column, negation(take_neg()) + " " + QuoteText(s, false),
                          fmt::format("unexpected '{}'", s)))
            return false;
          break;
        }
        std::string_view opt_name = s.substr(2);
        // Which module owns this option: the target, the latest loaded
        // module that knows it, or the protocol's implicit module.
        const OptionSpec* spec = nullptr;
        const ModuleSpec* owner = nullptr;
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
          if (spec) owner = target_spec;
        }
        for (size_t k = loaded_.size(); !spec && k-- > 0;)
          if (loaded_[k].spec && (spec = lookup(*loaded_[k].spec)) != nullptr) {
            group = static_cast<int>(k);
            owner = loaded_[k].spec;
          }
        if (!spec && rule.protocol && !rule.protocol_negated) {
          const ModuleSpec* m = ImplicitModuleSpec(rule.protocol, family);
          if (m && (spec = lookup(*m)) != nullptr) {
            owner = m;
            bool have = std::any_of(loaded_.begin(), loaded_.end(),
                                    [&](const LoadedModule& l) { return l.spec == m; });
            if (!have) load_module(m, m->name);
            for (size_t k = 0; k < loaded_.size(); ++k)
              if (loaded_[k].spec == m) group = static_cast<int>(k);
          }
        }
        if (!spec) {
          // getopt-style unambiguous prefixes (old dumps abbreviate).
          const OptionSpec* unique = nullptr;
          const ModuleSpec* unique_owner = nullptr;
          int matches = 0;
          auto try_prefix = [&](const ModuleSpec& m) {
            for (const auto& o : m.options)
              if (o.name.starts_with(opt_name) && !o.name.empty()) {
                unique = &o;
                unique_owner = &m;
                ++matches;
              }
          };
          int last_group = -1;
          for (size_t k = 0; k < loaded_.size(); ++k)
            if (loaded_[k].spec) {
              int before = matches;
              try_prefix(*loaded_[k].spec);
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
            toks[i].text = base_short;
            --i;   // read it again as the base option
            continue;
          }
          if (matches == 1) {
            spec = unique;
            owner = unique_owner;
            for_target = matches > before_target;
            group = for_target ? -1 : last_group;
          }
        }
        if (!spec) {
          std::string text = negation(take_neg()) + " " + std::string(s);
          text += collect_opaque(i);
          if (!unreadable(t.column, text, fmt::format("unknown option '{}'", s))) return false;
          break;
        }
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
        std::string_view args[2];
        size_t n_args = 0;
        for (size_t k = i + 1; k < toks.size() && k <= i + 2; ++k) args[n_args++] = toks[k].text;
        Part part;
        part.kind = for_target ? Part::Kind::kTargetOption : Part::Kind::kOption;
        part.negated = neg;
        uint16_t id = OptionId(*owner, static_cast<size_t>(spec - owner->options.data()));
        int used;
        if (spec->codec == Codec::kText && n_args > 0 && (!spec->max || args[0].size() <= spec->max)) {
          // free text (a comment): what DecodeOption does, without the detour
          part.value.kind = Value::Kind::kText;
          part.text = Intern(args[0]);
          used = 1;
        } else {
          std::string error;
          DecodeContext ctx{&ruleset_, family, rule.protocol, &interner_, &canon_};
          used = DecodeOption(*spec, std::span<const std::string_view>(args, n_args), ctx, part,
                              error);
          if (used < 0) {
            if (!options_.lenient) return Fail(lineno, t.column, error);
            std::string text = negation(neg) + " " + std::string(s);
            text += collect_opaque(i);
            if (!for_target) {
              if (!unreadable(t.column, text, error)) return false;
              break;
            }
            // The target's options: the whole target is unknown to the analysis.
            Warn(lineno, t.column, error + ": the target is read as one the analysis does not know (--lenient)");
            rule.target_unreadable = true;
            rule.target_id = 0;
            target_spec = nullptr;
            Part p;
            p.kind = Part::Kind::kTargetOpaque;
            p.text = Intern(text);
            parts_.push_back(p);
            group_of_.push_back(-1);
            break;
          }
        }
        if (!spec->prints_as.empty()) {
          const ModuleSpec& m = ModuleOfOption(id);
          id = FindOptionId(m.name, spec->prints_as);
          if (spec->name == "syn") {
            part.value.kind = Value::Kind::kBits;
            part.value.hi = 0x17;
            part.value.lo = 0x02;
            part.text = Intern("FIN,SYN,RST,ACK SYN");
          } else {
            // MARK/CONNMARK: everything becomes --set-xmark value/mask
            uint64_t val = part.value.lo, mask = part.value.hi;
            if (spec->name == "set-mark") mask = mask | val;
            else if (spec->name == "and-mark") { mask = ~val & 0xffffffffu; val = 0; }
            else if (spec->name == "or-mark") mask = val;
            else if (spec->name == "xor-mark") mask = 0;
            part.value.lo = val;
            part.value.hi = mask;
            part.text = Intern(val == 0 ? fmt::format("0x0/{:#x}", mask)
                                        : fmt::format("{:#x}/{:#x}", val, mask));
          }
        }
        part.id = id;
        i += static_cast<size_t>(used);
        parts_.push_back(part);
        group_of_.push_back(for_target ? -1 : group);
        break;
      }
    }
  }
  if (negate) return Fail(lineno, negate_col, "'!' at the end of the rule");
  return FinishRule(rule, chain, lineno, rule_col);
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
    p.text = Intern("ipsec");
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

bool Parser::FinishRule(Rule& rule, const Chain& chain, int lineno, int column) {
  // Group options under their module, in the module's print order, as
  // iptables-save prints them whatever order they were written in.
  final_.clear();
  for (size_t k = 0; k < loaded_.size(); ++k) {
    const ModuleSpec* spec = loaded_[k].spec;
    const size_t match_at = final_.size();
    final_.push_back(parts_[loaded_[k].part_index]);
    for (size_t i = 0; i < parts_.size(); ++i)
      if (group_of_[i] == static_cast<int>(k) && parts_[i].kind != Part::Kind::kMatch)
        final_.push_back(parts_[i]);
    if (!spec) continue;
    // --lenient: a module whose options were unreadable is kept alone.
    if (options_.lenient && final_.size() == match_at + 1) continue;
    // Most modules come with one option that needs nothing done (a comment,
    // a port): what CanonicalizeMatch would check, quickly.
    size_t count = final_.size() - match_at - 1;
    Special special = SpecialOf(*spec);
    bool simple = count <= 1 && (special == Special::kNone || special == Special::kTcpUdp) &&
                  (count == 1 || !spec->needs_option) &&
                  (spec->protocol.empty() ||
                   (rule.protocol == ModuleProtocol(*spec) && !rule.protocol_negated));
    if (simple && special == Special::kTcpUdp && count == 1) {
      const Part& p = final_.back();
      simple = p.negated || p.value.kind != Value::Kind::kPorts || p.value.lo != 0 ||
               p.value.hi != 65535;
    }
    if (simple) continue;
    opts_.assign(final_.begin() + static_cast<long>(match_at) + 1, final_.end());
    if (!CanonicalizeMatch(*spec, opts_, rule, chain, lineno, column)) return false;
    final_.resize(match_at + 1);
    final_.insert(final_.end(), opts_.begin(), opts_.end());
  }
  // Target defaults and checks.
  const size_t target_at = final_.size();
  for (size_t i = 0; i < parts_.size(); ++i)
    if (group_of_[i] < 0 && parts_[i].kind != Part::Kind::kMatch) final_.push_back(parts_[i]);
  if (rule.target_kind == TargetKind::kExtension && rule.target_id) {
    target_.assign(final_.begin() + static_cast<long>(target_at), final_.end());
    if (!CanonicalizeTarget(ModuleById(rule.target_id), target_, rule, chain, lineno, column))
      return false;
    final_.resize(target_at);
    final_.insert(final_.end(), target_.begin(), target_.end());
  }
  // Interfaces that cannot exist at this hook (iptables refuses them).
  if (chain.builtin) {
    std::string_view c = chain.name;
    if (!rule.out_interface.empty() && (c == "INPUT" || c == "PREROUTING"))
      return Fail(lineno, column, fmt::format("can't use -o with {}", c));
    if (!rule.in_interface.empty() && (c == "OUTPUT" || c == "POSTROUTING"))
      return Fail(lineno, column, fmt::format("can't use -i with {}", c));
  }
  rule.parts = PartList(ruleset_.StoreArray(std::span<const Part>(final_)), final_.size());
  return true;
}

// One loaded module's options (OPTS), checked and put in canonical form.
bool Parser::CanonicalizeMatch(const ModuleSpec& m, std::vector<Part>& opts, Rule& rule,
                               const Chain& chain, int lineno, int column) {
  const ModuleSpec* spec = &m;
  const Special special = SpecialOf(m);
  const Family family = ruleset_.family;
  if (special == Special::kPolicy) return CanonicalizePolicy(opts, chain, lineno, column);
  if (special == Special::kOwner) {
    // --suppl-groups needs a --gid-owner before it
    bool gid = false;
    for (const auto& p : opts) {
      std::string_view o = OptionById(p.id).name;
      gid |= o == "gid-owner";
      if (o == "suppl-groups" && !gid)
        return Fail(lineno, column, "owner: --suppl-groups needs --gid-owner before it");
    }
  }
  SortByOptionOrder(opts);
  for (size_t j = 1; j < opts.size(); ++j)
    if (opts[j].id == opts[j - 1].id)
      return Fail(lineno, column, fmt::format("{}: option --{} given twice", spec->name,
                                              OptionById(opts[j].id).name));
  if (spec->needs_option && opts.empty())
    return Fail(lineno, column, fmt::format("match '{}' needs an option", spec->name));
  if (!spec->protocol.empty()) {
    uint16_t need = ModuleProtocol(*spec);
    if (rule.protocol != need || rule.protocol_negated)
      return Fail(lineno, column, fmt::format("match '{}' needs '-p {}'", spec->name,
                                              spec->protocol));
  }
  std::string_view n = spec->name;
  switch (special) {
    case Special::kTcpUdp:
      // a full port range matches everything and is not printed
      std::erase_if(opts, [](const Part& p) {
        return !p.negated && p.value.kind == Value::Kind::kPorts && p.value.lo == 0 &&
               p.value.hi == 65535;
      });
      break;
    case Special::kLimit: {
      bool has_rate = false;
      for (const auto& p : opts) has_rate |= OptionById(p.id).name == "limit";
      if (!has_rate) {
        Part p;
        p.id = FindOptionId("limit", "limit");
        p.value.kind = Value::Kind::kNumber;
        p.value.lo = 10000ull * 60 * 60 / 3;
        p.text = Intern("3/hour");
        opts.insert(opts.begin(), p);
      }
      std::erase_if(opts, [](const Part& p) {
        return OptionById(p.id).name == "limit-burst" && p.value.lo == 5;
      });
      break;
    }
    case Special::kRecent: {
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
        p.text = Intern(text);
        opts.push_back(p);
      };
      if (!name) add("name", "DEFAULT");
      if (!mask) add("mask", family == Family::kIPv4 ? "255.255.255.255"
                                                    : "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
      if (!dir) add("rsource", "");
      SortByOptionOrder(opts);
      break;
    }
    case Special::kHashlimit: {
      std::string error;
      if (!CanonicalizeHashlimit(opts, family, ruleset_, error))
        return Fail(lineno, column, "hashlimit: " + error);
      break;
    }
    case Special::kAddrtype: {
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
      break;
    }
    case Special::kTtlHl:
      if (opts.size() > 1)
        return Fail(lineno, column, fmt::format("{}: only one of --{}-eq, --{}-lt, --{}-gt",
                                                n, n, n, n));
      break;
    case Special::kOwner: {
      std::string_view c = chain.builtin ? chain.name : std::string_view();
      if (c == "INPUT" || c == "FORWARD" || c == "PREROUTING")
        return Fail(lineno, column, fmt::format("owner: only valid in OUTPUT and POSTROUTING, not {}", c));
      break;
    }
    case Special::kMultiport:
      if (opts.size() > 1)
        return Fail(lineno, column, "multiport: only one of --sports, --dports, --ports");
      if (rule.protocol != 6 && rule.protocol != 17 && rule.protocol != 132 &&
          rule.protocol != 136 && rule.protocol != 33)
        return Fail(lineno, column, "multiport needs -p tcp, udp, udplite, sctp or dccp");
      break;
    default:
      break;
  }
  return true;
}

// A typed target's options (TARGET), checked and put in canonical form.
bool Parser::CanonicalizeTarget(const ModuleSpec& spec, std::vector<Part>& target, Rule& rule,
                                const Chain& chain, int lineno, int column) {
  const Family family = ruleset_.family;
  const Special special = SpecialOf(spec);
  SortByOptionOrder(target);
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
  switch (special) {
    case Special::kDnatRedirect:
      if (!only_in("nat", {"PREROUTING", "OUTPUT"})) return false;
      break;
    case Special::kSnat:
      if (!only_in("nat", {"POSTROUTING", "INPUT"})) return false;
      break;
    case Special::kMasquerade:
      if (!only_in("nat", {"POSTROUTING"})) return false;
      break;
    case Special::kNetmap:
      if (!only_in("nat", {"PREROUTING", "OUTPUT", "POSTROUTING", "INPUT"})) return false;
      break;
    case Special::kCt:
    case Special::kNotrackTrace:
      if (!only_in("raw", {"PREROUTING", "OUTPUT"})) return false;
      break;
    default:
      break;
  }
  if (special == Special::kReject) {
    for (const auto& p : target)
      if (p.text == "tcp-reset" && (rule.protocol != 6 || rule.protocol_negated))
        return Fail(lineno, column, "REJECT --reject-with tcp-reset needs -p tcp");
  }
  if (special == Special::kCt) {
    // zone 0 is the default and not printed
    std::erase_if(target, [](const Part& p) {
      return OptionById(p.id).codec == Codec::kZone && p.value.lo == 0 && p.value.hi == 0;
    });
  }
  if (special == Special::kReject && target.empty()) {
    Part p;
    p.kind = Part::Kind::kTargetOption;
    p.id = OptionId(spec, 0);
    p.value.kind = Value::Kind::kNumber;
    p.value.lo = family == Family::kIPv4 ? 3 : 4;
    p.text = Intern(family == Family::kIPv4 ? "icmp-port-unreachable" : "icmp6-port-unreachable");
    target.push_back(p);
  } else if (special == Special::kLog) {
    std::erase_if(target, [](const Part& p) {
      return OptionById(p.id).name == "log-level" && p.value.lo == 4;
    });
    for (auto& p : target)
      if (OptionById(p.id).name == "log-level") p.text = Intern(std::to_string(p.value.lo));
  } else if (special == Special::kNflog) {
    std::erase_if(target, [](const Part& p) {
      return OptionById(p.id).name == "nflog-group" && p.value.lo == 0;
    });
  } else if (special == Special::kConnmark) {
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
        p.text = Intern(mask_text.empty() ? std::string_view("0xffffffff") : mask_text);
        target.push_back(p);
      };
      if (!nf) add("nfmask");
      if (!ct) add("ctmask");
      SortByOptionOrder(target);
    }
  }
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
  // Every " -s ADDR" and " -d ADDR" (also "! ADDR"): any colon means IPv6.
  // (One pass finds both; an occurrence that overlaps the previous one of
  // the same option is skipped, as a find() loop does.)
  bool v4_seen = false;
  const char* base = text.data();
  const size_t size = text.size();
  size_t next_allowed[2] = {0, 0};   // per option: where the next match may start
  // Looks at the " -s " or " -d " that starts at C; true: IPv6 for sure.
  auto at = [&](size_t c) {
    size_t& allowed = next_allowed[base[c + 2] == 'd'];
    if (c < allowed) return false;
    size_t pos = c + 4;
    if (text.substr(pos).starts_with("! ")) pos += 2;
    allowed = pos;
    bool dot = false;
    for (; pos < size && base[pos] != ' ' && base[pos] != '\r' && base[pos] != '\n'; ++pos) {
      if (base[pos] == ':') return true;
      dot |= base[pos] == '.';
    }
    v4_seen |= dot;
    return false;
  };
  auto candidate = [&](size_t c) {
    return base[c] == ' ' && base[c + 1] == '-' && (base[c + 2] == 's' || base[c + 2] == 'd') &&
           base[c + 3] == ' ';
  };
  size_t c = 0;
#if defined(__SSE2__)
  for (; c + 19 <= size; c += 16) {
    auto load = [&](size_t k) {
      return _mm_loadu_si128(reinterpret_cast<const __m128i*>(base + c + k));
    };
    __m128i v2 = load(2);
    __m128i m = _mm_and_si128(
        _mm_and_si128(_mm_cmpeq_epi8(load(0), _mm_set1_epi8(' ')),
                      _mm_cmpeq_epi8(load(1), _mm_set1_epi8('-'))),
        _mm_and_si128(_mm_or_si128(_mm_cmpeq_epi8(v2, _mm_set1_epi8('s')),
                                   _mm_cmpeq_epi8(v2, _mm_set1_epi8('d'))),
                      _mm_cmpeq_epi8(load(3), _mm_set1_epi8(' '))));
    for (unsigned bits = static_cast<unsigned>(_mm_movemask_epi8(m)); bits; bits &= bits - 1)
      if (at(c + static_cast<size_t>(std::countr_zero(bits)))) return Family::kIPv6;
  }
#endif
  for (; c + 4 <= size; ++c)
    if (candidate(c) && at(c)) return Family::kIPv6;
  if (v4_seen) return Family::kIPv4;
  for (std::string_view hint : {"-p icmpv6", "-p ipv6-icmp", "-m icmp6", "-p 58 "})
    if (text.find(hint) != std::string_view::npos) return Family::kIPv6;
  return Family::kIPv4;
}

ParseResult ParseRuleset(std::string_view text, const ParseOptions& options) {
  return Parser(text, options).Run();
}

}  // namespace swarmwall::netfilter
