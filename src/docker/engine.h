// A small client of the Docker Engine API, spoken over the daemon's unix
// socket with libcurl. The socket comes from DOCKER_HOST, as the docker CLI
// does (default unix:///var/run/docker.sock).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace swarmwall::docker {

struct Response {
  long status = 0;         // HTTP status; 0 when the daemon could not be reached
  std::string body;
  std::string error;       // transport error
  bool ok() const { return status >= 200 && status < 300; }
};

class Engine {
 public:
  // HOST as in DOCKER_HOST: "unix:///path". Empty: $DOCKER_HOST or the default.
  explicit Engine(std::string host = "");
  const std::string& socket_path() const { return socket_; }

  Response Get(const std::string& path) const;
  Response Post(const std::string& path, const std::string& json_body) const;
  // GET /version: {"Version": "28.5.2", "ApiVersion": ...}; nullopt if unreachable.
  std::optional<nlohmann::json> Version() const;

 private:
  Response Request(const std::string& method, const std::string& path,
                   const std::string* body) const;
  std::string socket_;
};

// The unix socket path named by a DOCKER_HOST value ("" if not unix://).
std::string SocketFromHost(const std::string& host);

}  // namespace swarmwall::docker
