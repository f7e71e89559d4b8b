#include "backend/iptables/diff.h"

#include <gtest/gtest.h>

namespace swarmwall::backend {
namespace {

using netfilter::Family;

compile::FamilyState Desired() {
  compile::FamilyState fs;
  fs.family = Family::kIPv4;
  fs.chains.push_back({"filter", "SWARMWALL-INPUT", {"-i lo -j ACCEPT", "-i eth0 -j DROP"}});
  fs.hooks.push_back({"filter", "INPUT", "SWARMWALL-INPUT", false});
  compile::IpSet s;
  s.name = "swarmwall-office-v4";
  s.family = Family::kIPv4;
  s.entries = std::make_shared<const std::vector<netfilter::Cidr>>(
      std::vector<netfilter::Cidr>{*netfilter::Cidr::Parse("198.51.100.0/24")});
  fs.sets.push_back(s);
  return fs;
}

FamilySnapshot Snap(const std::string& filter, const std::string& ipsets = "") {
  std::string error;
  auto s = SnapshotFromText(filter, ipsets, Family::kIPv4, error);
  EXPECT_TRUE(s) << error;
  return s ? *s : FamilySnapshot{};
}

const char* kApplied =
    "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
    ":DOCKER-USER - [0:0]\n:SWARMWALL-INPUT - [0:0]\n"
    "-A INPUT -j SWARMWALL-INPUT\n-A INPUT -p tcp -m tcp --dport 9 -j ACCEPT\n"
    "-A FORWARD -j DOCKER-USER\n"
    "-A SWARMWALL-INPUT -i lo -j ACCEPT\n-A SWARMWALL-INPUT -i eth0 -j DROP\nCOMMIT\n";
const char* kSets =
    "create swarmwall-office-v4 hash:net family inet hashsize 1024 maxelem 1048576\n"
    "add swarmwall-office-v4 198.51.100.0/24\n"
    "create other hash:ip family inet\nadd other 192.0.2.1\n";

TEST(Diff, NothingToDoWhenTheKernelMatches) {
  auto snap = Snap(kApplied, kSets);
  EXPECT_TRUE(snap.forward_jumps_to_docker_user);
  EXPECT_EQ(snap.foreign_rules, 2u);
  auto d = Compare(Desired(), snap);
  EXPECT_TRUE(d.empty()) << (d.lines.empty() ? "" : d.lines[0]);
}

TEST(Diff, HookNotFirstOrDuplicated) {
  std::string text = kApplied;
  text.replace(text.find("-A INPUT -j SWARMWALL-INPUT\n"), 28, "");
  text.replace(text.find("-A FORWARD"), 0, "-A INPUT -j SWARMWALL-INPUT\n");
  auto d = Compare(Desired(), Snap(text, kSets));
  EXPECT_TRUE(d.rules);
  ASSERT_FALSE(d.lines.empty());
  EXPECT_NE(d.lines[0].find("not first"), std::string::npos) << d.lines[0];
}

TEST(Diff, ChangedRulesAndSets) {
  auto desired = Desired();
  desired.chains[0].rules.insert(desired.chains[0].rules.begin() + 1,
                                 "-i eth0 -p tcp -m tcp --dport 22 -j ACCEPT");
  compile::IpSet extra = desired.sets[0];
  extra.name = "swarmwall-admins-v4";
  desired.sets.push_back(extra);
  auto d = Compare(desired, Snap(kApplied, kSets));
  EXPECT_TRUE(d.rules);
  EXPECT_EQ(d.changed_sets, std::vector<std::string>{"swarmwall-admins-v4"});
  EXPECT_NE(std::find(d.lines.begin(), d.lines.end(),
                      "+ -A SWARMWALL-INPUT -i eth0 -p tcp -m tcp --dport 22 -j ACCEPT"),
            d.lines.end());
}

TEST(Diff, StaleSetsAndChainsAreRemoved) {
  compile::FamilyState none;
  auto d = Compare(none, Snap(kApplied, kSets));
  EXPECT_TRUE(d.rules);
  EXPECT_EQ(d.stale_sets, std::vector<std::string>{"swarmwall-office-v4"});
}

}  // namespace
}  // namespace swarmwall::backend
