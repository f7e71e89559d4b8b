#include "base/process.h"

#include <gtest/gtest.h>

namespace swarmwall {
namespace {

TEST(RunProcess, OutputErrorAndExitStatus) {
  auto r = RunProcess({"/bin/sh", "-c", "echo out; echo err >&2; exit 3"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.out, "out\n");
  EXPECT_EQ(r.err, "err\n");
  EXPECT_FALSE(r.ok());
}

TEST(RunProcess, InputReachesTheProgram) {
  std::string big(1 << 20, 'x');   // more than a pipe holds
  auto r = RunProcess({"cat"}, {.input = big});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.out.size(), big.size());
}

TEST(RunProcess, AMissingProgramIs127) {
  auto r = RunProcess({"swarmwall-no-such-program"});
  EXPECT_EQ(r.exit_code, 127);
  EXPECT_NE(r.err.find("cannot run swarmwall-no-such-program"), std::string::npos) << r.err;
}

TEST(RunProcess, ATimeoutKillsTheWholeGroup) {
  auto r = RunProcess({"/bin/sh", "-c", "sleep 30 & sleep 30"}, {.timeout = std::chrono::milliseconds(200)});
  EXPECT_TRUE(r.timed_out);
  EXPECT_FALSE(r.ok());
}

TEST(RunProcess, TheChildGetsSigpipeAsProgramsExpect) {
  RunProcess({"true"});   // this process now ignores SIGPIPE
  auto r = RunProcess({"/bin/sh", "-c", "kill -PIPE $$; exit 0"});
  EXPECT_EQ(r.exit_code, 128 + SIGPIPE);
}

TEST(RunProcess, ExtraEnvironment) {
  auto r = RunProcess({"/bin/sh", "-c", "echo $SWARMWALL_PROCESS_TEST"}, {.extra_env = {"SWARMWALL_PROCESS_TEST=yes"}});
  EXPECT_EQ(r.out, "yes\n");
}

}  // namespace
}  // namespace swarmwall

#include "base/shared_library.h"

namespace swarmwall {
namespace {

TEST(SharedLibrary, SaysWhatToInstallAndWhatIsMissing) {
  SharedLibrary none("libswarmwall-no-such.so.9", "no-such-package");
  EXPECT_FALSE(none.ok());
  EXPECT_NE(none.error().find("install the no-such-package package"), std::string::npos) << none.error();
  int (*f)(int) = nullptr;
  EXPECT_FALSE(none.Get(f, "abs"));
  SharedLibrary libc("libc.so.6", "libc6");
  ASSERT_TRUE(libc.ok()) << libc.error();
  ASSERT_TRUE(libc.Get(f, "abs"));
  EXPECT_EQ(f(-3), 3);
  void (*g)() = nullptr;
  EXPECT_FALSE(libc.Get(g, "swarmwall_no_such_function"));
  EXPECT_NE(libc.error().find("lacks swarmwall_no_such_function"), std::string::npos) << libc.error();
}

}  // namespace
}  // namespace swarmwall
