// Prints the nf_tables ruleset generation of the current network namespace
// (host/nft_generation.h): equal before and after a command proves it
// committed nothing to nf_tables. Used by bench/apply_bench.sh.
#include <cstdio>

#include "host/nft_generation.h"

int main() {
  auto g = swarmwall::host::NftGeneration();
  if (!g) {
    std::fprintf(stderr, "nft_generation: cannot ask nf_tables\n");
    return 1;
  }
  std::printf("%u\n", *g);
  return 0;
}
