#include "docker/daemon_info.h"

#include <nlohmann/json.hpp>

namespace swarmwall::docker {

std::optional<DaemonFirewall> ParseInfoFirewall(const std::string& body, std::string& error) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    error = "the daemon's answer to GET /info is not a JSON object";
    return std::nullopt;
  }
  DaemonFirewall out;
  // Absent (before Docker 29) or without a driver: iptables, the only backend then.
  auto fw = j.find("FirewallBackend");
  if (fw != j.end() && fw->is_object())
    if (auto d = fw->find("Driver"); d != fw->end() && d->is_string() && !d->get<std::string>().empty())
      out.driver = d->get<std::string>();
  return out;
}

std::optional<bool> ParseNetworksIpv6(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_array()) return std::nullopt;
  for (const auto& n : j)
    if (n.is_object())
      if (auto v = n.find("EnableIPv6"); v != n.end() && v->is_boolean() && v->get<bool>()) return true;
  return false;
}

}  // namespace swarmwall::docker
