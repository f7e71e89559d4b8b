// The ports of Swarm and of the Docker Engine API (2375, 2376, 2377, 7946,
// 4789) that an address of the world reaches on this host as its rules are
// now: the exposure engine over every table of the host (iptables' and
// nftables', Docker's NAT included) on its public interfaces. The agent
// publishes them as a metric, the alert "a Swarm or Docker API port
// exposed" fires on it (deploy/monitoring/).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "analyze/exposure/exposure.h"
#include "backend/firewall.h"

namespace swarmwall::apply {

struct ExposedControlPort {
  std::string family;      // "IPv4" / "IPv6"
  std::string interface;   // where the packets arrive
  std::string protocol;    // "tcp" / "udp"
  uint16_t port = 0;       // 2375, 2376, 2377, 7946 or 4789
  bool operator==(const ExposedControlPort&) const = default;
};

// The control ports world sources reach in EXPOSURES, each once per family,
// interface and protocol, sorted.
std::vector<ExposedControlPort> ControlPortsOf(const std::vector<analyze::FamilyExposure>& exposures);

// The same over the live host, read through FIREWALL (swarmwall's part as
// it is in the kernel). nullopt with ERROR when the host cannot be read.
std::optional<std::vector<ExposedControlPort>> ExposedControlPorts(backend::Firewall& firewall, std::string& error);

}  // namespace swarmwall::apply
