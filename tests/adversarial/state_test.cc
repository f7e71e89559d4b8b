// Issue 12, items 1, 2, 3, 4, 9, 10 and 13 (twins): swarmwall against bad
// state files, bad bytes, a pending confirm, concurrent writers with
// different state dirs, a full state dir and leftover twin sets, on a real
// Docker node's ruleset in a network namespace.
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "fixture_node.h"

namespace swarmwall::adversarial {
namespace {

namespace fs = std::filesystem;

// kPolicy with another container port and office set: a change of rules
// and of sets.
std::string OtherPolicy(int port = 8081) {
  std::string p = kPolicy;
  p = std::regex_replace(p, std::regex("ports: \\[8080\\]"), "ports: [" + std::to_string(port) + "]");
  p = std::regex_replace(p, std::regex("198\\.51\\.100\\.0/24"), "198.51.100.0/25");
  return p;
}

class StateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string why;
    if (!lab::LabSupported(&why)) GTEST_SKIP() << why;
  }
  void SetUp() override {
    node_ = std::make_unique<FixtureNode>("advst");
    node_->WriteFile("other.yaml", OtherPolicy());
  }
  FixtureNode& node() { return *node_; }
  ProcessResult Apply(const std::string& policy, std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"apply", node().Path(policy), "--node", "m1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return node().Swarmwall(args);
  }
  // plan exit code: 0 when the kernel holds exactly what POLICY wants.
  int Plan(const std::string& policy, const std::string& state_dir = "") {
    std::vector<std::string> argv = {Binary(), "--state-dir",
                                     state_dir.empty() ? node().StateDir() : state_dir, "plan",
                                     node().Path(policy), "--node", "m1"};
    return node().host().Exec(argv, {.timeout = std::chrono::seconds(60)}).exit_code;
  }
  std::string Journal() const { return node_->StateDir() + "/commit-journal.json"; }
  std::unique_ptr<FixtureNode> node_;
};

TEST_F(StateTest, WrongShapedJournalsAreSetAsideAndTheFirewallStays) {
  {
    auto applied = Apply("policy.yaml");
    ASSERT_TRUE(applied.ok()) << applied.err;
  }
  std::string before = node().KernelState();
  for (const char* text : {R"({"operation":"remove"})", "{}", R"({"operation":"apply"})",
                           R"({"writer":"x"})", R"({"operation":"apply","kept_v4":"x"})"}) {
    std::ofstream(Journal()) << text;
    auto r = node().Swarmwall({"status"});
    EXPECT_TRUE(r.exit_code == 0 || r.exit_code == 2) << text << ": " << r.exit_code << " " << r.err;
    EXPECT_NE(r.err.find("is not valid"), std::string::npos) << r.err;
    EXPECT_EQ(r.err.find("previous owned state is back"), std::string::npos) << r.err;
    EXPECT_EQ(node().KernelState(), before) << text;
    EXPECT_FALSE(fs::exists(Journal()));
  }
  EXPECT_EQ(Plan("policy.yaml"), 0);
}

TEST_F(StateTest, AJournalRuleCannotSmuggleARuleIntoAnotherChain) {
  {
    auto applied = Apply("policy.yaml");
    ASSERT_TRUE(applied.ok()) << applied.err;
  }
  std::string before = node().KernelState();
  // The shape of a real journal, its desired chain holding a second line.
  nlohmann::json chain = {{"table", "filter"}, {"name", "SWARMWALL-INPUT"},
                          {"rules", {"-i lo -j ACCEPT\n-A INPUT -j ACCEPT"}}};
  nlohmann::json state = {{"node", "m1"},
                          {"ipv4", {{"family", 4}, {"chains", {chain}}, {"hooks", nlohmann::json::array()},
                                    {"sets", nlohmann::json::array()}}},
                          {"ipv6", {{"family", 6}}}};
  std::ofstream(Journal()) << nlohmann::json{{"operation", "apply"}, {"writer", 999999},
                                             {"previous", state}, {"desired", state}}.dump();
  auto r = node().Swarmwall({"status"});
  EXPECT_NE(r.err.find("not one line"), std::string::npos) << r.err;
  EXPECT_EQ(node().KernelState(), before);
  EXPECT_EQ(node().host().Sh("iptables -S INPUT").out.find("-A INPUT -j ACCEPT"), std::string::npos);
}

