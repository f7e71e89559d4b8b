// The seam between apply's workflows (plan, apply, status, remove, the
// agent's repairs) and one firewall implementation. A workflow reads the
// host through a Firewall, compares, and commits; it never sees restore
// text, tool names or the kernel's own model. iptables+ipset
// (backend/iptables/) is the first implementation; firewalld and the
// persistent files are renderers, not firewalls (nothing is read back).
//
// What a Firewall owns is its own: chains, hooks and sets named SWARMWALL-*
// / swarmwall-* (compile::kChainPrefix, kSetPrefix), and nothing else. Its
// Write is atomic per commit from the workflow's view: the owned state is
// the old or the new one, never a mix (apply's HostSession journals the
// commit, runs Write in a detached committer and, after a crash, calls
// Write again to finish or undo it).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backend/family_diff.h"
#include "compile/desired_state.h"
#include "compile/node_facts.h"
#include "netfilter/ruleset.h"

namespace swarmwall::backend {

// The implementation's own record of what it read (kernel model, snapshots,
// leftovers). Opaque to the workflows: only the Firewall that made it looks
// inside.
struct KernelDetail {
  virtual ~KernelDetail() = default;
};

// One read of the host.
struct FirewallView {
  std::string firewall;         // "iptables"
  std::string variant;          // "nft" / "legacy" (iptables), what the tools drive
  std::string variant_reason;   // why that variant
  bool cached = false;          // the rules part came from a cache
  // The kernel's nf_tables generation the rules were read at, where the
  // firewall knows it (nothing committed while it read them).
  std::optional<uint32_t> generation;
  std::shared_ptr<KernelDetail> detail;
};

// What one commit did.
struct WriteResult {
  bool ok = false;
  bool changed = false;                 // something was written
  std::string error;                    // what failed (and that it was rolled back)
  std::vector<std::string> steps;       // what was done, for logs
  std::vector<FamilyDiff> diffs;
  int kernel_commits = 0;               // kernel transactions that succeeded
  bool rollback_failed = false;         // the owned state may be a mix
  // The nf_tables generation right after this commit, where nobody else
  // committed between the read and it (the kernel then holds exactly what
  // was written).
  std::optional<uint32_t> generation_after;
};

// For status: what the firewall holds per family, and what is wrong with
// its hooks or with the owners around it.
struct FamilyStatus {
  netfilter::Family family = netfilter::Family::kIPv4;
  size_t owned_chains = 0, owned_sets = 0;
  size_t foreign_rules = 0;                    // rules of other owners beside ours
  std::vector<std::string> hooks;              // "INPUT -> SWARMWALL-INPUT"
  std::vector<std::string> findings;           // one sentence each
};

// Owned set entries that change while every rule stays as it is (the
// agent's `nodes: auto` membership), to be written in place.
struct SetEntryChange {
  std::string set;                      // "swarmwall-nodes-v4"
  std::vector<netfilter::Cidr> add, del;
  bool operator==(const SetEntryChange&) const = default;
};

class Firewall {
 public:
  virtual ~Firewall() = default;

  // Reads the host. ALLOW_CACHE: a cache keyed by the kernel's ruleset
  // generation may stand in for the rules. WITH_SETS false: owned sets are
  // left out (ReadSets adds them), for a caller that may not need them.
  virtual std::optional<FirewallView> Read(bool allow_cache, bool with_sets, std::string& error) = 0;
  // Reads the owned sets now (callable on a thread beside other work) and
  // returns what puts them into a view read WITH_SETS false.
  virtual std::function<void(FirewallView&)> ReadSets() = 0;

  // DESIRED as Owned reads it back once written (the nftables firewall
  // merges set entries into intervals), so that digests of the two agree.
  virtual compile::DesiredState Canonical(compile::DesiredState desired) const { return desired; }
  // What it owns in VIEW, in the shape the compiler produces.
  virtual compile::DesiredState Owned(const FirewallView& view) const = 0;
  // The node facts the compiler needs from the ruleset (where to hook,
  // whether Docker runs); local addresses are not its business.
  virtual void AddFacts(const FirewallView& view, compile::NodeFacts& facts) const = 0;
  // DESIRED against VIEW, one diff per family (IPv4, IPv6).
  virtual std::vector<FamilyDiff> Compare(const compile::DesiredState& desired,
                                          const FirewallView& view) const = 0;
  // VIEW holds exactly OWNED's hooks, each once and where it must be.
  virtual bool HooksInPlace(const FirewallView& view) const = 0;
  // Something a killed commit left that any commit must clean up.
  virtual bool HasLeftovers(const FirewallView& view) const = 0;

