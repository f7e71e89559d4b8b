// NftText: the nft script of `swarmwall render --backend nftables`, against
// tests/golden/nftables/EXAMPLE/NODE.nft (SWARMWALL_UPDATE_GOLDEN=1
// rewrites them). That nft loads it, to the same table, is the lab test's
// (tests/nftables/owned_table_kernel_test.cc).
#include "backend/nftables/nft_text.h"

#include <gtest/gtest.h>

#include <cstdlib>

#include "backend/nftables/table_of.h"
#include "backend/nftables/expr.h"
#include "backend/nftables/test_examples.h"

namespace swarmwall::backend::nft {
namespace {

namespace fs = std::filesystem;

TEST(NftText, Golden) {
  bool update = std::getenv("SWARMWALL_UPDATE_GOLDEN") != nullptr;
  int checked = 0;
  for (const auto& ex : testing::Examples()) {
    if (ex.forward) continue;   // the goldens are NodeFacts{}'s, as the other renderers'
    std::string error;
    auto text = NftText(ex.state, error);
    ASSERT_TRUE(text) << ex.name << " " << ex.node << ": " << error;
    fs::path golden = fs::path(SWARMWALL_SOURCE_DIR) / "tests/golden/nftables" / ex.name / (ex.node + ".nft");
    if (update) {
      fs::create_directories(golden.parent_path());
      std::ofstream(golden, std::ios::binary) << *text;
      continue;
    }
    ASSERT_TRUE(fs::exists(golden)) << golden << " missing: run with SWARMWALL_UPDATE_GOLDEN=1";
    EXPECT_EQ(testing::ReadText(golden), *text)
        << golden << " differs (SWARMWALL_UPDATE_GOLDEN=1 to accept, then review the diff)";
    ++checked;
  }
  if (!update) {
    EXPECT_GE(checked, 10);
  }
}

TEST(NftText, AFamilyWithoutRulesIsOnlyDeleted) {
  compile::DesiredState s;
  s.node = "n1";
  s.policy_file = "p.yaml";
  s.ipv4.chains.push_back({"filter", "SWARMWALL-INPUT", {"-i lo -j ACCEPT"}});
  s.ipv4.hooks.push_back({"filter", "INPUT", "SWARMWALL-INPUT", false});
  s.ipv6.family = netfilter::Family::kIPv6;
  std::string error;
  auto text = NftText(s, error);
  ASSERT_TRUE(text) << error;
  EXPECT_NE(text->find("table ip swarmwall {}\ndelete table ip swarmwall\ntable ip swarmwall {\n"), std::string::npos);
  EXPECT_NE(text->find("\tchain SWARMWALL-INPUT {\n\t\tiifname \"lo\" accept\n\t}\n"), std::string::npos) << *text;
  EXPECT_NE(text->find("\tchain input {\n\t\ttype filter hook input priority -10; policy accept;\n"
                       "\t\tjump SWARMWALL-INPUT\n\t}\n"),
            std::string::npos);
  EXPECT_TRUE(text->ends_with("table ip6 swarmwall {}\ndelete table ip6 swarmwall\n")) << *text;
}

TEST(NftText, NamesNftCannotReadAreRefused) {
  OwnedTable t;
  Set s;
  s.name = "swarmwall-a+b-v4";
  s.type = "ipv4_addr";
  t.sets.push_back(s);
  std::string error;
  EXPECT_FALSE(TableText(t, error));
  EXPECT_NE(error.find("swarmwall-a+b-v4"), std::string::npos) << error;
  t.sets.clear();
  t.chains.push_back({"SWARMWALL-INPUT", {Rule{Json::array({Match(Meta("iifname"), "a\"b"), Json{{"accept", nullptr}}}), ""}}});
  EXPECT_FALSE(TableText(t, error));
}

TEST(NftText, Statements) {
  compile::FamilyState fs;
  fs.chains.push_back({"filter", "SWARMWALL-INPUT",
                       {"-i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 9000:9010 -m comment "
                        "--comment \"say \\\"hi\\\"\" -j RETURN",
                        "-p udp -m multiport --dports 53,123,1000:2000 -m policy --dir in --pol ipsec -j ACCEPT",
                        "-d 10.0.0.0/8 -m limit --limit 5/min --limit-burst 9 -j LOG --log-prefix \"x: \"",
                        "-p ipv6-icmp -j ACCEPT",
                        "-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"}});
  std::string error;
  auto t = TableOf(fs, error);
  ASSERT_TRUE(t) << error;
  auto text = TableText(*t, error);
  ASSERT_TRUE(text) << error;
  EXPECT_EQ(*text,
            "table ip swarmwall {\n"
            "\n\tchain SWARMWALL-INPUT {\n"
            "\t\tiifname \"eth0\" meta l4proto tcp ct status dnat ct original proto-dst 9000-9010 return comment \"say 'hi'\"\n"
            "\t\tudp dport { 53, 123, 1000-2000 } meta ipsec exists accept\n"
            "\t\tip daddr 10.0.0.0/8 limit rate 5/minute burst 9 packets log prefix \"x: \"\n"
            "\t\tmeta l4proto icmpv6 accept\n"
            "\t\tct state established,related accept\n"
            "\t}\n"
            "}\n");
}

}  // namespace
}  // namespace swarmwall::backend::nft
