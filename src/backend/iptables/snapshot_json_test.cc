#include "backend/iptables/snapshot_json.h"

#include <gtest/gtest.h>

#include "backend/iptables/diff.h"
#include "backend/iptables/kernel_state.h"
#include "compile/desired_state_json.h"

namespace swarmwall::backend {
namespace {

using compile::DesiredStateFromJson;
using compile::DesiredStateToJson;
using compile::FamilyStateFromJson;
using compile::FamilyStateToJson;

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
  auto back = compile::FamilyStateFromJson(compile::FamilyStateToJson(fs));
  EXPECT_EQ(compile::FamilyStateToJson(back), compile::FamilyStateToJson(fs));
  EXPECT_TRUE(back.hooks[0].create_chain);
  EXPECT_EQ(back.sets[0].entries->size(), 1u);
}

TEST(StateJson, SetEntriesAreOneStringAndTheEarlierListStillReads) {
  auto fs = Sample();
  std::vector<netfilter::Cidr> many;
  for (const char* e : {"2001:db8::/48", "2001:db8:1::1/128", "2001:db8:2::/64"})
    many.push_back(*netfilter::Cidr::Parse(e, netfilter::Family::kIPv6));
  fs.sets[0].entries = std::make_shared<const std::vector<netfilter::Cidr>>(many);
  auto j = compile::FamilyStateToJson(fs);
  EXPECT_EQ(j["sets"][0]["entry_list"], "2001:db8::/48 2001:db8:1::1/128 2001:db8:2::/64");
  EXPECT_EQ(*compile::FamilyStateFromJson(j).sets[0].entries, many);
  // A journal written by an earlier swarmwall: entries as a list.
  j["sets"][0].erase("entry_list");
  j["sets"][0]["entries"] = {"2001:db8::/48", "2001:db8:1::1/128", "2001:db8:2::/64"};
  EXPECT_EQ(*compile::FamilyStateFromJson(j).sets[0].entries, many);
  fs.sets[0].entries = std::make_shared<const std::vector<netfilter::Cidr>>();
  EXPECT_TRUE(compile::FamilyStateFromJson(compile::FamilyStateToJson(fs)).sets[0].entries->empty());
}

TEST(StateJson, DumpJsonCopiesLongPlainStringsAsTheyAre) {
  std::string entries;
  for (int i = 0; i < 2000; ++i) entries += "10.0." + std::to_string(i / 256) + "." + std::to_string(i % 256) + "/32 ";
  nlohmann::json j = {{"a", entries}, {"b", {{"c", entries + "x"}, {"d", "short \"quoted\""}}},
                      {"e", std::string(5000, '"')}, {"f", {1, 2, entries}}};
  EXPECT_EQ(compile::DumpJson(j), j.dump());
  EXPECT_EQ(nlohmann::json::parse(compile::DumpJson(j)), j);
  nlohmann::json marker = {{"a", entries}, {"m", "\x01" "7"}};
  EXPECT_EQ(compile::DumpJson(marker), marker.dump()) << "a string of its own that looks like a placeholder";
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

TEST(StateJson, DesiredStateRoundTrips) {
  compile::DesiredState d;
  d.node = "n1";
  d.ipv6 = Sample();
  auto back = compile::DesiredStateFromJson(compile::DesiredStateToJson(d));
  EXPECT_EQ(back.node, "n1");
  EXPECT_EQ(compile::DesiredStateToJson(back), compile::DesiredStateToJson(d));
}

}  // namespace
}  // namespace swarmwall::backend

namespace swarmwall::backend {
namespace {

TEST(OwnedSets, BothFamiliesInOnePassTwinsAndOthersLeftOut) {
  std::string save =
      "create other hash:ip family inet hashsize 1024 maxelem 65536\n"
      "add other 192.0.2.1\n"
      "create swarmwall-office-v4 hash:net family inet hashsize 1024 maxelem 1048576\n"
      "add swarmwall-office-v4 198.51.100.7\n"
      "add swarmwall-office-v4 198.51.100.0/25\n"
      "create swarmwall-office-v4~ hash:net family inet hashsize 1024 maxelem 1048576\n"
      "add swarmwall-office-v4~ 203.0.113.1\n"
      "create swarmwall-office-v6 hash:net family inet6 hashsize 1024 maxelem 1048576\n"
      "add swarmwall-office-v6 2001:db8::/48\n"
      "create swarmwall-empty-v4 hash:net family inet hashsize 1024 maxelem 1048576\n";
  FamilySnapshot v4, v6;
  v6.owned.family = netfilter::Family::kIPv6;
  SetOwnedSets(save, v4, v6);
  ASSERT_EQ(v4.owned.sets.size(), 2u);
  EXPECT_EQ(v4.owned.sets[0].name, "swarmwall-empty-v4");
  EXPECT_TRUE(v4.owned.sets[0].entries->empty());
  EXPECT_EQ(v4.owned.sets[1].name, "swarmwall-office-v4");
  ASSERT_EQ(v4.owned.sets[1].entries->size(), 2u);
  EXPECT_EQ((*v4.owned.sets[1].entries)[0].ToString(), "198.51.100.0/25");
  ASSERT_EQ(v6.owned.sets.size(), 1u);
  EXPECT_EQ(v6.owned.sets[0].entries->size(), 1u);
  // The one-family form agrees.
  FamilySnapshot only6;
  only6.owned.family = netfilter::Family::kIPv6;
  SetOwnedSets(std::string(save), only6);
  EXPECT_EQ(compile::FamilyStateToJson(only6.owned), compile::FamilyStateToJson(v6.owned));
}

}  // namespace
}  // namespace swarmwall::backend
