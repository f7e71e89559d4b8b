// One reader of what Docker and swarmwall put in filter, and one judgement
// of DOCKER-USER's hooking for audit, doctor and status (issue 12, item 15):
// on Docker 20.10's fixtures with and without swarmwall's rules, and with
// the moby#48560 fail-open, the three agree. Where FORWARD jumps to
// DOCKER-USER (apply's fact) and whether DOCKER-USER is hooked (the
// verdict) are two facts, shown apart below.
#include "analyze/model/filter_owners.h"

#include <gtest/gtest.h>

#include "analyze/audit/audit.h"
#include "analyze/doctor/doctor.h"
#include "analyze/test_host.h"
#include "netfilter/parser.h"

namespace swarmwall::analyze {
namespace {

using netfilter::Family;

std::string Fixture(const std::string& file) {
  return test::ReadFile(test::Shared() + "/fixtures/docker-20.10-swarm/" + file);
}

void Replace(std::string& text, const std::string& from, const std::string& to) {
  size_t at = text.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  text.replace(at, from.size(), to);
}

// What the kernel lists after `swarmwall apply` on 20.10: IPv4 hooks
// SWARMWALL-USER in DOCKER-USER; IPv6 (no Docker chains there) hooks it
// first in FORWARD, and swarmwall declared an IPv6 DOCKER-USER nothing
// reaches (the false alarm of item 15).
std::string WithSwarmwall(std::string text, Family family) {
  const std::string owned =
      ":SWARMWALL-INPUT - [0:0]\n:SWARMWALL-USER - [0:0]\n"
      "-A INPUT -j SWARMWALL-INPUT\n"
      "-A SWARMWALL-INPUT -i lo -j ACCEPT\n"
      "-A SWARMWALL-USER -i eth0 -j DROP\n";
  if (family == Family::kIPv6) {
    EXPECT_EQ(text.find("DOCKER"), std::string::npos) << "20.10 has no IPv6 chains";
    return "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER-USER - [0:0]\n" +
           owned + "-A FORWARD -j SWARMWALL-USER\n-A DOCKER-USER -j SWARMWALL-USER\nCOMMIT\n";
  }
  Replace(text, ":DOCKER-USER - [0:0]\n", ":DOCKER-USER - [0:0]\n" + owned);
  Replace(text, "-A DOCKER-USER -j RETURN\n", "-A DOCKER-USER -j SWARMWALL-USER\n-A DOCKER-USER -j RETURN\n");
  return text;
}

struct Verdicts {
  bool audit, doctor, status;
};

// The three commands' verdict on TEXT: audit's structural finding,
// doctor's finding from the same save text, status's (the judgement).
Verdicts Judge(const std::string& text, Family family) {
  netfilter::ParseOptions o;
  o.family = family;
  auto parsed = netfilter::ParseRuleset(text, o);
  if (!parsed.ruleset) throw std::runtime_error(parsed.error->ToString());
  std::vector<AuditFinding> findings;
  AuditStructure(*parsed.ruleset, "t", findings);
  Verdicts v{};
  for (const auto& f : findings) v.audit |= f.code == "docker-user-not-hooked";
  DoctorFacts h;
  (family == Family::kIPv4 ? h.v4 : h.v6) = FilterFactsFromSave(text, family);
  for (const auto& f : Diagnose(h)) v.doctor |= f.code == "docker-user-not-hooked";
  v.status = JudgeDockerUserHook(*parsed.ruleset).NotHooked();
  return v;
}

void ExpectAll(const std::string& text, Family family, bool not_hooked, const char* what) {
  Verdicts v = Judge(text, family);
  EXPECT_EQ(v.audit, not_hooked) << what << ": audit";
  EXPECT_EQ(v.doctor, not_hooked) << what << ": doctor";
  EXPECT_EQ(v.status, not_hooked) << what << ": status";
}

TEST(DockerUserHook, Docker2010FixturesWithAndWithoutSwarmwall) {
  for (const char* node : {"m1", "w1"}) {
    std::string v4 = Fixture(std::string(node) + ".iptables-save");
    std::string v6 = Fixture(std::string(node) + ".ip6tables-save");
    ExpectAll(v4, Family::kIPv4, false, "IPv4 as Docker made it");
    ExpectAll(v6, Family::kIPv6, false, "IPv6 as Docker made it (empty)");
    ExpectAll(WithSwarmwall(v4, Family::kIPv4), Family::kIPv4, false, "IPv4 after apply");
    ExpectAll(WithSwarmwall(v6, Family::kIPv6), Family::kIPv6, false, "IPv6 after apply");
  }
}

TEST(DockerUserHook, FailOpenIsSaidByAllThree) {
  std::string v4 = Fixture("m1.iptables-save");
  // moby#48560: FORWARD lost its jump.
  std::string lost = v4;
  Replace(lost, "-A FORWARD -j DOCKER-USER\n", "");
  ExpectAll(lost, Family::kIPv4, true, "Docker's chains, no user hook");
  // swarmwall's own hook first in FORWARD is the user hook: Docker's
  // empty DOCKER-USER (a RETURN) and swarmwall's jump there filter nothing
  // that FORWARD's first rule does not already filter.
  std::string hooked = WithSwarmwall(v4, Family::kIPv4);
  Replace(hooked, "-A FORWARD -j DOCKER-USER\n", "-A FORWARD -j SWARMWALL-USER\n");
  ExpectAll(hooked, Family::kIPv4, false, "SWARMWALL-USER first in FORWARD");
  // But a rule of someone else's there is expected to filter.
  Replace(hooked, "-A DOCKER-USER -j RETURN\n", "-A DOCKER-USER -s 192.0.2.9/32 -j DROP\n-A DOCKER-USER -j RETURN\n");
  ExpectAll(hooked, Family::kIPv4, true, "a user's rule in an unreached DOCKER-USER");
  // Swarmwall's jump there when FORWARD does not send to SWARMWALL-USER first.
  std::string v6 = WithSwarmwall("", Family::kIPv6);
  Replace(v6, "-A FORWARD -j SWARMWALL-USER\n", "");
  ExpectAll(v6, Family::kIPv6, true, "swarmwall's rules only in an unreached DOCKER-USER");
}

TEST(DockerUserHook, JumpPosition) {
  std::string v4 = Fixture("m1.iptables-save");
  netfilter::ParseOptions o;
  auto rs = netfilter::ParseRuleset(v4, o);
  ASSERT_TRUE(rs.ruleset);
  auto h = JudgeDockerUserHook(*rs.ruleset);
  EXPECT_TRUE(h.exists);
  EXPECT_TRUE(h.docker_forward);
  EXPECT_EQ(h.jump, 1);
  EXPECT_FALSE(h.filters);
  EXPECT_FALSE(h.NotHooked());
}

FilterOwners Read(const std::string& text, netfilter::ParseResult& parsed) {
  netfilter::ParseOptions o;
  parsed = netfilter::ParseRuleset(text, o);
  if (!parsed.ruleset) throw std::runtime_error(parsed.error->ToString());
  return ReadFilterOwners(*parsed.ruleset);
}

// The cases where "a FORWARD rule jumps to DOCKER-USER" (where apply hooks
// SWARMWALL-USER), "the jump is FORWARD's first rule" (explain) and the
// verdict NotHooked (doctor, audit, status) part ways.
TEST(FilterOwners, ForwardJumpFirstRuleAndVerdictAreThreeFacts) {
  netfilter::ParseResult parsed;
  // A rule of someone else's above Docker's jump: the jump is there, not
  // first, and DOCKER-USER is hooked.
  std::string v4 = Fixture("m1.iptables-save");
  Replace(v4, "-A FORWARD -j DOCKER-USER\n", "-A FORWARD -s 192.0.2.7/32 -j ACCEPT\n-A FORWARD -j DOCKER-USER\n");
  FilterOwners o = Read(v4, parsed);
  EXPECT_TRUE(o.ForwardJumpsToDockerUser());
  EXPECT_FALSE(o.DockerUserFirstInForward());
  EXPECT_EQ(o.docker_user.jump, 2);
  EXPECT_FALSE(o.docker_user.NotHooked());

  // Docker's chains, FORWARD lost its jump, swarmwall hooked SWARMWALL-USER
  // first in FORWARD and DOCKER-USER holds only Docker's RETURN: no FORWARD
  // jump (apply keeps hooking FORWARD), yet DOCKER-USER is not "not hooked"
  // (nothing there filters).
  std::string lost = Fixture("m1.iptables-save");
  Replace(lost, ":DOCKER-USER - [0:0]\n", ":DOCKER-USER - [0:0]\n:SWARMWALL-USER - [0:0]\n");
  Replace(lost, "-A FORWARD -j DOCKER-USER\n", "-A FORWARD -j SWARMWALL-USER\n");
  o = Read(lost, parsed);
  EXPECT_FALSE(o.ForwardJumpsToDockerUser());
  EXPECT_FALSE(o.DockerUserFirstInForward());
  EXPECT_TRUE(o.docker_user.swarmwall_first);
  EXPECT_FALSE(o.docker_user.NotHooked());
  EXPECT_TRUE(o.docker_chains);
  const OwnedHook* hook = o.FindHook("FORWARD", "SWARMWALL-USER");
  ASSERT_NE(hook, nullptr);
  EXPECT_TRUE(hook->first);

  // The same without swarmwall's hook: both say it.
  std::string bare = Fixture("m1.iptables-save");
  Replace(bare, "-A FORWARD -j DOCKER-USER\n", "");
  o = Read(bare, parsed);
  EXPECT_FALSE(o.ForwardJumpsToDockerUser());
  EXPECT_TRUE(o.docker_user.NotHooked());
}

// What swarmwall owns: its chains, the hooks into them (first or not),
// every jump counted, and the rules of other owners.
TEST(FilterOwners, OwnedChainsHooksAndForeignRules) {
  netfilter::ParseResult parsed;
  FilterOwners o = Read(WithSwarmwall(Fixture("m1.iptables-save"), Family::kIPv4), parsed);
  ASSERT_TRUE(o.read);
  ASSERT_EQ(o.owned.size(), 2u);
  EXPECT_EQ(o.owned[0]->name, "SWARMWALL-INPUT");
  EXPECT_EQ(o.owned[1]->name, "SWARMWALL-USER");
  ASSERT_EQ(o.hooks.size(), 2u);
  const OwnedHook* input = o.FindHook("INPUT", "SWARMWALL-INPUT");
  const OwnedHook* user = o.FindHook("DOCKER-USER", "SWARMWALL-USER");
  ASSERT_TRUE(input && user);
  EXPECT_TRUE(input->first);
  EXPECT_TRUE(user->first);
  EXPECT_EQ((o.owned_jumps.at({"DOCKER-USER", "SWARMWALL-USER"})), 1);
  EXPECT_TRUE(o.docker_user_referenced);
  EXPECT_TRUE(o.docker_user_foreign_rules);  // Docker's RETURN
  EXPECT_GT(o.foreign_rules, 0u);
  EXPECT_TRUE(IsSwarmwallChain("SWARMWALL-USER"));
  EXPECT_FALSE(IsSwarmwallChain("DOCKER-USER"));
}

}  // namespace
}  // namespace swarmwall::analyze
