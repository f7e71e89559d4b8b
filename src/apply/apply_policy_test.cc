// The apply workflow's decisions, with the kernel behind a FakeFirewall:
// the no-op (and its fast path without loading the policy), one record for
// the CLI and the agent, the lockout guard (judged only when the input path
// changes; --force), a drain that cannot start, and the confirm timer.
#include "apply/apply_policy.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "apply/confirm.h"
#include "apply/fake_firewall.h"
#include "apply/state_store.h"

namespace swarmwall::apply {
namespace {

namespace fs = std::filesystem;

constexpr const char* kPolicy = R"(version: 1
interfaces: { public: [eth0], cluster: [ens11] }
sets:
  admins: [203.0.113.7/32]
nodes:
  - { name: m1, role: manager, address: 10.10.10.1 }
  - { name: w1, role: worker, address: 10.10.10.2 }
host:
  allow:
    - { service: ssh, from: admins }
swarm: { from: nodes }
)";

class ApplyWorkflow : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("swarmwall-apply-test-" + std::to_string(getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "state");
    std::ofstream(dir_ / "policy.yaml") << kPolicy;
    // The host lock of this test alone (apply/host_lock.h).
    setenv("SWARMWALL_TEST_NETNS_LOCK", ("swarmwall-apply-test-" + std::to_string(getpid())).c_str(), 1);
  }
  void TearDown() override { fs::remove_all(dir_); }

  ApplyRequest Request() {
    ApplyRequest rq;
    rq.state_dir = (dir_ / "state").string();
    rq.policy_file = (dir_ / "policy.yaml").string();
    rq.node = "m1";
    rq.note = [this](const std::string& line) { notes_ += line + "\n"; };
    rq.ssh_clients = [] { return std::vector<SshClient>{}; };
    rq.detached_commit = false;   // FakeFirewall's kernel is this process's memory
    return rq;
  }

  static SshClient Client(const char* address) {
    SshClient c;
    c.address = *netfilter::IpAddress::Parse(address);
    c.port = 22;
    c.interface = "eth0";
    c.seen = "a test";
    return c;
  }

  fs::path dir_;
  std::string notes_;
  FakeFirewall fw_;
};

TEST_F(ApplyWorkflow, AFirstApplyWritesAndRecordsItsInputs) {
  auto out = Apply(Request(), fw_);
  ASSERT_TRUE(out.ok) << out.error << notes_;
  EXPECT_TRUE(out.result.changed);
  EXPECT_EQ(fw_.writes, 1);
  EXPECT_EQ(out.node, "m1");
  auto record = StateStore(Request().state_dir).Load();
  ASSERT_TRUE(record);
  EXPECT_FALSE(record->inputs.empty());
  EXPECT_EQ(record->node, "m1");
}

TEST_F(ApplyWorkflow, TheSameApplyAgainIsTheFastNoOp) {
  ASSERT_TRUE(Apply(Request(), fw_).ok) << notes_;
  auto again = Apply(Request(), fw_);
  ASSERT_TRUE(again.ok) << notes_;
  EXPECT_TRUE(again.fast_noop);
  EXPECT_FALSE(again.result.changed);
  EXPECT_EQ(fw_.writes, 1);
  // Drift: the record no longer matches the kernel, and the whole way puts it back.
  fw_.held.ipv4.chains.clear();
  auto repair = Apply(Request(), fw_);
  EXPECT_FALSE(repair.fast_noop);
  EXPECT_TRUE(repair.result.changed);
  EXPECT_EQ(fw_.writes, 2);
}

// Issue 13: the agent applies through the same workflow and records the
// same inputs, so `swarmwall apply` after an agent's repair is a fast no-op.
TEST_F(ApplyWorkflow, AfterTheAgentAppliedTheCliTakesTheFastNoOp) {
  auto policy = LoadPolicy(Request().policy_file, Request().state_dir, "", Request().note);
  ASSERT_TRUE(policy);
  ApplyRequest agent = Request();
  agent.policy = &*policy;
  agent.operation = "agent";
  agent.check_unlocked_first = true;
  agent.lockout_guard = false;   // repairs put back what was applied
  auto repaired = Apply(agent, fw_);
  ASSERT_TRUE(repaired.ok) << repaired.error << notes_;
  EXPECT_TRUE(repaired.result.changed);
  auto cli = Apply(Request(), fw_);
  ASSERT_TRUE(cli.ok) << notes_;
  EXPECT_TRUE(cli.fast_noop);
  EXPECT_EQ(fw_.writes, 1);
}

