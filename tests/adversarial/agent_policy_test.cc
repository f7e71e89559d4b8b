// The agent (text log, the default) against an edit of its policy that adds
// a byte that is not UTF-8 to a set name (issue 12, item 2): it used to die
// in its logger while agent.json still said running, and drift was no
// longer repaired. Now it logs policy-invalid with FILE:LINE:COL, keeps the
// last good policy and still repairs a flushed SWARMWALL-INPUT with it.
#include <fcntl.h>
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

// `swarmwall agent` in NODE's namespace (text log), started as the lab
// starts it (lab::StartAgent); its pid, or -1 with why in ERROR.
pid_t StartAgent(FixtureNode& node, const std::string& log, std::string& error) {
  std::vector<std::string> argv = {"nsenter", "--net=/var/run/netns/" + node.host().netns(), "env",
                                   "DOCKER_HOST=unix:///nonexistent/swarmwall-test-docker.sock",
                                   SWARMWALL_BINARY, "--state-dir", node.StateDir(), "agent",
                                   node.Path("policy.yaml"), "--node", "m1", "--interval-ms", "300"};
  try {
    return lab::StartAgent(argv, log, "on m1");
  } catch (const std::exception& e) {
    error = e.what();
    return -1;
  }
}

bool Running(pid_t pid) { return waitpid(pid, nullptr, WNOHANG) == 0; }

TEST(AgentPolicy, AnEditWithABadByteKeepsTheLastGoodPolicyAndRepairs) {
  FixtureNode node("agent");
  std::string log = node.Path("agent.log"), error;
  pid_t agent = StartAgent(node, log, error);
  ASSERT_GT(agent, 0) << "the agent did not start:\n" << error;
  auto input = [&] { return node.host().Sh("iptables -S SWARMWALL-INPUT").out; };
  const std::string good = input();
  ASSERT_NE(good.find("-A SWARMWALL-INPUT"), std::string::npos) << good;

  // The edit: "office" becomes "caf\xe9" (line 4, column 3).
  std::string policy = kPolicy;
  policy.replace(policy.find("  office:"), 9, "  caf\xe9:");
  size_t mark = lab::ReadAll(log).size();
  node.WriteFile("policy.yaml", policy);
  bool logged = false;
  for (auto until = std::chrono::steady_clock::now() + 20s; !logged && std::chrono::steady_clock::now() < until;) {
    std::string tail = lab::ReadAll(log).substr(mark);
    logged = tail.find("policy-invalid") != std::string::npos && tail.find("reload-rejected") != std::string::npos;
    if (!logged) std::this_thread::sleep_for(50ms);
  }
  std::string tail = lab::ReadAll(log).substr(mark);
  EXPECT_TRUE(logged) << "no policy-invalid / reload-rejected after the edit; log since:\n" << tail;
  EXPECT_NE(tail.find("policy.yaml:4:3"), std::string::npos) << tail;
  ASSERT_TRUE(Running(agent)) << "the agent died after the edit; log since:\n" << tail;

  // Drift is still repaired, with the last good policy.
  ASSERT_TRUE(node.host().Sh("iptables -F SWARMWALL-INPUT").ok());
  bool repaired = false;
  for (auto until = std::chrono::steady_clock::now() + 20s; !repaired && std::chrono::steady_clock::now() < until;) {
    repaired = input() == good;
    if (!repaired) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(repaired) << "SWARMWALL-INPUT not whole again in 20 s:\n" << input() << "\nlog since the edit:\n"
                        << lab::ReadAll(log).substr(mark);
  EXPECT_TRUE(Running(agent));
  auto status = node.Swarmwall({"status"});
  EXPECT_NE(status.out.find("agent: running"), std::string::npos) << status.out << status.err;

  kill(agent, SIGTERM);
  int wstatus = 0;
  waitpid(agent, &wstatus, 0);
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << lab::ReadAll(log).substr(mark);
}

}  // namespace
}  // namespace swarmwall::adversarial
