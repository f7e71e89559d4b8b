// The status workflow (`swarmwall status`): what the firewall owns now,
// its hooks, drift against what was applied, Docker's version and chain
// layout, and whether FORWARD reaches DOCKER-USER (the analyzer's one
// verdict, analyze/docker_user_hook.h), and the findings it shares with
// doctor (analyze::DiagnoseDockerFirewall: Docker's nftables mode beside
// iptables rules or swarmwall's, published ports open to the world).
// Reads without waiting for the host lock: a change in progress is a
// finding, not a wait.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "apply/state_store.h"
#include "apply/workflow_steps.h"
#include "backend/firewall.h"

namespace swarmwall::apply {

struct DockerStatus {
  std::string host, version, layout;
  bool swarm = false, docker_user_hooked = false;
};

struct StatusReport {
  bool ok = false;                      // the kernel could be read
  std::string error;
  std::string variant, variant_reason;
  std::string kernel_digest;            // of the owned state as read
  std::vector<backend::FamilyStatus> families;
  std::vector<std::string> findings;
  DockerStatus docker;
  std::string lock_holder;
  std::optional<AppliedRecord> record;
};

StatusReport Status(const std::string& state_dir, backend::Firewall& firewall, const Notes& note);

}  // namespace swarmwall::apply
