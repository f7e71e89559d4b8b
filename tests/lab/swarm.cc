// Docker Swarm on lab nodes (see swarm.h).
#include "swarm.h"

#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

namespace swarmwall::lab {
namespace {

using namespace std::chrono_literals;

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ' || s.back() == '\r')) s.pop_back();
  std::size_t i = 0;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\n')) ++i;
  return s.substr(i);
}

std::string Must(DockerNode& node, const std::vector<std::string>& args) {
  ProcessResult r = node.Docker(args);
  if (!r.ok()) {
    std::string cmd;
    for (const auto& a : args) cmd += " " + a;
    throw std::runtime_error(fmt::format("lab: docker{} on {} failed (exit {}): {}\n{}", cmd, node.host().name(),
                                         r.exit_code, Trimmed(r.err + r.out), node.FailureReport()));
  }
  return r.out;
}

std::vector<std::string> Split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::istringstream in(line);
  for (std::string f; std::getline(in, f, sep);) out.push_back(f);
  return out;
}

}  // namespace

std::string SwarmInit(DockerNode& manager, const std::string& advertise) {
  Must(manager, {"swarm", "init", "--advertise-addr", advertise});
  return Trimmed(Must(manager, {"swarm", "join-token", "-q", "worker"}));
}

void SwarmJoin(DockerNode& node, const std::string& token, const std::string& manager_addr,
               const std::string& advertise) {
  Must(node, {"swarm", "join", "--advertise-addr", advertise, "--token", token, manager_addr + ":2377"});
}

std::vector<SwarmNodeInfo> SwarmNodes(DockerNode& manager) {
  ProcessResult r =
      manager.Docker({"node", "ls", "--format", "{{.Hostname}}|{{.Status}}|{{.Availability}}|{{.ManagerStatus}}"});
  std::vector<SwarmNodeInfo> out;
  if (!r.ok()) return out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    auto f = Split(line, '|');
    if (f.size() < 3) continue;
    out.push_back({f[0], f[1], f[2], f.size() > 3 ? f[3] : ""});
  }
  return out;
}

bool WaitNodesReady(DockerNode& manager, std::size_t count, std::chrono::seconds timeout, std::string* report) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  while (true) {
    auto nodes = SwarmNodes(manager);
    std::size_t ready = 0;
    last.clear();
    for (const auto& n : nodes) {
      last += fmt::format("{} {} {} {}\n", n.hostname, n.status, n.availability, n.manager);
      if (n.status == "Ready") ++ready;
    }
    if (nodes.size() == count && ready == count) break;
    if (std::chrono::steady_clock::now() > deadline) {
      if (report) *report = "nodes not all Ready:\n" + last;
      return false;
    }
    std::this_thread::sleep_for(250ms);
  }
  if (report) *report = last;
  return true;
}

void CreateOverlay(DockerNode& manager, const std::string& name, const std::string& subnet) {
  Must(manager, {"network", "create", "-d", "overlay", "--attachable", "--subnet", subnet, name});
}

void CreateService(DockerNode& manager, const std::string& name, const std::vector<std::string>& options,
                   const std::string& image, const std::vector<std::string>& command) {
  std::vector<std::string> args{"service", "create", "--detach", "--no-resolve-image", "--name", name};
  args.insert(args.end(), options.begin(), options.end());
  args.push_back(image);
  args.insert(args.end(), command.begin(), command.end());
  Must(manager, args);
}

std::vector<TaskInfo> ServiceTasks(DockerNode& manager, const std::string& service) {
  ProcessResult r = manager.Docker(
      {"service", "ps", "--no-trunc", "--format", "{{.Node}}|{{.DesiredState}}|{{.CurrentState}}", service});
  std::vector<TaskInfo> out;
  if (!r.ok()) return out;
  std::istringstream in(r.out);
  for (std::string line; std::getline(in, line);) {
    auto f = Split(line, '|');
    if (f.size() == 3) out.push_back({f[0], f[1], f[2]});
  }
  return out;
}

int RunningTasks(DockerNode& manager, const std::string& service, const std::string& node) {
  int n = 0;
  for (const auto& t : ServiceTasks(manager, service)) {
    if (t.desired_state == "Running" && t.current_state.starts_with("Running") && (node.empty() || t.node == node))
      ++n;
  }
  return n;
}

bool WaitRunningTasks(DockerNode& manager, const std::string& service, int count, std::chrono::seconds timeout,
                      const std::string& node) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (RunningTasks(manager, service, node) < count) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(250ms);
  }
  return true;
}

std::string ContainerIpOn(DockerNode& node, const std::string& container, const std::string& network) {
  ProcessResult r = node.Docker(
      {"inspect", "--format", fmt::format("{{{{with index .NetworkSettings.Networks \"{}\"}}}}{{{{.IPAddress}}}}{{{{end}}}}", network),
       container});
  return r.ok() ? Trimmed(r.out) : "";
}

bool ContainerPing(DockerNode& node, const std::string& container, const std::string& ip) {
  for (int i = 0; i < 3; ++i) {
    if (node.Docker({"exec", container, "ping", "-c", "1", "-W", "2", ip}).ok()) return true;
  }
  return false;
}

}  // namespace swarmwall::lab
