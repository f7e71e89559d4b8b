// The nftables firewall's read cache. Listing a table holds every set
// element: ~3 s for a 100,000-entry interval set on this project's test
// kernels (the kernel walks the set again for each dump message). The
// nf_tables generation moves on every committed nf_tables transaction (any
// table, set elements included), so a listing taken while it stayed G is
// the kernel's as long as it is still G: STATE_DIR/nftables-cache.json
// keeps both tables, in libnftables' listing form, with G, the boot and the
// network namespace; it is read back through the same validation as a
// live listing (OwnedTableFromListing). SWARMWALL_KERNEL_CACHE=0 turns it off.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "backend/nftables/owned_table.h"

namespace swarmwall::backend::nft {

// TABLE as libnftables lists it ({"table"}, {"set"} with "elem",
// {"chain"}, {"rule"} objects), appended to ITEMS.
void AppendListing(const OwnedTable& table, nlohmann::json& items);

class NftCache {
 public:
  explicit NftCache(std::string path) : path_(std::move(path)) {}
  struct Entry {
    std::optional<OwnedTable> v4, v6;
  };
  // The tables when the cache holds for GENERATION here; one that does not
  // validate is set aside with a note on stderr.
  std::optional<Entry> Load(uint32_t generation) const;
  void Save(uint32_t generation, const std::optional<OwnedTable>& v4, const std::optional<OwnedTable>& v6) const;
  void Forget() const;
  // A digest vouched for at GENERATION (Firewall::Vouch), kept beside the
  // cache in a file of its own (a few bytes: read without the tables), and
  // handed back only at that generation, boot and network namespace.
  void Vouch(uint32_t generation, const std::string& digest) const;
  std::optional<std::string> Vouched(uint32_t generation) const;

 private:
  std::string VouchPath() const;
  std::string path_;
};

}  // namespace swarmwall::backend::nft
