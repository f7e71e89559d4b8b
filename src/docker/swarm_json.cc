#include "base/json_text.h"
#include "docker/swarm_json.h"

#include <array>
#include <cstdio>

namespace swarmwall::docker {
namespace {

using nlohmann::json;

// json.value() throws on a type mismatch; the API is not ours to trust.
std::string Str(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

const json& Obj(const json& j, const char* key) {
  static const json empty = json::object();
  if (!j.is_object()) return empty;
  auto it = j.find(key);
  return it != j.end() && it->is_object() ? *it : empty;
}

std::optional<json> Parse(const std::string& body, const char* what, std::string& error) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded()) {
    error = std::string("the daemon's answer to ") + what + " is not JSON";
    return std::nullopt;
  }
  return j;
}

}  // namespace

std::optional<LocalSwarm> ParseInfoSwarm(const std::string& body, std::string& error) {
  auto j = Parse(body, "GET /info", error);
  if (!j) return std::nullopt;
  if (!j->is_object() || !j->contains("Swarm") || !(*j)["Swarm"].is_object()) {
    error = "GET /info has no Swarm section";
    return std::nullopt;
  }
  const json& s = (*j)["Swarm"];
  LocalSwarm out;
  out.node_id = Str(s, "NodeID");
  out.local_node_state = Str(s, "LocalNodeState");
  out.error = Str(s, "Error");
  if (auto it = s.find("ControlAvailable"); it != s.end() && it->is_boolean())
    out.control_available = it->get<bool>();
  return out;
}

std::optional<std::string> NodeIdOf(const LocalSwarm& local, const std::string& host, std::string& error) {
  const std::string& state = local.local_node_state;
  if (state == "active" && !local.node_id.empty()) return local.node_id;
  const std::string daemon = "the Docker daemon at " + host;
  if (state == "inactive" || state.empty())
    error = daemon + " is not in a swarm (Swarm.LocalNodeState is \"" +
            (state.empty() ? std::string("unknown") : state) + "\"): there is no node to drain";
  else if (state == "pending")
    error = daemon + " is still joining its swarm (Swarm.LocalNodeState is \"pending\"); try again";
  else if (state == "locked")
    error = daemon + " belongs to a locked swarm (docker swarm unlock)";
  else if (state == "error")
    error = daemon + " has a swarm in error: " + (local.error.empty() ? "no detail" : local.error);
  else
    error = daemon + " has no swarm node id (Swarm.LocalNodeState is \"" + state + "\")";
  return std::nullopt;
}

std::optional<SwarmNode> ParseNode(const json& j, std::string& error) {
  if (!j.is_object() || Str(j, "ID").empty()) {
    error = "a node in the daemon's answer has no ID";
    return std::nullopt;
  }
  SwarmNode n;
  n.id = Str(j, "ID");
  const json& spec = Obj(j, "Spec");
  n.role = Str(spec, "Role");
  n.availability = Str(spec, "Availability");
  n.hostname = Str(Obj(j, "Description"), "Hostname");
  const json& status = Obj(j, "Status");
  n.state = Str(status, "State");
  n.addr = Str(status, "Addr");
  n.manager_addr = Str(Obj(j, "ManagerStatus"), "Addr");
  for (const auto& [key, value] : Obj(spec, "Labels").items())
    n.labels[key] = value.is_string() ? value.get<std::string>() : "";
  return n;
}

std::optional<SwarmNode> ParseNodeBody(const std::string& body, std::string& error) {
  auto j = Parse(body, "GET /nodes/ID", error);
  if (!j) return std::nullopt;
  return ParseNode(*j, error);
}

std::optional<std::vector<SwarmNode>> ParseNodeList(const std::string& body, std::string& error) {
  auto j = Parse(body, "GET /nodes", error);
  if (!j) return std::nullopt;
  if (!j->is_array()) {
    error = "GET /nodes did not answer a list";
    return std::nullopt;
  }
  std::vector<SwarmNode> nodes;
  for (const json& item : *j) {
    auto n = ParseNode(item, error);
    if (!n) return std::nullopt;
    nodes.push_back(std::move(*n));
  }
  return nodes;
}

std::optional<NodeForUpdate> ParseNodeForUpdate(const std::string& body, std::string& error) {
  auto j = Parse(body, "GET /nodes/ID", error);
  if (!j) return std::nullopt;
  const json& version = Obj(*j, "Version");
  auto index = version.find("Index");
  if (index == version.end() || !index->is_number_unsigned()) {
    error = "GET /nodes/ID has no Version.Index";
    return std::nullopt;
  }
  if (!j->contains("Spec") || !(*j)["Spec"].is_object()) {
    error = "GET /nodes/ID has no Spec";
    return std::nullopt;
  }
  return NodeForUpdate{index->get<uint64_t>(), (*j)["Spec"]};
}

std::optional<std::vector<SwarmTask>> ParseTasks(const std::string& body, std::string& error) {
  auto j = Parse(body, "GET /tasks", error);
  if (!j) return std::nullopt;
  if (!j->is_array()) {
    error = "GET /tasks did not answer a list";
    return std::nullopt;
  }
  std::vector<SwarmTask> tasks;
  for (const json& item : *j) {
    SwarmTask t;
    t.id = Str(item, "ID");
    t.service_id = Str(item, "ServiceID");
    t.node_id = Str(item, "NodeID");
    if (auto it = item.find("Slot"); it != item.end() && it->is_number_integer()) t.slot = it->get<int>();
    t.state = Str(Obj(item, "Status"), "State");
    t.desired_state = Str(item, "DesiredState");
    tasks.push_back(std::move(t));
  }
  return tasks;
}

bool TaskIsActive(const SwarmTask& t) {
  // swarmkit's TaskState, in order; "complete" and everything after it are
  // terminal (complete, shutdown, failed, rejected, remove, orphaned).
  static constexpr std::array<const char*, 8> kBeforeTerminal = {
      "new", "pending", "assigned", "accepted", "preparing", "ready", "starting", "running"};
  for (const char* s : kBeforeTerminal)
    if (t.state == s) return true;
  return t.desired_state == "running";
}

std::map<std::string, std::string> ParseServiceNames(const std::string& body) {
  std::map<std::string, std::string> names;
  auto j = json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return names;
  for (const json& s : j) {
    std::string id = Str(s, "ID"), name = Str(Obj(s, "Spec"), "Name");
    if (!id.empty() && !name.empty()) names[id] = name;
  }
  return names;
}

std::string TaskLabel(const SwarmTask& t, const std::map<std::string, std::string>& names) {
  auto it = names.find(t.service_id);
  std::string service = it != names.end() ? it->second : t.service_id.substr(0, 12);
  std::string label = service + "." + (t.slot > 0 ? std::to_string(t.slot) : t.node_id);
  return label + " (" + (t.state.empty() ? "no state" : t.state) + ", desired " +
         (t.desired_state.empty() ? "unknown" : t.desired_state) + ")";
}

std::string TasksOfNodeQuery(const std::string& node_id) {
  std::string filters = JsonText(json{{"node", json::array({node_id})}});
  std::string out = "?filters=";
  for (unsigned char c : filters) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
        c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", c);
      out += hex;
    }
  }
  return out;
}

bool IsVersionConflict(long status, const std::string& body) {
  return status >= 400 && body.find("update out of sequence") != std::string::npos;
}

bool IsWorkerMessage(const std::string& message) {
  return message.find("Worker nodes") != std::string::npos;
}

}  // namespace swarmwall::docker
