#include "docker/swarm.h"

#include <thread>

#include "base/json_text.h"
#include "docker/swarm_json.h"

namespace swarmwall::docker {
namespace {

constexpr auto kPollInterval = std::chrono::milliseconds(250);

bool ValidAvailability(const std::string& a) { return a == "active" || a == "pause" || a == "drain"; }

}  // namespace

std::string ManagerError(const Engine& manager, const Response& r, const std::string& what) {
  if (r.status == 0) return what + ": " + manager.Describe(r);
  std::string message = DaemonMessage(r.body);
  if (r.status == 503) {
    if (IsWorkerMessage(message))
      return what + ": the Docker daemon at " + manager.host() +
             " is a swarm worker, not a manager; nodes are read and changed only through a manager's "
             "Engine API (daemon: " + message + ")";
    if (message.find("docker swarm init") != std::string::npos)
      return what + ": the Docker daemon at " + manager.host() + " is not in a swarm (daemon: " + message + ")";
    return what + ": the Docker daemon at " + manager.host() + " is not a usable swarm manager (daemon: " +
           message + ")";
  }
  return what + ": " + manager.Describe(r);
}

namespace {

std::optional<LocalSwarm> ReadLocalSwarm(const Engine& local, std::string& error) {
  Response r = local.Get("/info");
  if (!r.ok()) {
    error = ManagerError(local, r, "reading this node's swarm state (GET /info)");
    return std::nullopt;
  }
  auto swarm = ParseInfoSwarm(r.body, error);
  if (!swarm || !NodeIdOf(*swarm, local.host(), error)) return std::nullopt;
  return swarm;
}

}  // namespace

std::optional<std::string> LocalNodeId(const Engine& local, std::string& error) {
  auto swarm = ReadLocalSwarm(local, error);
  if (!swarm) return std::nullopt;
  return swarm->node_id;
}

std::optional<bool> IsManager(const Engine& local, std::string& error) {
  auto swarm = ReadLocalSwarm(local, error);
  if (!swarm) return std::nullopt;
  return swarm->control_available;
}

std::optional<SwarmNode> InspectNode(const Engine& manager, const std::string& id, std::string& error) {
  Response r = manager.Get("/nodes/" + id);
  if (r.status == 404) {
    error = "no node \"" + id + "\" in the swarm of " + manager.host() + " (" + DaemonMessage(r.body) + ")";
    return std::nullopt;
  }
  if (!r.ok()) {
    error = ManagerError(manager, r, "inspecting node " + id);
    return std::nullopt;
  }
  return ParseNodeBody(r.body, error);
}

std::optional<std::vector<SwarmNode>> ListNodes(const Engine& manager, std::string& error) {
  Response r = manager.Get("/nodes");
  if (!r.ok()) {
    error = ManagerError(manager, r, "listing the swarm's nodes");
    return std::nullopt;
  }
  return ParseNodeList(r.body, error);
}

bool UpdateNodeSpec(const Engine& manager, const std::string& id, uint64_t version,
                    const nlohmann::json& spec, std::string& error) {
  Response r = manager.Post("/nodes/" + id + "/update?version=" + std::to_string(version), JsonText(spec));
  if (r.ok()) return true;
  const std::string what = "updating node " + id;
  if (IsVersionConflict(r.status, r.body))
    error = what + ": version conflict: the node changed after version " + std::to_string(version) +
            " was read (daemon: " + DaemonMessage(r.body) + ")";
  else if (r.status == 404)
    error = what + ": no such node in the swarm of " + manager.host() + " (" + DaemonMessage(r.body) + ")";
  else
    error = ManagerError(manager, r, what);
  return false;
}

bool SetAvailability(const Engine& manager, const std::string& id, const std::string& availability,
                     std::string& error) {
  if (!ValidAvailability(availability)) {
    error = "invalid node availability \"" + availability + "\" (active, pause or drain)";
    return false;
  }
  // A node's version moves whenever the manager touches it (status, a
  // certificate renewal): one stale read is retried with a fresh one.
  for (int attempt = 0;; ++attempt) {
    Response r = manager.Get("/nodes/" + id);
    if (r.status == 404) {
      error = "no node \"" + id + "\" in the swarm of " + manager.host() + " (" + DaemonMessage(r.body) + ")";
      return false;
    }
    if (!r.ok()) {
      error = ManagerError(manager, r, "reading node " + id);
      return false;
    }
    auto node = ParseNodeForUpdate(r.body, error);
    if (!node) return false;
    if (node->spec.value("Availability", std::string()) == availability) return true;
    node->spec["Availability"] = availability;
    std::string update_error;
    if (UpdateNodeSpec(manager, id, node->version, node->spec, update_error)) return true;
    if (attempt == 0 && update_error.find("version conflict") != std::string::npos) continue;
    error = "setting node " + id + " to " + availability + ": " + update_error;
    return false;
  }
}

bool WaitNodeEmpty(const Engine& manager, const std::string& id, std::chrono::seconds timeout,
                   std::string& error) {
  // An unknown id would list no tasks at all and look empty: check it first.
  if (!InspectNode(manager, id, error)) return false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  const std::string path = "/tasks" + TasksOfNodeQuery(id);
  for (;;) {
    Response r = manager.Get(path);
    if (!r.ok()) {
      error = ManagerError(manager, r, "listing the tasks of node " + id);
      return false;
    }
    auto tasks = ParseTasks(r.body, error);
    if (!tasks) return false;
    std::vector<SwarmTask> left;
    for (auto& t : *tasks)
      if (TaskIsActive(t)) left.push_back(std::move(t));
    if (left.empty()) return true;
    const auto now = std::chrono::steady_clock::now();
    if (now >= deadline) {
      auto names = ParseServiceNames(manager.Get("/services").body);
      error = std::to_string(left.size()) + (left.size() == 1 ? " task is" : " tasks are") +
              " still on node " + id + " after " + std::to_string(timeout.count()) + " s:";
      for (size_t i = 0; i < left.size(); ++i) error += (i ? ", " : " ") + TaskLabel(left[i], names);
      return false;
    }
    std::this_thread::sleep_for(std::min<std::chrono::steady_clock::duration>(kPollInterval, deadline - now));
  }
}

}  // namespace swarmwall::docker
