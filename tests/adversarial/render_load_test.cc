// render's output loaded by hand on a live Docker host (issue 12, item 7):
// the iptables backend's files loaded twice keep Docker's and an
// administrator's rules (DOCKER-USER's own rule and RETURN, DOCKER-FORWARD)
// and give the same ruleset as one load, with exactly one jump per hook;
// the netfilter-persistent files, loaded as netfilter-persistent would on
// such a host, empty nothing. Docker 20.10's and 28.5's layouts, both
// families.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <vector>

#include "adversarial/fixture_node.h"

namespace swarmwall::adversarial {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// KernelState without anything of swarmwall's: what others own.
std::string Others(const std::string& state) {
  std::istringstream lines(state);
  std::string line, out;
  while (std::getline(lines, line))
    if (line.find("SWARMWALL-") == std::string::npos && line.find("swarmwall-") == std::string::npos)
      out += line + "\n";
  return out;
}

// KernelState with the sets' entries in order and without their hash seed
// (ipset picks a new initval and order for a set swapped in): the same
// sets holding the same entries compare equal.
std::string Stable(const std::string& state) {
  std::istringstream lines(state);
  std::string line, out;
  std::vector<std::string> sets;
  while (std::getline(lines, line)) {
    if (line.starts_with("create ") || line.starts_with("add ")) {
      if (size_t at = line.find(" initval "); at != std::string::npos)
        line = line.substr(0, at) + line.substr(std::min(line.size(), line.find(' ', at + 9)));
      sets.push_back(line);
    } else {
      out += line + "\n";
    }
  }
  std::sort(sets.begin(), sets.end());
  for (const auto& s : sets) out += s + "\n";
  return out;
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

class RenderLoad : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::string why;
    if (!lab::LabSupported(&why)) GTEST_SKIP() << why;
    node_ = std::make_unique<FixtureNode>("render");
    if (GetParam() == "28.5") {
      // Docker 28.5's layout instead: each file replaces the tables it holds.
      for (auto [file, tool] : {std::pair{"node.iptables-save", "iptables-restore"},
                                std::pair{"node.ip6tables-save", "ip6tables-restore"}}) {
        std::string text = ReadFile(SharedDir() + "/fixtures/docker-28.5-swarm/" + file);
        auto r = node_->host().Exec({tool}, {.input = text, .timeout = std::chrono::seconds(30)});
        ASSERT_TRUE(r.ok()) << tool << ": " << r.err;
      }
    }
    // The IPv6 filter table present (Docker 20.10 leaves it empty), so that
    // "unchanged" compares tables, not whether one was instantiated.
    ASSERT_TRUE(node_->host().Sh("ip6tables -P FORWARD ACCEPT").ok());
    // An administrator's own rule, as documented for DOCKER-USER.
    auto admin = node_->host().Sh("iptables -I DOCKER-USER 1 -s 203.0.113.9 -j DROP");
    ASSERT_TRUE(admin.ok()) << admin.err;
  }

  std::unique_ptr<FixtureNode> node_;
};

TEST_P(RenderLoad, HandLoadedTwiceKeepsOthersRulesAndEqualsOnce) {
  FixtureNode& node = *node_;
  std::string before = node.KernelState();
  auto r = node.Swarmwall({"render", node.Path("policy.yaml"), "--out-dir", node.Path("od")});
  ASSERT_TRUE(r.ok()) << r.err;
  std::string load = "cd " + node.Path("od") +
                     " && ipset restore < m1.ipset && iptables-restore --noflush < m1.v4.rules"
                     " && ip6tables-restore --noflush < m1.v6.rules && sh m1.hooks.sh";
  auto first = node.host().Sh(load);
  ASSERT_TRUE(first.ok()) << first.err;
  std::string once = Stable(node.KernelState());
  auto second = node.host().Sh(load);
  ASSERT_TRUE(second.ok()) << second.err;
  std::string twice = Stable(node.KernelState());
  EXPECT_EQ(once, twice) << "a second load changed the ruleset";
  EXPECT_EQ(Others(before), Others(twice)) << "a rule that is not swarmwall's changed";

  auto user = node.host().Sh("iptables -S DOCKER-USER").out;
  EXPECT_NE(user.find("-A DOCKER-USER -s 203.0.113.9/32 -j DROP\n"), std::string::npos) << user;
  if (GetParam() == "20.10") {
    EXPECT_NE(user.find("-A DOCKER-USER -j RETURN\n"), std::string::npos) << user;
  }
  EXPECT_EQ(user.find("-A DOCKER-USER"), user.find("-A DOCKER-USER -j SWARMWALL-USER")) << "not first:\n" << user;
  EXPECT_EQ(Count(user, "-j SWARMWALL-USER"), 1) << user;
  auto v4 = node.host().Sh("iptables -S").out;
  EXPECT_EQ(Count(v4, "-A INPUT -j SWARMWALL-INPUT"), 1) << v4;
  EXPECT_EQ(Count(v4, "-j SWARMWALL-USER"), 1) << v4;
  auto v6 = node.host().Sh("ip6tables -S").out;
  EXPECT_EQ(Count(v6, "-A INPUT -j SWARMWALL-INPUT"), 1) << v6;
  EXPECT_EQ(Count(v6, "-j SWARMWALL-USER"), 1) << v6;
  if (GetParam() == "20.10") {
    // No IPv6 chains of Docker's: hooked in FORWARD, and no DOCKER-USER
    // that nothing would reach.
    EXPECT_NE(v6.find("-A FORWARD -j SWARMWALL-USER"), std::string::npos) << v6;
    EXPECT_EQ(v6.find("DOCKER-USER"), std::string::npos) << v6;
  } else {
    EXPECT_NE(v6.find("-A DOCKER-USER -j SWARMWALL-USER"), std::string::npos) << v6;
  }
}

