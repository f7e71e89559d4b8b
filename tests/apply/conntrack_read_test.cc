// The lockout guard's conntrack read: empty when this namespace tracks
// nothing (the dump is skipped), the established connection when it does.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sched.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "base/process.h"
#include "host/conntrack.h"

namespace swarmwall::host {
namespace {

class ConntrackRead : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    ASSERT_EQ(unshare(CLONE_NEWNET), 0);
    ASSERT_TRUE(RunProcess({"ip", "link", "set", "lo", "up"}).ok());
  }
};

TEST_F(ConntrackRead, NothingTrackedIsAnEmptyListing) {
  std::string error;
  auto listing = EstablishedTcpListing(error);
  ASSERT_TRUE(listing) << error;
  EXPECT_EQ(*listing, "");
}

TEST_F(ConntrackRead, AnEstablishedConnectionIsListed) {
  // A conntrack match makes this namespace track its connections.
  auto rule = RunProcess({"iptables", "-A", "INPUT", "-m", "conntrack", "--ctstate", "ESTABLISHED", "-j", "ACCEPT"});
  ASSERT_TRUE(rule.ok()) << rule.err;
  int server = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(2222);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(listen(server, 1), 0);
  int client = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  int accepted = accept(server, nullptr, nullptr);
  ASSERT_GE(accepted, 0);
  ASSERT_EQ(write(client, "x", 1), 1);
  char c;
  ASSERT_EQ(read(accepted, &c, 1), 1);
  std::string error;
  auto listing = EstablishedTcpListing(error);
  ASSERT_TRUE(listing) << error;
  EXPECT_NE(listing->find("src=127.0.0.1 dst=127.0.0.1"), std::string::npos) << *listing;
  EXPECT_NE(listing->find("dport=2222"), std::string::npos) << *listing;
  close(accepted);
  close(client);
  close(server);
}

}  // namespace
}  // namespace swarmwall::host
