// The native nftables firewall: swarmwall's own tables `ip swarmwall` and
// `ip6 swarmwall` (owned_table.h), read with libnftables' JSON listing,
// compared with what the compiler wants in one normal form, and written as
// ONE libnftables transaction per commit (both families, only what
// differs: changed chains flushed and refilled, set elements added and
// deleted in place, so a 100,000-entry set is not rewritten for one port).
// It needs nothing of Docker's (no DOCKER-USER): its base chains run at
// priority -10, before Docker's and iptables-nft's filter chains, and only
// narrow what they accept. The read is cached by the nf_tables generation
// (NftCache), which every nf_tables commit moves, sets included.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "backend/firewall.h"
#include "backend/nftables/owned_table.h"

namespace swarmwall::backend {

// What an nftables read holds (FirewallView::detail).
struct NftablesDetail : KernelDetail {
  std::optional<nft::OwnedTable> v4, v6;   // nullopt: the table is not there
  std::optional<uint32_t> generation;      // the generation they were read at
  const std::optional<nft::OwnedTable>& Of(netfilter::Family f) const {
    return f == netfilter::Family::kIPv4 ? v4 : v6;
  }
};

class NftablesFirewall : public Firewall {
 public:
  explicit NftablesFirewall(std::string state_dir);

  std::optional<FirewallView> Read(bool allow_cache, bool with_sets, std::string& error) override;
  std::function<void(FirewallView&)> ReadSets() override;
  compile::DesiredState Canonical(compile::DesiredState desired) const override;
  compile::DesiredState Owned(const FirewallView& view) const override;
  void AddFacts(const FirewallView& view, compile::NodeFacts& facts) const override;
  std::vector<FamilyDiff> Compare(const compile::DesiredState& desired, const FirewallView& view) const override;
  bool HooksInPlace(const FirewallView& view) const override;
  bool HasLeftovers(const FirewallView&) const override { return false; }
  WriteResult Write(const FirewallView& view, const compile::DesiredState& desired,
                    std::vector<FamilyDiff> diffs, bool remove) override;
  void CleanLeftovers(const FirewallView&) override {}
  void ForgetCache() override;
  bool ChangesInputPath(const compile::DesiredState& desired, const FirewallView& view,
                        const std::vector<FamilyDiff>& diffs) const override;
  std::vector<std::string> DriftKinds(const std::vector<FamilyDiff>& diffs,
                                      const FirewallView& view) const override;
  std::vector<FamilyStatus> Status(const FirewallView& view) const override;
  std::optional<std::vector<SetEntryChange>> SetEntryChanges(const compile::DesiredState& desired,
                                                             const FirewallView& view) const override;
  bool WriteSetEntries(const std::vector<SetEntryChange>& changes, std::string& error) override;
  bool SaveRuleset(const FirewallView& view, netfilter::Family family, std::string& text,
                   std::string& error) const override;
  std::string RulesetAfter(std::string_view saved, const compile::DesiredState& desired,
                           netfilter::Family family) const override;
  std::string NativeTablesAfter(const compile::DesiredState& desired) const override;
  void Vouch(uint32_t generation, const std::string& digest) const override;
  std::optional<std::string> VouchedDigest() const override;
  FirewallView BareView() const override;
  bool MayHoldOwned() const override;

  static const NftablesDetail& Detail(const FirewallView& view);
  // A view of V4 and V6 (tests).
  static FirewallView ViewOf(std::optional<nft::OwnedTable> v4, std::optional<nft::OwnedTable> v6,
                             std::optional<uint32_t> generation = std::nullopt);

 private:
  // DesiredTable of DESIRED, remembered for the last desired state.
  const std::optional<nft::OwnedTable>& Desired(const compile::DesiredState& desired, netfilter::Family family,
                                         std::string& error) const;
  struct Memo {
    std::optional<nft::OwnedTable> table;
    std::string error;
  };
  mutable std::string memo_digest_;
  mutable Memo memo_[2];
  std::string cache_path_;                       // "" : no cache
  std::shared_ptr<const NftablesDetail> last_;   // the last read, for WriteSetEntries
};

// DESIRED's table of FAMILY in the normal form; nullopt with ERROR when a
// rule is outside what the translation knows (a compiler bug: nothing is
// written then).
std::optional<nft::OwnedTable> DesiredTable(const compile::DesiredState& desired, netfilter::Family family,
                                            std::string& error);

}  // namespace swarmwall::backend
