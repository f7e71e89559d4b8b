#include "docker/engine.h"

#include <sys/stat.h>
#include <unistd.h>

#include "docker/libcurl.h"

namespace swarmwall::docker {
namespace {

size_t Collect(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

bool FileExists(const std::string& path) {
  struct stat st;
  return !path.empty() && stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string UnixConnectError(const std::string& socket) {
  struct stat st;
  if (stat(socket.c_str(), &st) != 0) return "no socket " + socket + " (is dockerd running?)";
  if (!S_ISSOCK(st.st_mode)) return socket + " is not a socket";
  if (access(socket.c_str(), R_OK | W_OK) != 0)
    return "permission denied on " + socket + " (run as root or as a member of its group)";
  return "connection refused on " + socket + " (dockerd is not listening)";
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

std::string SocketFromHost(const std::string& host) {
  const std::string prefix = "unix://";
  if (host.rfind(prefix, 0) == 0) return host.substr(prefix.size());
  return "";
}

std::string DaemonMessage(const std::string& body) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("message") && j["message"].is_string())
    return j["message"].get<std::string>();
  return Trim(body);
}

Engine::Engine(std::string host) : Engine(std::move(host), TlsFromEnv()) {}

Engine::Engine(std::string host, TlsOptions tls) : tls_(std::move(tls)) {
  if (host.empty()) host = GetEnv("DOCKER_HOST");
  if (auto e = ParseDockerHost(host, tls_.enabled, config_error_)) {
    endpoint_ = *e;
    host_ = EndpointText(endpoint_);
    if (endpoint_.kind == Endpoint::Kind::kTcp && tls_.enabled) host_ += tls_.verify ? " (TLS)" : " (TLS, unverified)";
  } else {
    endpoint_.socket.clear();
    host_ = host;
  }
}

Response Engine::Request(const std::string& method, const std::string& path,
                         const std::string* body) const {
  Response response;
  if (!config_error_.empty()) {
    response.error = config_error_;
    return response;
  }
  const LibCurl* lib = LoadLibCurl(response.error);
  if (!lib) return response;
  CURL* curl = lib->easy_init();
  if (!curl) {
    response.error = "curl_easy_init failed";
    return response;
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  std::string url;
  if (endpoint_.kind == Endpoint::Kind::kUnix) {
    url = "http://localhost" + path;
    lib->easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, endpoint_.socket.c_str());
  } else {
    const std::string& h = endpoint_.host;
    url = std::string(tls_.enabled ? "https://" : "http://") +
          (h.find(':') != std::string::npos ? "[" + h + "]" : h) + ":" + std::to_string(endpoint_.port) +
          endpoint_.base_path + path;
    if (tls_.enabled) {
      lib->easy_setopt(curl, CURLOPT_SSLVERSION, static_cast<long>(CURL_SSLVERSION_TLSv1_2));
      lib->easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, tls_.verify ? 1L : 0L);
      lib->easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, tls_.verify ? 2L : 0L);
      if (FileExists(tls_.ca)) lib->easy_setopt(curl, CURLOPT_CAINFO, tls_.ca.c_str());
      if (FileExists(tls_.cert)) lib->easy_setopt(curl, CURLOPT_SSLCERT, tls_.cert.c_str());
      if (FileExists(tls_.key)) lib->easy_setopt(curl, CURLOPT_SSLKEY, tls_.key.c_str());
    }
    lib->easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
  }
  lib->easy_setopt(curl, CURLOPT_URL, url.c_str());
  lib->easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  lib->easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  lib->easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  lib->easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
  lib->easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  lib->easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_slist* headers = nullptr;
  if (body) {
    headers = lib->slist_append(headers, "Content-Type: application/json");
    lib->easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    lib->easy_setopt(curl, CURLOPT_POSTFIELDS, body->c_str());
    lib->easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
  }
  CURLcode rc = lib->easy_perform(curl);
  if (rc != CURLE_OK) {
    response.error = errbuf[0] ? errbuf : lib->easy_strerror(rc);
    // curl names "localhost port 80" for a socket it could not open.
    if (rc == CURLE_COULDNT_CONNECT && endpoint_.kind == Endpoint::Kind::kUnix)
      response.error = UnixConnectError(endpoint_.socket);
    response.body.clear();
  } else {
    lib->easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  }
  if (headers) lib->slist_free_all(headers);
  lib->easy_cleanup(curl);
  return response;
}

Response Engine::Get(const std::string& path) const { return Request("GET", path, nullptr); }

Response Engine::Post(const std::string& path, const std::string& json_body) const {
  return Request("POST", path, &json_body);
}

std::optional<nlohmann::json> Engine::Version() const {
  Response r = Get("/version");
  if (!r.ok()) return std::nullopt;
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  return j;
}

std::string Engine::Describe(const Response& r) const {
  if (!config_error_.empty()) return config_error_;
  if (r.status == 0) {
    std::string text = "cannot reach the Docker daemon at " + host_ + ": " + r.error;
    if (tls_.enabled && (r.error.find("wrong version number") != std::string::npos ||
                         r.error.find("packet length too long") != std::string::npos))
      text += " (does this port speak TLS? unset DOCKER_TLS_VERIFY and DOCKER_TLS for a plain tcp:// daemon)";
    else if (tls_.enabled && (r.error.find("alert bad certificate") != std::string::npos ||
                              r.error.find("certificate required") != std::string::npos ||
                              r.error.find("alert unknown ca") != std::string::npos))
      text += " (the daemon refused the client certificate: " + tls_.cert + " and " + tls_.key +
              " must exist and be signed by the CA the daemon trusts)";
    else if (tls_.verify && (r.error.find("SSL certificate problem") != std::string::npos ||
                             r.error.find("SSL: no alternative certificate subject name") != std::string::npos ||
                             r.error.find("does not match target host name") != std::string::npos))
      text += " (the daemon's certificate is not valid for this host under " + tls_.ca + ")";
    return text;
  }
  std::string message = DaemonMessage(r.body);
  std::string text = "Docker daemon at " + host_ + ": HTTP " + std::to_string(r.status);
  if (!message.empty()) text += ": " + message;
  if (r.status == 400 && message.find("HTTP request to an HTTPS server") != std::string::npos)
    text += " (the daemon wants TLS: set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH to a folder with "
            "ca.pem, cert.pem and key.pem)";
  return text;
}

}  // namespace swarmwall::docker
