#include "backend/iptables/ruleset_after.h"

#include <gtest/gtest.h>

namespace swarmwall::backend {
namespace {

TEST(RulesetAfter, ReplacesOwnedKeepsForeign) {
  std::string saved =
      "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j DOCKER\nCOMMIT\n"
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:DOCKER-USER - [0:0]\n"
      ":SWARMWALL-INPUT - [0:0]\n"
      "-A INPUT -j SWARMWALL-INPUT\n-A INPUT -p tcp --dport 22 -j ACCEPT\n"
      "-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j RETURN\n"
      "-A SWARMWALL-INPUT -j DROP\nCOMMIT\n";
  compile::FamilyState fs;
  fs.chains.push_back({"filter", "SWARMWALL-INPUT", {"-i lo -j ACCEPT", "-j RETURN"}});
  fs.chains.push_back({"filter", "SWARMWALL-USER", {"-j RETURN"}});
  fs.hooks.push_back({"filter", "INPUT", "SWARMWALL-INPUT"});
  fs.hooks.push_back({"filter", "DOCKER-USER", "SWARMWALL-USER"});
  EXPECT_EQ(RulesetAfter(saved, fs),
            "*nat\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -j DOCKER\nCOMMIT\n"
            "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:DOCKER-USER - [0:0]\n"
            ":SWARMWALL-INPUT - [0:0]\n:SWARMWALL-USER - [0:0]\n"
            "-A INPUT -j SWARMWALL-INPUT\n-A INPUT -p tcp --dport 22 -j ACCEPT\n"
            "-A FORWARD -j DOCKER-USER\n"
            "-A DOCKER-USER -j SWARMWALL-USER\n-A DOCKER-USER -j RETURN\n"
            "-A SWARMWALL-INPUT -i lo -j ACCEPT\n-A SWARMWALL-INPUT -j RETURN\n"
            "-A SWARMWALL-USER -j RETURN\nCOMMIT\n");
}

TEST(RulesetAfter, RemoveLeavesOnlyForeign) {
  std::string saved = "*filter\n:INPUT ACCEPT [0:0]\n:SWARMWALL-INPUT - [0:0]\n"
                      "-A INPUT -j SWARMWALL-INPUT\n-A SWARMWALL-INPUT -j DROP\nCOMMIT\n";
  EXPECT_EQ(RulesetAfter(saved, compile::FamilyState{}), "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n");
}

}  // namespace
}  // namespace swarmwall::backend
