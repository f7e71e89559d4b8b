// A small client of the Docker Engine API, spoken with libcurl over the
// daemon's unix socket, plain TCP, or TCP with TLS, chosen as the docker CLI
// chooses (docker/host.h): DOCKER_HOST (default unix:///var/run/docker.sock),
// DOCKER_TLS_VERIFY, DOCKER_TLS, DOCKER_CERT_PATH. Paths are unversioned
// ("/info"): the daemon answers them with its own API version, which works
// with every Docker this project supports (20.10: API 1.41, 28.5: API 1.51).
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "docker/host.h"

namespace swarmwall::docker {

struct Response {
  long status = 0;         // HTTP status; 0 when the daemon could not be reached
  std::string body;
  std::string error;       // transport error (or a bad DOCKER_HOST)
  bool ok() const { return status >= 200 && status < 300; }
};

class Engine {
 public:
  // HOST as in DOCKER_HOST ("unix:///path", "tcp://manager:2376", "manager:2376").
  // Empty: $DOCKER_HOST or the default socket. TLS from the environment.
  explicit Engine(std::string host = "");
  Engine(std::string host, TlsOptions tls);

  // The unix socket path ("" for a tcp:// host or a bad DOCKER_HOST).
  const std::string& socket_path() const { return endpoint_.socket; }
  // The daemon as named in messages: "unix:///var/run/docker.sock",
  // "tcp://10.10.10.1:2376 (TLS)"; the raw value when it could not be parsed.
  const std::string& host() const { return host_; }
  const Endpoint& endpoint() const { return endpoint_; }
  const TlsOptions& tls() const { return tls_; }
  // Why the host could not be used ("" when it can).
  const std::string& config_error() const { return config_error_; }

  Response Get(const std::string& path) const;
  Response Post(const std::string& path, const std::string& json_body) const;
  // GET /version: {"Version": "28.5.2", "ApiVersion": ...}; nullopt if unreachable.
  std::optional<nlohmann::json> Version() const;

  // A failed RESPONSE in words, naming the daemon: "cannot reach the Docker
  // daemon at HOST: ..." or "Docker daemon at HOST: HTTP 404: <its message>".
  std::string Describe(const Response& response) const;

 private:
  Response Request(const std::string& method, const std::string& path,
                   const std::string* body) const;
  Endpoint endpoint_;
  TlsOptions tls_;
  std::string host_, config_error_;
};

// The unix socket path named by a DOCKER_HOST value ("" if not unix://).
std::string SocketFromHost(const std::string& host);

// The "message" of a Docker error body ({"message": "..."}); the body itself,
// trimmed, when it is not such JSON.
std::string DaemonMessage(const std::string& body);

}  // namespace swarmwall::docker
