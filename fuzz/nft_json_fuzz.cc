// libFuzzer target for the nftables JSON reader (netfilter/nft_json.h):
// arbitrary bytes give a ruleset or one FILE:LINE:COL error, never an
// exception, a crash or a read out of bounds; a ruleset read has every jump
// target and set reference resolved.
//
// Build: CC=clang CXX=clang++ cmake -DSWARMWALL_FUZZ=ON ...; run
// `nft_json_fuzz CORPUS_DIR` (ctest -L fuzz runs it for 20 seconds).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "netfilter/nft_json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace swarmwall::netfilter;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  NftParseResult r = ParseNftJson(text, "fuzz.json");
  if (r.ruleset.has_value() == r.error.has_value()) {
    std::fprintf(stderr, "nft_json_fuzz: a ruleset and an error, or neither\n");
    std::abort();
  }
  if (!r.ruleset) {
    if (r.error->line < 1 || r.error->column < 1 || r.error->message.empty()) {
      std::fprintf(stderr, "nft_json_fuzz: an error without a place or a message\n");
      std::abort();
    }
    return 0;
  }
  for (const auto& t : r.ruleset->tables) {
    auto check = [&](const NftVerdict& v) {
      if ((v.kind == NftVerdict::kJump || v.kind == NftVerdict::kGoto) &&
          (v.chain_index < 0 || static_cast<size_t>(v.chain_index) >= t.chains.size())) {
        std::fprintf(stderr, "nft_json_fuzz: an unresolved jump\n");
        std::abort();
      }
    };
    for (const auto& s : t.sets)
      for (const auto& e : s.elements) check(e.verdict);
    for (const auto& c : t.chains)
      for (const auto& rule : c.rules)
        for (const auto& st : rule.statements) {
          check(st.verdict);
          for (const auto& e : st.values) check(e.verdict);
          if (st.set >= static_cast<int>(t.sets.size())) std::abort();
        }
  }
  return 0;
}
