// Membership changes written as set entries in place (the agent's `nodes:
// auto`): which desired states differ from the kernel's only in entries,
// and the `ipset restore` text for them.
#include <gtest/gtest.h>

#include "apply/swarm_members.h"
#include "apply/swarm_members_fixture.h"
#include "backend/firewall.h"
#include "backend/iptables/set_entries.h"
#include "compile/compiler.h"

namespace swarmwall::apply {
namespace {

using netfilter::Cidr;
using netfilter::Family;

policy::Policy Base(const std::string& text = fixture::kAutoPolicy) { return fixture::AutoPolicy(text); }

using fixture::Member;

// The snapshot a kernel holding exactly D would give.
backend::Before Holding(const compile::DesiredState& d) {
  backend::Before b;
  for (auto* pair : {&b.ipv4, &b.ipv6}) {
    const auto& fs = pair == &b.ipv4 ? d.ipv4 : d.ipv6;
    pair->owned = fs;
    for (const auto& h : fs.hooks) {
      pair->kernel.jumps[{h.chain, h.target}] = 1;
      pair->hook_first[{h.chain, h.target}] = true;
    }
  }
  return b;
}

TEST(SetEntries, OnlyChangesInPlace) {
  auto base = Base();
  std::vector<SwarmMember> two = {Member("m", "manager-1", "10.10.10.1", policy::Role::kManager),
                                  Member("w1", "node-1", "10.10.10.2")};
  auto three = two;
  three.push_back(Member("w3", "node-3", "10.10.10.4"));
  auto p2 = *apply::PolicyWithMembers(base, two).policy;
  auto p3 = *apply::PolicyWithMembers(base, three).policy;
  compile::NodeFacts facts;
  auto before = Holding(compile::Compile(p2, *p2.FindNode("manager-1"), facts));
  // A join: one entry added, no rule.
  auto deltas = backend::SetOnlyChanges(compile::Compile(p3, *p3.FindNode("manager-1"), facts), before);
  ASSERT_TRUE(deltas);
  ASSERT_EQ(deltas->size(), 1u);
  EXPECT_EQ((*deltas)[0].set, "swarmwall-nodes-v4");
  EXPECT_EQ((*deltas)[0].add, std::vector<Cidr>{*Cidr::Parse("10.10.10.4/32")});
  EXPECT_TRUE((*deltas)[0].del.empty());
  EXPECT_EQ(backend::RenderSetEntryChanges(*deltas), "add swarmwall-nodes-v4 10.10.10.4/32 -exist\n");
  EXPECT_EQ(backend::DescribeSetEntryChanges(*deltas), std::vector<std::string>{"swarmwall-nodes-v4 +10.10.10.4/32"});
  // A leave: one entry deleted.
  auto before3 = Holding(compile::Compile(p3, *p3.FindNode("node-1"), facts));
  auto leave = backend::SetOnlyChanges(compile::Compile(p2, *p2.FindNode("node-1"), facts), before3);
  ASSERT_TRUE(leave);
  EXPECT_EQ(backend::RenderSetEntryChanges(*leave), "del swarmwall-nodes-v4 10.10.10.4/32 -exist\n");
  // Nothing changed.
  auto none = backend::SetOnlyChanges(compile::Compile(p2, *p2.FindNode("manager-1"), facts), before);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  // This node promoted: its rules change shape (2377): no in-place update.
  auto promoted = two;
  promoted[1].role = policy::Role::kManager;
  auto pp = *apply::PolicyWithMembers(base, promoted).policy;
  auto before_w = Holding(compile::Compile(p2, *p2.FindNode("node-1"), facts));
  EXPECT_FALSE(backend::SetOnlyChanges(compile::Compile(pp, *pp.FindNode("node-1"), facts), before_w));
  // ... while on the other nodes nothing differs.
  auto other = backend::SetOnlyChanges(compile::Compile(pp, *pp.FindNode("manager-1"), facts), before);
  ASSERT_TRUE(other);
  EXPECT_TRUE(other->empty());
  // A set the kernel does not hold yet (the first IPv6 node): the whole way.
  auto v6 = two;
  v6.push_back(Member("w6", "node-6", "2001:db8::6"));
  auto p6 = *apply::PolicyWithMembers(base, v6).policy;
  EXPECT_FALSE(backend::SetOnlyChanges(compile::Compile(p6, *p6.FindNode("manager-1"), facts), before));
}

// `ipv6: false` leaves the desired IPv6 state default-made (its family
// field says IPv4): deltas are still found, by position.
TEST(SetEntries, OnlyChangesWithoutIpv6) {
  auto base = Base(std::string(fixture::kAutoPolicy) + "ipv6: false\n");
  std::vector<SwarmMember> two = {Member("m", "manager-1", "10.10.10.1", policy::Role::kManager),
                                  Member("w1", "node-1", "10.10.10.2")};
  auto three = two;
  three.push_back(Member("w3", "node-3", "10.10.10.4"));
  auto p2 = *apply::PolicyWithMembers(base, two).policy;
  auto p3 = *apply::PolicyWithMembers(base, three).policy;
  compile::NodeFacts facts;
  auto d2 = compile::Compile(p2, *p2.FindNode("node-1"), facts);
  auto before = Holding(d2);
  before.ipv6 = backend::FamilySnapshot{};
  before.ipv6.owned.family = Family::kIPv6;
  auto deltas = backend::SetOnlyChanges(compile::Compile(p3, *p3.FindNode("node-1"), facts), before);
  ASSERT_TRUE(deltas);
  EXPECT_EQ(backend::RenderSetEntryChanges(*deltas), "add swarmwall-nodes-v4 10.10.10.4/32 -exist\n");
}

}  // namespace
}  // namespace swarmwall::apply
