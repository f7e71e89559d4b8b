// `swarmwall apply --drain` (seed 004): the node's Swarm tasks leave before
// its firewall changes and come back after. Through the Engine API of a
// manager: the local daemon (DOCKER_HOST) names the node, the manager
// (--manager, default the local daemon) drains it and waits until it is
// empty; after the apply and its check the availability it had before
// comes back. Any failure after draining leaves the node drained.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace swarmwall::apply {

struct DrainTarget {
  std::string local_host;      // DOCKER_HOST of this node's daemon ("" = default)
  std::string manager_host;    // DOCKER_HOST of a manager ("" = the local daemon)
  std::string node_id;
  std::string hostname;
  std::string availability;    // before draining: "active" normally
};

// Reads everything draining needs, changing nothing. Fails (ERROR says why,
// e.g. the local daemon is a worker and no --manager was given) before
// anything is touched.
std::optional<DrainTarget> PrepareDrain(const std::string& manager_host, std::string& error);

// Sets the node to drain and waits (TIMEOUT) until its tasks have left.
bool DrainNode(const DrainTarget& target, std::chrono::seconds timeout, std::string& error);

// Sets the availability it had before PrepareDrain.
bool RestoreAvailability(const DrainTarget& target, std::string& error);

}  // namespace swarmwall::apply
