// A tiny HTTP/1.0 responder for the metrics, on a TCP address
// ("127.0.0.1:9469", "[::1]:9469") or a unix socket ("unix:/run/x.sock"),
// served from its own thread: GET /metrics (and /) answers the Prometheus
// text, GET /healthz 200 when the kernel matched the policy at the last
// check, 503 otherwise. One request per connection; nothing else.
//
// One poll() loop over non-blocking sockets, so no client can hold the
// others up: each connection has a deadline for its whole request and
// answer (not per read), and at most `max_connections` are open at once
// (a new one beyond that closes the oldest, so idle connections cannot
// starve a probe).
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "agent/metrics.h"

namespace swarmwall::agent {

struct MetricsServerLimits {
  std::chrono::milliseconds deadline{3000};  // accept -> answer sent
  size_t max_connections = 128;
};

class MetricsServer {
 public:
  // Listens on ADDRESS; nullptr with ERROR when it cannot.
  static std::unique_ptr<MetricsServer> Start(const std::string& address, const Metrics& metrics,
                                              std::string& error, MetricsServerLimits limits = {});
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

 private:
  MetricsServer(int listen_fd, int stop_fd, const Metrics& metrics, std::string unix_path,
                MetricsServerLimits limits);
  void Serve();

  int listen_fd_, stop_fd_;
  const Metrics& metrics_;
  std::string unix_path_;
  unsigned long unix_ino_ = 0;  // the socket file's inode, removed at the end only if still ours
  MetricsServerLimits limits_;
  std::thread thread_;
};

// The response to REQUEST (the bytes read up to the blank line).
std::string HttpAnswer(const std::string& request, const MetricsSnapshot& s);

// For unix:PATH: "" when PATH is free (absent, or a socket nobody listens
// on, which is removed), else why it cannot be taken (a regular file, a
// directory, a socket another process listens on...). Never removes
// anything but a stale socket.
std::string ClaimUnixSocketPath(const std::string& path);

}  // namespace swarmwall::agent
