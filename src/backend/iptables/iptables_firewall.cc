#include "backend/iptables/iptables_firewall.h"

#include <algorithm>
#include <cstdlib>
#include <future>
#include <thread>

#include <fmt/format.h>

#include "backend/iptables/diff.h"
#include "backend/iptables/input_path.h"
#include "backend/iptables/ipset_read.h"
#include "backend/iptables/ruleset_after.h"
#include "backend/iptables/set_entries.h"
#include "backend/iptables/transaction.h"
#include "base/process.h"
#include "base/timings.h"
#include "host/nft_generation.h"
#include "host/xtables.h"

namespace swarmwall::backend {
namespace {

using netfilter::Family;

// Tests widen the windows between the commit's steps (milliseconds).
void TestDelay() {
  if (const char* ms = getenv("SWARMWALL_TEST_STEP_DELAY_MS"))
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(ms)));
}

IptablesDetail& MutableDetail(FirewallView& view) { return static_cast<IptablesDetail&>(*view.detail); }

}  // namespace

FirewallView IptablesFirewall::ViewOf(VariantReport variant, Before before) {
  FirewallView view;
  view.firewall = "iptables";
  view.variant = variant.chosen.name;
  view.variant_reason = variant.reason;
  auto detail = std::make_shared<IptablesDetail>();
  detail->variant = std::move(variant);
  detail->before = std::move(before);
  view.detail = std::move(detail);
  return view;
}

const IptablesDetail& IptablesFirewall::Detail(const FirewallView& view) {
  return static_cast<const IptablesDetail&>(*view.detail);
}

std::optional<FirewallView> IptablesFirewall::Read(bool allow_cache, bool with_sets, std::string& error) {
  auto generation = host::NftGeneration();
  if (allow_cache && generation && KernelCache::Allowed()) {
    if (auto entry = cache_.Load(*generation)) {
      auto view = ViewOf(std::move(entry->variant), std::move(entry->before));
      view.cached = true;
      MutableDetail(view).generation = generation;
      if (with_sets) ReadOwnedSets(MutableDetail(view).before.ipv4, MutableDetail(view).before.ipv6);
      return view;
    }
  }
  auto variant = DetectVariant();
  auto before = ReadBefore(variant.chosen, error, with_sets);
  if (!before) return std::nullopt;
  auto view = ViewOf(std::move(variant), std::move(*before));
  auto after = host::NftGeneration();
  if (generation && after && *generation == *after) {
    auto& d = MutableDetail(view);
    d.generation = generation;
    cache_.Save(*generation, d.variant, d.before.ipv4, d.before.ipv6);
  }
  return view;
}

std::function<void(FirewallView&)> IptablesFirewall::ReadSets() {
  auto sets = std::make_shared<OwnedSets>(ReadOwnedSetsNow());
  return [sets](FirewallView& view) {
    auto& d = MutableDetail(view);
    PutOwnedSets(std::move(*sets), d.before.ipv4, d.before.ipv6);
  };
}

compile::DesiredState IptablesFirewall::Owned(const FirewallView& view) const {
  compile::DesiredState owned;
  owned.ipv4 = Detail(view).before.ipv4.owned;
  owned.ipv6 = Detail(view).before.ipv6.owned;
  return owned;
}

void IptablesFirewall::AddFacts(const FirewallView& view, compile::NodeFacts& facts) const {
  SetHookFacts(Detail(view).before.ipv4, Detail(view).before.ipv6, facts);
}

std::vector<FamilyDiff> IptablesFirewall::Compare(const compile::DesiredState& desired,
                                                  const FirewallView& view) const {
  const auto& b = Detail(view).before;
  return {backend::Compare(desired.ipv4, b.ipv4), backend::Compare(desired.ipv6, b.ipv6)};
}

bool IptablesFirewall::HooksInPlace(const FirewallView& view) const {
  const auto& b = Detail(view).before;
  for (const FamilySnapshot* s : {&b.ipv4, &b.ipv6})
    for (const auto& h : s->owned.hooks) {
      auto first = s->hook_first.find({h.chain, h.target});
      if (s->kernel.Jumps(h.chain, h.target) != 1 || first == s->hook_first.end() || !first->second)
        return false;
    }
  return true;
}

