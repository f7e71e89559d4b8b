// What the compiler needs to know about the node it compiles for, gathered
// by the caller (live from the host, or given in a test): who it is, and
// where Docker lets swarmwall hook in.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "netfilter/address.h"
#include "policy/policy.h"

namespace swarmwall::compile {

// A port Docker publishes on this node, and what publishes it: a
// container's (`docker run -p`, a Swarm task's `mode=host` port) or a Swarm
// service's routing-mesh port (`mode=ingress`, published on every node).
struct PublishedPort {
  std::string protocol;   // "tcp", "udp", "sctp"
  uint16_t port = 0;      // the published (host) port
  std::string container;  // the container's name ("" for an ingress port)
  std::string service;    // the Swarm service it belongs to ("" for none)
  // The container's labels, and its service's where known (on managers).
  std::map<std::string, std::string> labels;
  bool operator==(const PublishedPort&) const = default;
};

struct NodeFacts {
  std::vector<netfilter::IpAddress> local_addresses;   // of every interface
  // Where SWARMWALL-USER is hooked, per family: first in DOCKER-USER when
  // FORWARD jumps there (or Docker has not started: it keeps a DOCKER-USER
  // made before it), and first in FORWARD when nothing sure jumps to
  // DOCKER-USER: Docker 20.10 makes no IPv6 chains, and before Docker starts
  // Docker 28 puts its own FORWARD jumps ahead of a hook made in FORWARD.
  bool docker_user_ipv4 = true;
  bool docker_user_ipv6 = true;
  bool forward_ipv4 = false;
  bool forward_ipv6 = false;
  // Docker's chains exist in either family. A family hooked in FORWARD keeps
  // a DOCKER-USER hook only while Docker has not started (Docker 28 will
  // jump there); once Docker runs without that family's DOCKER-USER (20.10's
  // IPv6) nothing would ever reach it, so none is made.
  bool docker_running = false;
  // Interfaces of Docker's bridges; egress rules apply to what leaves them.
  std::vector<std::string> docker_bridges = {"docker0", "docker_gwbridge", "br-+"};
  // What Docker publishes here, read only for a policy whose containers
  // rules name services, containers or labels (empty: nothing, or Docker
  // could not be asked; those rules then match nothing).
  std::vector<PublishedPort> published;
};

struct NodeChoice {
  std::optional<policy::Node> node;   // unset: error says why
  std::string error;
};

// NAME when given (must be in the policy), else the one node with an
// address on a local interface. None or several: an error that says which.
// A policy without nodes describes a single host (seed 002): this host is
// then its one node, a worker named NAME or "host".
NodeChoice IdentifyNode(const policy::Policy& policy, const NodeFacts& facts,
                        const std::optional<std::string>& name);

}  // namespace swarmwall::compile
