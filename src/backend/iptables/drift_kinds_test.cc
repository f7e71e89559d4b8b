// The agent's drift kinds, from an iptables firewall's diffs and read.
#include <gtest/gtest.h>

#include "backend/iptables/iptables_firewall.h"

namespace swarmwall::backend {
namespace {

Before BeforeWith(std::vector<std::string> input_rules, bool forward_to_docker_user) {
  Before b;
  b.ipv4.owned.family = netfilter::Family::kIPv4;
  b.ipv4.owned.chains.push_back({"filter", "SWARMWALL-INPUT", std::move(input_rules)});
  b.ipv4.docker_chains = true;
  b.ipv4.forward_jumps_to_docker_user = forward_to_docker_user;
  b.ipv6.owned.family = netfilter::Family::kIPv6;
  return b;
}

TEST(DriftKinds, EachKindOnceInOrder) {
  FamilyDiff d;
  d.rules = true;
  d.lines = {"+ -A SWARMWALL-INPUT -p tcp -m tcp --dport 22 -j ACCEPT",
             "+ hook -I INPUT 1 -j SWARMWALL-INPUT"};
  FamilyDiff none;
  none.family = netfilter::Family::kIPv6;
  auto flushed = DriftKindsOf({d, none}, BeforeWith({}, true));
  EXPECT_EQ(flushed, (std::vector<std::string>{"chain-flushed", "hook-missing"}));
  auto changed = DriftKindsOf({d, none}, BeforeWith({"-j DROP"}, true));
  EXPECT_EQ(changed, (std::vector<std::string>{"chain-changed", "hook-missing"}));
  FamilyDiff hooks;
  hooks.rules = true;
  hooks.lines = {"~ hook INPUT -> SWARMWALL-INPUT: 1 jump(s), not first; made one, first",
                 "~ set swarmwall-office-v4: +1 -0 entries"};
  hooks.changed_sets = {"swarmwall-office-v4"};
  EXPECT_EQ(DriftKindsOf({hooks, none}, BeforeWith({"-j DROP"}, true)),
            (std::vector<std::string>{"hook-not-first", "set"}));
  FamilyDiff missing;
  missing.rules = true;
  missing.lines = {"+ chain SWARMWALL-INPUT"};
  auto b = BeforeWith({}, false);
  b.ipv4.owned.chains.clear();
  b.ipv4.kernel.existing_chains.push_back("DOCKER-USER");
  auto kinds = DriftKindsOf({missing, none}, b);
  EXPECT_EQ(kinds, (std::vector<std::string>{"chain-missing", "forward-docker-user"}));
  EXPECT_TRUE(DriftKindsOf({none, none}, BeforeWith({}, false)).empty());
}

}  // namespace
}  // namespace swarmwall::backend
