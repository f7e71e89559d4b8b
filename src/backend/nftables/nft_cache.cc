#include "backend/nftables/nft_cache.h"

#include <cstdlib>
#include <filesystem>
#include <iostream>

#include "backend/nftables/expr.h"
#include "backend/nftables/listing.h"
#include "base/json_text.h"
#include "base/state_file.h"
#include "host/nft_generation.h"

namespace swarmwall::backend::nft {
namespace {

using nlohmann::json;
using netfilter::Family;

bool Allowed() {
  const char* env = getenv("SWARMWALL_KERNEL_CACHE");
  return !(env && std::string(env) == "0");
}

}  // namespace

void AppendListing(const OwnedTable& t, json& items) {
  std::string_view family = NftFamilyOf(t.family);
  items.push_back({{"table", {{"family", family}, {"name", kTableName}}}});
  for (const auto& s : t.sets) {
    json o = {{"family", family}, {"name", s.name}, {"table", kTableName}, {"type", s.type}};
    if (!s.flags.empty()) o["flags"] = s.flags;
    if (!s.elements.empty()) {
      json elem = json::array();
      for (const auto& i : s.elements) elem.push_back(IntervalValue(i));
      o["elem"] = std::move(elem);
    }
    items.push_back({{"set", std::move(o)}});
  }
  for (const auto& b : t.base_chains)
    items.push_back({{"chain",
                      {{"family", family},
                       {"table", kTableName},
                       {"name", b.name},
                       {"type", b.type},
                       {"hook", b.hook},
                       {"prio", b.priority},
                       {"policy", b.policy}}}});
  for (const auto& c : t.chains)
    items.push_back({{"chain", {{"family", family}, {"table", kTableName}, {"name", c.name}}}});
  for (const auto& b : t.base_chains)
    for (const auto& j : b.jumps)
      items.push_back({{"rule",
                        {{"family", family},
                         {"table", kTableName},
                         {"chain", b.name},
                         {"expr", json::array({{{"jump", {{"target", j}}}}})}}}});
  for (const auto& c : t.chains)
    for (const auto& r : c.rules) {
      json o = {{"family", family}, {"table", kTableName}, {"chain", c.name}, {"expr", r.expr}};
      if (!r.comment.empty()) o["comment"] = r.comment;
      items.push_back({{"rule", std::move(o)}});
    }
}

void NftCache::Forget() const {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

std::string NftCache::VouchPath() const {
  std::string p = path_;
  if (p.ends_with(".json")) p.resize(p.size() - 5);
  return p + "-vouched.json";
}

void NftCache::Vouch(uint32_t generation, const std::string& digest) const {
  if (path_.empty() || !Allowed()) return;
  json j = {{"generation", generation}, {"identity", host::NetnsIdentity()}, {"digest", digest}};
  std::string error;
  // No fsync, as the cache: a crash or reboot makes it void anyway.
  if (!WriteFileAtomically(VouchPath(), JsonText(j), error, false)) {
    std::error_code ec;
    std::filesystem::remove(VouchPath(), ec);
  }
}

std::optional<std::string> NftCache::Vouched(uint32_t generation) const {
  if (path_.empty() || !Allowed()) return std::nullopt;
  auto read = ReadStateFile(VouchPath(), 4096);
  if (!read.present) return std::nullopt;
  auto reject = [&](const std::string& why) -> std::optional<std::string> {
    std::cerr << "swarmwall: " << SetAside(VouchPath(), why) << "\n";
    return std::nullopt;
  };
  if (!read.json) return reject(read.problem);
  try {
    const json& j = *read.json;
    std::string digest = StringField(j, "digest");
    if (digest.empty() || digest.size() > 128 ||
        digest.find_first_not_of("0123456789abcdef") != std::string::npos)
      return reject("digest: not a digest");
    if (OptStringField(j, "identity") != host::NetnsIdentity() || OptIntField(j, "generation", -1) != generation)
      return std::nullopt;
    return digest;
  } catch (const StateFormatError& e) {
    return reject(e.what());
  }
}

void NftCache::Save(uint32_t generation, const std::optional<OwnedTable>& v4,
                    const std::optional<OwnedTable>& v6) const {
  if (path_.empty()) return;
  if (!Allowed()) {
    Forget();
    return;
  }
  json v4_items = json::array(), v6_items = json::array();
  if (v4) AppendListing(*v4, v4_items);
  if (v6) AppendListing(*v6, v6_items);
  json j = {{"generation", generation},
            {"identity", host::NetnsIdentity()},
            {"ipv4", {{"nftables", v4_items}}},
            {"ipv6", {{"nftables", v6_items}}}};
  std::string error;
  // No fsync: keyed by the boot, a crash makes it void anyway.
  if (!WriteFileAtomically(path_, JsonText(j), error, false)) Forget();
}

std::optional<NftCache::Entry> NftCache::Load(uint32_t generation) const {
  if (path_.empty() || !Allowed()) return std::nullopt;
  auto read = ReadStateFile(path_);
  if (!read.present) return std::nullopt;
  auto reject = [&](const std::string& why) -> std::optional<Entry> {
    std::cerr << "swarmwall: " << SetAside(path_, why) << "\n";
    return std::nullopt;
  };
  if (!read.json) return reject(read.problem);
  const json& j = *read.json;
  try {
    if (OptStringField(j, "identity") != host::NetnsIdentity() || OptIntField(j, "generation", -1) != generation)
      return std::nullopt;
    Entry e;
    for (Family f : {Family::kIPv4, Family::kIPv6}) {
      std::string error;
      auto table = OwnedTableFromListing(Field(j, f == Family::kIPv4 ? "ipv4" : "ipv6"), f, error);
      if (!error.empty()) return reject(error);
      (f == Family::kIPv4 ? e.v4 : e.v6) = std::move(table);
    }
    return e;
  } catch (const StateFormatError& e) {
    return reject(e.what());
  }
}

}  // namespace swarmwall::backend::nft
