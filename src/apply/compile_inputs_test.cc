#include "apply/compile_inputs.h"

#include <unistd.h>

#include <fstream>

#include <gtest/gtest.h>

#include "apply/record_json.h"
#include "compile/desired_state_json.h"

namespace swarmwall::apply {
namespace {

compile::DesiredState State(std::vector<std::string> entries) {
  compile::DesiredState s;
  s.node = "n1";
  s.ipv4.family = netfilter::Family::kIPv4;
  s.ipv6.family = netfilter::Family::kIPv6;
  s.ipv4.chains.push_back({"filter", "SWARMWALL-INPUT", {"-i lo -j ACCEPT"}});
  compile::IpSet set;
  set.name = "swarmwall-office-v4";
  auto cidrs = std::make_shared<std::vector<netfilter::Cidr>>();
  for (const auto& e : entries) cidrs->push_back(*netfilter::Cidr::Parse(e));
  set.entries = cidrs;
  s.ipv4.sets.push_back(set);
  return s;
}

TEST(OwnedFingerprint, OrderFreeButExact) {
  auto a = OwnedFingerprint(State({"192.0.2.1", "198.51.100.0/24", "203.0.113.7"}));
  EXPECT_EQ(a, OwnedFingerprint(State({"203.0.113.7", "192.0.2.1", "198.51.100.0/24"})));
  EXPECT_NE(a, OwnedFingerprint(State({"192.0.2.1", "198.51.100.0/25", "203.0.113.7"})));
  EXPECT_NE(a, OwnedFingerprint(State({"192.0.2.1", "198.51.100.0/24"})));
  EXPECT_NE(a, OwnedFingerprint(State({"192.0.2.1", "198.51.100.0/24", "203.0.113.7", "203.0.113.7"})));
  auto other_rule = State({"192.0.2.1", "198.51.100.0/24", "203.0.113.7"});
  other_rule.ipv4.chains[0].rules[0] = "-i lo -j DROP";
  EXPECT_NE(a, OwnedFingerprint(other_rule));
}

TEST(InputsFingerprint, FilesNodeAndFacts) {
  std::string dir = ::testing::TempDir() + "/inputs-" + std::to_string(getpid());
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/p.yaml") << "version: 1\n";
  std::ofstream(dir + "/set.txt") << "192.0.2.1\n";
  compile::NodeFacts facts;
  auto a = InputsFingerprint({dir + "/p.yaml", dir + "/set.txt"}, "n1", facts);
  ASSERT_TRUE(a);
  EXPECT_EQ(a, InputsFingerprint({dir + "/p.yaml", dir + "/set.txt"}, "n1", facts));
  EXPECT_NE(a, InputsFingerprint({dir + "/p.yaml", dir + "/set.txt"}, "n2", facts));
  compile::NodeFacts moved = facts;
  moved.forward_ipv4 = true;
  EXPECT_NE(a, InputsFingerprint({dir + "/p.yaml", dir + "/set.txt"}, "n1", moved));
  std::ofstream(dir + "/set.txt") << "192.0.2.2\n";
  EXPECT_NE(a, InputsFingerprint({dir + "/p.yaml", dir + "/set.txt"}, "n1", facts));
  EXPECT_FALSE(InputsFingerprint({dir + "/missing.yaml"}, "n1", facts));
  std::filesystem::remove_all(dir);
}

TEST(AppliedRecord, InputsSurviveJson) {
  AppliedRecord r{"n1", "p.yaml", "abc", "nft", "2026-11-23T00:00:00Z"};
  r.inputs = "f00";
  r.files = {"/etc/swarmwall/p.yaml", "/etc/swarmwall/office.txt"};
  auto back = RecordFromJson(RecordToJson(r));
  EXPECT_EQ(back.inputs, r.inputs);
  EXPECT_EQ(back.files, r.files);
  AppliedRecord old{"n1", "p.yaml", "abc", "nft", "t"};   // written by an earlier swarmwall
  EXPECT_TRUE(RecordFromJson(RecordToJson(old)).inputs.empty());
}

}  // namespace
}  // namespace swarmwall::apply
