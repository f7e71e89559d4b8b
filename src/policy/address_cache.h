// Parsed address files kept on disk between runs, keyed by their bytes. A
// 100,000-line file takes ~15 ms to parse and well under 1 ms to load back,
// and apply reads the same file on every run (bench/apply_bench.sh, "one
// changed port"). Only a file that parsed without any error or warning is
// kept, so every message is still printed each time it applies; one cache
// file per address file path, rewritten when the bytes change. The entries
// are stored as they are in memory, so only the same swarmwall binary (and
// Cidr layout) reads them back. A cache is never needed: any failure is a
// miss, and the file is parsed.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netfilter/address.h"

namespace swarmwall::policy {

class AddressCache {
 public:
  explicit AddressCache(std::string dir) : dir_(std::move(dir)) {}

  // What one address file gave, in file order.
  struct Parsed {
    std::vector<netfilter::Cidr> ipv4, ipv6;
    size_t lines = 0;
  };

  // PATH's entries when BYTES are what was stored for it.
  std::optional<Parsed> Find(const std::string& path, std::string_view bytes) const;
  // Stores PARSED as PATH's entries for BYTES (best effort); at most
  // kMaxFiles cache files are kept, the least recently written go first.
  void Store(const std::string& path, std::string_view bytes, const Parsed& parsed) const;
  static constexpr size_t kMaxFiles = 64;

 private:
  void Prune(const std::string& keep) const;
  std::string FileFor(const std::string& path) const;
  std::string dir_;
};

}  // namespace swarmwall::policy
