// libnftables through src/host/nftables.h: nftables text loaded in a
// throwaway network namespace and listed back (root only: the namespace),
// and its errors with libnftables' FILE:LINE:COL. The host's own ruleset is
// never touched.
#include "host/nft_generation.h"
#include "host/nftables.h"

#include <gtest/gtest.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>

namespace swarmwall::host {
namespace {

std::string Temp(const std::string& text) {
  char path[] = "/tmp/swarmwall-nft-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path) << text;
  return path;
}

TEST(NftText, LoadsInAThrowawayNamespace) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for the network namespace";
  std::string before_error;
  auto before = ListNftRulesetJson(before_error);
  std::string path = Temp(
      "flush ruleset\n"
      "table inet mine {\n  chain in { type filter hook input priority 0; policy drop;\n"
      "    tcp dport 22 accept\n  }\n}\n");
  std::string error;
  auto json = NftTextToJson(path, error);
  std::remove(path.c_str());
  ASSERT_TRUE(json) << error;
  EXPECT_NE(json->find("\"name\": \"mine\""), std::string::npos) << *json;
  EXPECT_NE(json->find("\"policy\": \"drop\""), std::string::npos) << *json;
  // `flush ruleset` ran in the throwaway namespace, not here
  std::string after_error;
  auto after = ListNftRulesetJson(after_error);
  EXPECT_EQ(before.has_value(), after.has_value());
  if (before && after) {
    EXPECT_EQ(*before, *after);
  }
}

TEST(NftText, ErrorsKeepFileLineAndColumn) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for the network namespace";
  std::string path = Temp("table inet mine {\n  chain in {\n    tcp dport 22 acept\n  }\n}\n");
  std::string error;
  auto json = NftTextToJson(path, error);
  std::remove(path.c_str());
  ASSERT_FALSE(json);
  EXPECT_NE(error.find(path + ":3:"), std::string::npos) << error;
  EXPECT_NE(error.find("Error"), std::string::npos) << error;
}

}  // namespace
// One transaction through RunNftJson, and the table names over netlink
// (what backend choice asks instead of libnftables), in a namespace of the
// test's own: a child process unshares it and reports by exit code.
TEST(NftTransaction, RunsAndTablesAreNamedOverNetlink) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root for the network namespace";
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (unshare(CLONE_NEWNET) != 0) _exit(10);
    auto before = NftTableNamesByNetlink();
    if (!before || !before->empty()) _exit(11);
    std::string error;
    const char* ok = R"({"nftables": [{"add": {"table": {"family": "ip", "name": "docker-bridges"}}},
                                      {"add": {"table": {"family": "ip6", "name": "swarmwall"}}}]})";
    if (!RunNftJson(ok, error)) _exit(12);
    // A batch failing at its end changes nothing.
    const char* bad = R"({"nftables": [{"add": {"table": {"family": "ip", "name": "half"}}},
                                       {"delete": {"chain": {"family": "ip", "table": "half", "name": "none"}}}]})";
    if (RunNftJson(bad, error) || error.empty()) _exit(13);
    auto after = NftTableNamesByNetlink();
    if (!after || *after != std::vector<std::string>{"docker-bridges", "swarmwall"}) _exit(14);
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "10 unshare, 11 names before, 12 transaction, 13 bad batch, 14 names after";
}

}  // namespace swarmwall::host
