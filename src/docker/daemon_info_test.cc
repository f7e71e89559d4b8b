// GET /info's firewall backend and GET /networks' IPv6, on samples of
// Docker 29.7.2 (both modes) and 28.5 (no such field: iptables).
#include "docker/daemon_info.h"

#include <gtest/gtest.h>

namespace swarmwall::docker {
namespace {

TEST(DaemonInfo, Docker29NftablesMode) {
  std::string error;
  auto fw = ParseInfoFirewall(
      R"({"ID":"x","ServerVersion":"29.7.2","FirewallBackend":{"Driver":"nftables",)"
      R"("Info":[["ReloadedAt","2026-12-06T10:00:00Z"]]},"Swarm":{"LocalNodeState":"inactive"}})",
      error);
  ASSERT_TRUE(fw) << error;
  EXPECT_EQ(fw->driver, "nftables");
  EXPECT_TRUE(fw->nftables());
}

TEST(DaemonInfo, Docker29IptablesModeAndFirewalld) {
  std::string error;
  auto fw = ParseInfoFirewall(R"({"ServerVersion":"29.7.2","FirewallBackend":{"Driver":"iptables"}})", error);
  ASSERT_TRUE(fw) << error;
  EXPECT_FALSE(fw->nftables());
  fw = ParseInfoFirewall(R"({"FirewallBackend":{"Driver":"nftables+firewalld"}})", error);
  ASSERT_TRUE(fw) << error;
  EXPECT_TRUE(fw->nftables());
}

TEST(DaemonInfo, OlderDaemonsHaveNoFieldAndUseIptables) {
  std::string error;
  auto fw = ParseInfoFirewall(R"({"ServerVersion":"28.5.2","Swarm":{}})", error);
  ASSERT_TRUE(fw) << error;
  EXPECT_EQ(fw->driver, "iptables");
  EXPECT_FALSE(fw->nftables());
  fw = ParseInfoFirewall(R"({"FirewallBackend":null})", error);
  ASSERT_TRUE(fw) << error;
  EXPECT_EQ(fw->driver, "iptables");
}

TEST(DaemonInfo, NotJson) {
  std::string error;
  EXPECT_FALSE(ParseInfoFirewall("<html>", error));
  EXPECT_FALSE(error.empty());
  EXPECT_FALSE(ParseInfoFirewall("[1]", error));
}

TEST(DaemonInfo, NetworksIpv6) {
  EXPECT_EQ(ParseNetworksIpv6(R"([{"Name":"bridge","EnableIPv6":false},{"Name":"host"}])"), false);
  EXPECT_EQ(ParseNetworksIpv6(R"([{"Name":"bridge","EnableIPv6":false},{"Name":"v6","EnableIPv6":true}])"), true);
  EXPECT_EQ(ParseNetworksIpv6("{}"), std::nullopt);
}

}  // namespace
}  // namespace swarmwall::docker
