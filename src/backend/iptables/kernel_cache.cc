#include "backend/iptables/kernel_cache.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>

#include <fmt/format.h>

#include "base/json_text.h"
#include "base/state_file.h"
#include "backend/iptables/snapshot_json.h"
#include "host/nft_generation.h"

namespace swarmwall::backend {
namespace {

using nlohmann::json;
using netfilter::Family;


// Names of the legacy tables instantiated in this namespace, both families.
std::string LegacyTables() {
  std::string all;
  for (const char* f : {"/proc/net/ip_tables_names", "/proc/net/ip6_tables_names"}) {
    std::ifstream in(f);
    for (std::string line; std::getline(in, line);) all += line + " ";
  }
  return all;
}

json VariantToJson(const VariantReport& v) {
  return {{"name", v.chosen.name}, {"docker_in_nft", v.docker_in_nft},
          {"docker_in_legacy", v.docker_in_legacy}, {"system_default", v.system_default},
          {"reason", v.reason}};
}

VariantReport VariantFromJson(const json& j) {
  VariantReport v;
  v.chosen.name = StringField(j, "name");
  if (v.chosen.name != "nft" && v.chosen.name != "legacy") throw StateFormatError("\"name\" is no iptables variant");
  v.docker_in_nft = OptBoolField(j, "docker_in_nft", false);
  v.docker_in_legacy = OptBoolField(j, "docker_in_legacy", false);
  v.system_default = OptStringField(j, "system_default");
  v.reason = OptStringField(j, "reason");
  return v;
}

}  // namespace

bool KernelCache::Allowed() {
  const char* env = getenv("SWARMWALL_KERNEL_CACHE");
  return !(env && std::string(env) == "0") && LegacyTables().empty();
}

bool KernelCache::Usable(const VariantReport& variant) { return variant.chosen.name == "nft" && Allowed(); }

std::string KernelCache::Body(const VariantReport& variant, const FamilySnapshot& v4, const FamilySnapshot& v6) {
  json j = {{"identity", host::NetnsIdentity()}, {"variant", VariantToJson(variant)},
            {"ipv4", SnapshotToJson(v4)}, {"ipv6", SnapshotToJson(v6)}};
  return JsonText(j);
}

void KernelCache::Forget() const {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove(path_, ec);
}

void KernelCache::Write(uint32_t generation, const std::string& body) const {
  if (path_.empty()) return;
  std::string text = fmt::format("{{\"generation\":{},", generation) + body.substr(1);
  std::string error;
  // No fsync: the cache is keyed by the boot, so a crash makes it void anyway.
  if (!WriteFileAtomically(path_, text, error, false)) Forget();
}

void KernelCache::Save(uint32_t generation, const VariantReport& variant, const FamilySnapshot& v4,
                       const FamilySnapshot& v6) const {
  if (!Usable(variant)) {
    Forget();
    return;
  }
  Write(generation, Body(variant, v4, v6));
}

std::optional<KernelCache::Entry> KernelCache::Load(uint32_t generation) const {
  if (path_.empty()) return std::nullopt;
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
    e.variant = VariantFromJson(Field(j, "variant"));
    if (e.variant.chosen.name != "nft") return std::nullopt;
    e.before.ipv4 = SnapshotFromJson(Field(j, "ipv4"));
    e.before.ipv6 = SnapshotFromJson(Field(j, "ipv6"));
    if (e.before.ipv4.owned.family != Family::kIPv4 || e.before.ipv6.owned.family != Family::kIPv6)
      return reject("its families are swapped");
    return e;
  } catch (const StateFormatError& e) {
    return reject(e.what());
  }
}

}  // namespace swarmwall::backend
