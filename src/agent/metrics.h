// The agent's counters and their Prometheus text exposition (format 0.0.4):
// applies, repairs by kind, errors, drift checks, the last apply's duration,
// whether the kernel matched the policy at the last check, whether the
// policy file last read was valid, when the last check ran, and the Swarm
// and Docker API ports the world reaches (apply/control_ports.h). Updated
// by the agent's loop, read by the metrics server's thread. The alert rules
// and dashboard of deploy/monitoring/ are written against these names.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "apply/control_ports.h"

namespace swarmwall::agent {

struct MetricsSnapshot {
  uint64_t applies = 0;        // commits that wrote something, and the first apply
  uint64_t errors = 0;         // failed applies, repairs, reads, invalid policies
  uint64_t drift_checks = 0;   // comparisons of the kernel with the policy
  std::map<std::string, uint64_t> repairs;  // by kind
  double last_apply_seconds = 0;
  bool in_sync = false;        // the last check found the kernel as the policy says
  uint64_t membership_updates = 0;  // Swarm membership changes written (nodes: auto)
  int64_t swarm_nodes = -1;    // Swarm nodes in the last list read; -1: no `nodes: auto`
  // Not kept in the agent's state file (recomputed by a running agent):
  bool policy_valid = true;    // false while the policy file last read was rejected
  double last_check_unix = 0;  // when the last check that read the kernel ended; 0 none yet
  // The control ports the world reaches here; nullopt: not computed yet.
  std::optional<std::vector<apply::ExposedControlPort>> control_ports;
  uint64_t repairs_total() const;
};

class Metrics {
 public:
  void AddApply(double seconds);
  void AddError();
  void AddCheck(bool in_sync);
  void AddRepair(const std::string& kind);
  void AddMembershipUpdate();
  void SetSwarmNodes(int64_t n);
  void SetPolicyValid(bool valid);
  void SetControlPorts(std::vector<apply::ExposedControlPort> ports);
  MetricsSnapshot Snapshot() const;

 private:
  mutable std::mutex mu_;
  MetricsSnapshot s_;
};

// The exposition text of S.
std::string RenderPrometheus(const MetricsSnapshot& s);

}  // namespace swarmwall::agent
