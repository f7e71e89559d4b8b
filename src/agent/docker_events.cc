#include "agent/docker_events.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <optional>

#include <nlohmann/json.hpp>

namespace swarmwall::agent {
namespace {

constexpr int kRetryMs = 200;

int ConnectUnix(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (path.size() >= sizeof sa.sun_path) return -1;
  std::memcpy(sa.sun_path, path.data(), path.size());
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Waits up to MS for FD to be readable; false when STOP_FD fired.
bool WaitReadable(int fd, int stop_fd, int ms, bool& readable) {
  pollfd p[2] = {{stop_fd, POLLIN, 0}, {fd, POLLIN, 0}};
  int n = poll(p, fd >= 0 ? 2 : 1, ms);
  readable = n > 0 && fd >= 0 && (p[1].revents & (POLLIN | POLLHUP | POLLERR));
  return !(n > 0 && (p[0].revents & POLLIN));
}

}  // namespace

std::optional<DockerEvent> ParseDockerEvent(const std::string& line) {
  auto j = nlohmann::json::parse(line, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  // value() throws on a field of another type: read strings by hand.
  auto str = [](const nlohmann::json& o, const char* key) {
    auto it = o.find(key);
    return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  DockerEvent e;
  e.kind = str(j, "Type");
  e.action = str(j, "Action");
  std::string name;
  if (auto actor = j.find("Actor"); actor != j.end() && actor->is_object()) {
    if (auto attrs = actor->find("Attributes"); attrs != actor->end() && attrs->is_object())
      name = str(*attrs, "name");
    if (name.empty()) name = str(*actor, "ID");
  }
  e.name = name.substr(0, 64);
  // Actions that can change what the firewall must hold or what Docker's
  // chains contain.
  if (e.kind == "container") {
    // rename: a containers rule may name it.
    if (e.action != "start" && e.action != "die" && e.action != "stop" && e.action != "restart" &&
        e.action != "rename")
      return std::nullopt;
  } else if (e.kind == "network") {
    if (e.action != "create" && e.action != "destroy" && e.action != "connect" &&
        e.action != "disconnect")
      return std::nullopt;
  } else if (e.kind == "service") {
    // A manager's: published ports and labels of services (create, update, remove).
  } else if (e.kind == "node") {
    // Swarm membership: create, update (role, availability, addresses), remove.
  } else if (e.kind == "daemon") {
    // reload
  } else {
    return std::nullopt;
  }
  return e;
}

DockerEvents::DockerEvents(std::string socket, std::function<void()> notify)
    : socket_(std::move(socket)), notify_(std::move(notify)), stop_fd_(eventfd(0, EFD_CLOEXEC)) {
  thread_ = std::thread([this] { Run(); });
}

DockerEvents::~DockerEvents() {
  uint64_t one = 1;
  if (write(stop_fd_, &one, sizeof one) < 0) {
  }
  thread_.join();
  close(stop_fd_);
}

std::deque<DockerEvent> DockerEvents::Take() {
  std::lock_guard<std::mutex> lock(mu_);
  std::deque<DockerEvent> out;
  out.swap(queue_);
  return out;
}

void DockerEvents::Push(DockerEvent e) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(e));
  }
  notify_();
}

void DockerEvents::Run() {
  while (Follow(stop_fd_)) {
  }
}

bool DockerEvents::Follow(int stop_fd) {
  bool readable = false;
  int fd = ConnectUnix(socket_);
  if (fd < 0) {
    if (up_) {
      up_ = false;
      Push({"daemon-gone", "", socket_});
    }
    return WaitReadable(-1, stop_fd, kRetryMs, readable);
  }
  // Only events that can matter, filtered by the daemon.
  const std::string filters =
      R"({"type":["container","network","node","daemon","service"]})";
  std::string encoded;
  for (unsigned char c : filters) {
    if (isalnum(c)) encoded += static_cast<char>(c);
    else {
      char hex[4];
      snprintf(hex, sizeof hex, "%%%02X", c);
      encoded += hex;
    }
  }
  std::string request = "GET /events?filters=" + encoded + " HTTP/1.0\r\nHost: docker\r\n\r\n";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    close(fd);
    return WaitReadable(-1, stop_fd, kRetryMs, readable);
  }
  std::string buffer;
  bool head_done = false;
  char chunk[8192];
  for (;;) {
    if (!WaitReadable(fd, stop_fd, -1, readable)) {
      close(fd);
      return false;
    }
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) break;
    buffer.append(chunk, static_cast<size_t>(n));
    if (!head_done) {
      auto end = buffer.find("\r\n\r\n");
      if (end == std::string::npos) continue;
      if (buffer.find(" 200 ") == std::string::npos || buffer.find(" 200 ") > buffer.find("\r\n")) break;
      buffer.erase(0, end + 4);
      head_done = true;
      bool was_seen = connected_once_;
      connected_once_ = up_ = true;
      Push({"daemon-up", was_seen ? "reconnected" : "connected", socket_});
    }
    for (auto nl = buffer.find('\n'); nl != std::string::npos; nl = buffer.find('\n')) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      if (auto e = ParseDockerEvent(line)) Push(std::move(*e));
    }
  }
  close(fd);
  if (up_) {
    up_ = false;
    Push({"daemon-gone", "", socket_});
  }
  return WaitReadable(-1, stop_fd, kRetryMs, readable);
}

}  // namespace swarmwall::agent
