#include "apply/backend_choice.h"

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apply/state_store.h"
#include "base/json_text.h"
#include "base/state_file.h"
#include "base/timings.h"
#include "host/nft_generation.h"
#include "docker/daemon_info.h"
#include "docker/engine.h"
#include "host/local_addresses.h"
#include "policy/backend_setting.h"

namespace swarmwall::apply {
namespace {

using backend::FirewallKind;

// Docker's nftables tables ("ip docker-bridges", "ip6 docker-bridges"),
// asked over netlink (libnftables would load every set element first).
bool DockerNftTables() {
  auto names = host::NftTableNamesByNetlink();
  if (!names) return false;
  for (const auto& n : *names)
    if (n == "docker-bridges") return true;
  return false;
}

std::string DaemonJsonBackend(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::ostringstream text;
  text << in.rdbuf();
  auto doc = nlohmann::json::parse(text.str(), nullptr, false);
  if (!doc.is_object()) return "";
  auto it = doc.find("firewall-backend");
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

// What the Engine API and the kernel's tables said, kept in
// STATE_DIR/docker-firewall.json with the nf_tables generation they were
// read at: Docker makes its rules whenever it starts, so while the
// generation holds Docker has not started again, in either mode, and the
// answer stands (asking costs ~100 ms: libcurl's start and a libnftables
// listing; the generation ~0.1 ms).
struct CachedAnswer {
  bool api_reachable = false;
  std::string api_driver;
  bool nft_tables = false;
};

std::string CachePath(const std::string& state_dir) {
  return state_dir.empty() ? "" : state_dir + "/docker-firewall.json";
}

std::optional<CachedAnswer> LoadAnswer(const std::string& path, uint32_t generation) {
  if (path.empty()) return std::nullopt;
  auto read = ReadStateFile(path, 4096);
  if (!read.present) return std::nullopt;
  if (!read.json) {
    std::cerr << "swarmwall: " << SetAside(path, read.problem) << "\n";
    return std::nullopt;
  }
  try {
    const auto& j = *read.json;
    if (OptStringField(j, "identity") != host::NetnsIdentity() || OptIntField(j, "generation", -1) != generation)
      return std::nullopt;
    CachedAnswer a;
    a.api_reachable = OptBoolField(j, "api_reachable", false);
    a.api_driver = OptStringField(j, "api_driver");
    a.nft_tables = OptBoolField(j, "nft_tables", false);
    if (a.api_driver.size() > 64) throw StateFormatError("\"api_driver\" is too long");
    return a;
  } catch (const StateFormatError& e) {
    std::cerr << "swarmwall: " << SetAside(path, e.what()) << "\n";
    return std::nullopt;
  }
}

void SaveAnswer(const std::string& path, uint32_t generation, const CachedAnswer& a) {
  if (path.empty()) return;
  nlohmann::json j = {{"identity", host::NetnsIdentity()}, {"generation", generation},
                      {"api_reachable", a.api_reachable}, {"api_driver", a.api_driver},
                      {"nft_tables", a.nft_tables}};
  std::string error;
  WriteFileAtomically(path, JsonText(j), error, false);
}

CachedAnswer AskDocker() {
  CachedAnswer a;
  docker::Engine engine;
  docker::Response info = engine.Get("/info");
  if (info.ok()) {
    std::string error;
    if (auto fw = docker::ParseInfoFirewall(info.body, error)) {
      a.api_reachable = true;
      a.api_driver = fw->driver;
    }
  }
  a.nft_tables = DockerNftTables();
  return a;
}

}  // namespace

DockerFirewallFacts ReadDockerFirewallFacts(const std::string& state_dir, const std::string& daemon_json) {
  DockerFirewallFacts f;
  std::string path = CachePath(state_dir);
  auto before = host::NftGeneration();
  std::optional<CachedAnswer> answer;
  if (before) answer = LoadAnswer(path, *before);
  if (!answer) {
    answer = AskDocker();
    // Kept only when nothing committed while Docker was asked.
    if (auto after = host::NftGeneration(); before && after && *before == *after) SaveAnswer(path, *after, *answer);
  }
  TimingMark("backend-docker");
  f.api_reachable = answer->api_reachable;
  f.api_driver = answer->api_driver;
  f.nft_tables = answer->nft_tables;
  std::string config = daemon_json;
  if (config.empty()) {
    const char* env = getenv("SWARMWALL_DAEMON_JSON");
    config = env && *env ? env : "/etc/docker/daemon.json";
  }
  f.daemon_json = DaemonJsonBackend(config);
  f.daemon_json_path = config;
  if (!state_dir.empty())
    if (auto record = StateStore(state_dir).Load())
      f.applied = record->variant == "nftables" ? "nftables" : "iptables";
  return f;
}

std::optional<DockerMode> DockerModeOf(const DockerFirewallFacts& f) {
  if (f.api_reachable)
    return DockerMode{f.api_driver.starts_with("nftables"),
                      fmt::format("Docker's Engine API says firewall backend {}", f.api_driver)};
  if (f.nft_tables) return DockerMode{true, "Docker's nftables tables (docker-bridges) are in the kernel"};
  if (!f.daemon_json.empty())
    return DockerMode{f.daemon_json.starts_with("nftables"),
                      fmt::format("{} says firewall-backend {}", f.daemon_json_path, f.daemon_json)};
  return std::nullopt;
}

BackendChoice ChooseBackend(policy::Backend wanted, const std::string& wanted_by,
                            const DockerFirewallFacts& facts) {
  BackendChoice c;
  auto mode = DockerModeOf(facts);
  switch (wanted) {
    case policy::Backend::kNftables:
      c.kind = FirewallKind::kNftables;
      c.reason = wanted_by + " nftables";
      return c;
    case policy::Backend::kIptables:
      c.kind = FirewallKind::kIptables;
      c.reason = wanted_by + " iptables";
      if (mode && mode->nftables)
        c.error = fmt::format(
            "the iptables backend ({} iptables) would filter nothing here: {}, and Docker's "
            "nftables backend has no DOCKER-USER, so published ports stay open; use backend: "
            "nftables or auto (nothing was changed)",
            wanted_by, mode->how);
      return c;
    case policy::Backend::kAuto:
      break;
  }
  if (mode) {
    c.kind = mode->nftables ? FirewallKind::kNftables : FirewallKind::kIptables;
    c.reason = "auto: " + mode->how;
  } else if (facts.applied == "nftables") {
    c.kind = FirewallKind::kNftables;
    c.reason = "auto: Docker cannot be asked; the last apply here used nftables";
  } else {
    c.kind = FirewallKind::kIptables;
    c.reason = facts.applied.empty() ? "auto: no sign of Docker's nftables backend"
                                     : "auto: Docker cannot be asked; the last apply here used iptables";
  }
  return c;
}

namespace {

// Docker's mode is asked only when the choice depends on it: auto, and
// iptables (refused where Docker runs nftables); nftables needs nothing.
DockerFirewallFacts FactsFor(policy::Backend wanted, const std::string& state_dir) {
  return wanted == policy::Backend::kNftables ? DockerFirewallFacts{} : ReadDockerFirewallFacts(state_dir);
}

BackendChoice FromFlag(std::string_view flag, const std::string& state_dir) {
  auto wanted = policy::ParseBackendName(flag).value_or(policy::Backend::kAuto);
  return ChooseBackend(wanted, "--backend", FactsFor(wanted, state_dir));
}

}  // namespace

BackendChoice ChooseHostBackend(std::string_view flag, const std::string& policy_file, const std::string& node,
                                const std::string& state_dir) {
  if (!flag.empty() && flag != "auto") return FromFlag(flag, state_dir);
  auto settings = policy::ReadBackendSettingsFile(policy_file).value_or(policy::BackendSettings{});
  std::vector<netfilter::IpAddress> local;
  if (node.empty() && settings.NodesDiffer()) local = host::LocalAddresses();
  policy::Backend wanted = settings.For(node, local);
  std::string by = wanted == settings.policy ? "the policy's backend:" : "the node's backend:";
  return ChooseBackend(wanted, by, FactsFor(wanted, state_dir));
}

BackendChoice ChooseHostBackend(std::string_view flag, const policy::Policy& policy, const std::string& node,
                                const std::string& state_dir) {
  if (!flag.empty() && flag != "auto") return FromFlag(flag, state_dir);
  const policy::Node* n = node.empty() ? nullptr : policy.FindNode(node);
  if (!n && node.empty()) {
    auto local = host::LocalAddresses();
    for (const auto& candidate : policy.nodes)
      for (const auto& a : candidate.addresses)
        for (const auto& l : local)
          if (a == l && !n) n = &candidate;
  }
  policy::Backend wanted = n ? policy.BackendOf(*n) : policy.backend;
  std::string by = n && n->backend ? "node " + n->name + "'s backend:" : "the policy's backend:";
  return ChooseBackend(wanted, by, FactsFor(wanted, state_dir));
}

}  // namespace swarmwall::apply
