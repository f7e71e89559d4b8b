#include "agent/metrics.h"

#include <fmt/format.h>

namespace swarmwall::agent {

uint64_t MetricsSnapshot::repairs_total() const {
  uint64_t n = 0;
  for (const auto& [k, v] : repairs) n += v;
  return n;
}

void Metrics::AddApply(double seconds) {
  std::lock_guard<std::mutex> lock(mu_);
  ++s_.applies;
  s_.last_apply_seconds = seconds;
}

void Metrics::AddError() {
  std::lock_guard<std::mutex> lock(mu_);
  ++s_.errors;
}

void Metrics::AddCheck(bool in_sync) {
  std::lock_guard<std::mutex> lock(mu_);
  ++s_.drift_checks;
  s_.in_sync = in_sync;
}

void Metrics::AddRepair(const std::string& kind) {
  std::lock_guard<std::mutex> lock(mu_);
  ++s_.repairs[kind];
}

void Metrics::AddMembershipUpdate() {
  std::lock_guard<std::mutex> lock(mu_);
  ++s_.membership_updates;
}

void Metrics::SetSwarmNodes(int64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  s_.swarm_nodes = n;
}

MetricsSnapshot Metrics::Snapshot() const {
  std::lock_guard<std::mutex> lock(mu_);
  return s_;
}

std::string RenderPrometheus(const MetricsSnapshot& s) {
  std::string out;
  auto metric = [&](const char* name, const char* type, const char* help) {
    out += fmt::format("# HELP swarmwall_{} {}\n# TYPE swarmwall_{} {}\n", name, help, name, type);
  };
  metric("up", "gauge", "1 while the agent runs");
  out += "swarmwall_up 1\n";
  metric("in_sync", "gauge", "1 when the last check found the kernel as the policy says");
  out += fmt::format("swarmwall_in_sync {}\n", s.in_sync ? 1 : 0);
  metric("applies_total", "counter", "Applies that wrote to the kernel (the first apply included)");
  out += fmt::format("swarmwall_applies_total {}\n", s.applies);
  metric("repairs_total", "counter", "Drift repairs, by what was found");
  if (s.repairs.empty()) out += "swarmwall_repairs_total{kind=\"none\"} 0\n";
  for (const auto& [kind, n] : s.repairs)
    out += fmt::format("swarmwall_repairs_total{{kind=\"{}\"}} {}\n", kind, n);
  metric("last_apply_duration_seconds", "gauge", "Duration of the last apply or repair");
  out += fmt::format("swarmwall_last_apply_duration_seconds {:.6f}\n", s.last_apply_seconds);
  metric("errors_total", "counter", "Failed applies, repairs and reads, and rejected policies");
  out += fmt::format("swarmwall_errors_total {}\n", s.errors);
  metric("drift_checks_total", "counter", "Comparisons of the kernel with the policy");
  out += fmt::format("swarmwall_drift_checks_total {}\n", s.drift_checks);
  metric("membership_updates_total", "counter",
         "Swarm membership changes (nodes: auto) written to the kernel: set entries in place, or rules");
  out += fmt::format("swarmwall_membership_updates_total {}\n", s.membership_updates);
  if (s.swarm_nodes >= 0) {
    metric("swarm_nodes", "gauge", "Nodes in the Swarm's node list as last read (nodes: auto)");
    out += fmt::format("swarmwall_swarm_nodes {}\n", s.swarm_nodes);
  }
  return out;
}

}  // namespace swarmwall::agent
