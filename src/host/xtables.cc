#include "host/xtables.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "base/process.h"

namespace swarmwall::host {
namespace {

std::string Tool(const std::string& variant, netfilter::Family family, const char* verb) {
  std::string base = family == netfilter::Family::kIPv4 ? "iptables" : "ip6tables";
  return base + "-" + variant + "-" + verb;
}

// True when the legacy IPv4 filter table exists in this namespace. Any
// iptables-legacy command, even a save, would instantiate it (and iptables-nft
// warns "iptables-legacy tables present" ever after): look, never touch.
bool LegacyFilterExists() {
  std::ifstream in("/proc/net/ip_tables_names");
  for (std::string line; std::getline(in, line);)
    if (line == "filter") return true;
  return false;
}

}  // namespace

bool LegacyTablesLoaded() {
  for (const char* path : {"/proc/net/ip_tables_names", "/proc/net/ip6_tables_names"}) {
    std::ifstream in(path);
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) return true;
  }
  return false;
}

namespace {

// Docker's chains (or a DOCKER-USER made for it) in the variant's IPv4
// filter table. nft: `iptables-nft -S CHAIN` reads one chain, a few ms
// however many rules the table holds, where a save reads them all.
bool HasDockerChains(const std::string& variant) {
  if (variant == "legacy") {
    std::string tool = Tool(variant, netfilter::Family::kIPv4, "save");
    if (!LegacyFilterExists() || !ProgramExists(tool)) return false;
    auto r = RunProcess({tool, "-t", "filter"}, {.timeout = std::chrono::seconds(20)});
    return r.ok() && r.out.find(":DOCKER") != std::string::npos;
  }
  if (!ProgramExists("iptables-nft")) return false;
  for (const char* chain : {"DOCKER", "DOCKER-USER", "DOCKER-FORWARD"}) {
    auto r = RunProcess({"iptables-nft", "-t", "filter", "-S", chain},
                        {.timeout = std::chrono::seconds(20)});
    if (r.ok()) return true;
  }
  return false;
}

// "nft" or "legacy": what plain `iptables` in PATH is, from the link it
// resolves to (xtables-nft-multi / xtables-legacy-multi), else its --version.
std::string SystemDefault() {
  const char* path = getenv("PATH");
  std::string dirs = path ? path : "/usr/sbin:/usr/bin:/sbin:/bin";
  for (size_t at = 0; at <= dirs.size();) {
    size_t end = dirs.find(':', at);
    if (end == std::string::npos) end = dirs.size();
    std::filesystem::path candidate = std::filesystem::path(dirs.substr(at, end - at)) / "iptables";
    std::error_code ec;
    if (std::filesystem::exists(candidate, ec)) {
      std::string real = std::filesystem::canonical(candidate, ec).filename().string();
      if (real.find("nft") != std::string::npos) return "nft";
      if (real.find("legacy") != std::string::npos) return "legacy";
      break;
    }
    at = end + 1;
  }
  auto version = RunProcess({"iptables", "--version"}, {.timeout = std::chrono::seconds(10)});
  if (version.out.find("nf_tables") != std::string::npos) return "nft";
  if (version.out.find("legacy") != std::string::npos) return "legacy";
  return "";
}

}  // namespace

std::string IptablesVariant::SaveCommand(netfilter::Family family) const {
  return Tool(name, family, "save");
}

std::string IptablesVariant::RestoreCommand(netfilter::Family family) const {
  return Tool(name, family, "restore");
}

VariantReport DetectVariant() {
  VariantReport report;
  report.system_default = SystemDefault();
  report.docker_in_nft = HasDockerChains("nft");
  report.docker_in_legacy = HasDockerChains("legacy");
  if (report.docker_in_nft && !report.docker_in_legacy) {
    report.chosen.name = "nft";
    report.reason = "Docker's chains are in the nf_tables variant";
  } else if (report.docker_in_legacy && !report.docker_in_nft) {
    report.chosen.name = "legacy";
    report.reason = "Docker's chains are in the legacy variant";
  } else if (report.docker_in_nft && report.docker_in_legacy) {
    report.chosen.name = report.system_default.empty() ? "nft" : report.system_default;
    report.reason = "both variants hold Docker chains (a leftover of a switch?); using the "
                    "system default, " + report.chosen.name;
  } else {
    report.chosen.name = report.system_default.empty() ? "nft" : report.system_default;
    report.reason = "no Docker chains in either variant; using the system default, " +
                    report.chosen.name;
  }
  return report;
}

SaveResult SaveLive(const IptablesVariant& variant, netfilter::Family family) {
  SaveResult result;
  std::string tool = variant.SaveCommand(family);
  auto r = RunProcess({tool}, {.timeout = std::chrono::seconds(60)});
  if (!r.ok()) {
    result.error = tool + " failed: " + (r.err.empty() ? "exit " + std::to_string(r.exit_code) : r.err);
    return result;
  }
  result.ok = true;
  result.text = std::move(r.out);
  return result;
}

}  // namespace swarmwall::host
