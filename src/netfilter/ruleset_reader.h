// Reads a whole iptables-restore input, line by line: tables ("*filter"),
// chains and their policies and counters (":INPUT ACCEPT [0:0]"), the
// commands of a rule file (-A, -I, -N, -P, -F, -X, -Z) and COMMIT. Each
// rule's own text goes to the RuleReader. The driver behind ParseRuleset
// (parser.h). Used by the parser only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "netfilter/parse_context.h"
#include "netfilter/parser.h"
#include "netfilter/rule_reader.h"
#include "netfilter/tokenizer.h"

namespace swarmwall::netfilter {

class RulesetReader {
 public:
  RulesetReader(std::string_view text, const ParseOptions& options)
      : text_(text), ctx_(text, options), rules_(ctx_) {}

  ParseResult Run();

 private:
  bool Fail(int line, int column, std::string message) {
    return ctx_.Fail(line, column, std::move(message));
  }
  bool ParseLine(std::string_view line, int lineno);
  bool OpenTable(std::string_view name, int lineno, int col0);
  bool DeclareChain(const Token& t, const Tokens& toks, int lineno);
  bool ParseCommand(Tokens& toks, int lineno, std::string_view line);
  bool CommitTable(int lineno);
  Chain* FindChainOrFail(const Token& t, int lineno);
  Chain& AddChain(Chain chain);
  void ReserveRules(Chain& chain, std::string_view line, const Token& name);

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
  ParseContext ctx_;
  RuleReader rules_;
  Chain* last_chain_ = nullptr;  // of the last -A (reset when chains move)
  int table_line_ = 0;
  bool seen_table_ = false;
  size_t next_line_ = 0;         // where the line after the current one starts
  size_t readable_ = 0;          // bytes of text_ from the current line's start
  std::vector<size_t> ahead_;    // line ends found by look-aheads (see AheadEnd)
  size_t ahead_used_ = 0;        // ... of which Run has taken so many
  bool chains_deleted_ = false;  // -X in the open table

  // Scratch, reused from line to line.
  Tokens tokens_;
  LineBits line_bits_;
  std::string unescaped_;
  Cidr any_;                     // 0.0.0.0/0 or ::/0
};

}  // namespace swarmwall::netfilter
