#include "backend/nftables/nftables_firewall.h"

#include <gtest/gtest.h>

#include <memory>

#include "backend/nftables/table_of.h"
#include "netfilter/nft_json.h"

namespace swarmwall::backend {
namespace {

using netfilter::Cidr;
using netfilter::Family;

compile::DesiredState WithNodes(std::vector<std::string> addresses) {
  compile::DesiredState d;
  d.ipv4.family = Family::kIPv4;
  d.ipv6.family = Family::kIPv6;
  compile::IpSet set;
  set.name = "swarmwall-nodes-v4";
  set.policy_name = "nodes";
  set.family = Family::kIPv4;
  auto entries = std::make_shared<std::vector<Cidr>>();
  for (const auto& a : addresses) entries->push_back(*Cidr::Parse(a));
  set.entries = entries;
  d.ipv4.sets.push_back(set);
  d.ipv4.chains.push_back({"filter", "SWARMWALL-INPUT",
                           {"-p tcp -m tcp --dport 2377 -m set --match-set swarmwall-nodes-v4 src -j ACCEPT"}});
  d.ipv4.hooks.push_back({"filter", "INPUT", "SWARMWALL-INPUT", false});
  return d;
}

std::vector<std::string> Texts(const std::vector<Cidr>& cidrs) {
  std::vector<std::string> out;
  for (const auto& c : cidrs) out.push_back(c.ToString());
  return out;
}

// A node joining or leaving is the addresses that come and go, though the
// kernel's interval set merges neighbours (10.10.10.2 and .3 are one
// /31 there): the agent's log said "+10.10.10.2/31 -10.10.10.2/32".
TEST(NftablesFirewall, SetEntryChangesAreTheAddressesThatComeAndGo) {
  NftablesFirewall fw("");
  std::string error;
  auto have = DesiredTable(WithNodes({"10.10.10.1", "10.10.10.2"}), Family::kIPv4, error);
  ASSERT_TRUE(have) << error;
  FirewallView view = NftablesFirewall::ViewOf(have, std::nullopt);
  auto join = fw.SetEntryChanges(WithNodes({"10.10.10.1", "10.10.10.2", "10.10.10.3"}), view);
  ASSERT_TRUE(join);
  ASSERT_EQ(join->size(), 1u);
  EXPECT_EQ(Texts((*join)[0].add), std::vector<std::string>{"10.10.10.3/32"});
  EXPECT_TRUE((*join)[0].del.empty());
  auto leave = fw.SetEntryChanges(WithNodes({"10.10.10.2"}), view);
  ASSERT_TRUE(leave);
  ASSERT_EQ(leave->size(), 1u);
  EXPECT_TRUE((*leave)[0].add.empty());
  EXPECT_EQ(Texts((*leave)[0].del), std::vector<std::string>{"10.10.10.1/32"});
  // Anything but entries changed: not an entries-only change.
  auto other = WithNodes({"10.10.10.1"});
  other.ipv4.chains[0].rules[0] = "-p tcp -m tcp --dport 7946 -m set --match-set swarmwall-nodes-v4 src -j ACCEPT";
  EXPECT_FALSE(fw.SetEntryChanges(other, view));
}

// plan --exposure and the check for other owners' drops read the tables
// after the commit with the analyzer's reader, which wants the handles a
// kernel listing has: without them every plan on the nftables backend
// failed ("handle" must be a number).
TEST(NftablesFirewall, TablesAfterReadAsAListing) {
  NftablesFirewall fw("");
  std::string tables = fw.NativeTablesAfter(WithNodes({"10.10.10.1"}));
  auto parsed = netfilter::ParseNftJson(tables, "after");
  ASSERT_TRUE(parsed.ruleset) << (parsed.error ? parsed.error->ToString() : "?");
  ASSERT_EQ(parsed.ruleset->tables.size(), 1u);
  EXPECT_EQ(parsed.ruleset->tables[0].name, "swarmwall");
}

}  // namespace
}  // namespace swarmwall::backend
