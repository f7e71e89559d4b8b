#include "apply/backend_choice.h"

#include <gtest/gtest.h>

namespace swarmwall::apply {
namespace {

using backend::FirewallKind;
using policy::Backend;

DockerFirewallFacts Api(std::string driver) {
  DockerFirewallFacts f;
  f.api_reachable = true;
  f.api_driver = std::move(driver);
  return f;
}

TEST(BackendChoice, AutoFollowsDocker) {
  auto c = ChooseBackend(Backend::kAuto, "the policy's backend:", Api("nftables"));
  EXPECT_EQ(c.kind, FirewallKind::kNftables);
  EXPECT_EQ(c.reason, "auto: Docker's Engine API says firewall backend nftables");
  EXPECT_EQ(ChooseBackend(Backend::kAuto, "", Api("iptables")).kind, FirewallKind::kIptables);
  EXPECT_EQ(ChooseBackend(Backend::kAuto, "", Api("iptables+firewalld")).kind, FirewallKind::kIptables);
  EXPECT_EQ(ChooseBackend(Backend::kAuto, "", Api("nftables+firewalld")).kind, FirewallKind::kNftables);
}

// Without the API: the kernel's tables, then daemon.json (boot: before
// dockerd), then the last apply, then iptables.
TEST(BackendChoice, AutoWithoutTheApi) {
  DockerFirewallFacts f;
  EXPECT_EQ(ChooseBackend(Backend::kAuto, "", f).kind, FirewallKind::kIptables);
  f.applied = "nftables";
  EXPECT_EQ(ChooseBackend(Backend::kAuto, "", f).kind, FirewallKind::kNftables);
  f.daemon_json = "iptables";
  EXPECT_EQ(ChooseBackend(Backend::kAuto, "", f).kind, FirewallKind::kIptables);
  f.nft_tables = true;
  auto c = ChooseBackend(Backend::kAuto, "", f);
  EXPECT_EQ(c.kind, FirewallKind::kNftables);
  EXPECT_EQ(c.reason, "auto: Docker's nftables tables (docker-bridges) are in the kernel");
  // The API wins over everything.
  f.api_reachable = true;
  f.api_driver = "iptables";
  EXPECT_EQ(ChooseBackend(Backend::kAuto, "", f).kind, FirewallKind::kIptables);
}

// iptables where Docker runs nftables: refused, saying why.
TEST(BackendChoice, IptablesIsRefusedWhereDockerRunsNftables) {
  auto c = ChooseBackend(Backend::kIptables, "--backend", Api("nftables"));
  EXPECT_FALSE(c.ok());
  EXPECT_NE(c.error.find("would filter nothing here"), std::string::npos) << c.error;
  EXPECT_NE(c.error.find("nothing was changed"), std::string::npos) << c.error;
  EXPECT_TRUE(ChooseBackend(Backend::kIptables, "--backend", Api("iptables")).ok());
  EXPECT_TRUE(ChooseBackend(Backend::kIptables, "--backend", {}).ok());
  // nftables is never refused (it needs nothing of Docker's).
  auto n = ChooseBackend(Backend::kNftables, "--backend", Api("iptables"));
  EXPECT_TRUE(n.ok());
  EXPECT_EQ(n.kind, FirewallKind::kNftables);
  EXPECT_EQ(n.reason, "--backend nftables");
}

}  // namespace
}  // namespace swarmwall::apply
