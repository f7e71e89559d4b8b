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
  // Whether Docker has (or will have) a DOCKER-USER chain per family. Docker
  // 20.10 without ip6tables has none for IPv6: swarmwall then hooks FORWARD.
  bool docker_user_ipv4 = true;
  bool docker_user_ipv6 = true;
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
