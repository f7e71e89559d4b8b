#include "apply/host_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

namespace swarmwall::apply {
namespace {

std::string LockPath(const std::string& dir) { return dir + "/lock"; }

// The network namespace's lock: "@swarmwall-host-lock" in the abstract
// namespace. SWARMWALL_TEST_NETNS_LOCK names another one, so that a unit
// test can take it twice without a namespace of its own.
std::string NetnsLockName() {
  const char* test = getenv("SWARMWALL_TEST_NETNS_LOCK");
  return std::string(1, '\0') + (test ? test : "swarmwall-host-lock");
}

// The bound socket, -1 when someone else holds the name (errno EADDRINUSE)
// or on another error.
int BindNetnsLock() {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::string name = NetnsLockName();
  std::memcpy(addr.sun_path, name.data(), name.size());
  socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

std::string ReadAll(int fd) {
  std::string text;
  char buf[256];
  ssize_t n;
  off_t at = 0;
  while ((n = pread(fd, buf, sizeof buf, at)) > 0) {
    text.append(buf, static_cast<size_t>(n));
    at += n;
  }
  while (!text.empty() && text.back() == '\n') text.pop_back();
  return text;
}

}  // namespace

std::optional<HostLock> HostLock::Acquire(const std::string& dir, const std::string& what,
                                          std::chrono::milliseconds timeout, std::string& error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool told = false;
  // 1. This network namespace (whatever the state dir).
  int netns_fd;
  while ((netns_fd = BindNetnsLock()) < 0) {
    if (errno != EADDRINUSE) {
      error = std::string("cannot take this network namespace's lock: ") + std::strerror(errno);
      return std::nullopt;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      error = "another swarmwall is writing this network namespace's firewall (" +
              (Holder(dir).empty() ? std::string("with another state dir") : Holder(dir)) + ")";
      return std::nullopt;
    }
    if (!told) {
      std::cerr << "swarmwall: waiting for another swarmwall writing this network namespace's firewall\n";
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  // 2. The state dir (it names the holder for status).
  int fd = open(LockPath(dir).c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    error = "cannot open " + LockPath(dir) + ": " + std::strerror(errno);
    close(netns_fd);
    return std::nullopt;
  }
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      error = "cannot lock " + LockPath(dir) + ": " + std::strerror(errno);
      close(fd);
      close(netns_fd);
      return std::nullopt;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      error = "another swarmwall holds " + LockPath(dir) + " (" + ReadAll(fd) + ")";
      close(fd);
      close(netns_fd);
      return std::nullopt;
    }
    if (!told) {
      std::cerr << "swarmwall: waiting for " << LockPath(dir) << " (" << ReadAll(fd) << ")\n";
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  HostLock lock(fd, netns_fd);
  lock.Describe(what);
  return lock;
}

std::string HostLock::Holder(const std::string& dir) {
  int fd = open(LockPath(dir).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return "";
  std::string holder;
  if (flock(fd, LOCK_SH | LOCK_NB) != 0) {
    holder = ReadAll(fd);
    if (holder.empty()) holder = "unknown";
  }
  close(fd);
  return holder;
}

HostLock& HostLock::operator=(HostLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    if (netns_fd_ >= 0) close(netns_fd_);
    fd_ = other.fd_;
    netns_fd_ = other.netns_fd_;
    other.fd_ = -1;
    other.netns_fd_ = -1;
  }
  return *this;
}

HostLock::~HostLock() {
  if (fd_ >= 0) close(fd_);
  if (netns_fd_ >= 0) close(netns_fd_);
}

void HostLock::Describe(const std::string& what) const {
  if (fd_ < 0) return;
  std::string line = "pid " + std::to_string(getpid()) + ": " + what + "\n";
  if (ftruncate(fd_, 0) == 0 && pwrite(fd_, line.data(), line.size(), 0) < 0) return;
}

}  // namespace swarmwall::apply
