// One writer per host: every swarmwall command that reads the kernel to
// change it (apply, remove, confirm, the rollback timer, recovery) holds an
// exclusive flock on STATE_DIR/lock from its read to the end of its commit,
// so two of them never interleave. The lock belongs to the open file, so a
// detached committer forked while holding it keeps holding it after the
// command that started it dies; the kernel drops it when the last holder
// exits, however it exits (kill -9 included). The file names the holder.
//
// The state dir is not the host, though: two commands with different state
// dirs (or an agent in a container and the CLI on the host) write the same
// kernel ruleset when they run in one network namespace. So the lock is
// also taken on the network namespace itself: an abstract unix socket
// bound under a fixed name (abstract names are per network namespace,
// whatever the mount namespace or state dir), held the same way through
// fork and released by the kernel when the last holder exits.
#pragma once

#include <chrono>
#include <optional>
#include <string>

namespace swarmwall::apply {

class HostLock {
 public:
  // Takes DIR/lock, waiting up to TIMEOUT (a note on stderr if it has to
  // wait); records WHAT and our pid in it. nullopt with ERROR on timeout.
  static std::optional<HostLock> Acquire(const std::string& dir, const std::string& what,
                                         std::chrono::milliseconds timeout, std::string& error);
  // "pid 123: apply" when someone holds DIR/lock now, "" when it is free.
  static std::string Holder(const std::string& dir);

  HostLock(HostLock&& other) noexcept : fd_(other.fd_), netns_fd_(other.netns_fd_) {
    other.fd_ = -1;
    other.netns_fd_ = -1;
  }
  HostLock& operator=(HostLock&& other) noexcept;
  HostLock(const HostLock&) = delete;
  HostLock& operator=(const HostLock&) = delete;
  ~HostLock();

  // Rewrites the holder line (the committer names itself).
  void Describe(const std::string& what) const;

 private:
  HostLock(int fd, int netns_fd) : fd_(fd), netns_fd_(netns_fd) {}
  int fd_ = -1;
  int netns_fd_ = -1;   // the bound abstract socket (this network namespace)
};

}  // namespace swarmwall::apply
