#include "agent/metrics_server.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <optional>
#include <vector>

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
  if (std::string why = ClaimUnixSocketPath(path); !why.empty()) {
    error = "cannot listen on unix:" + path + ": " + why;
    return -1;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || listen(fd, SOMAXCONN) != 0) {
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
  if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
    error = fmt::format("cannot listen on {}: {}", address, std::strerror(errno));
    if (fd >= 0) close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

constexpr size_t kMaxHead = 8192;

bool HeadComplete(const std::string& in) {
  return in.find("\r\n\r\n") != std::string::npos || in.find("\n\n") != std::string::npos;
}

std::string Respond(int code, const char* reason, const std::string& type, const std::string& body) {
  return fmt::format("HTTP/1.0 {} {}\r\nContent-Type: {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{}",
                     code, reason, type, body.size(), body);
}

// One client connection of the poll loop.
struct Connection {
  enum Stage { kReading, kWriting, kDraining };
  int fd;
  std::chrono::steady_clock::time_point deadline;
  Stage stage = kReading;
  std::string in, out;
  size_t sent = 0;
};

}  // namespace

std::string ClaimUnixSocketPath(const std::string& path) {
  struct stat st{};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return "";
    return std::strerror(errno);
  }
  if (!S_ISSOCK(st.st_mode))
    return fmt::format("{} exists and is not a socket ({}); it is left alone: remove it or choose another path",
                       path, S_ISREG(st.st_mode) ? "a regular file" : S_ISDIR(st.st_mode) ? "a directory"
                                                  : S_ISLNK(st.st_mode) ? "a symbolic link" : "not a socket");
  // A socket: stale only when nobody accepts on it.
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return "unix socket path too long";
  std::memcpy(sa.sun_path, path.data(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return std::strerror(errno);
  int rc = connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa);
  int err = errno;
  close(fd);
  if (rc == 0 || err == EAGAIN || err == EINPROGRESS)
    return fmt::format("another process listens on {} (another agent?)", path);
  if (err != ECONNREFUSED)
    return fmt::format("cannot tell whether the socket {} is in use: {}", path, std::strerror(err));
  if (unlink(path.c_str()) != 0 && errno != ENOENT)
    return fmt::format("cannot remove the stale socket {}: {}", path, std::strerror(errno));
  return "";
}

std::string HttpAnswer(const std::string& request, const MetricsSnapshot& s) {
  // The request line: METHOD SP PATH [SP VERSION].
  std::string line = request.substr(0, request.find_first_of("\r\n"));
  auto sp = line.find(' ');
  std::string method = line.substr(0, sp);
  bool token = !method.empty() && method.size() <= 16 &&
               std::all_of(method.begin(), method.end(), [](char c) { return c >= 'A' && c <= 'Z'; });
  if (!token || sp == std::string::npos || sp + 1 >= line.size() || line[sp + 1] != '/')
    return Respond(400, "Bad Request", "text/plain", "not an HTTP request\n");
  if (method != "GET") return Respond(405, "Method Not Allowed", "text/plain", "GET only\n");
  auto end = line.find(' ', sp + 1);
  std::string path = line.substr(sp + 1, end == std::string::npos ? std::string::npos : end - sp - 1);
  if (auto q = path.find('?'); q != std::string::npos) path.resize(q);
  if (path == "/metrics" || path == "/")
    return Respond(200, "OK", "text/plain; version=0.0.4; charset=utf-8", RenderPrometheus(s));
  if (path == "/healthz")
    return s.in_sync ? Respond(200, "OK", "text/plain", "in sync\n")
                     : Respond(503, "Service Unavailable", "text/plain", "the kernel does not match the policy\n");
  return Respond(404, "Not Found", "text/plain", "try /metrics or /healthz\n");
}

std::unique_ptr<MetricsServer> MetricsServer::Start(const std::string& address, const Metrics& metrics,
                                                    std::string& error, MetricsServerLimits limits) {
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
  if (stop < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
    error = fmt::format("metrics server: {}", std::strerror(errno));
    close(fd);
    if (stop >= 0) close(stop);
    if (!unix_path.empty()) unlink(unix_path.c_str());
    return nullptr;
  }
  if (limits.max_connections == 0) limits.max_connections = 1;
  auto server = std::unique_ptr<MetricsServer>(new MetricsServer(fd, stop, metrics, unix_path, limits));
  struct stat st{};
  if (!unix_path.empty() && lstat(unix_path.c_str(), &st) == 0) server->unix_ino_ = st.st_ino;
  return server;
}

MetricsServer::MetricsServer(int listen_fd, int stop_fd, const Metrics& metrics, std::string unix_path,
                             MetricsServerLimits limits)
    : listen_fd_(listen_fd), stop_fd_(stop_fd), metrics_(metrics), unix_path_(std::move(unix_path)),
      limits_(limits) {
  thread_ = std::thread([this] { Serve(); });
}