// netfilter-persistent on a host where Docker runs (a restart of the
// service, or Docker ordered first): the files are refused whole, nothing
// of Docker's or the administrator's is emptied, no jump doubled.
TEST_P(RenderLoad, PersistentFilesEmptyNothingOfDockers) {
  FixtureNode& node = *node_;
  std::string before = node.KernelState();
  auto r = node.Swarmwall({"render", node.Path("policy.yaml"), "--backend", "persistent", "--out-dir",
                           node.Path("od")});
  ASSERT_TRUE(r.ok()) << r.err;
  std::string etc = node.Path("od") + "/m1/etc/iptables";
  // As netfilter-persistent's plugins: ipsets, then each family tested and
  // restored with --noflush.
  node.host().Sh("ipset restore -exist < " + etc + "/ipsets");
  for (auto [tool, file] : {std::pair{"iptables-restore", "rules.v4"}, std::pair{"ip6tables-restore", "rules.v6"}}) {
    node.host().Sh(std::string(tool) + " --noflush --test < " + etc + "/" + file);
    auto load = node.host().Sh(std::string(tool) + " --noflush < " + etc + "/" + file);
    if (!load.ok()) {
      EXPECT_NE(load.err, "") << file;   // refused: says why
    }
  }
  std::string after = node.KernelState();
  EXPECT_EQ(Others(before), Others(after)) << "netfilter-persistent's load changed a rule not swarmwall's";
  auto user = node.host().Sh("iptables -S DOCKER-USER").out;
  EXPECT_NE(user.find("-A DOCKER-USER -s 203.0.113.9/32 -j DROP\n"), std::string::npos) << user;
  auto all = node.host().Sh("iptables -S; ip6tables -S").out;
  EXPECT_LE(Count(all, "-A INPUT -j SWARMWALL-INPUT"), 2) << all;
}

// At boot (no Docker yet) the same files load, make DOCKER-USER with the
// hook first, and a second load is refused without a change.
TEST_P(RenderLoad, PersistentFilesLoadAtBootOnce) {
  FixtureNode& node = *node_;
  auto r = node.Swarmwall({"render", node.Path("policy.yaml"), "--backend", "persistent", "--out-dir",
                           node.Path("od")});
  ASSERT_TRUE(r.ok()) << r.err;
  // Boot: empty tables.
  auto reset = node.host().Sh(
      "for t in iptables ip6tables; do for table in filter nat raw; do "
      "$t -t $table -F 2>/dev/null; $t -t $table -X 2>/dev/null; done; done; iptables -S FORWARD");
  ASSERT_TRUE(reset.ok()) << reset.err;
  std::string etc = node.Path("od") + "/m1/etc/iptables";
  std::string load = "ipset restore -exist < " + etc + "/ipsets && iptables-restore --noflush < " + etc +
                     "/rules.v4 && ip6tables-restore --noflush < " + etc + "/rules.v6";
  auto first = node.host().Sh(load);
  ASSERT_TRUE(first.ok()) << first.err;
  std::string once = node.KernelState();
  auto user = node.host().Sh("iptables -S DOCKER-USER").out;
  EXPECT_EQ(user, "-N DOCKER-USER\n-A DOCKER-USER -j SWARMWALL-USER\n");
  auto second = node.host().Sh(load);
  EXPECT_FALSE(second.ok()) << "a second load must be refused";
  EXPECT_EQ(node.KernelState(), once);
}

INSTANTIATE_TEST_SUITE_P(Docker, RenderLoad, ::testing::Values("20.10", "28.5"),
                         [](const auto& info) { return info.param == "20.10" ? std::string("v20_10") : std::string("v28_5"); });

}  // namespace
}  // namespace swarmwall::adversarial