  // Brings the owned state from VIEW to DESIRED (REMOVE: everything owned
  // away), all or nothing. DIFFS: Compare's, when known. Runs in the
  // committer; also refreshes any cache of the ruleset it keeps.
  virtual WriteResult Write(const FirewallView& view, const compile::DesiredState& desired,
                            std::vector<FamilyDiff> diffs, bool remove) = 0;
  // Removes what a killed commit left (HasLeftovers) without a Write.
  virtual void CleanLeftovers(const FirewallView& view) = 0;
  // Drops any cache of the ruleset (a recovery changed it behind it).
  virtual void ForgetCache() = 0;

  // Whether a commit from VIEW to DESIRED can change who reaches this host
  // at all (the lockout guard's question: SWARMWALL-INPUT, its hook or a set
  // it names). DIFFS empty: judged before the sets are known.
  virtual bool ChangesInputPath(const compile::DesiredState& desired, const FirewallView& view,
                                const std::vector<FamilyDiff>& diffs) const = 0;
  // What kinds of drift DIFFS show (see apply/workflow.h: DriftKinds).
  virtual std::vector<std::string> DriftKinds(const std::vector<FamilyDiff>& diffs,
                                              const FirewallView& view) const = 0;
  virtual std::vector<FamilyStatus> Status(const FirewallView& view) const = 0;

  // Set-entry changes only, when DESIRED differs from VIEW in nothing else
  // (nullopt: the rules' shape changed too).
  virtual std::optional<std::vector<SetEntryChange>> SetEntryChanges(const compile::DesiredState& desired,
                                                                     const FirewallView& view) const = 0;
  virtual bool WriteSetEntries(const std::vector<SetEntryChange>& changes, std::string& error) = 0;

  // The whole ruleset of FAMILY as the analyzer reads it (iptables-save
  // text of every table); true with TEXT empty when the family is not
  // there, false with ERROR when it cannot be read.
  virtual bool SaveRuleset(const FirewallView& view, netfilter::Family family, std::string& text,
                           std::string& error) const = 0;
  // The native nftables tables this firewall owns as DESIRED would make
  // them, in libnftables' listing JSON ({"nftables": [...]}), to put in
  // place of the live ones (plan --exposure); "" when it owns none.
  virtual std::string NativeTablesAfter(const compile::DesiredState&) const { return ""; }
  // DIGEST (the workflow's fingerprint of the owned rules) vouched for at
  // the kernel's GENERATION, after a commit or a read that showed it;
  // VouchedDigest hands it back for as long as the kernel is still at that
  // generation: an unchanged host known without reading its rules (~2 MB of
  // cache for a 100,000-entry set). Firewalls without a generation keep none.
  virtual void Vouch(uint32_t /*generation*/, const std::string& /*digest*/) const {}
  virtual std::optional<std::string> VouchedDigest() const { return std::nullopt; }
  // False when this firewall surely holds nothing of swarmwall's here,
  // found cheaply (netlink dumps of names, no listing, no tool's variant
  // detection): the other backend is then not read after each apply.
  virtual bool MayHoldOwned() const { return true; }
  // Its commits swap and destroy ipsets, which any concurrent reader of the
  // host's sets (`ipset save`) holds busy: "Device or resource busy" fails
  // the commit. Such reads then wait for the commit.
  virtual bool CommitsIpsets() const { return false; }
  // A view of no rules, naming the firewall (for a vouched host's facts).
  virtual FirewallView BareView() const { return {}; }
  // SAVED (SaveRuleset's) as it would be after DESIRED is written: the
  // owned chains, hooks and declarations replaced (plan --exposure).
  virtual std::string RulesetAfter(std::string_view saved, const compile::DesiredState& desired,
                                   netfilter::Family family) const = 0;
};

// The implementations: iptables+ipset (hooked into DOCKER-USER / FORWARD
// and INPUT) and native nftables (tables `ip swarmwall` / `ip6 swarmwall`
// with base chains of their own, before Docker's and iptables-nft's).
enum class FirewallKind { kIptables, kNftables };
std::string_view FirewallKindName(FirewallKind kind);   // "iptables", "nftables"

// The firewall of KIND on this host; STATE_DIR holds its caches (empty:
// none, nothing written).
std::unique_ptr<Firewall> HostFirewall(const std::string& state_dir,
                                       FirewallKind kind = FirewallKind::kIptables);

// "+10.10.10.3/32 -10.10.10.9/32" per set, for logs.
std::vector<std::string> DescribeSetEntryChanges(const std::vector<SetEntryChange>& changes);

}  // namespace swarmwall::backend
