// The iptables firewall's read cache. A full read runs iptables-save of the
// filter table per family, ~120 ms each on a host with 10,000 rules. The
// nf_tables ruleset generation changes on every committed nf_tables
// transaction in the namespace, so a snapshot taken while it stayed G is the
// kernel's state as long as it is still G: the snapshots are cached with G
// (STATE_DIR/kernel-cache.json, keyed by boot and namespace too) and reused
// while it holds. After a commit the cache is moved on to the snapshot the
// commit produced (SnapshotAfter) only when the generation moved by exactly
// our own iptables-restore calls, i.e. nobody else committed in between.
// Never used for the legacy variant or when legacy tables exist (no
// generation there), nor when SWARMWALL_KERNEL_CACHE=0. Owned sets (ipset
// has no generation) are always read live.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "backend/iptables/kernel_state.h"
#include "host/xtables.h"

namespace swarmwall::backend {

class KernelCache {
 public:
  // STATE_DIR empty: no cache (a read that must leave no file behind).
  explicit KernelCache(const std::string& state_dir)
      : path_(state_dir.empty() ? "" : state_dir + "/kernel-cache.json") {}

  // Whether a cache can stand for VARIANT's rules at all.
  static bool Usable(const VariantReport& variant);
  // Whether legacy tables exist or SWARMWALL_KERNEL_CACHE=0 rules it out.
  static bool Allowed();

  // The cached variant and snapshots when they hold for GENERATION. One
  // that does not validate (base/state_file.h) is set aside with a note on
  // stderr; one of another generation, boot or namespace is not used.
  struct Entry {
    VariantReport variant;
    Before before;
  };
  std::optional<Entry> Load(uint32_t generation) const;

  // The cache's text but for the generation (the slow part: ~3 ms with
  // 1,000 owned rules), so that it can be made before the generation is known.
  static std::string Body(const VariantReport& variant, const FamilySnapshot& v4, const FamilySnapshot& v6);
  void Write(uint32_t generation, const std::string& body) const;
  void Save(uint32_t generation, const VariantReport& variant, const FamilySnapshot& v4,
            const FamilySnapshot& v6) const;
  void Forget() const;

 private:
  std::string path_;
};

}  // namespace swarmwall::backend
