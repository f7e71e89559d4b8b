// The named services a policy rule may use instead of ports (`service: ssh`)
// and the fixed ports of Docker Swarm. docs/policy.md lists the same table
// (a unit test keeps the two in step).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

#include "policy/policy.h"

namespace swarmwall::policy {

struct ServiceInfo {
  std::string_view name;  // "ssh"
  // Groups "PORTS/PROTOCOLS" separated by spaces: "22/tcp", "53/tcp,udp",
  // "500,4500/udp", "2377,7946/tcp 7946,4789/udp".
  std::string_view ports;
  std::string_view description;
};

// Every named service, sorted by name.
std::span<const ServiceInfo> Services();

// The traffic of a named service; nullopt when there is no such service.
std::optional<Traffic> ServiceTraffic(std::string_view name);

// Docker Swarm's ports (docs.docker.com/engine/swarm/swarm-tutorial).
inline constexpr uint16_t kSwarmManagementPort = 2377;  // tcp, managers only
inline constexpr uint16_t kSwarmGossipPort = 7946;      // tcp and udp
inline constexpr uint16_t kSwarmOverlayPort = 4789;     // udp (VXLAN)
inline constexpr uint16_t kDockerMachinePort = 2376;    // tcp (docker-machine's TLS daemon)

}  // namespace swarmwall::policy
