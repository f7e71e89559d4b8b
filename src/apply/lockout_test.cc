#include "apply/lockout.h"

#include "backend/iptables/diff.h"
#include "backend/iptables/input_path.h"

#include <gtest/gtest.h>

namespace swarmwall::apply {
namespace {

compile::FamilyState Input(std::vector<std::string> rules) {
  compile::FamilyState fs;
  fs.chains.push_back({"filter", "SWARMWALL-INPUT", std::move(rules)});
  compile::IpSet admins;
  admins.name = "swarmwall-admins-v4";
  admins.entries = std::make_shared<const std::vector<netfilter::Cidr>>(
      std::vector<netfilter::Cidr>{*netfilter::Cidr::Parse("198.51.100.0/24")});
  fs.sets.push_back(admins);
  return fs;
}

SshClient Client(const char* addr, const char* iface = "eth0") {
  SshClient c;
  c.address = *netfilter::IpAddress::Parse(addr);
  c.interface = iface;
  return c;
}

const std::vector<std::string> kRules = {
    "-i lo -j ACCEPT",
    "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "-i eth0 -p tcp -m tcp --dport 22 -m set --match-set swarmwall-admins-v4 src -j ACCEPT",
    "-i eth0 -j DROP"};

TEST(Lockout, AdminsKeepSshOthersAreLockedOut) {
  EXPECT_EQ(JudgeNewConnection(Input(kRules), Client("198.51.100.7")), Verdict::kAccepted);
  EXPECT_EQ(JudgeNewConnection(Input(kRules), Client("203.0.113.9")), Verdict::kDropped);
  EXPECT_EQ(JudgeNewConnection(Input(kRules), Client("203.0.113.9", "ens11")), Verdict::kNotDecided);
}

TEST(Lockout, MultiportAndNegation) {
  auto fs = Input({"-i eth+ -p tcp -m multiport --dports 80,22 -j ACCEPT", "-i eth+ -j DROP"});
  EXPECT_EQ(JudgeNewConnection(fs, Client("203.0.113.9", "eth1")), Verdict::kAccepted);
  auto not_from = Input({"! -s 203.0.113.0/24 -p tcp -m tcp --dport 22 -j ACCEPT", "-j DROP"});
  EXPECT_EQ(JudgeNewConnection(not_from, Client("203.0.113.9")), Verdict::kDropped);
  EXPECT_EQ(JudgeNewConnection(not_from, Client("192.0.2.9")), Verdict::kAccepted);
}

TEST(Lockout, ClientsFromEnvironmentAndConntrack) {
  auto clients = ParseSshClients(
      "198.51.100.7 50000 203.0.113.21 22",
      "tcp      6 431999 ESTABLISHED src=192.0.2.5 dst=203.0.113.21 sport=40000 dport=22 src=203.0.113.21 "
      "dst=192.0.2.5 sport=22 dport=40000 [ASSURED] mark=0 use=1\n"
      "tcp      6 431999 ESTABLISHED src=192.0.2.6 dst=203.0.113.21 sport=40001 dport=443 src=x\n",
      22);
  ASSERT_EQ(clients.size(), 2u);
  EXPECT_EQ(clients[0].seen, "SSH_CONNECTION");
  EXPECT_EQ(clients[1].address.ToString(), "192.0.2.5");
  compile::DesiredState d;
  d.ipv4 = Input(kRules);
  for (auto& c : clients) c.interface = "eth0";
  auto locked = LockedOut(d, clients);
  ASSERT_EQ(locked.size(), 1u);
  EXPECT_NE(locked[0].find("192.0.2.5"), std::string::npos);
}

}  // namespace
}  // namespace swarmwall::apply

namespace swarmwall::apply {
namespace {

// The host as the desired state left it: chains, the INPUT hook once and first.
backend::FamilySnapshot Applied(const compile::FamilyState& fs) {
  backend::FamilySnapshot now;
  now.owned = fs;
  now.kernel.jumps[{"INPUT", "SWARMWALL-INPUT"}] = 1;
  now.hook_first[{"INPUT", "SWARMWALL-INPUT"}] = true;
  return now;
}

TEST(Lockout, OnlyAChangedInputPathNeedsTheGuard) {
  compile::FamilyState want = Input(kRules);
  want.hooks.push_back({"filter", "INPUT", "SWARMWALL-INPUT", false});
  want.chains.push_back({"filter", "SWARMWALL-USER", {"-p tcp -m tcp --dport 8080 -j RETURN"}});
  backend::FamilySnapshot now = Applied(want);
  // A container port changed: the host's input path is as it was.
  now.owned.chains[1].rules = {"-p tcp -m tcp --dport 8081 -j RETURN"};
  EXPECT_FALSE(backend::InputChainChanges(want, now));
  backend::FamilyDiff diff;
  diff.changed_sets = {"swarmwall-office-v4"};   // a set SWARMWALL-INPUT does not name
  EXPECT_FALSE(backend::InputSetsChange(want, diff));
  diff.changed_sets = {"swarmwall-admins-v4"};
  EXPECT_TRUE(backend::InputSetsChange(want, diff)) << "the admins who may ssh in change";
  // A rule of SWARMWALL-INPUT, the hook, or a chain that is not there yet.
  backend::FamilySnapshot other = now;
  other.owned.chains[0].rules.pop_back();
  EXPECT_TRUE(backend::InputChainChanges(want, other));
  other = now;
  other.hook_first[{"INPUT", "SWARMWALL-INPUT"}] = false;
  EXPECT_TRUE(backend::InputChainChanges(want, other));
  other = now;
  other.kernel.jumps[{"INPUT", "SWARMWALL-INPUT"}] = 0;
  EXPECT_TRUE(backend::InputChainChanges(want, other));
  EXPECT_TRUE(backend::InputChainChanges(want, backend::FamilySnapshot{})) << "a first apply";
}

}  // namespace
}  // namespace swarmwall::apply
