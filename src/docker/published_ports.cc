#include "docker/published_ports.h"

#include <algorithm>
#include <set>

namespace swarmwall::docker {
namespace {

using nlohmann::json;

const json* Field(const json& o, const char* key) {
  if (!o.is_object()) return nullptr;
  auto it = o.find(key);
  return it == o.end() ? nullptr : &*it;
}

std::string Text(const json& o, const char* key) {
  const json* f = Field(o, key);
  return f && f->is_string() ? f->get<std::string>() : std::string();
}

std::optional<uint16_t> Port(const json& o, const char* key) {
  const json* f = Field(o, key);
  if (!f || !f->is_number_integer()) return std::nullopt;
  auto v = f->get<int64_t>();
  if (v < 1 || v > 65535) return std::nullopt;
  return static_cast<uint16_t>(v);
}

bool KnownProtocol(const std::string& p) { return p == "tcp" || p == "udp" || p == "sctp"; }

// Labels as a map of strings; anything else in it is left out.
std::map<std::string, std::string> Labels(const json* labels) {
  std::map<std::string, std::string> out;
  if (!labels || !labels->is_object()) return out;
  for (const auto& [k, v] : labels->items())
    if (v.is_string() && !k.empty()) out[k] = v.get<std::string>();
  return out;
}

void Unique(std::vector<PublishedPort>& ports) {
  std::vector<PublishedPort> out;
  for (auto& p : ports)
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(std::move(p));
  ports = std::move(out);
}

}  // namespace

std::vector<PublishedPort> ContainerPorts(const json& containers, std::vector<std::string>& skipped) {
  std::vector<PublishedPort> out;
  if (!containers.is_array()) {
    skipped.push_back("the container list is not a JSON array");
    return out;
  }
  for (const auto& c : containers) {
    const json* names = Field(c, "Names");
    std::string name;
    if (names && names->is_array() && !names->empty() && names->front().is_string())
      name = names->front().get<std::string>();
    if (!name.empty() && name[0] == '/') name.erase(0, 1);
    if (name.empty()) {
      skipped.push_back("a container without a name");
      continue;
    }
    auto labels = Labels(Field(c, "Labels"));
    std::string service;
    if (auto it = labels.find("com.docker.swarm.service.name"); it != labels.end()) service = it->second;
    const json* ports = Field(c, "Ports");
    if (!ports || !ports->is_array()) continue;
    for (const auto& p : *ports) {
      const json* pub = Field(p, "PublicPort");
      if (!pub) continue;  // exposed, not published
      auto port = Port(p, "PublicPort");
      std::string protocol = Text(p, "Type");
      if (!port || !KnownProtocol(protocol)) {
        skipped.push_back("container " + name + ": a port binding that is not well formed");
        continue;
      }
      out.push_back({protocol, *port, name, service, labels});
    }
  }
  Unique(out);
  return out;
}

std::vector<PublishedPort> ServicePorts(const json& services, std::vector<PublishedPort>& ports,
                                        std::vector<std::string>& skipped) {
  std::vector<PublishedPort> out;
  if (!services.is_array()) {
    skipped.push_back("the service list is not a JSON array");
    return out;
  }
  for (const auto& s : services) {
    const json* spec = Field(s, "Spec");
    std::string name = spec ? Text(*spec, "Name") : "";
    if (name.empty()) {
      skipped.push_back("a service without a name");
      continue;
    }
    auto labels = Labels(spec ? Field(*spec, "Labels") : nullptr);
    for (auto& p : ports)
      if (p.service == name)
        for (const auto& [k, v] : labels) p.labels.emplace(k, v);
    const json* endpoint = Field(s, "Endpoint");
    const json* list = endpoint ? Field(*endpoint, "Ports") : nullptr;
    if (!list || !list->is_array()) continue;
    for (const auto& p : *list) {
      if (Text(p, "PublishMode") == "host") continue;  // its tasks' containers have it
      if (!Field(p, "PublishedPort")) continue;
      auto port = Port(p, "PublishedPort");
      std::string protocol = Text(p, "Protocol");
      if (!port || !KnownProtocol(protocol)) {
        skipped.push_back("service " + name + ": a published port that is not well formed");
        continue;
      }
      out.push_back({protocol, *port, "", name, labels});
    }
  }
  Unique(out);
  return out;
}

std::optional<std::vector<PublishedPort>> ReadPublishedPorts(const Engine& engine, std::string& error) {
  Response r = engine.Get("/containers/json");
  if (!r.ok()) {
    error = engine.Describe(r);
    return std::nullopt;
  }
  json containers = json::parse(r.body, nullptr, false);
  if (containers.is_discarded()) {
    error = "Docker daemon at " + engine.host() + ": the container list is not JSON";
    return std::nullopt;
  }
  std::vector<std::string> skipped;
  auto ports = ContainerPorts(containers, skipped);
  // A worker (or a daemon outside a Swarm) answers 503: no services.
  Response s = engine.Get("/services");
  if (s.ok()) {
    json services = json::parse(s.body, nullptr, false);
    auto ingress = ServicePorts(services, ports, skipped);
    ports.insert(ports.end(), ingress.begin(), ingress.end());
  }
  return ports;
}

}  // namespace swarmwall::docker
