// The agent and `swarmwall apply` keep one record (issue 13): after the
// agent repaired drift, the next `swarmwall apply` of the same policy on the
// same host takes the fast no-op path (the kernel compared with the
// recorded digest; the policy not even loaded). The agent's record used to
// lack the inputs' fingerprint, so every apply after a repair loaded and
// compiled the policy again.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "adversarial/fixture_node.h"
#include "lab/agent_log.h"

namespace swarmwall::adversarial {
namespace {

using namespace std::chrono_literals;

TEST(AgentRecord, AfterARepairTheNextApplyIsTheFastNoOp) {
  FixtureNode node("record");
  std::string log = node.Path("agent.log");
  std::vector<std::string> argv = {"nsenter", "--net=/var/run/netns/" + node.host().netns(), "env",
                                   "DOCKER_HOST=unix:///nonexistent/swarmwall-test-docker.sock",
                                   Binary(), "--state-dir", node.StateDir(), "agent",
                                   node.Path("policy.yaml"), "--node", "m1", "--interval-ms", "300"};
  pid_t agent = -1;
  try {
    agent = lab::StartAgent(argv, log, "on m1");
  } catch (const std::exception& e) {
    FAIL() << "the agent did not start: " << e.what();
  }
  auto input = [&] { return node.host().Sh("iptables -S SWARMWALL-INPUT").out; };
  const std::string good = input();
  ASSERT_NE(good.find("-A SWARMWALL-INPUT"), std::string::npos) << good;

  size_t mark = lab::ReadAll(log).size();
  ASSERT_TRUE(node.host().Sh("iptables -F SWARMWALL-INPUT").ok());
  bool repaired = false;
  for (auto until = std::chrono::steady_clock::now() + 20s; !repaired && std::chrono::steady_clock::now() < until;) {
    repaired = input() == good && lab::ReadAll(log).substr(mark).find("repair") != std::string::npos;
    if (!repaired) std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(repaired) << "not repaired in 20 s; log since the flush:\n" << lab::ReadAll(log).substr(mark);
  kill(agent, SIGTERM);
  waitpid(agent, nullptr, 0);

  // The same policy, the same --node: decided without loading the policy
  // (no "load-policy" step), and nothing written.
  std::string state_before = node.KernelState();
  auto apply = node.host().Exec({"env", "SWARMWALL_TIMINGS=1", Binary(), "--state-dir", node.StateDir(), "apply",
                                 node.Path("policy.yaml"), "--node", "m1"},
                                {.timeout = std::chrono::seconds(60)});
  ASSERT_EQ(apply.exit_code, 0) << apply.out << apply.err;
  EXPECT_NE(apply.out.find("already up to date"), std::string::npos) << apply.out;
  EXPECT_NE(apply.err.find("timing: read-rules"), std::string::npos) << apply.err;
  EXPECT_EQ(apply.err.find("timing: load-policy"), std::string::npos)
      << "the apply after the agent's repair loaded the policy (no fast no-op):\n" << apply.err;
  EXPECT_EQ(node.KernelState(), state_before);
}

}  // namespace
}  // namespace swarmwall::adversarial
