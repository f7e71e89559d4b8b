// Swarm node operations through the Engine API of a manager: which node this
// daemon is, a node's role and availability, draining it and waiting until
// its tasks have left. Used by `swarmwall apply --drain`.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "docker/engine.h"

namespace swarmwall::docker {

// One node of GET /nodes or /nodes/ID, the fields swarmwall reads.
struct SwarmNode {
  std::string id;
  std::string hostname;      // Description.Hostname
  std::string role;          // Spec.Role: "manager" or "worker"
  std::string availability;  // Spec.Availability: "active", "pause" or "drain"
  std::string state;         // Status.State: "ready", "down", ...
  std::string addr;          // Status.Addr ("0.0.0.0" on a manager listening everywhere)
  std::string manager_addr;  // ManagerStatus.Addr ("10.10.10.1:2377"), "" on a worker
  // Spec.Labels; a value that is not a string reads as "".
  std::map<std::string, std::string> labels;
};

// The swarm node id of the daemon behind LOCAL (GET /info, Swarm.NodeID);
// nullopt with ERROR when the daemon is unreachable or not in a swarm.
std::optional<std::string> LocalNodeId(const Engine& local, std::string& error);

// True when the daemon behind LOCAL is a manager of its swarm (GET /info,
// Swarm.ControlAvailable), so it can drain nodes itself; nullopt with ERROR
// as LocalNodeId (unreachable, not in a swarm).
std::optional<bool> IsManager(const Engine& local, std::string& error);

// GET /nodes/ID on a manager.
std::optional<SwarmNode> InspectNode(const Engine& manager, const std::string& id,
                                     std::string& error);

// GET /nodes on a manager.
std::optional<std::vector<SwarmNode>> ListNodes(const Engine& manager, std::string& error);

// POST /nodes/ID/update with the node's current spec version and
// Availability = AVAILABILITY ("active", "pause", "drain"); the rest of the
// spec (role, labels) is sent back as read. Writes nothing when the node
// already has it. A version that went stale between the read and the write
// is read again and the update retried once.
bool SetAvailability(const Engine& manager, const std::string& id,
                     const std::string& availability, std::string& error);

// POST /nodes/ID/update?version=VERSION with SPEC (a whole NodeSpec). A
// stale VERSION fails with an ERROR that says "version conflict".
bool UpdateNodeSpec(const Engine& manager, const std::string& id, uint64_t version,
                    const nlohmann::json& spec, std::string& error);

// Why a request to MANAGER failed, in words: unreachable, not in a swarm,
// "is a swarm worker, not a manager" (HTTP 503), or the daemon's message.
std::string ManagerError(const Engine& manager, const Response& response, const std::string& what);

// Waits until no task of node ID is running or about to run (TaskIsActive
// in docker/swarm_json.h), polling GET /tasks on the manager every 250 ms.
// An unknown ID is an error, not an empty node. False with ERROR naming the
// tasks left ("sleepers.2 (running, desired shutdown)") when TIMEOUT
// passes; a TIMEOUT of 0 checks once. Tasks stop after their service's
// stop grace period (10 s by default), so give TIMEOUT well above it.
bool WaitNodeEmpty(const Engine& manager, const std::string& id, std::chrono::seconds timeout,
                   std::string& error);

}  // namespace swarmwall::docker