TEST_F(StateTest, WrongShapedRecordsAndCachesNeverAbort) {
  {
    auto applied = Apply("policy.yaml");
    ASSERT_TRUE(applied.ok()) << applied.err;
  }
  std::string before = node().KernelState();
  for (auto [file, text] : {std::pair{"applied.json", R"({"digest":5})"}, std::pair{"applied.json", R"({"time":3})"},
                            std::pair{"applied.json", R"({"node":[1]})"},
                            std::pair{"kernel-cache.json", R"({"generation":"x","identity":5,"ipv4":[]})"},
                            std::pair{"pending-confirm.json", R"({"token":[],"ipv4":1})"}}) {
    std::ofstream(node().StateDir() + "/" + file) << text;
    for (const char* cmd : {"status", "plan", "apply"}) {
      std::vector<std::string> args = {cmd};
      if (std::string(cmd) != "status") args = {cmd, node().Path("policy.yaml"), "--node", "m1"};
      auto r = node().Swarmwall(args);
      EXPECT_LT(r.exit_code, 3) << file << " " << text << " " << cmd << ": " << r.err;
    }
    EXPECT_EQ(node().KernelState(), before) << file << " " << text;
  }
}

TEST_F(StateTest, BytesThatAreNotUtf8NeverAbort) {
  // A policy whose path holds \xff: apply writes it into its journal and record.
  std::string odd = "p\xff.yaml";
  node().WriteFile(odd, kPolicy);
  auto r = Apply(odd, {"--output", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_FALSE(nlohmann::json::parse(r.out, nullptr, false).is_discarded()) << r.out;
  EXPECT_EQ(node().Swarmwall({"status", "--output", "json"}).exit_code, 0);
  // A set name with \xe9: refused (or read), never an abort.
  node().WriteFile("bad.yaml", std::regex_replace(std::string(kPolicy), std::regex("office"), "off\xe9" "ce"));
  auto c = node().Swarmwall({"check", node().Path("bad.yaml"), "--output", "json"});
  EXPECT_LT(c.exit_code, 3) << c.err;
}

TEST_F(StateTest, ALaterApplyConfirmsAPendingOne) {
  {
    auto applied = Apply("policy.yaml");
    ASSERT_TRUE(applied.ok()) << applied.err;
  }
  {
    auto applied = Apply("other.yaml", {"--confirm", "2"});
    ASSERT_TRUE(applied.ok()) << applied.err;
  }
  auto r = Apply("policy.yaml");
  ASSERT_TRUE(r.ok()) << r.err;
  EXPECT_NE(r.err.find("confirms the earlier apply"), std::string::npos) << r.err;
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_EQ(Plan("policy.yaml"), 0) << "the timer put back a state after a later apply";
}

TEST_F(StateTest, ALaterConfirmedApplyTakesTheWaitOver) {
  node().WriteFile("third.yaml", OtherPolicy(8082));
  {
    auto applied = Apply("policy.yaml");
    ASSERT_TRUE(applied.ok()) << applied.err;
  }
  {
    auto applied = Apply("other.yaml", {"--confirm", "2"});
    ASSERT_TRUE(applied.ok()) << applied.err;
  }
  {
    auto applied = Apply("third.yaml", {"--confirm", "3"});
    ASSERT_TRUE(applied.ok()) << applied.err;
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  EXPECT_EQ(Plan("third.yaml"), 0) << "the first timer fired";
  std::this_thread::sleep_for(std::chrono::seconds(5));
  EXPECT_EQ(Plan("policy.yaml"), 0) << "unconfirmed, the state before both must come back";
}

TEST_F(StateTest, WritersWithDifferentStateDirsInOneNamespaceAreSerialised) {
  constexpr int kWriters = 10;
  for (int i = 0; i < kWriters; ++i) node().WriteFile("p" + std::to_string(i) + ".yaml", OtherPolicy(9000 + i));
  std::vector<std::thread> threads;
  std::vector<int> codes(kWriters, -1);
  for (int i = 0; i < kWriters; ++i)
    threads.emplace_back([&, i] {
      std::vector<std::string> argv = {Binary(), "--state-dir", node().Path("sd" + std::to_string(i)),
                                       "apply", node().Path("p" + std::to_string(i) + ".yaml"), "--node", "m1"};
      codes[i] = node().host().Exec(argv, {.timeout = std::chrono::seconds(120)}).exit_code;
    });
  for (auto& t : threads) t.join();
  for (int i = 0; i < kWriters; ++i) EXPECT_EQ(codes[i], 0) << "writer " << i;
  int matching = 0;
  for (int i = 0; i < kWriters; ++i)
    matching += Plan("p" + std::to_string(i) + ".yaml", node().Path("sd" + std::to_string(i))) == 0;
  EXPECT_EQ(matching, 1) << "the kernel must hold exactly the last writer's state";
}

TEST_F(StateTest, AFullStateDirNeverGivesAFalseSuccess) {
  std::string dir = node().Path("small");
  fs::create_directories(dir);
  ASSERT_EQ(mount("tmpfs", dir.c_str(), "tmpfs", 0, "size=512k"), 0);
  struct Unmount {
    std::string d;
    ~Unmount() { umount2(d.c_str(), MNT_DETACH); }
  } unmount{dir};
  auto run = [&](const std::string& policy) {
    return node().host().Exec({Binary(), "--state-dir", dir, "apply", node().Path(policy), "--node", "m1"},
                              {.timeout = std::chrono::seconds(60)});
  };
  {
    auto first = run("policy.yaml");
    ASSERT_TRUE(first.ok()) << first.err;
  }
  // Each free space from none to 64 KB, in the tmpfs's 4 KB blocks: at some
  // of them the journal fits and the record does not.
  int failures = 0;
  bool at_policy = true;   // which of the two the kernel holds
  for (int free_kb = 0; free_kb <= 64; free_kb += 4) {
    fs::remove(dir + "/filler");
    struct statvfs st {};
    ASSERT_EQ(statvfs(dir.c_str(), &st), 0);
    long long avail_kb = static_cast<long long>(st.f_bavail) * static_cast<long long>(st.f_bsize) / 1024;
    if (avail_kb > free_kb)
      Shell("dd if=/dev/zero of=" + dir + "/filler bs=1k count=" + std::to_string(avail_kb - free_kb) +
            " 2>/dev/null; true");
    std::string policy = at_policy ? "other.yaml" : "policy.yaml";   // always a change
    std::string before = node().KernelState();
    auto r = run(policy);
    std::string where = std::to_string(free_kb) + " KB free, " + policy;
    if (r.ok()) {
      auto s = node().host().Exec({Binary(), "--state-dir", dir, "status"});
      EXPECT_EQ(s.out.find("drift"), std::string::npos) << where << ": applied, yet the record is old: " << s.out;
      at_policy = !at_policy;
    } else {
      ++failures;
      EXPECT_NE(r.err.find("nothing was changed"), std::string::npos) << where << ": " << r.err;
      EXPECT_EQ(node().KernelState(), before) << where;
    }
  }
  EXPECT_GT(failures, 0) << "the state dir was never full enough to fail";
}

TEST_F(StateTest, LeftoverTwinsOfAnyTypeAreTolerated) {
  {
    auto applied = Apply("policy.yaml");
    ASSERT_TRUE(applied.ok()) << applied.err;
  }
  // A twin a killed committer left, of another type than swarmwall makes.
  ASSERT_TRUE(node().host().Sh("ipset create swarmwall-office-v4~ hash:ip").ok());
  auto r = Apply("other.yaml");
  EXPECT_TRUE(r.ok()) << r.err;
  EXPECT_EQ(node().host().Sh("ipset list -n").out.find("~"), std::string::npos);
  ASSERT_TRUE(node().host().Sh("ipset create swarmwall-x-v6~ hash:net family inet6").ok());
  ASSERT_TRUE(node().Swarmwall({"remove"}).ok());
  EXPECT_EQ(node().host().Sh("ipset list -n | grep swarmwall || true").out, "") << "remove leaves nothing";
}

TEST_F(StateTest, ARollbackPutsTheVerySameSetBack) {
  {
    auto applied = Apply("policy.yaml");
    ASSERT_TRUE(applied.ok()) << applied.err;
  }
  std::string header = node().host().Sh("ipset list swarmwall-office-v4").out;
  auto r = node().host().Exec({Binary(), "--state-dir", node().StateDir(), "apply", node().Path("other.yaml"),
                               "--node", "m1"},
                              {.timeout = std::chrono::seconds(60), .extra_env = {"SWARMWALL_TEST_BREAK_RESTORE=ipv4"}});
  EXPECT_FALSE(r.ok());
  EXPECT_EQ(node().host().Sh("ipset list swarmwall-office-v4").out, header) << "type, size and entries as before";
  EXPECT_EQ(node().host().Sh("ipset list -n").out.find("~"), std::string::npos);
  EXPECT_EQ(Plan("policy.yaml"), 0);
}

// Issue 12, item 15: an IPv6 DOCKER-USER that an earlier swarmwall made
// before Docker 20.10 started (which never fills or reaches one for IPv6)
// goes at the next apply, which hooks IPv6 in FORWARD.
TEST_F(StateTest, AnUnreachedDockerUserOfOursGoes) {
  {
    auto applied = Apply("policy.yaml");
    ASSERT_TRUE(applied.ok()) << applied.err;
  }
  ASSERT_TRUE(node().host().Sh("ip6tables -N DOCKER-USER && ip6tables -A DOCKER-USER -j SWARMWALL-USER").ok());
  auto r = Apply("policy.yaml");
  ASSERT_TRUE(r.ok()) << r.err;
  EXPECT_FALSE(node().host().Sh("ip6tables -S DOCKER-USER").ok()) << "an unreached DOCKER-USER was left";
  EXPECT_EQ(Plan("policy.yaml"), 0);
  auto audit = node().Swarmwall({"audit", "--live"});
  EXPECT_EQ(audit.out.find("docker-user-not-hooked"), std::string::npos) << audit.out;
}

}  // namespace
}  // namespace swarmwall::adversarial
