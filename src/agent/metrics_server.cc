#include "agent/metrics_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace swarmwall::agent {
namespace {

int ListenUnix(const std::string& path, std::string& error) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) {
    error = "unix socket path too long: " + path;
    return -1;
  }
  std::memcpy(sa.sun_path, path.data(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  unlink(path.c_str());
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(fd, 16) != 0) {
    error = fmt::format("cannot listen on unix:{}: {}", path, std::strerror(errno));
    if (fd >= 0) close(fd);
    return -1;
  }
  return fd;
}

int ListenTcp(const std::string& address, std::string& error) {
  std::string host, port;
  if (!address.empty() && address[0] == '[') {
    auto close_bracket = address.find(']');
    if (close_bracket == std::string::npos || address.size() < close_bracket + 3 ||
        address[close_bracket + 1] != ':') {
      error = "bad metrics address " + address + " (want HOST:PORT, [V6]:PORT or unix:PATH)";
      return -1;
    }
    host = address.substr(1, close_bracket - 1);
    port = address.substr(close_bracket + 2);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string::npos || colon + 1 == address.size()) {
      error = "bad metrics address " + address + " (want HOST:PORT, [V6]:PORT or unix:PATH)";
      return -1;
    }
    host = address.substr(0, colon);
    port = address.substr(colon + 1);
  }
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
  addrinfo* res = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &res); rc != 0) {
    error = fmt::format("bad metrics address {}: {}", address, gai_strerror(rc));
    return -1;
  }
  int fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, 16) != 0) {
    error = fmt::format("cannot listen on {}: {}", address, std::strerror(errno));
    if (fd >= 0) close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

}  // namespace

std::string HttpAnswer(const std::string& request, const MetricsSnapshot& s) {
  auto respond = [](int code, const char* reason, const std::string& type, const std::string& body) {
    return fmt::format("HTTP/1.0 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                       code, reason, type, body.size(), body);
  };
  std::string path;
  if (request.starts_with("GET ")) {
    auto end = request.find(' ', 4);
    path = request.substr(4, end == std::string::npos ? std::string::npos : end - 4);
  } else {
    return respond(405, "Method Not Allowed", "text/plain", "GET only\n");
  }
  if (path == "/metrics" || path == "/")
    return respond(200, "OK", "text/plain; version=0.0.4; charset=utf-8", RenderPrometheus(s));
  if (path == "/healthz")
    return s.in_sync ? respond(200, "OK", "text/plain", "in sync\n")
                     : respond(503, "Service Unavailable", "text/plain", "the kernel does not match the policy\n");
  return respond(404, "Not Found", "text/plain", "try /metrics or /healthz\n");
}

std::unique_ptr<MetricsServer> MetricsServer::Start(const std::string& address,
                                                    const Metrics& metrics, std::string& error) {
  std::string unix_path;
  int fd;
  if (address.starts_with("unix:")) {
    unix_path = address.substr(5);
    if (unix_path.starts_with("//")) unix_path = unix_path.substr(2);
    fd = ListenUnix(unix_path, error);
  } else {
    fd = ListenTcp(address, error);
  }
  if (fd < 0) return nullptr;
  int stop = eventfd(0, EFD_CLOEXEC);
  return std::unique_ptr<MetricsServer>(new MetricsServer(fd, stop, metrics, unix_path));
}

MetricsServer::MetricsServer(int listen_fd, int stop_fd, const Metrics& metrics, std::string unix_path)
    : listen_fd_(listen_fd), stop_fd_(stop_fd), metrics_(metrics), unix_path_(std::move(unix_path)) {
  thread_ = std::thread([this] { Serve(); });
}

MetricsServer::~MetricsServer() {
  uint64_t one = 1;
  if (write(stop_fd_, &one, sizeof one) < 0) {
  }
  thread_.join();
  close(listen_fd_);
  close(stop_fd_);
  if (!unix_path_.empty()) unlink(unix_path_.c_str());
}

void MetricsServer::Serve() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents) return;
    if (!(fds[0].revents & POLLIN)) continue;
    int c = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (c < 0) continue;
    Answer(c);
    close(c);
  }
}

void MetricsServer::Answer(int fd) {
  std::string request;
  char buf[1024];
  // At most 8 KiB and one second for the request head.
  while (request.size() < 8192 && request.find("\r\n\r\n") == std::string::npos &&
         request.find("\n\n") == std::string::npos) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0) break;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) break;
    request.append(buf, static_cast<size_t>(n));
  }
  std::string answer = HttpAnswer(request, metrics_.Snapshot());
  size_t off = 0;
  while (off < answer.size()) {
    ssize_t n = send(fd, answer.data() + off, answer.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;
    off += static_cast<size_t>(n);
  }
}

}  // namespace swarmwall::agent
