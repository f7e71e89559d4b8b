#include "backend/iptables_variant.h"

#include "base/process.h"

namespace swarmwall::backend {
namespace {

std::string Tool(const std::string& variant, netfilter::Family family, const char* verb) {
  std::string base = family == netfilter::Family::kIPv4 ? "iptables" : "ip6tables";
  return base + "-" + variant + "-" + verb;
}

bool HasDockerChains(const std::string& variant) {
  std::string tool = Tool(variant, netfilter::Family::kIPv4, "save");
  if (!ProgramExists(tool)) return false;
  auto r = RunProcess({tool, "-t", "filter"}, {.timeout = std::chrono::seconds(20)});
  return r.ok() && r.out.find(":DOCKER") != std::string::npos;
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
  auto version = RunProcess({"iptables", "--version"}, {.timeout = std::chrono::seconds(10)});
  if (version.out.find("nf_tables") != std::string::npos) report.system_default = "nft";
  else if (version.out.find("legacy") != std::string::npos) report.system_default = "legacy";
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

}  // namespace swarmwall::backend
