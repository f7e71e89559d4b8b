#include "docker/swarm.h"

namespace swarmwall::docker {

// Placeholder until the Engine API calls are written.
std::optional<std::string> LocalNodeId(const Engine&, std::string& error) {
  error = "not implemented";
  return std::nullopt;
}
std::optional<SwarmNode> InspectNode(const Engine&, const std::string&, std::string& error) {
  error = "not implemented";
  return std::nullopt;
}
std::optional<std::vector<SwarmNode>> ListNodes(const Engine&, std::string& error) {
  error = "not implemented";
  return std::nullopt;
}
bool SetAvailability(const Engine&, const std::string&, const std::string&, std::string& error) {
  error = "not implemented";
  return false;
}
bool WaitNodeEmpty(const Engine&, const std::string&, std::chrono::seconds, std::string& error) {
  error = "not implemented";
  return false;
}

}  // namespace swarmwall::docker
