#include "apply/state_json.h"

#include <gtest/gtest.h>

#include "apply/diff.h"
#include "apply/state_store.h"

namespace swarmwall::apply {
namespace {

compile::FamilyState Sample() {
  compile::FamilyState fs;
  fs.family = netfilter::Family::kIPv6;
  fs.chains.push_back({"filter", "SWARMWALL-INPUT", {"-i lo -j ACCEPT", "-j DROP"}});
  fs.hooks.push_back({"filter", "DOCKER-USER", "SWARMWALL-USER", true});
  compile::IpSet s;
  s.name = "swarmwall-office-v6";
  s.policy_name = "office";
  s.family = netfilter::Family::kIPv6;
  s.entries = std::make_shared<const std::vector<netfilter::Cidr>>(
      std::vector<netfilter::Cidr>{*netfilter::Cidr::Parse("2001:db8::/48", netfilter::Family::kIPv6)});
  fs.sets.push_back(s);
  return fs;
}

TEST(StateJson, FamilyStateRoundTrips) {
  auto fs = Sample();
  auto back = FamilyStateFromJson(FamilyStateToJson(fs));
  EXPECT_EQ(FamilyStateToJson(back), FamilyStateToJson(fs));
  EXPECT_TRUE(back.hooks[0].create_chain);
  EXPECT_EQ(back.sets[0].entries->size(), 1u);
}

TEST(StateJson, SnapshotRoundTripsWithoutSets) {
  FamilySnapshot s;
  s.owned = Sample();
  s.kernel.existing_chains = {"INPUT", "DOCKER-USER", "SWARMWALL-INPUT"};
  s.kernel.jumps[{"INPUT", "SWARMWALL-INPUT"}] = 2;
  s.hook_first[{"INPUT", "SWARMWALL-INPUT"}] = false;
  s.docker_chains = true;
  s.docker_user_referenced = true;
  s.foreign_rules = 10000;
  auto back = SnapshotFromJson(SnapshotToJson(s));
  EXPECT_TRUE(back.owned.sets.empty());
  EXPECT_EQ(back.kernel.existing_chains, s.kernel.existing_chains);
  EXPECT_EQ(back.kernel.Jumps("INPUT", "SWARMWALL-INPUT"), 2);
  EXPECT_FALSE(back.hook_first.at({"INPUT", "SWARMWALL-INPUT"}));
  EXPECT_TRUE(back.docker_chains);
  EXPECT_TRUE(back.docker_user_referenced);
  EXPECT_EQ(back.foreign_rules, 10000u);
  EXPECT_EQ(SnapshotToJson(back), SnapshotToJson(s));
}

TEST(StateJson, DesiredStateAndRecordRoundTrip) {
  compile::DesiredState d;
  d.node = "n1";
  d.ipv6 = Sample();
  auto back = DesiredStateFromJson(DesiredStateToJson(d));
  EXPECT_EQ(back.node, "n1");
  EXPECT_EQ(NormalizedDigest(back), NormalizedDigest(d));
  AppliedRecord r{"n1", "p.yaml", "abc", "nft", "2026-01-01T00:00:00Z"};
  auto rb = RecordFromJson(RecordToJson(r));
  EXPECT_EQ(rb.digest, "abc");
  EXPECT_EQ(rb.time, r.time);
}

}  // namespace
}  // namespace swarmwall::apply
