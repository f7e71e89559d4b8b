#include "host/process_identity.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ctime>

#include <gtest/gtest.h>

namespace swarmwall::host {
namespace {

TEST(ProcessIdentity, ThisProcess) {
  EXPECT_TRUE(ProcessExists(getpid()));
  long long ticks = ProcessStartTicks(getpid());
  EXPECT_GE(ticks, 0);
  EXPECT_EQ(ProcessStartTicks(getpid()), ticks) << "a process's start does not move";
  long long started = ProcessStartSeconds(getpid());
  EXPECT_GT(started, 0);
  EXPECT_LE(started, static_cast<long long>(std::time(nullptr)) + 1);
  EXPECT_EQ(BootId().size(), 36u) << BootId();  // a UUID
  EXPECT_TRUE(PidNamespace().starts_with("pid:[")) << PidNamespace();
}

// A child started after this process: another start, and once reaped, no
// process at all.
TEST(ProcessIdentity, AnotherProcessAndAGoneOne) {
  pid_t child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  ASSERT_GT(child, 0);
  EXPECT_TRUE(ProcessExists(child));
  EXPECT_GE(ProcessStartTicks(child), ProcessStartTicks(getpid()));
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  EXPECT_FALSE(ProcessExists(child));
  EXPECT_EQ(ProcessStartTicks(child), -1);
  EXPECT_EQ(ProcessStartSeconds(child), -1);
  EXPECT_FALSE(ProcessExists(0));
  EXPECT_FALSE(ProcessExists(-1));
}

}  // namespace
}  // namespace swarmwall::host
