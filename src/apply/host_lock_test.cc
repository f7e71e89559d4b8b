#include "apply/host_lock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

namespace swarmwall::apply {
namespace {

// Each test process takes a namespace lock of its own name: ctest runs
// unit tests in parallel in one network namespace.
class OwnNetnsLock : public ::testing::Environment {
 public:
  void SetUp() override {
    setenv("SWARMWALL_TEST_NETNS_LOCK", ("swarmwall-test-lock-" + std::to_string(getpid())).c_str(), 1);
  }
};
const auto* const kOwnNetnsLock = ::testing::AddGlobalTestEnvironment(new OwnNetnsLock);

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

// Issue 12, item 4: ten applies with ten --state-dirs in one network
// namespace interleaved. The lock belongs to the namespace.
TEST(HostLock, TwoStateDirsInOneNetworkNamespaceExcludeEachOther) {
  std::string a = TempDir() + "/a", b = TempDir() + "/b";
  std::string error;
  auto lock = HostLock::Acquire(a, "apply", std::chrono::milliseconds(0), error);
  ASSERT_TRUE(lock) << error;
  auto other = HostLock::Acquire(b, "apply", std::chrono::milliseconds(50), error);
  EXPECT_FALSE(other);
  EXPECT_NE(error.find("network namespace"), std::string::npos) << error;
  lock.reset();
  EXPECT_TRUE(HostLock::Acquire(b, "apply", std::chrono::milliseconds(0), error)) << error;
  std::filesystem::remove_all(TempDir());
}

}  // namespace
}  // namespace swarmwall::apply
