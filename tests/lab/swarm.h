// Docker Swarm on lab nodes, through each node's docker CLI: forming a swarm
// over a chosen interface, waiting until every node is Ready, attachable
// overlay networks, services and their tasks, and pings between containers.
// Every function that changes something throws std::runtime_error with the
// CLI's message (and the daemon's log) when it fails.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "lab.h"

namespace swarmwall::lab {

// `docker swarm init --advertise-addr ADVERTISE` on MANAGER (an address or
// an interface name, e.g. "ens11"); returns the worker join token.
std::string SwarmInit(DockerNode& manager, const std::string& advertise);

// `docker swarm join --advertise-addr ADVERTISE --token TOKEN MANAGER_ADDR:2377`.
void SwarmJoin(DockerNode& node, const std::string& token, const std::string& manager_addr,
               const std::string& advertise);

struct SwarmNodeInfo {
  std::string hostname;
  std::string status;        // "Ready", "Down", ...
  std::string availability;  // "Active", "Pause", "Drain"
  std::string manager;       // "Leader", "Reachable" or "" for a worker
};

// `docker node ls` on a manager.
std::vector<SwarmNodeInfo> SwarmNodes(DockerNode& manager);

// Waits until the manager lists COUNT nodes, all Ready. False after TIMEOUT,
// with the last listing in *REPORT.
bool WaitNodesReady(DockerNode& manager, std::size_t count, std::chrono::seconds timeout,
                    std::string* report = nullptr);

// `docker network create -d overlay --attachable --subnet SUBNET NAME`.
void CreateOverlay(DockerNode& manager, const std::string& name, const std::string& subnet);

// `docker service create --detach --no-resolve-image --name NAME OPTIONS... IMAGE COMMAND...`
// (no registry here: the image must exist on every node that runs a task).
void CreateService(DockerNode& manager, const std::string& name, const std::vector<std::string>& options,
                   const std::string& image, const std::vector<std::string>& command);

struct TaskInfo {
  std::string node;           // hostname of the node it is on
  std::string desired_state;  // "Running", "Shutdown"
  std::string current_state;  // "Running 5 seconds ago", ...
};

// `docker service ps SERVICE` (every task, also the history).
std::vector<TaskInfo> ServiceTasks(DockerNode& manager, const std::string& service);

// Tasks of SERVICE that are running now on NODE ("" = on any node).
int RunningTasks(DockerNode& manager, const std::string& service, const std::string& node = "");

// Waits until RunningTasks(manager, service, node) >= COUNT.
bool WaitRunningTasks(DockerNode& manager, const std::string& service, int count,
                      std::chrono::seconds timeout, const std::string& node = "");

// IPv4 address of CONTAINER on NETWORK ("" when it is not attached).
std::string ContainerIpOn(DockerNode& node, const std::string& container, const std::string& network);

// `docker exec CONTAINER ping -c 1 -W 2 IP` (busybox ping), tried up to
// three times (the first packet over a fresh overlay can be lost).
bool ContainerPing(DockerNode& node, const std::string& container, const std::string& ip);

}  // namespace swarmwall::lab
