// The Engine API's Swarm answers read into plain structs, with no I/O, so
// each can be tested on JSON samples: GET /info's Swarm part, GET /nodes and
// /nodes/ID, GET /tasks, GET /services (names), and error bodies. Fields are
// those of API 1.41 (Docker 20.10) and 1.51 (Docker 28.5), which agree here.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "docker/swarm.h"

namespace swarmwall::docker {

// GET /info: .Swarm
struct LocalSwarm {
  std::string node_id;           // Swarm.NodeID ("" outside a swarm)
  std::string local_node_state;  // "inactive", "pending", "active", "error", "locked"
  bool control_available = false;  // a manager
  std::string error;             // Swarm.Error
};
std::optional<LocalSwarm> ParseInfoSwarm(const std::string& body, std::string& error);

// The node id of LOCAL, or an error saying why the daemon at HOST has none
// (not in a swarm, still joining, locked, in error).
std::optional<std::string> NodeIdOf(const LocalSwarm& local, const std::string& host, std::string& error);

// One node object of GET /nodes or /nodes/ID.
std::optional<SwarmNode> ParseNode(const nlohmann::json& node, std::string& error);
std::optional<SwarmNode> ParseNodeBody(const std::string& body, std::string& error);
std::optional<std::vector<SwarmNode>> ParseNodeList(const std::string& body, std::string& error);

// What POST /nodes/ID/update needs from GET /nodes/ID: Version.Index and
// the whole Spec (kept verbatim so labels and unknown fields survive).
struct NodeForUpdate {
  uint64_t version = 0;
  nlohmann::json spec;
};
std::optional<NodeForUpdate> ParseNodeForUpdate(const std::string& body, std::string& error);

// One task of GET /tasks.
struct SwarmTask {
  std::string id, service_id, node_id;
  int slot = 0;                // 0 for global services' tasks
  std::string state;           // Status.State
  std::string desired_state;   // DesiredState
};
std::optional<std::vector<SwarmTask>> ParseTasks(const std::string& body, std::string& error);

// True for a task still running, or about to run, on its node: its state is
// one before a terminal one (new ... running), or the orchestrator still
// wants it running (DesiredState "running").
bool TaskIsActive(const SwarmTask& task);

// GET /services: service id -> Spec.Name. Empty map on a bad body.
std::map<std::string, std::string> ParseServiceNames(const std::string& body);

// "web.2 (running, desired shutdown)" as the docker CLI names tasks:
// SERVICE.SLOT, or SERVICE.NODEID for a global service's task; the service
// id's first 12 characters when its name is unknown.
std::string TaskLabel(const SwarmTask& task, const std::map<std::string, std::string>& service_names);

// The query of GET /tasks for the tasks of node ID: "?filters=" + the
// URL-encoded {"node":["ID"]}.
std::string TasksOfNodeQuery(const std::string& node_id);

// True when an update was refused because VERSION was stale (swarmkit's
// "update out of sequence", HTTP 500).
bool IsVersionConflict(long status, const std::string& body);

// True when a 503 says the daemon is a worker (rather than not in a swarm).
bool IsWorkerMessage(const std::string& daemon_message);

}  // namespace swarmwall::docker