TEST_F(ApplyWorkflow, TheGuardRefusesALockoutOnlyWhenTheInputPathChanges) {
  auto rq = Request();
  rq.ssh_clients = [] { return std::vector<SshClient>{Client("192.0.2.50")}; };
  // The input path stays as it is (say, a container port changed): no
  // client can lose its way in, so nothing is judged.
  fw_.input_path_changes = false;
  auto out = Apply(rq, fw_);
  EXPECT_TRUE(out.ok) << out.error;
  EXPECT_TRUE(out.locked_out.empty());
  EXPECT_EQ(fw_.writes, 1);
  // The input path changes and the client is not an admin: refused, nothing written.
  fw_.held = FakeFirewall().held;
  fw_.input_path_changes = true;
  out = Apply(rq, fw_);
  EXPECT_FALSE(out.ok);
  ASSERT_EQ(out.locked_out.size(), 1u);
  EXPECT_NE(out.error.find("192.0.2.50"), std::string::npos) << out.error;
  EXPECT_NE(notes_.find("refusing"), std::string::npos) << notes_;
  EXPECT_EQ(fw_.writes, 1);
  // An admin is not locked out.
  rq.ssh_clients = [] { return std::vector<SshClient>{Client("203.0.113.7")}; };
  out = Apply(rq, fw_);
  EXPECT_TRUE(out.ok) << out.error;
  EXPECT_EQ(fw_.writes, 2);
}

TEST_F(ApplyWorkflow, ForceWarnsAndWrites) {
  auto rq = Request();
  rq.force = true;
  rq.ssh_clients = [] { return std::vector<SshClient>{Client("192.0.2.50")}; };
  fw_.input_path_changes = true;
  auto out = Apply(rq, fw_);
  EXPECT_TRUE(out.ok) << out.error;
  EXPECT_EQ(out.locked_out.size(), 1u);
  EXPECT_NE(notes_.find("warning (--force)"), std::string::npos) << notes_;
  EXPECT_EQ(fw_.writes, 1);
}

// The agent's repairs put back what was applied: no guard, and no search
// for SSH clients (a conntrack walk) on the repair's path.
TEST_F(ApplyWorkflow, WithoutTheGuardNoClientIsLookedFor) {
  auto rq = Request();
  rq.lockout_guard = false;
  bool asked = false;
  rq.ssh_clients = [&asked] {
    asked = true;
    return std::vector<SshClient>{Client("192.0.2.50")};
  };
  fw_.input_path_changes = true;
  auto out = Apply(rq, fw_);
  EXPECT_TRUE(out.ok) << out.error;
  EXPECT_FALSE(asked);
  EXPECT_TRUE(out.locked_out.empty());
  EXPECT_EQ(fw_.writes, 1);
}

TEST_F(ApplyWorkflow, ADrainThatCannotStartChangesNothing) {
  setenv("DOCKER_HOST", "unix:///nonexistent/swarmwall-test-docker.sock", 1);
  auto rq = Request();
  rq.drain = true;
  auto out = Apply(rq, fw_);
  unsetenv("DOCKER_HOST");
  EXPECT_FALSE(out.ok);
  EXPECT_NE(out.error.find("(nothing was changed)"), std::string::npos) << out.error;
  EXPECT_EQ(fw_.writes, 0);
  EXPECT_FALSE(StateStore(rq.state_dir).Load());
}

TEST_F(ApplyWorkflow, ConfirmArmsTheRollbackToThePreviousStateBeforeWriting) {
  auto rq = Request();
  rq.confirm_seconds = 30;
  rq.self_binary = "/bin/true";   // the timer: started detached, exits at once
  auto out = Apply(rq, fw_);
  ASSERT_TRUE(out.ok) << out.error << notes_;
  EXPECT_TRUE(out.confirm_armed);
  auto pending = LoadPending(rq.state_dir);
  ASSERT_TRUE(pending);
  EXPECT_TRUE(pending->previous.ipv4.chains.empty()) << "the state before: nothing owned";
  EXPECT_FALSE(out.fast_noop);
  // A later plain apply confirms it.
  auto later = Apply(Request(), fw_);
  EXPECT_TRUE(later.confirmed_pending);
  EXPECT_FALSE(LoadPending(rq.state_dir));
}

TEST_F(ApplyWorkflow, ADryRunWritesNothing) {
  auto rq = Request();
  rq.dry_run = true;
  auto out = Apply(rq, fw_);
  EXPECT_TRUE(out.ok);
  EXPECT_FALSE(out.in_sync);
  EXPECT_EQ(fw_.writes, 0);
  EXPECT_FALSE(StateStore(rq.state_dir).Load());
}

TEST_F(ApplyWorkflow, APolicyThatDoesNotLoadTakesNoLock) {
  std::ofstream(dir_ / "policy.yaml") << "version: 1\nnodes: [\n";
  auto out = Apply(Request(), fw_);
  EXPECT_FALSE(out.ok);
  EXPECT_EQ(fw_.reads, 0);
  EXPECT_NE(notes_.find("policy.yaml:"), std::string::npos) << notes_;
}

}  // namespace
}  // namespace swarmwall::apply
