#include "backend/nftables/nftables_firewall.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string_view>
#include <unordered_set>

#include <fmt/format.h>

#include "backend/nftables/commands.h"
#include "backend/nftables/commit.h"
#include "backend/nftables/family_state_of.h"
#include "backend/nftables/listing.h"
#include "backend/nftables/nft_cache.h"
#include "backend/nftables/table_of.h"
#include "base/json_text.h"
#include "base/timings.h"
#include "host/nft_generation.h"
#include "host/nftables.h"
#include "host/xtables.h"

namespace swarmwall::backend {
namespace {

using netfilter::Family;
using nft::OwnedTable;

constexpr Family kFamilies[] = {Family::kIPv4, Family::kIPv6};

std::string FamilyName(Family f) { return f == Family::kIPv4 ? "IPv4" : "IPv6"; }

// The table of FAMILY as the kernel lists it now (nullopt: not there).
bool ListTable(Family family, std::optional<OwnedTable>& table, std::string& error) {
  bool absent = false;
  std::string command = fmt::format("list table {} {}", nft::NftFamilyOf(family), nft::kTableName);
  auto text = host::ListNftJson(command, error, &absent);
  if (absent) {
    table.reset();
    return true;
  }
  if (!text) return false;
  auto doc = nlohmann::json::parse(*text, nullptr, false);
  if (doc.is_discarded()) {
    error = "nft " + command + ": not JSON";
    return false;
  }
  table = nft::OwnedTableFromListing(doc, family, error);
  return error.empty();
}

// ADDRESS + 1 / - 1 (callers never step past either end).
netfilter::IpAddress Step(netfilter::IpAddress a, int by) {
  int last = a.family == Family::kIPv4 ? 3 : 15;
  for (int i = last; i >= 0; --i) {
    uint8_t before = a.bytes[i];
    a.bytes[i] = static_cast<uint8_t>(before + by);
    if ((by > 0 && before != 0xff) || (by < 0 && before != 0x00)) break;
  }
  return a;
}

// The addresses of A that are not in B (both sorted and disjoint), merged.
std::vector<netfilter::AddressInterval> Subtract(const std::vector<netfilter::AddressInterval>& a,
                                                 const std::vector<netfilter::AddressInterval>& b) {
  std::vector<netfilter::AddressInterval> out;
  for (auto piece : a) {
    bool gone = false;
    for (const auto& cut : b) {
      if (cut.last < piece.first || cut.first > piece.last) continue;
      if (cut.first > piece.first) out.push_back({piece.first, Step(cut.first, -1)});
      if (cut.last >= piece.last) {
        gone = true;
        break;
      }
      piece.first = Step(cut.last, +1);
    }
    if (!gone) out.push_back(piece);
  }
  return netfilter::MergeIntervals(std::move(out));
}

std::string Describe(const nft::Rule& r) {
  std::string text = JsonText(r.expr);
  if (!r.comment.empty()) text += " comment " + r.comment;
  return text;
}

// Readable lines of FROM -> TO, and what must be written.
FamilyDiff DiffOf(const std::optional<OwnedTable>& from, const std::optional<OwnedTable>& to, Family family) {
  FamilyDiff d;
  d.family = family;
  std::string table = fmt::format("table {} {}", nft::NftFamilyOf(family), nft::kTableName);
  if (!to) {
    if (from) {
      d.rules = true;
      d.lines.push_back("- " + table);
      for (const auto& s : from->sets) d.stale_sets.push_back(s.name);
    }
    return d;
  }
  if (!from) {
    d.rules = true;
    d.lines.push_back("+ " + table + " (missing)");
    for (const auto& s : to->sets) d.changed_sets.push_back(s.name);
    return d;
  }
  for (const auto& b : to->base_chains) {
    auto it = std::find_if(from->base_chains.begin(), from->base_chains.end(),
                           [&](const nft::BaseChain& x) { return x.name == b.name; });
    if (it == from->base_chains.end()) {
      d.rules = true;
      d.lines.push_back(fmt::format("+ base chain {} (hook {} priority {}) (missing)", b.name, b.hook, b.priority));
    } else if (!(*it == b)) {
      d.rules = true;
      d.lines.push_back(fmt::format("~ base chain {}: jumps to {} (was {})", b.name, fmt::join(b.jumps, ", "),
                                    fmt::join(it->jumps, ", ")));
    }
  }
  for (const auto& b : from->base_chains)
    if (std::none_of(to->base_chains.begin(), to->base_chains.end(),
                     [&](const nft::BaseChain& x) { return x.name == b.name; })) {
      d.rules = true;
      d.lines.push_back(fmt::format("- base chain {}", b.name));
    }
  for (const auto& c : to->chains) {
    auto it = std::find_if(from->chains.begin(), from->chains.end(),
                           [&](const nft::Chain& x) { return x.name == c.name; });
    if (it == from->chains.end()) {
      d.rules = true;
      d.lines.push_back(fmt::format("+ chain {} (missing, {} rules)", c.name, c.rules.size()));
      continue;
    }
    if (it->rules == c.rules) continue;
    d.rules = true;
    if (it->rules.empty()) {
      d.lines.push_back(fmt::format("~ chain {} flushed ({} rules missing)", c.name, c.rules.size()));
      continue;
    }
    // Rules by their text: a changed chain of 1,000 rules compared rule by
    // rule against each other was a million JSON comparisons (~400 ms).
    auto texts = [](const std::vector<nft::Rule>& rules) {
      std::vector<std::string> out;
      out.reserve(rules.size());
      for (const auto& r : rules) out.push_back(Describe(r));
      return out;
    };
    auto had = texts(it->rules), want = texts(c.rules);
    std::unordered_set<std::string_view> had_set(had.begin(), had.end()), want_set(want.begin(), want.end());
    for (const auto& r : had)
      if (!want_set.contains(r)) d.lines.push_back(fmt::format("- {}: {}", c.name, r));
    for (const auto& r : want)
      if (!had_set.contains(r)) d.lines.push_back(fmt::format("+ {}: {}", c.name, r));
    d.lines.push_back(fmt::format("~ chain {} changed", c.name));
  }
  for (const auto& c : from->chains)
    if (std::none_of(to->chains.begin(), to->chains.end(), [&](const nft::Chain& x) { return x.name == c.name; })) {
      d.rules = true;
      d.lines.push_back(fmt::format("- chain {}", c.name));
    }
  for (const auto& s : to->sets) {
    auto it = std::find_if(from->sets.begin(), from->sets.end(), [&](const nft::Set& x) { return x.name == s.name; });
    if (it == from->sets.end() || !(*it == s)) {
      d.changed_sets.push_back(s.name);
      d.lines.push_back(fmt::format("~ set {} ({} elements{})", s.name, s.elements.size(),
                                    it == from->sets.end() ? ", missing" : ""));
    }
  }
  for (const auto& s : from->sets)
    if (std::none_of(to->sets.begin(), to->sets.end(), [&](const nft::Set& x) { return x.name == s.name; })) {
      d.stale_sets.push_back(s.name);
      d.lines.push_back(fmt::format("- set {}", s.name));
    }
  return d;
}

}  // namespace

std::optional<OwnedTable> DesiredTable(const compile::DesiredState& desired, Family family, std::string& error) {
  const compile::FamilyState& fs = desired.Of(family);
  if (fs.empty()) return std::nullopt;
  auto table = nft::TableOf(fs, error);
  if (!table && error.empty()) error = FamilyName(family) + ": no nftables table for it";
  return table;
}

const std::optional<OwnedTable>& NftablesFirewall::Desired(const compile::DesiredState& desired, Family family,
                                                          std::string& error) const {
  // One translation per desired state, not one per step of a workflow
  // (Compare, the lockout guard, Write, ...: ~100 ms each for 100,000
  // set entries). Equal digests, equal states.
  std::string digest = desired.Digest();
  if (digest != memo_digest_) {
    for (Family f : kFamilies) {
      auto& m = memo_[f == Family::kIPv4 ? 0 : 1];
      m.error.clear();
      m.table = DesiredTable(desired, f, m.error);
    }
    memo_digest_ = digest;
  }
  const auto& m = memo_[family == Family::kIPv4 ? 0 : 1];
  error = m.error;
  return m.table;
}

NftablesFirewall::NftablesFirewall(std::string state_dir)
    : cache_path_(state_dir.empty() ? "" : state_dir + "/nftables-cache.json") {}

const NftablesDetail& NftablesFirewall::Detail(const FirewallView& view) {
  static const NftablesDetail empty;
  auto* d = dynamic_cast<const NftablesDetail*>(view.detail.get());
  return d ? *d : empty;
}

FirewallView NftablesFirewall::ViewOf(std::optional<OwnedTable> v4, std::optional<OwnedTable> v6,
                                      std::optional<uint32_t> generation) {
  auto detail = std::make_shared<NftablesDetail>();
  detail->v4 = std::move(v4);
  detail->v6 = std::move(v6);
  detail->generation = generation;
  FirewallView view;
  view.generation = generation;
  view.firewall = "nftables";
  view.variant = "nftables";
  view.variant_reason = "native nftables tables ip/ip6 swarmwall";
  view.detail = std::move(detail);
  return view;
}

std::optional<FirewallView> NftablesFirewall::Read(bool allow_cache, bool /*with_sets*/, std::string& error) {
  auto generation = host::NftGeneration();
  nft::NftCache cache(cache_path_);
  if (allow_cache && generation) {
    if (auto hit = cache.Load(*generation)) {
      FirewallView view = ViewOf(std::move(hit->v4), std::move(hit->v6), generation);
      view.cached = true;
      last_ = std::static_pointer_cast<const NftablesDetail>(view.detail);
      return view;
    }
  }
  std::optional<OwnedTable> v4, v6;
  if (!ListTable(Family::kIPv4, v4, error) || !ListTable(Family::kIPv6, v6, error)) {
    if (error.empty()) error = "cannot list swarmwall's nftables tables";
    return std::nullopt;
  }
  // Known at a generation, and cached, only when nothing committed while
  // we listed.
  auto after = host::NftGeneration();
  bool still = generation && after && *generation == *after;
  if (still)
    cache.Save(*generation, v4, v6);
  else
    cache.Forget();
  FirewallView view = ViewOf(std::move(v4), std::move(v6), still ? generation : std::nullopt);
  last_ = std::static_pointer_cast<const NftablesDetail>(view.detail);
  return view;
}

std::function<void(FirewallView&)> NftablesFirewall::ReadSets() {
  // One listing holds rules and sets: Read has them already.
  return [](FirewallView&) {};
}

compile::DesiredState NftablesFirewall::Canonical(compile::DesiredState desired) const {
  for (Family f : kFamilies) {
    compile::FamilyState& fs = f == Family::kIPv4 ? desired.ipv4 : desired.ipv6;
    if (fs.empty()) continue;
    std::string error;
    auto table = nft::TableOf(fs, error);
    if (table) fs = nft::FamilyStateOf(*table);   // else Compare and Write say why
  }
  return desired;
}

compile::DesiredState NftablesFirewall::Owned(const FirewallView& view) const {
  const auto& d = Detail(view);
  compile::DesiredState s;
  s.ipv4.family = Family::kIPv4;
  s.ipv6.family = Family::kIPv6;
  if (d.v4) s.ipv4 = nft::FamilyStateOf(*d.v4);
  if (d.v6) s.ipv6 = nft::FamilyStateOf(*d.v6);
  return s;
}

void NftablesFirewall::AddFacts(const FirewallView&, compile::NodeFacts& facts) const {
  // Forwarded traffic is filtered from a base chain of our own on the
  // forward hook: the compiler's FORWARD hook, never DOCKER-USER.
  facts.docker_user_ipv4 = facts.docker_user_ipv6 = false;
  facts.forward_ipv4 = facts.forward_ipv6 = true;
  facts.docker_running = true;
}

std::vector<FamilyDiff> NftablesFirewall::Compare(const compile::DesiredState& desired,
                                                  const FirewallView& view) const {
  const auto& d = Detail(view);
  std::vector<FamilyDiff> out;
  for (Family f : kFamilies) {
    std::string error;
    const auto& want = Desired(desired, f, error);
    if (!error.empty()) {
      FamilyDiff bad;
      bad.family = f;
      bad.rules = true;
      bad.lines.push_back("! " + error);
      out.push_back(std::move(bad));
      continue;
    }
    out.push_back(DiffOf(d.Of(f), want, f));
  }
  return out;
}

bool NftablesFirewall::HooksInPlace(const FirewallView& view) const {
  // Each base chain holds only its jumps (a hand-added rule there reads
  // back as "# unknown ..." and is no hook of ours).
  const auto& d = Detail(view);
  for (const auto* t : {&d.v4, &d.v6}) {
    if (!*t) continue;
    for (const auto& b : (*t)->base_chains)
      for (const auto& j : b.jumps)
        if (j.starts_with("#")) return false;
  }
  return d.v4.has_value();
}

WriteResult NftablesFirewall::Write(const FirewallView& view, const compile::DesiredState& desired,
                                    std::vector<FamilyDiff> diffs, bool remove) {
  WriteResult result;
  const auto& d = Detail(view);
  static const std::optional<OwnedTable> kNone;
  const std::optional<OwnedTable>* want[2] = {&kNone, &kNone};
  if (!remove) {
    for (Family f : kFamilies) {
      std::string error;
      want[f == Family::kIPv4 ? 0 : 1] = &Desired(desired, f, error);
      if (!error.empty()) {
        result.error = error + " (nothing was written)";
        return result;
      }
    }
  }
  if (diffs.empty()) diffs = Compare(desired, view);
  result.diffs = remove ? std::vector<FamilyDiff>{} : diffs;
  std::vector<nlohmann::json> commands;
  TimingMark("nft-desired");
  for (Family f : kFamilies) nft::AppendCommit(d.Of(f), *want[f == Family::kIPv4 ? 0 : 1], f, commands);
  TimingMark("nft-commands");
  if (commands.empty()) {
    result.ok = true;
    return result;
  }
  nft::NftCache cache(cache_path_);
  auto before = host::NftGeneration();
  std::string error;
  // Tests: a transaction the kernel refuses at its end (as a failing
  // commit would), for both attempts.
  const char* broken = getenv("SWARMWALL_TEST_BREAK_NFT");
  auto run = [&](std::vector<nlohmann::json> batch, std::string& why) {
    if (broken && *broken == '1') batch.push_back(nft::DeleteChainCommand(Family::kIPv4, "SWARMWALL-NO-SUCH-CHAIN"));
    return host::RunNftJson(JsonText(nft::Batch(std::move(batch))), why);
  };
  bool ok = run(commands, error);
  TimingMark("nft-transaction");
  size_t sent = commands.size();
  bool replaced = !ok;
  if (!ok) {
    // The kernel moved since VIEW was read (a journal's redo, another
    // writer): make both tables from any state instead, still one
    // transaction.
    std::vector<nlohmann::json> replace;
    for (Family f : kFamilies) nft::AppendReplace(*want[f == Family::kIPv4 ? 0 : 1], f, replace);
    std::string second;
    ok = run(replace, second);
    if (!ok) {
      cache.Forget();
      result.error = fmt::format("nftables transaction refused, nothing was changed: {}", second.empty() ? error : second);
      return result;
    }
    result.steps.push_back(fmt::format("nft: delta refused ({}); tables made whole again", error));
    sent = replace.size();
  }
  result.ok = result.changed = true;
  result.kernel_commits = 1;
  result.steps.push_back(fmt::format("nft: 1 transaction of {} commands", sent));
  // The cache moves on to what we wrote when nobody else committed between.
  auto after = host::NftGeneration();
  if (!replaced && before && after && d.generation && *d.generation == *before && *after == *before + 1) {
    cache.Save(*after, *want[0], *want[1]);
    result.generation_after = *after;
  } else {
    cache.Forget();
  }
  last_.reset();
  TimingMark("nft-cache");
  return result;
}

void NftablesFirewall::ForgetCache() { nft::NftCache(cache_path_).Forget(); }

void NftablesFirewall::Vouch(uint32_t generation, const std::string& digest) const {
  nft::NftCache(cache_path_).Vouch(generation, digest);
}

std::optional<std::string> NftablesFirewall::VouchedDigest() const {
  auto generation = host::NftGeneration();
  if (!generation) return std::nullopt;
  return nft::NftCache(cache_path_).Vouched(*generation);
}

bool NftablesFirewall::MayHoldOwned() const {
  auto tables = host::NftTableNamesByNetlink();
  return !tables || std::find(tables->begin(), tables->end(), nft::kTableName) != tables->end();
}

FirewallView NftablesFirewall::BareView() const { return ViewOf(std::nullopt, std::nullopt); }

bool NftablesFirewall::ChangesInputPath(const compile::DesiredState& desired, const FirewallView& view,
                                        const std::vector<FamilyDiff>& diffs) const {
  const auto& d = Detail(view);
  for (Family f : kFamilies) {
    std::string error;
    const auto& want = Desired(desired, f, error);
    const auto& have = d.Of(f);
    if (!error.empty() || want.has_value() != have.has_value()) return true;
    if (!want) continue;
    auto base = [](const OwnedTable& t) {
      for (const auto& b : t.base_chains)
        if (b.hook == "input") return std::optional<nft::BaseChain>(b);
      return std::optional<nft::BaseChain>();
    };
    if (base(*want) != base(*have)) return true;
    auto chain = [](const OwnedTable& t, const std::string& name) {
      for (const auto& c : t.chains)
        if (c.name == name) return std::optional<nft::Chain>(c);
      return std::optional<nft::Chain>();
    };
    std::optional<nft::BaseChain> in = base(*want);
    if (!in) continue;
    for (const auto& target : in->jumps) {
      auto w = chain(*want, target), h = chain(*have, target);
      if (w != h) return true;
      if (!w) continue;
      // A set that chain matches, changed.
      for (const auto& diff : diffs) {
        if (diff.family != f) continue;
        for (const auto& set : diff.changed_sets)
          for (const auto& r : w->rules)
            if (JsonText(r.expr).find("\"@" + set + "\"") != std::string::npos) return true;
      }
    }
  }
  return false;
}

std::vector<std::string> NftablesFirewall::DriftKinds(const std::vector<FamilyDiff>& diffs,
                                                      const FirewallView&) const {
  std::vector<std::string> kinds;
  auto add = [&](const char* k) {
    if (std::find(kinds.begin(), kinds.end(), k) == kinds.end()) kinds.push_back(k);
  };
  for (const auto& diff : diffs)
    for (const auto& line : diff.lines) {
      if (line.starts_with("+ table")) add("table-missing");
      else if (line.starts_with("+ chain")) add("chain-missing");
      else if (line.starts_with("~ chain") && line.find(" flushed ") != std::string::npos) add("chain-flushed");
      else if (line.starts_with("~ chain")) add("chain-changed");
      else if (line.starts_with("+ base chain")) add("hook-missing");
      else if (line.starts_with("~ base chain")) add("hook-changed");
      else if (line.starts_with("~ set") || line.starts_with("- set")) add("set");
    }
  return kinds;
}

std::vector<FamilyStatus> NftablesFirewall::Status(const FirewallView& view) const {
  const auto& d = Detail(view);
  std::vector<FamilyStatus> out;
  for (Family f : kFamilies) {
    FamilyStatus s;
    s.family = f;
    const auto& t = d.Of(f);
    if (!t) {
      s.findings.push_back(fmt::format("table {} {} is not there", nft::NftFamilyOf(f), nft::kTableName));
      out.push_back(std::move(s));
      continue;
    }
    s.owned_chains = t->chains.size();
    s.owned_sets = t->sets.size();
    for (const auto& b : t->base_chains)
      for (const auto& j : b.jumps)
        s.hooks.push_back(fmt::format("{} (hook {}, priority {}) -> {}", b.name, b.hook, b.priority, j));
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<std::vector<SetEntryChange>> NftablesFirewall::SetEntryChanges(const compile::DesiredState& desired,
                                                                             const FirewallView& view) const {
  const auto& d = Detail(view);
  std::vector<SetEntryChange> out;
  for (Family f : kFamilies) {
    std::string error;
    const auto& want = Desired(desired, f, error);
    const auto& have = d.Of(f);
    if (!error.empty() || want.has_value() != have.has_value()) return std::nullopt;
    if (!want) continue;
    if (want->base_chains != have->base_chains || want->chains != have->chains ||
        want->sets.size() != have->sets.size())
      return std::nullopt;
    for (size_t i = 0; i < want->sets.size(); ++i) {
      const auto& w = want->sets[i];
      const auto& h = have->sets[i];
      if (w.name != h.name || w.type != h.type || w.flags != h.flags) return std::nullopt;
      if (w.elements == h.elements) continue;
      // The change in the compiler's terms (CIDRs), for logs and for
      // WriteSetEntries, which takes the exact elements from the last read.
      SetEntryChange c;
      c.set = w.name;
      // The addresses that come and go (10.10.10.3 joining 10.10.10.2 is
      // +10.10.10.3, though the set then holds 10.10.10.2/31).
      c.add = netfilter::CidrsOf(Subtract(w.elements, h.elements));
      c.del = netfilter::CidrsOf(Subtract(h.elements, w.elements));
      out.push_back(std::move(c));
    }
  }
  return out;
}

bool NftablesFirewall::WriteSetEntries(const std::vector<SetEntryChange>& changes, std::string& error) {
  if (!last_) {
    std::string read_error;
    if (!Read(true, true, read_error)) {
      error = read_error;
      return false;
    }
  }
  auto d = last_;
  std::vector<nlohmann::json> commands;
  for (const auto& c : changes) {
    for (Family f : kFamilies) {
      const auto& t = d->Of(f);
      if (!t) continue;
      for (const auto& s : t->sets) {
        if (s.name != c.set) continue;
        // What the set holds, less the addresses that go, plus those that come.
        auto gone = netfilter::IntervalsOf(c.del), come = netfilter::IntervalsOf(c.add);
        if (!gone || !come) {
          error = "set " + s.name + ": an entry is no prefix";
          return false;
        }
        auto next = Subtract(s.elements, *gone);
        next.insert(next.end(), come->begin(), come->end());
        nft::AppendElementChanges(f, s.name, s.elements, netfilter::MergeIntervals(std::move(next)), commands);
      }
    }
  }
  if (commands.empty()) return true;
  nft::NftCache cache(cache_path_);
  cache.Forget();
  last_.reset();
  return host::RunNftJson(JsonText(nft::Batch(commands)), error);
}

bool NftablesFirewall::SaveRuleset(const FirewallView&, Family family, std::string& text, std::string& error) const {
  // The host's iptables tables (others' rules; none of ours): the analyzer
  // reads the native tables, ours included, itself (host::LoadLiveHostNetwork).
  auto variant = host::DetectVariant();
  auto saved = host::SaveLive(variant.chosen, family);
  if (!saved.ok) {
    error = saved.error;
    return false;
  }
  text = saved.text;
  return true;
}

std::string NftablesFirewall::NativeTablesAfter(const compile::DesiredState& desired) const {
  nlohmann::json items = nlohmann::json::array();
  for (Family f : kFamilies) {
    std::string error;
    if (const auto& table = Desired(desired, f, error)) nft::AppendListing(*table, items);
  }
  // A listing as the kernel makes it: every table, chain, set and rule with
  // a handle (the analyzer's reader requires them; plan --exposure failed
  // on "handle must be a number" without).
  uint64_t handle = 0;
  for (auto& item : items)
    for (auto& [kind, object] : item.items()) object["handle"] = ++handle;
  return JsonText(nlohmann::json{{"nftables", items}});
}

std::string NftablesFirewall::RulesetAfter(std::string_view saved, const compile::DesiredState&, Family) const {
  return std::string(saved);
}

}  // namespace swarmwall::backend
