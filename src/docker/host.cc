#include "docker/host.h"

#include <cctype>
#include <cstdlib>

namespace swarmwall::docker {
namespace {

bool AllDigits(const std::string& s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

// "HOST[:PORT][/path]" after "tcp://".
std::optional<Endpoint> ParseTcp(const std::string& value, const std::string& rest, bool tls,
                                 std::string& error) {
  Endpoint e;
  e.kind = Endpoint::Kind::kTcp;
  std::string authority = rest;
  if (auto slash = rest.find('/'); slash != std::string::npos) {
    authority = rest.substr(0, slash);
    e.base_path = rest.substr(slash);
    while (!e.base_path.empty() && e.base_path.back() == '/') e.base_path.pop_back();
  }
  if (authority.find_first_of("?#@") != std::string::npos) {
    error = "DOCKER_HOST \"" + value + "\": user info, query or fragment not supported";
    return std::nullopt;
  }
  std::string port;
  if (authority.starts_with("[")) {  // [IPv6]:port
    auto close = authority.find(']');
    if (close == std::string::npos) {
      error = "DOCKER_HOST \"" + value + "\": missing ']' after an IPv6 address";
      return std::nullopt;
    }
    e.host = authority.substr(1, close - 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after[0] != ':') {
        error = "DOCKER_HOST \"" + value + "\": expected ':PORT' after ']'";
        return std::nullopt;
      }
      port = after.substr(1);
      if (port.empty()) {
        error = "DOCKER_HOST \"" + value + "\": empty port";
        return std::nullopt;
      }
    }
  } else {
    auto colon = authority.find(':');
    if (colon != std::string::npos && authority.find(':', colon + 1) != std::string::npos) {
      error = "DOCKER_HOST \"" + value + "\": an IPv6 address needs brackets, as in tcp://[2001:db8::1]:2376";
      return std::nullopt;
    }
    e.host = authority.substr(0, colon);
    if (colon != std::string::npos) {
      port = authority.substr(colon + 1);
      if (port.empty()) {
        error = "DOCKER_HOST \"" + value + "\": empty port";
        return std::nullopt;
      }
    }
  }
  if (e.host.empty()) e.host = "localhost";  // as the docker CLI: tcp://:2375
  if (port.empty()) {
    e.port = tls ? 2376 : 2375;
  } else if (!AllDigits(port) || port.size() > 5 || std::stoi(port) < 1 || std::stoi(port) > 65535) {
    error = "DOCKER_HOST \"" + value + "\": invalid port \"" + port + "\"";
    return std::nullopt;
  } else {
    e.port = std::stoi(port);
  }
  return e;
}

}  // namespace

std::string GetEnv(const std::string& name) {
  const char* v = std::getenv(name.c_str());
  return v ? v : "";
}

TlsOptions TlsFromEnv(const EnvLookup& env) {
  TlsOptions t;
  t.verify = !env("DOCKER_TLS_VERIFY").empty();
  t.enabled = t.verify || !env("DOCKER_TLS").empty();
  std::string dir = env("DOCKER_CERT_PATH");
  if (dir.empty()) dir = env("DOCKER_CONFIG");
  if (dir.empty()) dir = env("HOME") + "/.docker";
  while (dir.size() > 1 && dir.back() == '/') dir.pop_back();
  t.ca = dir + "/ca.pem";
  t.cert = dir + "/cert.pem";
  t.key = dir + "/key.pem";
  return t;
}

std::optional<Endpoint> ParseDockerHost(const std::string& raw, bool tls, std::string& error) {
  std::string value = raw;
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.pop_back();
  while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.erase(0, 1);
  if (value.empty()) value = kDefaultDockerHost;
  auto sep = value.find("://");
  if (sep == std::string::npos) return ParseTcp(raw, value, tls, error);  // "HOST:PORT" means tcp
  std::string scheme = value.substr(0, sep);
  std::string rest = value.substr(sep + 3);
  for (char& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme == "unix") {
    if (rest.empty()) {
      error = "DOCKER_HOST \"" + raw + "\": no socket path after unix://";
      return std::nullopt;
    }
    Endpoint e;
    e.socket = rest;
    return e;
  }
  if (scheme == "tcp") return ParseTcp(raw, rest, tls, error);
  if (scheme == "ssh") {
    error = "DOCKER_HOST \"" + raw +
            "\": ssh:// is not supported; use tcp:// with TLS (DOCKER_TLS_VERIFY, DOCKER_CERT_PATH), "
            "or forward the remote socket (ssh -L /tmp/docker.sock:/var/run/docker.sock) and use unix://";
    return std::nullopt;
  }
  error = "DOCKER_HOST \"" + raw + "\": unsupported scheme \"" + scheme + "://\" (use unix:// or tcp://)";
  return std::nullopt;
}

std::string EndpointText(const Endpoint& e) {
  if (e.kind == Endpoint::Kind::kUnix) return "unix://" + e.socket;
  std::string host = e.host.find(':') != std::string::npos ? "[" + e.host + "]" : e.host;
  return "tcp://" + host + ":" + std::to_string(e.port) + e.base_path;
}

}  // namespace swarmwall::docker
