#include "apply/host_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <thread>

namespace swarmwall::apply {
namespace {

std::string LockPath(const std::string& dir) { return dir + "/lock"; }

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
  int fd = open(LockPath(dir).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot open " + LockPath(dir) + ": " + std::strerror(errno);
    return std::nullopt;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  bool told = false;
  while (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK && errno != EINTR) {
      error = "cannot lock " + LockPath(dir) + ": " + std::strerror(errno);
      close(fd);
      return std::nullopt;
    }
    if (std::chrono::steady_clock::now() >= deadline) {
      error = "another swarmwall holds " + LockPath(dir) + " (" + ReadAll(fd) + ")";
      close(fd);
      return std::nullopt;
    }
    if (!told) {
      std::cerr << "swarmwall: waiting for " << LockPath(dir) << " (" << ReadAll(fd) << ")\n";
      told = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  HostLock lock(fd);
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
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

HostLock::~HostLock() {
  if (fd_ >= 0) close(fd_);
}

void HostLock::Describe(const std::string& what) const {
  if (fd_ < 0) return;
  std::string line = "pid " + std::to_string(getpid()) + ": " + what + "\n";
  if (ftruncate(fd_, 0) == 0 && pwrite(fd_, line.data(), line.size(), 0) < 0) return;
}

}  // namespace swarmwall::apply
