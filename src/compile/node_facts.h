// What the compiler needs to know about the node it compiles for, gathered
// by the caller (live from the host, or given in a test): who it is, and
// where Docker lets swarmwall hook in.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "netfilter/address.h"
#include "policy/policy.h"

namespace swarmwall::compile {

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
