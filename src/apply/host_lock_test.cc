#include "apply/host_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

namespace swarmwall::apply {
namespace {

std::string TempDir() {
  std::string dir = std::filesystem::temp_directory_path() / ("swarmwall-lock-" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  return dir;
}

TEST(HostLock, ExclusiveAndNamesItsHolder) {
  std::string dir = TempDir();
  std::string error;
  EXPECT_EQ(HostLock::Holder(dir), "");
  {
    auto lock = HostLock::Acquire(dir, "apply", std::chrono::milliseconds(0), error);
    ASSERT_TRUE(lock) << error;
    // Another process cannot take it while we hold it.
    pid_t pid = fork();
    if (pid == 0) {
      std::string e;
      auto other = HostLock::Acquire(dir, "remove", std::chrono::milliseconds(100), e);
      _exit(other ? 1 : (e.find("apply") != std::string::npos ? 0 : 2));
    }
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_NE(HostLock::Holder(dir).find("apply"), std::string::npos);
  }
  EXPECT_EQ(HostLock::Holder(dir), "");
  EXPECT_TRUE(HostLock::Acquire(dir, "x", std::chrono::milliseconds(0), error));
  std::filesystem::remove_all(dir);
}

TEST(HostLock, AForkedChildKeepsItAfterTheParentLetsGo) {
  std::string dir = TempDir();
  std::string error;
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t pid = -1;
  {
    auto lock = HostLock::Acquire(dir, "apply", std::chrono::milliseconds(0), error);
    ASSERT_TRUE(lock);
    pid = fork();
    if (pid == 0) {
      close(ready[0]);
      usleep(300000);
      _exit(0);
    }
  }  // the parent closes its descriptor; the child still holds the lock
  EXPECT_FALSE(HostLock::Acquire(dir, "y", std::chrono::milliseconds(50), error));
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(HostLock::Acquire(dir, "y", std::chrono::milliseconds(0), error)) << error;
  close(ready[0]);
  close(ready[1]);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace swarmwall::apply
