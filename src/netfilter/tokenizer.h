// Splits one line of iptables-restore input into tokens as iptables-restore
// does, scanning for blanks, quotes and backslashes 64 bytes at a time
// (SSE2 where there is SSE2). Used by the parser only.
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace swarmwall::netfilter {

struct Token {
  std::string_view text;   // into the line, or into the unescaped buffer
  int column;              // 1-based
  bool quoted = false;     // had quotes: a quoted "!" is a value, not a negation
  bool IsBang() const { return !quoted && text == "!"; }
};

// A line's blanks, double quotes and backslashes as bit masks, one bit per
// byte, 64 bytes a word. Bits at and past the line's end are blanks, and a
// final word of blanks ends every search. Kept from line to line so that
// its words are allocated once.
class LineBits {
 public:
  // Bytes from S up to S + READABLE (>= N) may be read.
  void Build(const char* s, size_t n, size_t readable);
  // The first position at or after I that is (not) a blank, a quote, ...;
  // n when there is none before the end.
  size_t NextNonBlank(size_t i) const {
    return Next(i, [this](size_t w) { return ~blank_[w]; });
  }
  size_t NextBlankOrQuote(size_t i) const {
    return Next(i, [this](size_t w) { return blank_[w] | quote_[w]; });
  }
  size_t NextQuoteOrBackslash(size_t i) const {
    return Next(i, [this](size_t w) { return quote_[w] | backslash_[w]; });
  }

 private:
  template <typename Word>
  size_t Next(size_t i, Word word) const {
    if (i >= n_) return n_;
    size_t w = i / 64;
    uint64_t m = word(w) & (~uint64_t{0} << (i % 64));
    while (!m) {
      if (++w * 64 >= n_) return n_;
      m = word(w);
    }
    return std::min(n_, w * 64 + static_cast<size_t>(std::countr_zero(m)));
  }
  std::vector<uint64_t> blank_, quote_, backslash_;
  size_t n_ = 0;
};

// Splits a line as iptables-restore does (add_param_to_argv): blanks
// separate; a double quote opens a quoted run, inside which a backslash
// takes the next character literally; the closing quote ends the word.
// Outside quotes a backslash is an ordinary character. An unterminated
// quote is an error here (iptables would swallow the rest of the line):
// false, with ERROR_COL at the quote.
// Tokens are views into LINE; only a token whose text differs from the
// line's bytes (text before its quote, or escapes) is copied, into
// UNESCAPED (reserved to the line's length first, so it never moves).
// READABLE: how many bytes from line.data() may be read (>= line.size()).
bool Tokenize(std::string_view line, size_t readable, LineBits& bits, std::vector<Token>& out,
              std::string& unescaped, int& error_col);

}  // namespace swarmwall::netfilter
