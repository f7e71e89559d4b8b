#include "agent/metrics.h"

#include <chrono>

#include <fmt/format.h>

namespace swarmwall::agent {
namespace {

// A label value as the exposition format wants it (an interface name may
// hold a quote or a backslash).
std::string LabelValue(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

}  // namespace

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
  s_.last_check_unix =
      std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
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

void Metrics::SetPolicyValid(bool valid) {
  std::lock_guard<std::mutex> lock(mu_);
  s_.policy_valid = valid;
}

void Metrics::SetControlPorts(std::vector<apply::ExposedControlPort> ports) {
  std::lock_guard<std::mutex> lock(mu_);
  s_.control_ports = std::move(ports);
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
  metric("policy_valid", "gauge",
         "1 when the policy file last read was valid; 0 while a reload is rejected (the last valid "
         "policy's rules stay)");
  out += fmt::format("swarmwall_policy_valid {}\n", s.policy_valid ? 1 : 0);
  if (s.last_check_unix > 0) {
    metric("last_check_timestamp_seconds", "gauge", "When the last comparison of the kernel with the policy ended");
    out += fmt::format("swarmwall_last_check_timestamp_seconds {:.3f}\n", s.last_check_unix);
  }
  if (s.control_ports) {
    metric("control_ports_exposed", "gauge",
           "Swarm and Docker API ports (2375, 2376, 2377, 4789, 7946) an address of the world reaches "
           "on this host by its rules (family, interface and protocol counted apart)");
    out += fmt::format("swarmwall_control_ports_exposed {}\n", s.control_ports->size());
    metric("control_port_exposed", "gauge", "1 for each Swarm or Docker API port the world reaches here");
    for (const auto& p : *s.control_ports)
      out += fmt::format("swarmwall_control_port_exposed{{family=\"{}\",interface=\"{}\",protocol=\"{}\","
                         "port=\"{}\"}} 1\n",
                         p.family, LabelValue(p.interface), p.protocol, p.port);
  }
  if (s.swarm_nodes >= 0) {
    metric("swarm_nodes", "gauge", "Nodes in the Swarm's node list as last read (nodes: auto)");
    out += fmt::format("swarmwall_swarm_nodes {}\n", s.swarm_nodes);
  }
  return out;
}

}  // namespace swarmwall::agent