MetricsServer::~MetricsServer() {
  uint64_t one = 1;
  if (write(stop_fd_, &one, sizeof one) < 0) {
  }
  thread_.join();
  close(stop_fd_);
  // Our socket only: not whatever may have replaced it at that path since.
  struct stat now{};
  if (!unix_path_.empty() && lstat(unix_path_.c_str(), &now) == 0 && S_ISSOCK(now.st_mode) &&
      now.st_ino == unix_ino_)
    unlink(unix_path_.c_str());
  close(listen_fd_);
}

void MetricsServer::Serve() {
  using Clock = std::chrono::steady_clock;
  std::deque<Connection> conns;  // in accept order: the front is the oldest
  std::optional<Clock::time_point> accept_paused_until;  // out of descriptors
  std::vector<pollfd> fds;
  for (;;) {
    auto now = Clock::now();
    // Whole-request deadlines: a slow client is dropped, however it trickles.
    std::erase_if(conns, [&](Connection& c) {
      if (c.deadline > now) return false;
      close(c.fd);
      return true;
    });
    if (accept_paused_until && *accept_paused_until <= now) accept_paused_until.reset();
    auto wake = accept_paused_until;
    for (const auto& c : conns)
      if (!wake || c.deadline < *wake) wake = c.deadline;
    int timeout = !wake ? -1 : static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(*wake - now).count());
    fds.clear();
    fds.push_back({stop_fd_, POLLIN, 0});
    fds.push_back({accept_paused_until ? -1 : listen_fd_, POLLIN, 0});
    for (const auto& c : conns)
      fds.push_back({c.fd, static_cast<short>(c.stage == Connection::kWriting ? POLLOUT : POLLIN), 0});
    if (poll(fds.data(), fds.size(), timeout) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[0].revents) break;
    now = Clock::now();
    // The connections first (their indexes match fds), then new ones.
    for (size_t i = 0; i < conns.size(); ++i) {
      Connection& c = conns[i];
      if (!fds[i + 2].revents) continue;
      bool done = false;
      if (c.stage != Connection::kWriting) {
        char buf[4096];
        for (;;) {
          ssize_t n = read(c.fd, buf, sizeof buf);
          if (n > 0) {
            if (c.stage == Connection::kReading) c.in.append(buf, static_cast<size_t>(n));
            if (c.in.size() > kMaxHead) break;
            continue;
          }
          if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
          // End of input or an error: a draining connection is done; a
          // reading one gets an answer to what it sent, if anything.
          if (c.stage == Connection::kDraining || c.in.empty() || n < 0) done = true;
          else c.out = HttpAnswer(c.in, metrics_.Snapshot());
          break;
        }
        if (!done && c.stage == Connection::kReading) {
          if (c.out.empty() && c.in.size() > kMaxHead)
            c.out = Respond(431, "Request Header Fields Too Large", "text/plain", "request head over 8 KiB\n");
          else if (c.out.empty() && HeadComplete(c.in))
            c.out = HttpAnswer(c.in, metrics_.Snapshot());
          if (!c.out.empty()) {
            c.stage = Connection::kWriting;
            c.in.clear();
          }
        }
      }
      if (!done && c.stage == Connection::kWriting) {
        while (c.sent < c.out.size()) {
          ssize_t n = send(c.fd, c.out.data() + c.sent, c.out.size() - c.sent, MSG_NOSIGNAL);
          if (n > 0) {
            c.sent += static_cast<size_t>(n);
            continue;
          }
          if (n < 0 && (errno == EAGAIN || errno == EINTR)) break;
          done = true;
          break;
        }
        // All sent: say so, and read what the client still sends until it
        // closes (closing with unread input would reset the connection and
        // could lose the answer).
        if (!done && c.sent == c.out.size()) {
          shutdown(c.fd, SHUT_WR);
          c.stage = Connection::kDraining;
        }
      }
      if (done) {
        close(c.fd);
        c.fd = -1;
      }
    }
    std::erase_if(conns, [](const Connection& c) { return c.fd < 0; });
    if (fds[1].revents & POLLIN) {
      for (size_t accepted = 0; accepted < limits_.max_connections; ++accepted) {
        int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (fd < 0) {
          if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
            // Free one for the next round, or wait a little when none is ours.
            if (!conns.empty()) {
              close(conns.front().fd);
              conns.pop_front();
            } else {
              accept_paused_until = now + std::chrono::milliseconds(100);
            }
          }
          break;
        }
        // Full: the oldest goes, so that idle connections cannot keep a
        // probe out.
        if (conns.size() >= limits_.max_connections) {
          close(conns.front().fd);
          conns.pop_front();
        }
        conns.push_back({fd, now + limits_.deadline});
      }
    }
  }
  for (auto& c : conns) close(c.fd);
}

}  // namespace swarmwall::agent
