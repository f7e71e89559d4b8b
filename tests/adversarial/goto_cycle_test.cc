// Goto cycles against the real tools (issue 12, item 8): what iptables-
// restore accepts is analysed in bounded time, and a loop it refuses is
// refused by the analyzer as well (the unit tests in
// src/analyze/chain_loops_test.cc hold the saved texts the kernel refuses).
#include <gtest/gtest.h>

#include "fixture_node.h"

namespace swarmwall::adversarial {
namespace {

std::string Filter(const std::string& chains, const std::string& rules) {
  return "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n" + chains + rules +
         "COMMIT\n";
}

TEST(GotoCycle, TheKernelRefusesReachedLoopsOfBothVariants) {
  FixtureNode node("gotocyc");
  for (const char* tool : {"iptables-nft-restore", "iptables-legacy-restore"}) {
    for (const std::string& text :
         {Filter(":A - [0:0]\n", "-A INPUT -g A\n-A A -g A\n"),
          Filter(":A - [0:0]\n:B - [0:0]\n", "-A FORWARD -j A\n-A A -j B\n-A B -g A\n")}) {
      auto r = node.host().Exec({tool, "--noflush"}, {.input = text, .timeout = std::chrono::seconds(30)});
      EXPECT_FALSE(r.ok()) << tool << " loaded\n" << text;
    }
  }
}

TEST(GotoCycle, WhatTheKernelAcceptsIsAnalysedInBoundedTime) {
  FixtureNode node("gotoacc");
  // A loop no built-in chain reaches: both variants load it.
  std::string text = Filter(":X - [0:0]\n:Y - [0:0]\n", "-A X -g Y\n-A Y -j X\n");
  auto r = node.host().Exec({"iptables-restore", "--noflush"}, {.input = text, .timeout = std::chrono::seconds(30)});
  ASSERT_TRUE(r.ok()) << r.err;
  node.WriteFile("addr.json", R"([{"ifname":"eth0","addr_info":[{"family":"inet","local":"192.0.2.1","prefixlen":24}]}])");
  node.WriteFile("route.json", R"([{"dst":"192.0.2.0/24","dev":"eth0","prefsrc":"192.0.2.1"}])");
  auto saved = node.host().Exec({"iptables-save"}, {.timeout = std::chrono::seconds(30)});
  ASSERT_TRUE(saved.ok()) << saved.err;
  node.WriteFile("kernel.rules", saved.out);
  std::vector<std::vector<std::string>> commands = {
      {"trace", node.Path("kernel.rules"), "--addr", node.Path("addr.json"), "--route", node.Path("route.json"),
       "--in", "eth0", "--src", "198.51.100.7", "--dst", "192.0.2.1", "--dport", "22"},
      {"exposure", node.Path("kernel.rules"), "--addr", node.Path("addr.json"), "--route", node.Path("route.json")},
      {"audit", node.Path("kernel.rules"), "--addr", node.Path("addr.json"), "--route", node.Path("route.json")}};
  for (const auto& args : commands) {
    auto run = node.Swarmwall(args, std::chrono::seconds(120));
    EXPECT_FALSE(run.timed_out) << args[0];
    EXPECT_TRUE(run.exit_code == 0 || run.exit_code == 2) << args[0] << ": " << run.exit_code << "\n" << run.err;
  }
}

}  // namespace
}  // namespace swarmwall::adversarial
