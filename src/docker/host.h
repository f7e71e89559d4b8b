// Where a Docker Engine API lives and how to talk to it, read the way the
// docker CLI reads DOCKER_HOST, DOCKER_TLS, DOCKER_TLS_VERIFY and
// DOCKER_CERT_PATH: unix:///path, tcp://HOST[:PORT][/base], or HOST:PORT
// (tcp implied); the port defaults to 2375, or 2376 with TLS.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace swarmwall::docker {

inline constexpr const char* kDefaultDockerHost = "unix:///var/run/docker.sock";

struct TlsOptions {
  bool enabled = false;  // speak HTTPS on tcp:// hosts
  bool verify = false;   // check the daemon's certificate (DOCKER_TLS_VERIFY)
  std::string ca;        // CA bundle; used when the file exists
  std::string cert;      // client certificate; used when the file exists
  std::string key;       // client key; used when the file exists
};

struct Endpoint {
  enum class Kind { kUnix, kTcp };
  Kind kind = Kind::kUnix;
  std::string socket;     // kUnix: the socket's path
  std::string host;       // kTcp: name or address (IPv6 without brackets)
  int port = 0;           // kTcp
  std::string base_path;  // kTcp: "" or "/prefix" put before every API path
};

// Reads an environment variable; "" when unset. The default reads getenv.
using EnvLookup = std::function<std::string(const std::string&)>;
std::string GetEnv(const std::string& name);

// TLS as the docker CLI sets it from the environment: DOCKER_TLS_VERIFY
// (non-empty: TLS and verify), DOCKER_TLS (non-empty: TLS), the files
// ca.pem, cert.pem and key.pem in DOCKER_CERT_PATH, else $DOCKER_CONFIG,
// else $HOME/.docker.
TlsOptions TlsFromEnv(const EnvLookup& env = GetEnv);

// Parses a DOCKER_HOST value; "" means the default unix socket. TLS decides
// the default tcp port. nullopt with ERROR for an unsupported or malformed
// value (ssh://, fd://, a bad port, ...).
std::optional<Endpoint> ParseDockerHost(const std::string& value, bool tls, std::string& error);

// The endpoint written back as a DOCKER_HOST value, for messages:
// "unix:///var/run/docker.sock", "tcp://[2001:db8::1]:2376".
std::string EndpointText(const Endpoint& endpoint);

}  // namespace swarmwall::docker
