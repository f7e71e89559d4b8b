#include "docker/engine.h"

#include <curl/curl.h>

#include <cstdlib>
#include <mutex>

namespace swarmwall::docker {
namespace {

size_t Collect(char* data, size_t size, size_t n, void* user) {
  static_cast<std::string*>(user)->append(data, size * n);
  return size * n;
}

void GlobalInit() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

std::string SocketFromHost(const std::string& host) {
  const std::string prefix = "unix://";
  if (host.rfind(prefix, 0) == 0) return host.substr(prefix.size());
  return "";
}

Engine::Engine(std::string host) {
  if (host.empty()) {
    const char* env = getenv("DOCKER_HOST");
    host = env && *env ? env : "unix:///var/run/docker.sock";
  }
  socket_ = SocketFromHost(host);
}

Response Engine::Request(const std::string& method, const std::string& path,
                         const std::string* body) const {
  Response response;
  if (socket_.empty()) {
    response.error = "only unix:// Docker hosts are supported";
    return response;
  }
  GlobalInit();
  CURL* curl = curl_easy_init();
  if (!curl) {
    response.error = "curl_easy_init failed";
    return response;
  }
  std::string url = "http://localhost" + path;
  curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, socket_.c_str());
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_slist* headers = nullptr;
  if (body) {
    headers = curl_slist_append(headers, "Content-Type: application/json");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body->c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body->size()));
  }
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) response.error = curl_easy_strerror(rc);
  else curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
  if (headers) curl_slist_free_all(headers);
  curl_easy_cleanup(curl);
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

}  // namespace swarmwall::docker
