// Wrong-shaped state files are set aside and never acted on (issue 12,
// item 1): each shape here once aborted every command (exit 134) or, for
// the journal, made `status` remove the whole firewall.
#include "base/state_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "apply/confirm.h"
#include "apply/journal.h"
#include "apply/state_store.h"
#include "backend/iptables/snapshot_json.h"
#include "compile/desired_state_json.h"

namespace swarmwall::apply {
namespace {

namespace fs = std::filesystem;

class StateFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("swl-statefile-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  void Write(const std::string& name, const std::string& text) { std::ofstream(dir_ / name) << text; }
  // Files named NAME.invalid-* under the dir.
  int SetAsideCount(const std::string& name) {
    int n = 0;
    for (const auto& e : fs::directory_iterator(dir_))
      if (e.path().filename().string().starts_with(name + ".invalid-")) ++n;
    return n;
  }
  std::string dir() const { return dir_.string(); }
  fs::path dir_;
};

compile::DesiredState ValidState() {
  compile::DesiredState s;
  s.node = "m1";
  s.ipv4.family = netfilter::Family::kIPv4;
  s.ipv4.chains.push_back({"filter", "SWARMWALL-INPUT",
                           {"-i lo -j ACCEPT", "-m set --match-set swarmwall-nodes-v4 src -p tcp -m tcp --dport 2377 -j ACCEPT",
                            "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT", "-i eth0 -j DROP"}});
  s.ipv4.hooks.push_back({"filter", "INPUT", "SWARMWALL-INPUT", false});
  compile::IpSet set;
  set.name = "swarmwall-nodes-v4";
  set.family = netfilter::Family::kIPv4;
  set.entries = std::make_shared<const std::vector<netfilter::Cidr>>(
      std::vector<netfilter::Cidr>{*netfilter::Cidr::Parse("10.10.10.1/32")});
  s.ipv4.sets.push_back(set);
  s.ipv6.family = netfilter::Family::kIPv6;
  return s;
}

TEST_F(StateFileTest, JournalsOfTheWrongShapeAreSetAsideNotReplayed) {
  for (const char* text : {R"({"operation":"remove"})", "{}", R"({"operation":"apply"})", R"({"writer":"x"})",
                           R"({"operation":"apply","kept_v4":"x"})", "[1,2]", "not json",
                           R"({"operation":"apply","writer":7,"previous":{},"desired":{"ipv4":{"chains":5}}})"}) {
    Write("commit-journal.json", text);
    std::vector<std::string> notes;
    EXPECT_FALSE(LoadJournal(dir(), notes)) << text;
    ASSERT_EQ(notes.size(), 1u) << text;
    EXPECT_NE(notes[0].find("commit-journal.json is not valid"), std::string::npos) << notes[0];
    EXPECT_FALSE(fs::exists(dir_ / "commit-journal.json")) << text;
  }
  EXPECT_GE(SetAsideCount("commit-journal.json"), 1);
}

TEST_F(StateFileTest, AJournalSwarmwallWroteIsReadBack) {
  Journal j;
  j.operation = "apply";
  j.writer = 4242;
  j.previous.ipv4.family = netfilter::Family::kIPv4;
  j.previous.ipv6.family = netfilter::Family::kIPv6;
  j.desired = ValidState();
  AppliedRecord r{"m1", "/etc/swarmwall/p.yaml", "00ff00ff00ff00ff00ff00ff00ff00ff", "nft", "2026-12-06T00:00:00Z"};
  j.new_record = r;
  std::string error;
  ASSERT_TRUE(WriteJournal(dir(), j, error)) << error;
  std::vector<std::string> notes;
  auto back = LoadJournal(dir(), notes);
  ASSERT_TRUE(back) << (notes.empty() ? "" : notes[0]);
  EXPECT_EQ(back->desired.ipv4.chains[0].rules, j.desired.ipv4.chains[0].rules);
  EXPECT_EQ(back->new_record->digest, r.digest);
}

TEST_F(StateFileTest, ARuleWithANewlineNeverReachesARestoreText) {
  auto state = ValidState();
  auto j = compile::DesiredStateToJson(state);
  j["ipv4"]["chains"][0]["rules"][0] = "-i lo -j ACCEPT\n-A INPUT -j ACCEPT";
  EXPECT_THROW(compile::DesiredStateFromJson(j), StateFormatError);
  j["ipv4"]["chains"][0]["rules"][0] = "--no-such-option";
  EXPECT_THROW(compile::DesiredStateFromJson(j), StateFormatError);
  j = compile::DesiredStateToJson(state);
  j["ipv4"]["chains"][0]["name"] = "INPUT";   // not a chain swarmwall owns
  EXPECT_THROW(compile::DesiredStateFromJson(j), StateFormatError);
  j = compile::DesiredStateToJson(state);
  j["ipv4"]["hooks"][0]["chain"] = "DOCKER";   // not a hook point
  EXPECT_THROW(compile::DesiredStateFromJson(j), StateFormatError);
  j = compile::DesiredStateToJson(state);
  j["ipv4"]["sets"][0]["entry_list"] = "10.0.0.1 2001:db8::1";   // an IPv6 entry in an IPv4 set
  EXPECT_THROW(compile::DesiredStateFromJson(j), StateFormatError);
  j = compile::DesiredStateToJson(state);
  j["ipv4"]["sets"][0]["name"] = "docker-set";
  EXPECT_THROW(compile::DesiredStateFromJson(j), StateFormatError);
  EXPECT_NO_THROW(compile::DesiredStateFromJson(compile::DesiredStateToJson(state)));
}

TEST_F(StateFileTest, AppliedRecordsOfTheWrongShapeAreSetAside) {
  StateStore store(dir());
  for (const char* text : {R"({"digest":5})", R"({"time":3})", R"({"node":[1]})", R"({"node":"m1","digest":"x y"})"}) {
    Write("applied.json", text);
    EXPECT_FALSE(store.Load()) << text;
    EXPECT_FALSE(fs::exists(dir_ / "applied.json")) << text;
  }
  AppliedRecord r{"m1", "p.yaml", "0123456789abcdef0123456789abcdef", "nft", "t"};
  std::string error;
  ASSERT_TRUE(store.Save(r, error));
  ASSERT_TRUE(store.Load());
  EXPECT_EQ(store.Load()->digest, r.digest);
}

TEST_F(StateFileTest, PendingConfirmsOfTheWrongShapeAreSetAside) {
  for (const char* text : {"{}", R"({"token":"abc"})", R"({"token":5,"ipv4":{},"ipv6":{}})",
                           R"({"token":"0a","ipv4":{"family":6},"ipv6":{"family":4}})"}) {
    Write("pending-confirm.json", text);
    EXPECT_FALSE(LoadPending(dir())) << text;
    EXPECT_FALSE(fs::exists(dir_ / "pending-confirm.json")) << text;
  }
  std::string error;
  auto token = SavePending(dir(), ValidState(), error);
  ASSERT_TRUE(token) << error;
  auto back = LoadPending(dir());
  ASSERT_TRUE(back);
  EXPECT_EQ(back->token, *token);
}

TEST_F(StateFileTest, KernelCacheSnapshotsOfTheWrongShapeThrow) {
  backend::FamilySnapshot s;
  s.owned = ValidState().ipv4;
  s.kernel.existing_chains = {"INPUT", "SWARMWALL-INPUT"};
  s.kernel.jumps[{"INPUT", "SWARMWALL-INPUT"}] = 1;
  auto j = backend::SnapshotToJson(s);
  EXPECT_NO_THROW(backend::SnapshotFromJson(j));
  for (auto bad : {nlohmann::json{{"owned", 1}}, nlohmann::json{{"owned", nlohmann::json::object()}, {"jumps", 5}},
                   nlohmann::json{{"owned", nlohmann::json::object()}, {"jumps", {{"a", "b", "c"}}}},
                   nlohmann::json{{"owned", nlohmann::json::object()}, {"chains", {1, 2}}},
                   nlohmann::json{{"owned", nlohmann::json::object()}, {"foreign_rules", -1}}}) {
    EXPECT_THROW(backend::SnapshotFromJson(bad), StateFormatError) << bad.dump();
  }
}

TEST_F(StateFileTest, OnlyRegularFilesOfBoundedSizeAreRead) {
  std::string fifo = dir() + "/fifo.json";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  auto r = ReadStateFile(fifo);   // must not hang
  EXPECT_TRUE(r.present);
  EXPECT_FALSE(r.json);
  Write("big.json", std::string(2000, ' ') + "{}");
  EXPECT_FALSE(ReadStateFile(dir() + "/big.json", 1000).json);
  EXPECT_TRUE(ReadStateFile(dir() + "/big.json", 4000).json);
  fs::create_symlink(dir() + "/big.json", dir() + "/link.json");
  EXPECT_FALSE(ReadStateFile(dir() + "/link.json").json);
  EXPECT_FALSE(ReadStateFile(dir() + "/absent.json").present);
}

}  // namespace
}  // namespace swarmwall::apply
