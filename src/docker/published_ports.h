// The ports Docker publishes on this node and what publishes them, from the
// Engine API: running containers' port bindings (`docker run -p`, and a
// Swarm task's `--publish mode=host`), and on a manager the services'
// routing-mesh ports (`mode=ingress`: every node) and labels. A worker's
// daemon has no service list: there a service is known by its tasks'
// containers only (their com.docker.swarm.service.name label).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/engine.h"

namespace swarmwall::docker {

struct PublishedPort {
  std::string protocol;   // "tcp", "udp", "sctp"
  uint16_t port = 0;      // the host port
  std::string container;  // "" for a service's ingress port
  std::string service;    // "" when no Swarm service
  std::map<std::string, std::string> labels;
  bool operator==(const PublishedPort&) const = default;
};

// GET /containers/json's answer: each running container's published ports
// (an IPv4 and an IPv6 binding of one port count once). Entries that are
// not well formed are skipped and named in SKIPPED.
std::vector<PublishedPort> ContainerPorts(const nlohmann::json& containers, std::vector<std::string>& skipped);

// GET /services' answer: the ingress ports (a port on every node), and
// each service's labels added to PORTS of its tasks (a container's own
// label wins over its service's).
std::vector<PublishedPort> ServicePorts(const nlohmann::json& services, std::vector<PublishedPort>& ports,
                                        std::vector<std::string>& skipped);

// Both, read from ENGINE (the services only where it is a manager);
// nullopt when the containers cannot be listed.
std::optional<std::vector<PublishedPort>> ReadPublishedPorts(const Engine& engine, std::string& error);

}  // namespace swarmwall::docker
