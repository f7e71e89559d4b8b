#include "apply/drain.h"

#include "docker/engine.h"
#include "docker/swarm.h"

namespace swarmwall::apply {

std::optional<DrainTarget> PrepareDrain(const std::string& manager_host, std::string& error) {
  DrainTarget t;
  t.manager_host = manager_host;
  docker::Engine local;
  auto id = docker::LocalNodeId(local, error);
  if (!id) return std::nullopt;
  t.node_id = *id;
  if (manager_host.empty()) {
    auto manager = docker::IsManager(local, error);
    if (!manager) return std::nullopt;
    if (!*manager) {
      error = "the local Docker daemon (" + local.host() + ") is a Swarm worker: nodes are drained "
              "through a manager; pass --manager DOCKER_HOST_OF_A_MANAGER";
      return std::nullopt;
    }
  }
  docker::Engine manager(manager_host);
  auto node = docker::InspectNode(manager, t.node_id, error);
  if (!node) {
    if (manager_host.empty())
      error += " (this node's daemon is not a manager: pass --manager DOCKER_HOST_OF_A_MANAGER)";
    return std::nullopt;
  }
  t.hostname = node->hostname;
  t.availability = node->availability.empty() ? "active" : node->availability;
  return t;
}

bool DrainNode(const DrainTarget& t, std::chrono::seconds timeout, std::string& error) {
  docker::Engine manager(t.manager_host);
  if (!docker::SetAvailability(manager, t.node_id, "drain", error)) return false;
  return docker::WaitNodeEmpty(manager, t.node_id, timeout, error);
}

bool RestoreAvailability(const DrainTarget& t, std::string& error) {
  docker::Engine manager(t.manager_host);
  return docker::SetAvailability(manager, t.node_id, t.availability, error);
}

}  // namespace swarmwall::apply
