// Bounded reading of the files a command is given (issue 12, item 12):
// devices, FIFOs and directories are refused at once, a file over the
// limit is refused without reading it whole.
#include "base/input_file.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace swarmwall {
namespace {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/input_file_test.XXXXXX";
    path = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path + "'").c_str()); }
};

TEST(InputFile, ReadsARegularFile) {
  TempDir d;
  std::ofstream(d.path + "/f") << "hello\n";
  std::string text, error;
  ASSERT_TRUE(ReadInputFile(d.path + "/f", 16, text, error)) << error;
  EXPECT_EQ(text, "hello\n");
}

TEST(InputFile, RefusesDevicesWithoutReading) {
  std::string text, error;
  EXPECT_FALSE(ReadInputFile("/dev/zero", kRulesetLimit, text, error));
  EXPECT_EQ(error, "not a regular file");
  EXPECT_TRUE(text.empty());
}

TEST(InputFile, RefusesAFifoWithoutWaitingForAWriter) {
  TempDir d;
  std::string fifo = d.path + "/fifo";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::string text, error;
  EXPECT_FALSE(ReadInputFile(fifo, kFactsLimit, text, error));   // returns: no writer awaited
  EXPECT_EQ(error, "not a regular file");
}

TEST(InputFile, RefusesADirectoryAndAMissingFile) {
  std::string text, error;
  EXPECT_FALSE(ReadInputFile("/tmp", kFactsLimit, text, error));
  EXPECT_NE(error.find("directory"), std::string::npos) << error;
  EXPECT_FALSE(ReadInputFile("/nonexistent/file", kFactsLimit, text, error));
  EXPECT_NE(error.find("No such file"), std::string::npos) << error;
}

TEST(InputFile, RefusesAFileOverTheLimit) {
  TempDir d;
  std::ofstream(d.path + "/big") << std::string(2 << 20, 'x');
  std::string text, error;
  EXPECT_FALSE(ReadInputFile(d.path + "/big", size_t{1} << 20, text, error));
  EXPECT_EQ(error, "larger than 1 MiB");
  EXPECT_TRUE(ReadInputFile(d.path + "/big", size_t{2} << 20, text, error)) << error;
  EXPECT_EQ(text.size(), size_t{2} << 20);
}

TEST(InputFile, ProcFilesSayZeroSizeAndStillRead) {
  std::string text, error;
  ASSERT_TRUE(ReadInputFile("/proc/self/stat", kFactsLimit, text, error)) << error;
  EXPECT_FALSE(text.empty());
}

}  // namespace
}  // namespace swarmwall
