#include "netfilter/tokenizer.h"

#include <cstring>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

namespace swarmwall::netfilter {

namespace {

// The 16 bytes at P into the masks, at bit SHIFT.
void Chunk(const char* p, uint64_t& b, uint64_t& q, uint64_t& bs, size_t shift) {
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

}  // namespace

void LineBits::Build(const char* s, size_t n, size_t readable) {
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

bool Tokenize(std::string_view line, size_t readable, LineBits& bits, std::vector<Token>& out,
              std::string& unescaped, int& error_col) {
  out.clear();
  unescaped.clear();
  const char* s = line.data();
  const size_t n = line.size();
  bits.Build(s, n, readable);
  size_t i = 0;
  while (true) {
    // (tokens are mostly one blank apart)
    if (i + 1 < n && s[i] == ' ' && s[i + 1] != ' ' && s[i + 1] != '\t') ++i;
    else if ((i = bits.NextNonBlank(i)) >= n) break;
    const size_t start = i;
    i = bits.NextBlankOrQuote(i);
    if (i == n || s[i] != '"') {
      out.push_back({line.substr(start, i - start), static_cast<int>(start) + 1, false});
      continue;
    }
    const size_t open = i++;
    size_t stop = bits.NextQuoteOrBackslash(i);
    if (start == open && stop < n && s[stop] == '"') {
      // "text" with no escapes: the text is in the line as it is
      out.push_back({line.substr(i, stop - i), static_cast<int>(start) + 1, true});
      i = stop + 1;
      continue;   // the closing quote ends the word
    }
    if (unescaped.capacity() < n) unescaped.reserve(n);
    size_t from = unescaped.size();
    unescaped.append(s + start, open - start);
    bool closed = false;
    while (i < n) {
      char q = s[i++];
      if (q == '\\' && i < n) {
        unescaped += s[i++];
      } else if (q == '"') {
        closed = true;
        break;
      } else {
        unescaped += q;
      }
    }
    if (!closed) {
      error_col = static_cast<int>(open) + 1;
      return false;
    }
    out.push_back({std::string_view(unescaped).substr(from), static_cast<int>(start) + 1, true});
  }
  return true;
}

}  // namespace swarmwall::netfilter