bool IptablesFirewall::HasLeftovers(const FirewallView& view) const {
  const auto& b = Detail(view).before;
  return !b.ipv4.twins.empty() || !b.ipv6.twins.empty();
}

// Twins (`swarmwall-NAME~`) a committer killed half way left: their names
// were read with the owned sets (FamilySnapshot::twins).
void IptablesFirewall::CleanLeftovers(const FirewallView& view) {
  std::string text;
  const auto& b = Detail(view).before;
  for (const auto* snap : {&b.ipv4, &b.ipv6})
    for (const auto& twin : snap->twins) text += "destroy " + twin + "\n";
  if (!text.empty()) RunProcess({"ipset", "restore"}, {.input = text, .timeout = std::chrono::seconds(60)});
}

WriteResult IptablesFirewall::Write(const FirewallView& view, const compile::DesiredState& desired,
                                    std::vector<FamilyDiff> diffs, bool remove) {
  const auto& d = Detail(view);
  if (diffs.size() != 2) diffs = Compare(desired, view);
  // The kernel cache of the state after the commit, made while
  // iptables-restore runs (this process only waits for it then).
  std::future<std::string> cache_body;
  if (d.generation && KernelCache::Usable(d.variant))
    cache_body = std::async(std::launch::async, [&] {
      auto v4 = diffs[0].rules ? SnapshotAfter(desired.ipv4, d.before.ipv4, remove) : d.before.ipv4;
      auto v6 = diffs[1].rules ? SnapshotAfter(desired.ipv6, d.before.ipv6, remove) : d.before.ipv6;
      return KernelCache::Body(d.variant, v4, v6);
    });
  TestDelay();
  Transaction tx(d.variant.chosen, d.before);
  auto result = remove ? tx.Remove() : tx.Commit(desired, diffs);
  TimingMark("transaction");
  if (result.ok) {
    auto generation = host::NftGeneration();
    if (cache_body.valid() && generation && *generation == *d.generation + result.kernel_commits)
      cache_.Write(*generation, cache_body.get());
    else
      cache_.Forget();
  } else if (cache_body.valid()) {
    cache_body.wait();
  }
  return result;
}

bool IptablesFirewall::ChangesInputPath(const compile::DesiredState& desired, const FirewallView& view,
                                        const std::vector<FamilyDiff>& diffs) const {
  const auto& b = Detail(view).before;
  if (InputChainChanges(desired.ipv4, b.ipv4) || InputChainChanges(desired.ipv6, b.ipv6)) return true;
  return diffs.size() == 2 && (InputSetsChange(desired.ipv4, diffs[0]) || InputSetsChange(desired.ipv6, diffs[1]));
}

std::vector<std::string> IptablesFirewall::DriftKinds(const std::vector<FamilyDiff>& diffs,
                                                      const FirewallView& view) const {
  return DriftKindsOf(diffs, Detail(view).before);
}

std::vector<FamilyStatus> IptablesFirewall::Status(const FirewallView& view) const {
  std::vector<FamilyStatus> out;
  const auto& b = Detail(view).before;
  for (const FamilySnapshot* s : {&b.ipv4, &b.ipv6}) {
    FamilyStatus st;
    st.family = s == &b.ipv4 ? Family::kIPv4 : Family::kIPv6;
    std::string fam = st.family == Family::kIPv4 ? "IPv4" : "IPv6";
    st.owned_chains = s->owned.chains.size();
    st.owned_sets = s->owned.sets.size();
    st.foreign_rules = s->foreign_rules;
    for (const auto& h : s->owned.hooks) st.hooks.push_back(h.chain + " -> " + h.target);
    for (const auto& [key, first] : s->hook_first) {
      int count = s->kernel.Jumps(key.first, key.second);
      if (!first || count != 1)
        st.findings.push_back(fmt::format("{}: the jump {} -> {} is {} ({} of them)", fam, key.first,
                                          key.second, first ? "first" : "NOT first", count));
    }
    out.push_back(std::move(st));
  }
  return out;
}

std::optional<std::vector<SetEntryChange>> IptablesFirewall::SetEntryChanges(
    const compile::DesiredState& desired, const FirewallView& view) const {
  return SetOnlyChanges(desired, Detail(view).before);
}

