// swarmwall's part of the host's network after a commit (PutOwnedInPlace):
// the nftables backend's sets live in its own tables, never as ipsets.
#include "apply/rules_after.h"

#include <gtest/gtest.h>

#include "apply/swarm_members.h"
#include "apply/swarm_members_fixture.h"
#include "apply/workflow_steps.h"
#include "compile/compiler.h"

namespace swarmwall::apply {
namespace {

// A host as read: one ipset of another owner, one stale ipset of ours.
host::HostNetwork Host() {
  host::HostNetwork h;
  host::IpSet theirs;
  theirs.name = "blocklist";
  theirs.type = "hash:net";
  h.ipsets["blocklist"] = theirs;
  host::IpSet stale;
  stale.name = "swarmwall-old-v4";
  stale.type = "hash:net";
  h.ipsets["swarmwall-old-v4"] = stale;
  return h;
}

// manager-1 of a two-node Swarm: a nodes set of two entries.
compile::DesiredState Desired() {
  std::vector<SwarmMember> members = {fixture::Member("m", "manager-1", "10.10.10.1", policy::Role::kManager),
                                      fixture::Member("w1", "node-1", "10.10.10.2")};
  auto policy = *PolicyWithMembers(fixture::AutoPolicy(), members).policy;
  return compile::Compile(policy, *policy.FindNode("manager-1"), compile::NodeFacts{});
}

TEST(RulesAfter, IpsetsOfTheIptablesBackendAreTheDesiredSets) {
  auto desired = Desired();
  ASSERT_FALSE(desired.ipv4.sets.empty());
  auto after = Host();
  std::string error;
  ASSERT_TRUE(PutOwnedInPlace(after, "", desired, error)) << error;
  EXPECT_TRUE(after.ipsets.contains("blocklist"));
  EXPECT_FALSE(after.ipsets.contains("swarmwall-old-v4"));
  for (const auto& s : desired.ipv4.sets) {
    ASSERT_TRUE(after.ipsets.contains(s.name)) << s.name;
    EXPECT_EQ(after.ipsets.at(s.name).entries.size(), s.entries ? s.entries->size() : 0u);
  }
}

// Failed before: the nftables backend's sets were also modelled as ipsets
// (swarmwall-nodes-v4 with every entry) that no commit of it makes.
TEST(RulesAfter, TheNftablesBackendHasItsSetsInItsTablesNotAsIpsets) {
  auto desired = Desired();
  auto nftables = OpenFirewall("", backend::FirewallKind::kNftables);
  std::string tables = nftables->NativeTablesAfter(desired);
  ASSERT_FALSE(tables.empty());
  auto after = Host();
  std::string error;
  ASSERT_TRUE(PutOwnedInPlace(after, tables, desired, error)) << error;
  EXPECT_EQ(after.ipsets.size(), 1u);
  EXPECT_TRUE(after.ipsets.contains("blocklist"));
  size_t sets = 0;
  for (const auto& t : after.nftables.tables)
    if (t.name == "swarmwall") sets += t.sets.size();
  EXPECT_GE(sets, desired.ipv4.sets.size());
}

TEST(RulesAfter, AMalformedNativeListingIsAnError) {
  auto after = Host();
  std::string error;
  EXPECT_FALSE(PutOwnedInPlace(after, "{\"nftables\": 3}", Desired(), error));
  EXPECT_NE(error.find("after the commit"), std::string::npos) << error;
}

}  // namespace
}  // namespace swarmwall::apply
