// `swarmwall agent`: applies a policy, then keeps the host right. It wakes
// on nf_tables commits (NftMonitor; the nft variant), on a timer (sets,
// which ipset never announces, and every rule on the legacy variant), on
// Docker's events (DockerEvents), on changes of the policy's directory
// (inotify) and on SIGHUP (reload: a policy that does not load is logged
// with FILE:LINE:COL and the running state stays). Every check compares the
// kernel with the policy and repairs only what differs, through Keeper
// (apply's own transaction). SIGTERM / SIGINT: a clean exit that keeps the
// rules. With `nodes: auto` it also keeps the nodes' set in step with the
// Swarm's node list (node events and a periodic re-list; membership.h).
#pragma once

#include <chrono>
#include <ostream>
#include <string>

namespace swarmwall::agent {

struct AgentOptions {
  std::string policy_file;
  std::string node;                 // "" : the node with an address here
  std::string state_dir;
  std::string metrics;              // "" none, "127.0.0.1:9469", "unix:/path"
  bool json_log = false;
  bool force = false;               // apply even if it locks out an SSH client
  std::chrono::milliseconds interval{2000};  // periodic check
  std::chrono::milliseconds debounce{5};     // quiet time after an event
  // `nodes: auto` (live membership): the DOCKER_HOST of a manager to read the
  // Swarm's nodes from ("": the local daemon, which must then be a manager),
  // and how often the list is read again besides the node events.
  std::string manager;
  std::chrono::milliseconds relist{5000};
  std::string backend;              // --backend ("" : the policy's, else auto)
  // How often the control ports the world reaches are computed again
  // (apply/control_ports.h; also soon after every write); 0: never.
  std::chrono::seconds exposure_interval{60};
};

// Runs until SIGTERM or SIGINT. 0 after a clean stop; 1 when the first
// apply (or the metrics listener) fails. Logs to LOG.
int RunAgent(const AgentOptions& options, std::ostream& log);

}  // namespace swarmwall::agent
