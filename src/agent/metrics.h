// The agent's counters and their Prometheus text exposition (format 0.0.4):
// applies, repairs by kind, errors, drift checks, the last apply's duration,
// whether the kernel matched the policy at the last check. Updated by the
// agent's loop, read by the metrics server's thread.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>

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
  MetricsSnapshot Snapshot() const;

 private:
  mutable std::mutex mu_;
  MetricsSnapshot s_;
};

// The exposition text of S.
std::string RenderPrometheus(const MetricsSnapshot& s);

}  // namespace swarmwall::agent