bool IptablesFirewall::WriteSetEntries(const std::vector<SetEntryChange>& changes, std::string& error) {
  auto run = RunProcess({"ipset", "restore"}, {.input = RenderSetEntryChanges(changes),
                                                .timeout = std::chrono::seconds(60)});
  if (!run.ok()) {
    error = "ipset restore (set entries in place) failed: " + run.err;
    return false;
  }
  return true;   // the rules' cache stays valid: sets are never cached
}

bool IptablesFirewall::SaveRuleset(const FirewallView& view, Family family, std::string& text,
                                   std::string& error) const {
  auto saved = SaveLive(Detail(view).variant.chosen, family);
  text.clear();
  if (!saved.ok) {
    if (family == Family::kIPv6) return true;   // no IPv6 on this host: nothing to analyse
    error = saved.error;
    return false;
  }
  text = std::move(saved.text);
  return true;
}

std::string IptablesFirewall::RulesetAfter(std::string_view saved, const compile::DesiredState& desired,
                                           Family family) const {
  return backend::RulesetAfter(saved, desired.Of(family));
}

std::vector<std::string> DriftKindsOf(const std::vector<FamilyDiff>& diffs, const Before& before) {
  static const char* kOrder[] = {"chain-missing", "chain-flushed", "chain-changed", "hook-missing",
                                 "hook-not-first", "hook-stale", "set", "forward-docker-user"};
  std::vector<std::string> found;
  auto add = [&](const char* k) {
    if (std::find(found.begin(), found.end(), k) == found.end()) found.push_back(k);
  };
  for (const auto& d : diffs) {
    const auto& snap = d.family == Family::kIPv4 ? before.ipv4 : before.ipv6;
    for (const auto& line : d.lines) {
      if (line.starts_with("+ chain")) {
        add("chain-missing");
      } else if (line.starts_with("+ -A ") || line.starts_with("- -A ") || line.starts_with("~ SWARMWALL")) {
        std::string chain = line.substr(line.starts_with("~ ") ? 2 : 5);
        chain = chain.substr(0, chain.find_first_of(" :"));
        auto it = std::find_if(snap.owned.chains.begin(), snap.owned.chains.end(),
                               [&](const auto& c) { return c.name == chain; });
        if (it == snap.owned.chains.end()) add("chain-missing");
        else if (it->rules.empty()) add("chain-flushed");
        else add("chain-changed");
      } else if (line.starts_with("- chain")) {
        add("chain-changed");
      } else if (line.starts_with("+ hook")) {
        add("hook-missing");
      } else if (line.starts_with("~ hook")) {
        add("hook-not-first");
      } else if (line.starts_with("- hook")) {
        add("hook-stale");
      } else if (line.find(" set ") != std::string::npos) {
        add("set");
      }
    }
    if (!d.empty() && snap.docker_chains && !snap.forward_jumps_to_docker_user &&
        snap.kernel.HasChain("DOCKER-USER"))
      add("forward-docker-user");
  }
  std::vector<std::string> ordered;
  for (const char* k : kOrder)
    if (std::find(found.begin(), found.end(), k) != found.end()) ordered.push_back(k);
  return ordered;
}

bool IptablesFirewall::MayHoldOwned() const {
  // Legacy tables are only read by their tools: they may hold anything.
  if (host::LegacyTablesLoaded()) return true;
  auto chains = host::NftChainNamesByNetlink();
  if (!chains) return true;
  // In iptables-nft's tables (not the nftables backend's own table).
  for (const char* table : {"filter", "nat", "mangle", "raw", "security"}) {
    std::string prefix = fmt::format("{} {}", table, compile::kChainPrefix);
    for (const auto& c : *chains)
      if (c.starts_with(prefix)) return true;
  }
  // Owned ipsets left without rules are still ours to take away.
  if (!ProgramExists("ipset")) return false;
  auto names = RunProcess({"ipset", "list", "-n"}, {.timeout = std::chrono::seconds(20)});
  if (!names.ok()) return true;
  return names.out.find(compile::kSetPrefix) != std::string::npos;
}

}  // namespace swarmwall::backend
