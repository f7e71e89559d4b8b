#include "policy/services.h"

#include <algorithm>
#include <charconv>

#include "policy/internal.h"

namespace swarmwall::policy {
namespace {

// Sorted by name (ServiceTraffic searches it).
constexpr ServiceInfo kServices[] = {
    {"dns", "53/tcp,udp", "DNS"},
    {"docker", "2375/tcp", "Docker Engine API without TLS (never expose it)"},
    {"docker-tls", "2376/tcp", "Docker Engine API with TLS (docker-machine)"},
    {"grafana", "3000/tcp", "Grafana"},
    {"http", "80/tcp", "HTTP"},
    {"http-alt", "8080/tcp", "HTTP on the alternative port"},
    {"http3", "443/udp", "HTTP/3 (QUIC)"},
    {"https", "443/tcp", "HTTPS"},
    {"imaps", "993/tcp", "IMAP over TLS"},
    {"ipsec", "500,4500/udp", "IPsec IKE and NAT traversal"},
    {"mongodb", "27017/tcp", "MongoDB"},
    {"mysql", "3306/tcp", "MySQL / MariaDB"},
    {"node-exporter", "9100/tcp", "Prometheus node exporter"},
    {"ntp", "123/udp", "NTP"},
    {"openvpn", "1194/udp", "OpenVPN"},
    {"postgresql", "5432/tcp", "PostgreSQL"},
    {"prometheus", "9090/tcp", "Prometheus"},
    {"redis", "6379/tcp", "Redis"},
    {"registry", "5000/tcp", "Docker registry"},
    {"smtp", "25/tcp", "SMTP"},
    {"smtps", "465/tcp", "SMTP over TLS"},
    {"ssh", "22/tcp", "SSH"},
    {"submission", "587/tcp", "SMTP submission"},
    {"swarm", "2377,7946/tcp 7946,4789/udp", "every Swarm port (prefer the swarm: section)"},
    {"swarm-gossip", "7946/tcp,udp", "Swarm node discovery"},
    {"swarm-manager", "2377/tcp", "Swarm cluster management (managers)"},
    {"swarm-overlay", "4789/udp", "Swarm overlay network (VXLAN)"},
    {"wireguard", "51820/udp", "WireGuard"},
};

}  // namespace

std::span<const ServiceInfo> Services() { return kServices; }

std::optional<Traffic> ServiceTraffic(std::string_view name) {
  auto it = std::lower_bound(std::begin(kServices), std::end(kServices), name,
                             [](const ServiceInfo& s, std::string_view n) { return s.name < n; });
  if (it == std::end(kServices) || it->name != name) return std::nullopt;
  return ParseTrafficSpec(it->ports);
}

Traffic SwarmTraffic(const SwarmPolicy& swarm, Role role) {
  std::vector<ProtocolPorts> parts;
  ProtocolPorts tcp{Protocol::kTcp, {}}, udp{Protocol::kUdp, {}};
  if (role == Role::kManager) tcp.ports.push_back({kSwarmManagementPort, kSwarmManagementPort});
  tcp.ports.push_back({kSwarmGossipPort, kSwarmGossipPort});
  if (swarm.docker_machine) tcp.ports.push_back({kDockerMachinePort, kDockerMachinePort});
  udp.ports.push_back({kSwarmGossipPort, kSwarmGossipPort});
  if (!swarm.encrypted_overlay) udp.ports.push_back({kSwarmOverlayPort, kSwarmOverlayPort});
  Traffic t;
  t.protocols = {tcp, udp};
  NormalizeTraffic(t);
  return t;
}

}  // namespace swarmwall::policy
