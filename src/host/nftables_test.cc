// libnftables through src/host/nftables.h: nftables text loaded in a
// throwaway network namespace and listed back (root only: the namespace),
// and its errors with libnftables' FILE:LINE:COL. The host's own ruleset is
// never touched.
#include "host/nftables.h"

#include <gtest/gtest.h>
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
}  // namespace swarmwall::host
