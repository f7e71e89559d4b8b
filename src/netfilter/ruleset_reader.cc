#include "netfilter/ruleset_reader.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstring>

#include <fmt/format.h>

#include "netfilter/codecs.h"

namespace swarmwall::netfilter {

namespace {

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

}  // namespace

ParseResult RulesetReader::Run() {
  ctx_.ruleset.family = ctx_.options.family ? *ctx_.options.family : DetectFamily(text_);
  any_ = Cidr::Any(ctx_.ruleset.family);
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
  if (ok && ctx_.table)
    ok = Fail(lineno, 1, fmt::format("table '{}' (line {}) has no COMMIT",
                                     ctx_.table->name, table_line_));
  if (ok && !seen_table_ && !ctx_.warnings.empty()) {
    // Text but not one table: a script or a listing, not a dump.
    Diagnostic first = ctx_.warnings.front();
    ctx_.warnings.clear();
    ok = Fail(first.line, first.column,
              "no '*table' line: this is not iptables-save output (a shell script or "
              "'iptables -L' listing?)");
  }
  ParseResult out;
  out.error = std::move(ctx_.error);
  out.warnings = std::move(ctx_.warnings);
  if (ok) out.ruleset.emplace(std::move(ctx_.ruleset));
  return out;
}

bool RulesetReader::ParseLine(std::string_view line, int lineno) {
  size_t first = line.find_first_not_of(" \t");
  if (first == std::string_view::npos) return true;
  std::string_view body = line.substr(first);
  int col0 = static_cast<int>(first) + 1;
  if (body[0] == '#') return true;
  if (body[0] == '*') {
    if (ctx_.table)
      return Fail(lineno, col0, fmt::format("table '{}' (line {}) has no COMMIT",
                                            ctx_.table->name, table_line_));
    std::string_view name = body.substr(1);
    while (!name.empty() && (name.back() == ' ' || name.back() == '\t'))
      name.remove_suffix(1);
    return OpenTable(name, lineno, col0);
  }
  if (!ctx_.table) {
    if (body == "COMMIT" || body[0] == ':' || body[0] == '-')
      return Fail(lineno, col0, "rule or chain outside a table (no '*table' line before it)");
    if (!seen_table_) {
      ctx_.Warn(lineno, col0, "skipping text before the first table");
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

bool RulesetReader::OpenTable(std::string_view name, int lineno, int col0) {
  static constexpr std::string_view kTables[] = {"filter", "nat", "mangle", "raw",
                                                 "security"};
  if (std::find(std::begin(kTables), std::end(kTables), name) == std::end(kTables))
    return Fail(lineno, col0 + 1, fmt::format("unknown table '{}'", name));
  seen_table_ = true;
  table_line_ = lineno;
  chains_deleted_ = false;
  ctx_.unresolved_goto = false;
  ctx_.table = ctx_.ruleset.FindTable(name);
  if (ctx_.table) return true;
  ctx_.ruleset.tables.push_back(Table{ctx_.ruleset.Store(name), {}});
  ctx_.table = &ctx_.ruleset.tables.back();
  // Room for the chains declared next (":NAME ..." lines, as iptables-save
  // writes them right after the table line), so the vector and its index
  // are sized once.
  size_t declared = 0;
  for (size_t k = 0, pos = next_line_; pos < text_.size() && text_[pos] == ':'; ++k) {
    ++declared;
    pos = AheadEnd(k) + 1;
  }
  auto builtins = BuiltinChains(name);
  ctx_.table->chains.reserve(builtins.size() + declared);
  ctx_.table->chain_index.Rebuild(ctx_.table->chains, builtins.size() + declared);
  for (std::string_view c : builtins) {
    Chain chain;
    chain.name = c;
    chain.builtin = true;
    chain.policy = "ACCEPT";
    AddChain(std::move(chain));
  }
  return true;
}

Chain& RulesetReader::AddChain(Chain chain) {
  last_chain_ = nullptr;
  ctx_.table->chains.push_back(std::move(chain));
  ctx_.table->chain_index.Added(ctx_.table->chains);
  return ctx_.table->chains.back();
}

bool RulesetReader::DeclareChain(const Token& t, const Tokens& toks, int lineno) {
  std::string_view name = t.text.substr(1);
  if (name.empty()) return Fail(lineno, t.column, "chain name missing after ':'");
  if (!PrintableName(name) || t.quoted)
    return Fail(lineno, t.column + 1, fmt::format("bad chain name '{}'", name));
  if (name.size() > 28)
    return Fail(lineno, t.column + 1, fmt::format("chain name '{}' is longer than 28 characters", name));
  if (toks.size() < 2) return Fail(lineno, t.column, "chain policy missing");
  const Token& policy = toks[1];
  Chain* chain = ctx_.FindChain(name);
  bool builtin = chain && chain->builtin;
  if (!builtin) {
    if (policy.text != "-")
      return Fail(lineno, policy.column,
                  fmt::format("user chain '{}' cannot have policy {}", name, policy.text));
    if (!chain) {
      Chain c;
      c.name = ctx_.ruleset.StoreName(name).view();
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

Chain* RulesetReader::FindChainOrFail(const Token& t, int lineno) {
  // A dump appends to one chain line after line.
  if (last_chain_ && last_chain_->name == t.text) return last_chain_;
  Chain* c = last_chain_ = ctx_.FindChain(t.text);
  if (!c)
    Fail(lineno, t.column, fmt::format("chain '{}' does not exist in table '{}'",
                                       t.text, ctx_.table->name));
  return c;
}

bool RulesetReader::CommitTable(int lineno) {
  (void)lineno;
  // A jump target found at its rule still exists unless a chain was deleted
  // since; gotos may name chains declared later. Check all only then.
  if (chains_deleted_ || ctx_.unresolved_goto)
    for (auto& chain : ctx_.table->chains)
      for (auto& rule : chain.rules)
        if (rule.target_kind == TargetKind::kChain && !ctx_.FindChain(rule.target))
          return Fail(static_cast<int>(rule.line), 1,
                      fmt::format("jump to chain '{}', which does not exist", rule.target));
  // Built-in chains first in hook order, then user chains by name, as
  // iptables-save lists them (and, usually, as the dump already has them).
  auto order = [](const Chain& a, const Chain& b) {
    if (a.builtin != b.builtin) return a.builtin;
    if (a.builtin) return false;
    return a.name < b.name;
  };
  auto& chains = ctx_.table->chains;
  if (!std::is_sorted(chains.begin(), chains.end(), order)) {
    std::stable_sort(chains.begin(), chains.end(), order);
    ctx_.table->chain_index.Rebuild(chains);
  }
  for (auto& chain : chains)
    if (chain.rules.capacity() > chain.rules.size()) chain.rules.shrink_to_fit();
  ctx_.table = nullptr;
  last_chain_ = nullptr;
  return true;
}

// Reserves CHAIN's rules for this "-A NAME" line and the lines right after
// it that append to the same chain (iptables-save writes a chain's rules
// together), so the vector is allocated once, at its final size.
void RulesetReader::ReserveRules(Chain& chain, std::string_view line, const Token& name) {
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

bool RulesetReader::ParseCommand(Tokens& toks, int lineno, std::string_view line) {
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
    if (!rules_.Read(toks, rest, lineno, *chain)) return false;
    Rule& rule = rules_.rule();
    const auto& sources = rules_.sources();
    const auto& destinations = rules_.destinations();
    if (has_prefix_counters) {
      rule.counters = prefix_counters;
      rule.has_counters = true;
    }
    size_t ns = std::max<size_t>(1, sources.size()), nd = std::max<size_t>(1, destinations.size());
    auto& rules = chain->rules;
    if (position == rules.size()) {
      for (size_t s = 0; s < ns; ++s)
        for (size_t d = 0; d < nd; ++d) {
          rules.push_back(rule);
          rules.back().source = sources.empty() ? any_ : sources[s];
          rules.back().destination = destinations.empty() ? any_ : destinations[d];
        }
    } else {
      auto at = rules.insert(rules.begin() + static_cast<long>(position), ns * nd, rule);
      for (size_t s = 0; s < ns; ++s)
        for (size_t d = 0; d < nd; ++d, ++at) {
          at->source = sources.empty() ? any_ : sources[s];
          at->destination = destinations.empty() ? any_ : destinations[d];
        }
    }
    return true;
  }
  if (c == "-N" || c == "--new-chain") {
    if (i + 1 >= toks.size()) return Fail(lineno, cmd.column, "-N needs a chain name");
    const Token& n = toks[i + 1];
    if (!PrintableName(n.text) || n.text.size() > 28)
      return Fail(lineno, n.column, fmt::format("bad chain name '{}'", n.text));
    if (ctx_.FindChain(n.text))
      return Fail(lineno, n.column, fmt::format("chain '{}' already exists", n.text));
    Chain chain;
    chain.name = ctx_.ruleset.StoreName(n.text).view();
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
        std::erase_if(ctx_.table->chains, [&](const Chain& ch) { return ch.name == name; });
        chains_deleted_ = true;
        last_chain_ = nullptr;
      }
      return true;
    }
    if (flush) for (auto& ch : ctx_.table->chains) ch.rules.clear();
    else if (zero) for (auto& ch : ctx_.table->chains) ch.counters = {};
    else {
      std::erase_if(ctx_.table->chains, [](const Chain& ch) { return !ch.builtin; });
      chains_deleted_ = true;
      last_chain_ = nullptr;
    }
    return true;
  }
  if (c.starts_with("-"))
    return Fail(lineno, cmd.column, fmt::format("command '{}' is not supported here", c));
  return Fail(lineno, cmd.column, fmt::format("unexpected '{}': expected a rule (-A CHAIN ...), a chain (:NAME), COMMIT or a table (*name)", c));
}

}  // namespace swarmwall::netfilter
