// Splits one line of iptables-restore input into tokens as iptables-restore
// does, scanning for blanks, quotes and backslashes 64 bytes at a time
// (SSE2 where there is SSE2). Used by the parser only.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace swarmwall::netfilter {

struct Token {
  std::string_view text;   // into the line, or into the unescaped buffer
  int column;              // 1-based
  bool quoted = false;     // had quotes: a quoted "!" is a value, not a negation
  bool IsBang() const { return !quoted && text == "!"; }
};

// A line's tokens. Unlike a std::vector it keeps its elements from line to
// line, and its push_back is forced inline, so that adding a token is a
// store and not a call (GCC at -O2 inlined neither vector::push_back nor
// a plain inline one here: 4% more instructions for a whole parse).
class Tokens {
 public:
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  Token& operator[](size_t i) { return items_[i]; }
  const Token& operator[](size_t i) const { return items_[i]; }
  void clear() { size_ = 0; }
  [[gnu::always_inline]] void push_back(const Token& t) {
    if (size_ < items_.size()) items_[size_] = t;
    else items_.push_back(t);
    ++size_;
  }
  // T before position AT (the getopt splits of rule_options.h).
  void insert(size_t at, const Token& t) {
    push_back(t);
    auto first = items_.begin();
    std::rotate(first + static_cast<long>(at), first + static_cast<long>(size_) - 1,
                first + static_cast<long>(size_));
  }

 private:
  std::vector<Token> items_;   // the first size_ are this line's
  size_t size_ = 0;
};

// A line's blanks, double quotes and backslashes as bit masks, one bit per
// byte, 64 bytes a word. Bits at and past the line's end are blanks, and a
// final word of blanks ends every search. Kept from line to line so that
// its words are allocated once. (Defined here so that the tokenizer's
// loop inlines it.)
class LineBits {
 public:
  // Bytes from S up to S + READABLE (>= N) may be read.
  void Build(const char* s, size_t n, size_t readable) {
    n_ = n;
    size_t words = (n + 63) / 64;
    if (blank_.size() < words) {
      blank_.resize(words);
      quote_.resize(words);
      backslash_.resize(words);
    }
    for (size_t w = 0; w < words; ++w) {
      uint64_t b = 0, q = 0, bs = 0;
      for (size_t k = 0; k < 64 && w * 64 + k < n; k += 16) {
        size_t at = w * 64 + k;
        const char* p = s + at;
        char tmp[16];
        if (at + 16 > readable) {   // the text's last bytes
          memset(tmp, 0, sizeof tmp);
          memcpy(tmp, p, readable - at);
          p = tmp;
        }
        Chunk(p, b, q, bs, k);
      }
      size_t left = n - w * 64;
      if (left < 64) {   // bytes past the line are blanks
        uint64_t valid = (uint64_t{1} << left) - 1;
        b = (b & valid) | ~valid;
        q &= valid;
        bs &= valid;
      }
      blank_[w] = b;
      quote_[w] = q;
      backslash_[w] = bs;
    }
  }
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
  // The 16 bytes at P into the masks, at bit SHIFT.
  static void Chunk(const char* p, uint64_t& b, uint64_t& q, uint64_t& bs, size_t shift) {
#if defined(__SSE2__)
    __m128i v = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    uint64_t mb = static_cast<uint32_t>(_mm_movemask_epi8(_mm_or_si128(
        _mm_cmpeq_epi8(v, _mm_set1_epi8(' ')), _mm_cmpeq_epi8(v, _mm_set1_epi8('\t')))));
    uint64_t mq = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('"'))));
    uint64_t ms = static_cast<uint32_t>(_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));
#else
    uint64_t mb = 0, mq = 0, ms = 0;
    for (int j = 0; j < 16; ++j) {
      mb |= static_cast<uint64_t>(p[j] == ' ' || p[j] == '\t') << j;
      mq |= static_cast<uint64_t>(p[j] == '"') << j;
      ms |= static_cast<uint64_t>(p[j] == '\\') << j;
    }
#endif
    b |= mb << shift;
    q |= mq << shift;
    bs |= ms << shift;
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
bool Tokenize(std::string_view line, size_t readable, LineBits& bits, Tokens& out,
              std::string& unescaped, int& error_col);

// Bytes that make a token need quotes when printed (a table, unlike
// find_first_of, which calls memchr per character).
enum : uint8_t { kBlankOrQuote = 1, kOpaqueSpecial = 2 };
inline constexpr auto kSpecialChars = [] {
  std::array<uint8_t, 256> t{};
  for (unsigned char c : {' ', '\t', '"'}) t[c] = kBlankOrQuote | kOpaqueSpecial;
  for (unsigned char c : {'\'', '\\'}) t[c] = kOpaqueSpecial;
  return t;
}();
inline bool HasAny(std::string_view s, uint8_t what) {
  for (char c : s)
    if (kSpecialChars[static_cast<unsigned char>(c)] & what) return true;
  return false;
}

// Names printed bare (chains, interfaces) must read back as one token.
inline bool PrintableName(std::string_view n) { return !n.empty() && !HasAny(n, kBlankOrQuote); }

}  // namespace swarmwall::netfilter
