// A tiny HTTP/1.0 responder for the metrics, on a TCP address
// ("127.0.0.1:9469", "[::1]:9469") or a unix socket ("unix:/run/x.sock"),
// served from its own thread: GET /metrics (and /) answers the Prometheus
// text, GET /healthz 200 when the kernel matched the policy at the last
// check, 503 otherwise. One request per connection; nothing else.
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "agent/metrics.h"

namespace swarmwall::agent {

class MetricsServer {
 public:
  // Listens on ADDRESS; nullptr with ERROR when it cannot.
  static std::unique_ptr<MetricsServer> Start(const std::string& address, const Metrics& metrics,
                                              std::string& error);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

 private:
  MetricsServer(int listen_fd, int stop_fd, const Metrics& metrics, std::string unix_path);
  void Serve();
  void Answer(int fd);

  int listen_fd_, stop_fd_;
  const Metrics& metrics_;
  std::string unix_path_;
  std::thread thread_;
};

// The response to REQUEST (the bytes read up to the blank line).
std::string HttpAnswer(const std::string& request, const MetricsSnapshot& s);

}  // namespace swarmwall::agent
