#include "apply/host_session.h"

#include <unistd.h>

#include <algorithm>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apply/committer.h"
#include "apply/diff.h"
#include "apply/ipset_read.h"
#include "apply/journal.h"
#include "apply/state_file.h"
#include "apply/state_json.h"
#include "base/json_text.h"
#include "base/process.h"
#include "base/timings.h"
#include "host/nft_generation.h"

namespace swarmwall::apply {
namespace {

using nlohmann::json;
using netfilter::Family;

std::string CachePath(const std::string& dir) { return dir + "/kernel-cache.json"; }

// Names of the legacy tables instantiated in this namespace, both families.
std::string LegacyTables() {
  std::string all;
  for (const char* f : {"/proc/net/ip_tables_names", "/proc/net/ip6_tables_names"}) {
    std::ifstream in(f);
    for (std::string line; std::getline(in, line);) all += line + " ";
  }
  return all;
}

bool CacheAllowed() {
  const char* env = getenv("SWARMWALL_KERNEL_CACHE");
  return !(env && std::string(env) == "0");
}

json VariantToJson(const host::VariantReport& v) {
  return {{"name", v.chosen.name}, {"docker_in_nft", v.docker_in_nft},
          {"docker_in_legacy", v.docker_in_legacy}, {"system_default", v.system_default},
          {"reason", v.reason}};
}

host::VariantReport VariantFromJson(const json& j) {
  host::VariantReport v;
  v.chosen.name = StringField(j, "name");
  if (v.chosen.name != "nft" && v.chosen.name != "legacy") throw StateFormatError("\"name\" is no iptables variant");
  v.docker_in_nft = OptBoolField(j, "docker_in_nft", false);
  v.docker_in_legacy = OptBoolField(j, "docker_in_legacy", false);
  v.system_default = OptStringField(j, "system_default");
  v.reason = OptStringField(j, "reason");
  return v;
}

void ForgetCache(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove(CachePath(dir), ec);
}

bool CacheUsable(const host::VariantReport& variant) {
  return variant.chosen.name == "nft" && LegacyTables().empty() && CacheAllowed();
}

// The cache's text but for the generation (the slow part: ~3 ms with
// 1,000 owned rules), so that it can be made before the generation is known.
std::string CacheBody(const host::VariantReport& variant, const FamilySnapshot& v4,
                      const FamilySnapshot& v6) {
  json j = {{"identity", host::NetnsIdentity()}, {"variant", VariantToJson(variant)},
            {"ipv4", SnapshotToJson(v4)}, {"ipv6", SnapshotToJson(v6)}};
  return JsonText(j);
}

void WriteCache(const std::string& dir, uint32_t generation, const std::string& body) {
  std::string text = fmt::format("{{\"generation\":{},", generation) + body.substr(1);
  std::string error;
  // No fsync: the cache is keyed by the boot, so a crash makes it void anyway.
  if (!WriteFileAtomically(CachePath(dir), text, error, false)) ForgetCache(dir);
}

void SaveCache(const std::string& dir, uint32_t generation, const host::VariantReport& variant,
               const FamilySnapshot& v4, const FamilySnapshot& v6) {
  if (!CacheUsable(variant)) {
    ForgetCache(dir);
    return;
  }
  WriteCache(dir, generation, CacheBody(variant, v4, v6));
}

// The cache when it is valid for GENERATION. A cache that does not validate
// (state_file.h) is set aside with a note on stderr; one of another
// generation, boot or namespace is simply not used.
std::optional<HostView> FromCache(const std::string& dir, uint32_t generation) {
  auto read = ReadStateFile(CachePath(dir));
  if (!read.present) return std::nullopt;
  auto reject = [&](const std::string& why) -> std::optional<HostView> {
    std::cerr << "swarmwall: " << SetAside(CachePath(dir), why) << "\n";
    return std::nullopt;
  };
  if (!read.json) return reject(read.problem);
  const json& j = *read.json;
  try {
    if (OptStringField(j, "identity") != host::NetnsIdentity() || OptIntField(j, "generation", -1) != generation)
      return std::nullopt;
    HostView view;
    view.variant = VariantFromJson(Field(j, "variant"));
    if (view.variant.chosen.name != "nft") return std::nullopt;
    view.before.ipv4 = SnapshotFromJson(Field(j, "ipv4"));
    view.before.ipv6 = SnapshotFromJson(Field(j, "ipv6"));
    if (view.before.ipv4.owned.family != Family::kIPv4 || view.before.ipv6.owned.family != Family::kIPv6)
      return reject("its families are swapped");
    view.cached = true;
    view.generation = generation;
    return view;
  } catch (const StateFormatError& e) {
    return reject(e.what());
  }
}

std::string Now() {
  std::time_t t = std::time(nullptr);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
  return buf;
}

// Tests widen the windows between the commit's steps (milliseconds).
void TestDelay() {
  if (const char* ms = getenv("SWARMWALL_TEST_STEP_DELAY_MS"))
    std::this_thread::sleep_for(std::chrono::milliseconds(std::atoi(ms)));
}

// Twins (`swarmwall-NAME~`) a committer killed half way left: their names
// were read with the owned sets (FamilySnapshot::twins).
void DestroyTwins(const HostView& view) {
  std::string text;
  for (const auto* snap : {&view.before.ipv4, &view.before.ipv6})
    for (const auto& twin : snap->twins) text += "destroy " + twin + "\n";
  if (!text.empty()) RunProcess({"ipset", "restore"}, {.input = text, .timeout = std::chrono::seconds(60)});
}

}  // namespace

std::optional<HostView> ReadHost(const std::string& dir, bool allow_cache, std::string& error,
                                 bool with_sets) {
  auto generation = host::NftGeneration();
  if (allow_cache && generation && CacheAllowed() && LegacyTables().empty()) {
    if (auto view = FromCache(dir, *generation)) {
      if (with_sets) ReadOwnedSets(view->before.ipv4, view->before.ipv6);
      return view;
    }
  }
  HostView view;
  view.variant = host::DetectVariant();
  auto before = ReadBefore(view.variant.chosen, error, with_sets);
  if (!before) return std::nullopt;
  view.before = std::move(*before);
  auto after = host::NftGeneration();
  if (generation && after && *generation == *after) {
    view.generation = generation;
    SaveCache(dir, *generation, view.variant, view.before.ipv4, view.before.ipv6);
  }
  return view;
}

std::optional<HostSession> HostSession::Open(const std::string& dir, const std::string& what,
                                             std::chrono::milliseconds wait, std::string& error,
                                             std::vector<std::string>& notes) {
  auto lock = HostLock::Acquire(dir, what, wait, error);
  if (!lock) return std::nullopt;
  HostSession session(dir, std::move(*lock));
  if (!session.Recover(error, notes)) return std::nullopt;
  return session;
}

bool HostSession::Recover(std::string& error, std::vector<std::string>& notes) {
  auto journal = LoadJournal(dir_, notes);
  if (!journal) return true;
  StateStore store(dir_);
  auto view = ReadHost(dir_, false, error);
  if (!view) {
    error = "an interrupted " + journal->operation + " left a journal, and " + error;
    return false;
  }
  FillKeptSets(*journal, view->before.ipv4.owned, view->before.ipv6.owned);
  std::string who = fmt::format("an interrupted {} (pid {})", journal->operation, journal->writer);
  bool done = Compare(journal->desired.ipv4, view->before.ipv4).empty() &&
              Compare(journal->desired.ipv6, view->before.ipv6).empty();
  if (done) {
    std::string ignored;
    if (journal->new_record) store.Save(*journal->new_record, ignored);
    else store.Forget();
    DestroyTwins(*view);   // the committer may have died before it destroyed them
    ClearJournal(dir_);
    notes.push_back(who + " had written its whole new state: finished it");
    return true;
  }
  auto r = RunDetached(
      [&] {
        Transaction tx(view->variant.chosen, view->before);
        // The commit destroys the leftover twins too (Transaction::Run).
        auto result = tx.Commit(journal->previous);
        if (result.ok) {
          std::string ignored;
          if (journal->previous_record) store.Save(*journal->previous_record, ignored);
          else store.Forget();
          ForgetCache(dir_);
          ClearJournal(dir_);
        }
        return result;
      },
      dir_ + "/commit.log");
  if (!r.ok) {
    error = who + " left a mix of owned states, and putting the previous one back failed: " + r.error;
    return false;
  }
  notes.push_back(who + " was cut short: its previous owned state is back");
  return true;
}

TransactionResult HostSession::Commit(const HostView& view, const compile::DesiredState& desired,
                                      const AppliedRecord& record, const std::string& operation,
                                      std::vector<FamilyDiff> diffs) {
  return Run(view, desired, record, operation, false, std::move(diffs));
}

TransactionResult HostSession::Remove(const HostView& view) {
  compile::DesiredState none;
  none.ipv4.family = Family::kIPv4;
  none.ipv6.family = Family::kIPv6;
  return Run(view, none, std::nullopt, "remove", true);
}

TransactionResult HostSession::Run(const HostView& view, const compile::DesiredState& desired,
                                   const std::optional<AppliedRecord>& record,
                                   const std::string& operation, bool remove,
                                   std::vector<FamilyDiff> diffs) {
  TransactionResult nothing;
  nothing.diffs = diffs.size() == 2 ? std::move(diffs)
                                    : std::vector<FamilyDiff>{Compare(desired.ipv4, view.before.ipv4),
                                                              Compare(desired.ipv6, view.before.ipv6)};
  // Twins a killed committer left are cleaned by any commit, even one that
  // changes nothing else.
  bool twins = !view.before.ipv4.twins.empty() || !view.before.ipv6.twins.empty();
  if (nothing.diffs[0].empty() && nothing.diffs[1].empty() && !twins) {
    nothing.ok = true;
    return nothing;
  }
  StateStore store(dir_);
  Journal journal;
  journal.operation = operation;
  journal.writer = getpid();
  journal.previous.node = desired.node;
  journal.previous.ipv4 = view.before.ipv4.owned;
  journal.previous.ipv6 = view.before.ipv6.owned;
  journal.desired = desired;
  journal.previous_record = store.Load();
  journal.new_record = record;
  // Sets this commit leaves alone go into the journal without entries.
  const compile::FamilyState* desired_fs[2] = {&desired.ipv4, &desired.ipv6};
  compile::FamilyState* j_prev[2] = {&journal.previous.ipv4, &journal.previous.ipv6};
  compile::FamilyState* j_want[2] = {&journal.desired.ipv4, &journal.desired.ipv6};
  auto empty = std::make_shared<const std::vector<netfilter::Cidr>>();
  for (int f = 0; f < 2; ++f) {
    const auto& d = nothing.diffs[f];
    for (const auto& s : desired_fs[f]->sets) {
      bool changed = std::find(d.changed_sets.begin(), d.changed_sets.end(), s.name) != d.changed_sets.end();
      if (!changed) journal.kept_sets[f].push_back(s.name);
    }
    for (auto* fs : {j_prev[f], j_want[f]})
      for (auto& s : fs->sets)
        if (std::find(journal.kept_sets[f].begin(), journal.kept_sets[f].end(), s.name) !=
            journal.kept_sets[f].end())
          s.entries = empty;
  }
  TimingMark("diff");
  std::string error;
  if (!WriteJournal(dir_, journal, error)) {
    nothing.error = error + " (nothing was changed)";
    return nothing;
  }
  // The new record goes to disk before the kernel is touched, so success
  // is never reported for a commit whose record could not be kept (a full
  // disk once left the old record behind an "applied"). A failed commit
  // puts the previous record back; a committer that dies is finished or
  // undone from the journal, which holds both records.
  if (record && !store.Save(*record, error)) {
    ClearJournal(dir_);
    nothing.error = error + " (nothing was changed)";
    return nothing;
  }
  TimingMark("journal");
  return RunDetached(
      [&] {
        lock_.Describe(fmt::format("{} committer (for pid {})", operation, journal.writer));
        // The kernel cache of the state after the commit, made while
        // iptables-restore runs (this process only waits for it then).
        std::future<std::string> cache_body;
        if (view.generation && CacheUsable(view.variant))
          cache_body = std::async(std::launch::async, [&] {
            auto v4 = nothing.diffs[0].rules ? SnapshotAfter(desired.ipv4, view.before.ipv4, remove)
                                             : view.before.ipv4;
            auto v6 = nothing.diffs[1].rules ? SnapshotAfter(desired.ipv6, view.before.ipv6, remove)
                                             : view.before.ipv6;
            return CacheBody(view.variant, v4, v6);
          });
        TestDelay();
        Transaction tx(view.variant.chosen, view.before);
        auto result = remove ? tx.Remove() : tx.Commit(desired, nothing.diffs);
        TimingMark("transaction");
        if (!result.ok && record) {
          std::string ignored;
          if (journal.previous_record) store.Save(*journal.previous_record, ignored);
          else store.Forget();
        }
        if (result.ok) {
          if (!record) store.Forget();
          auto generation = host::NftGeneration();
          if (cache_body.valid() && generation && *generation == *view.generation + result.nft_commits)
            WriteCache(dir_, *generation, cache_body.get());
          else
            ForgetCache(dir_);
        }
        if (result.ok || !result.rollback_failed) ClearJournal(dir_);
        TimingMark("record-and-cache");
        if (!result.ok)
          std::cerr << Now() << " " << operation << " failed: " << result.error << "\n";
        return result;
      },
      dir_ + "/commit.log");
}

}  // namespace swarmwall::apply
