#include "analyze/model/docker_nft_layout.h"

#include <gtest/gtest.h>

#include "analyze/test_host.h"
#include "netfilter/nft_json.h"

namespace swarmwall::analyze {
namespace {

netfilter::NftRuleset Load(const std::string& name) {
  auto r = netfilter::ParseNftJson(
      test::ReadFile(std::string(SWARMWALL_SOURCE_DIR) + "/tests/nftables/" + name), name);
  EXPECT_TRUE(r.ruleset) << r.error->ToString();
  return r.ruleset ? std::move(*r.ruleset) : netfilter::NftRuleset{};
}

TEST(DockerNftLayout, ReadsDocker29NftablesMode) {
  auto nft = Load("docker29-portmap.json");
  auto e = ExplainDocker(netfilter::Ruleset{}, nullptr, &nft);
  EXPECT_EQ(e.layout, DockerLayout::kNftables);
  ASSERT_EQ(e.docker_nft_tables.size(), 1u);
  EXPECT_EQ(e.docker_nft_tables[0], "ip docker-bridges");
  ASSERT_EQ(e.ports.size(), 1u);
  EXPECT_EQ(e.ports[0].protocol, "tcp");
  EXPECT_EQ(e.ports[0].host_ports, "8080");
  EXPECT_EQ(e.ports[0].container, "192.0.2.2:80");
  EXPECT_EQ(e.ports[0].bridge, "bridge1");
  ASSERT_EQ(e.bridges.size(), 2u);
  EXPECT_EQ(e.bridges[1].name, "bridge1");
  EXPECT_EQ(e.bridges[1].subnet, "192.0.2.0/24");
  ASSERT_EQ(e.direct_access_drops.size(), 1u);
  EXPECT_EQ(e.direct_access_drops[0].address, "192.0.2.2");
  bool own_table_advice = false;
  for (const auto& a : e.advice) {
    EXPECT_EQ(a.find("DOCKER-USER chain") != std::string::npos && a.find("no DOCKER-USER") == std::string::npos, false) << a;
    own_table_advice |= a.find("priority filter - 10") != std::string::npos;
  }
  EXPECT_TRUE(own_table_advice);
}

TEST(DockerNftLayout, OtherTablesAreNamedWithTheirOwner) {
  auto nft = Load("mixed.json");
  auto e = ExplainDocker(netfilter::Ruleset{}, nullptr, &nft);
  ASSERT_EQ(e.other_nft_tables.size(), 1u);
  EXPECT_EQ(e.other_nft_tables[0], "inet own (other)");
}

}  // namespace
}  // namespace swarmwall::analyze
