// Which firewall holds this node's rules. The operator's word first
// (--backend, else the node's or the policy's `backend:`); `auto` follows
// Docker, because only the firewall Docker itself uses can filter its
// published ports: nftables where Docker runs its nftables backend (Docker
// 29's --firewall-backend=nftables has no DOCKER-USER at all), iptables
// otherwise. How Docker runs is asked in this order, the first that knows
// wins: the Engine API (/info FirewallBackend), Docker's own nftables tables
// in the kernel (`ip docker-bridges` / `ip6 docker-bridges`), the
// `firewall-backend` of /etc/docker/daemon.json (at boot swarmwall runs
// before dockerd), and what the last apply here used.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "backend/firewall.h"
#include "policy/policy.h"

namespace swarmwall::apply {

// What this host says about Docker's firewall backend.
struct DockerFirewallFacts {
  bool api_reachable = false;
  std::string api_driver;           // /info FirewallBackend.Driver ("nftables", "iptables+firewalld")
  bool nft_tables = false;          // Docker's nftables tables are in the kernel
  std::string daemon_json;          // daemon.json's "firewall-backend" ("" when not set)
  std::string applied;              // the backend of the last apply here ("" none)
};

// Reads them (Engine API at DOCKER_HOST, libnftables, DAEMON_JSON,
// STATE_DIR's record).
DockerFirewallFacts ReadDockerFirewallFacts(const std::string& state_dir,
                                            const std::string& daemon_json = "/etc/docker/daemon.json");

// Whether Docker runs its nftables backend, and how that is known; nullopt
// when nothing tells.
struct DockerMode {
  bool nftables = false;
  std::string how;                  // "Docker's Engine API says firewall backend nftables"
};
std::optional<DockerMode> DockerModeOf(const DockerFirewallFacts& facts);

struct BackendChoice {
  backend::FirewallKind kind = backend::FirewallKind::kIptables;
  std::string reason;               // "auto: Docker's Engine API says firewall backend nftables"
  std::string error;                // non-empty: refused (nothing may be changed)
  bool ok() const { return error.empty(); }
};

// WANTED (from WANTED_BY: "--backend", "the policy's backend:", "node N's
// backend:") against FACTS. The iptables backend is refused where Docker
// runs nftables: its DOCKER-USER would filter nothing (seed 002's trap).
BackendChoice ChooseBackend(policy::Backend wanted, const std::string& wanted_by,
                            const DockerFirewallFacts& facts);

// The whole choice for a workflow: FLAG ("" or a backend name, checked by
// the CLI), else POLICY_FILE's settings for NODE ("" = this host's node by
// its addresses), else auto; FACTS read here.
BackendChoice ChooseHostBackend(std::string_view flag, const std::string& policy_file,
                                const std::string& node, const std::string& state_dir);
// The same for a loaded POLICY (the agent).
BackendChoice ChooseHostBackend(std::string_view flag, const policy::Policy& policy,
                                const std::string& node, const std::string& state_dir);

}  // namespace swarmwall::apply
