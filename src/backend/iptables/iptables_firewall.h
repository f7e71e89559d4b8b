// The iptables+ipset firewall: owned chains read with iptables-save (through
// the variant that holds Docker's chains, nft or legacy), owned sets over
// ipset's netlink protocol, a commit as one iptables-restore --noflush per
// family and one ipset restore per changed set (Transaction), the read
// cached by the nf_tables generation (KernelCache).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "backend/firewall.h"
#include "backend/iptables/kernel_cache.h"
#include "backend/iptables/kernel_state.h"
#include "host/xtables.h"

namespace swarmwall::backend {

// What an iptables read holds (FirewallView::detail).
struct IptablesDetail : KernelDetail {
  VariantReport variant;
  Before before;
  std::optional<uint32_t> generation;   // nf_tables generation BEFORE is exact at
};

class IptablesFirewall : public Firewall {
 public:
  explicit IptablesFirewall(std::string state_dir) : cache_(std::move(state_dir)) {}

  std::optional<FirewallView> Read(bool allow_cache, bool with_sets, std::string& error) override;
  std::function<void(FirewallView&)> ReadSets() override;
  compile::DesiredState Owned(const FirewallView& view) const override;
  void AddFacts(const FirewallView& view, compile::NodeFacts& facts) const override;
  std::vector<FamilyDiff> Compare(const compile::DesiredState& desired, const FirewallView& view) const override;
  bool HooksInPlace(const FirewallView& view) const override;
  bool HasLeftovers(const FirewallView& view) const override;
  WriteResult Write(const FirewallView& view, const compile::DesiredState& desired,
                    std::vector<FamilyDiff> diffs, bool remove) override;
  void CleanLeftovers(const FirewallView& view) override;
  void ForgetCache() override { cache_.Forget(); }
  bool MayHoldOwned() const override;
  bool CommitsIpsets() const override { return true; }
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

  // A view of BEFORE (tests, and callers that read the kernel themselves).
  static FirewallView ViewOf(VariantReport variant, Before before);
  static const IptablesDetail& Detail(const FirewallView& view);

 private:
  KernelCache cache_;
};

// What kinds of drift DIFFS (one per family, made against BEFORE) show:
// chain-missing, chain-flushed, chain-changed, hook-missing, hook-not-first,
// hook-stale, set, forward-docker-user (FORWARD no longer jumps to
// DOCKER-USER), in that order, each once.
std::vector<std::string> DriftKindsOf(const std::vector<FamilyDiff>& diffs, const Before& before);

}  // namespace swarmwall::backend
