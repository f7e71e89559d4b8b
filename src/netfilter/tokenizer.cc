#include "netfilter/tokenizer.h"

namespace swarmwall::netfilter {

bool Tokenize(std::string_view line, size_t readable, LineBits& bits, Tokens& out,
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
