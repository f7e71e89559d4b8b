// The netlink read of owned sets gives exactly what `ipset save` gives.
#include <sched.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "backend/iptables/ipset_read.h"
#include "base/process.h"

namespace swarmwall::backend {
namespace {

// Moves this test process into a new, empty network namespace (ipset's
// sets are per namespace), so nothing of the host's is read or touched.
class IpsetRead : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    ASSERT_EQ(unshare(CLONE_NEWNET), 0);
  }
  static void Restore(const std::string& text) {
    auto r = RunProcess({"ipset", "-exist", "restore"}, {.input = text});
    ASSERT_EQ(r.exit_code, 0) << r.err;
  }
};

std::vector<std::string> Texts(const std::vector<compile::IpSet>& sets) {
  std::vector<std::string> out;
  for (const auto& s : sets) {
    std::string t = s.name + ":";
    for (const auto& e : *s.entries) t += " " + e.ToString();
    out.push_back(t);
  }
  return out;
}

TEST_F(IpsetRead, SameAsIpsetSave) {
  std::string text =
      "create swarmwall-office-v4 hash:net family inet maxelem 1048576\n"
      "create swarmwall-office-v6 hash:net family inet6\n"
      "create swarmwall-empty-v4 hash:net family inet\n"
      "create swarmwall-office-v4~ hash:net family inet\n"
      "add swarmwall-office-v4~ 192.0.2.9\n"
      "create fail2ban-sshd hash:ip family inet\n"
      "add fail2ban-sshd 203.0.113.7\n"
      "add swarmwall-office-v6 2001:db8::/32\n"
      "add swarmwall-office-v6 2001:db8:1::1\n";
  for (int i = 0; i < 3000; ++i)
    text += "add swarmwall-office-v4 10." + std::to_string(i / 256) + "." + std::to_string(i % 256) + ".0/" +
            std::to_string(20 + i % 13) + "\n";
  Restore(text);
  std::string error;
  auto kernel = ReadKernelSets("swarmwall-", error);
  ASSERT_TRUE(kernel) << error;
  EXPECT_EQ(kernel->size(), 4u);   // twins are read; ReadOwnedSets leaves them out
  FamilySnapshot net4, net6, text4, text6;
  ReadOwnedSets(net4, net6);
  SetOwnedSets(SaveIpsets(), text4, text6);
  EXPECT_EQ(Texts(net4.owned.sets), Texts(text4.owned.sets));
  EXPECT_EQ(Texts(net6.owned.sets), Texts(text6.owned.sets));
  ASSERT_EQ(net4.owned.sets.size(), 2u);
  EXPECT_EQ(net4.owned.sets[1].name, "swarmwall-office-v4");
  EXPECT_GT(net4.owned.sets[1].entries->size(), 2000u);   // hash:net merges nothing; all kept
  ASSERT_EQ(net6.owned.sets.size(), 1u);
  EXPECT_EQ(net6.owned.sets[0].entries->size(), 2u);
}

TEST_F(IpsetRead, NoSetsAtAll) {
  FamilySnapshot v4, v6;
  ReadOwnedSets(v4, v6);
  EXPECT_TRUE(v4.owned.sets.empty());
  EXPECT_TRUE(v6.owned.sets.empty());
}

// A set with extensions (not swarmwall's making): the netlink read refuses
// it and the text of `ipset save` decides, as before.
TEST_F(IpsetRead, ExtensionsFallBackToText) {
  Restore("create swarmwall-x-v4 hash:net family inet counters\nadd swarmwall-x-v4 192.0.2.0/24\n");
  std::string error;
  EXPECT_FALSE(ReadKernelSets("swarmwall-", error));
  EXPECT_NE(error.find("extensions"), std::string::npos) << error;
  FamilySnapshot v4, v6;
  ReadOwnedSets(v4, v6);
  ASSERT_EQ(v4.owned.sets.size(), 1u);
  EXPECT_EQ(Texts(v4.owned.sets), std::vector<std::string>{"swarmwall-x-v4: 192.0.2.0/24"});
}

}  // namespace
}  // namespace swarmwall::backend
