// TableOf and FamilyStateOf: the translation of the compiler's rule specs
// into nftables statements, and back.
#include "backend/nftables/table_of.h"

#include <gtest/gtest.h>

#include "backend/nftables/family_state_of.h"
#include "backend/nftables/expr.h"
#include "backend/nftables/test_examples.h"
#include "base/json_text.h"

namespace swarmwall::backend::nft {
namespace {

using netfilter::Family;

compile::FamilyState OneChain(std::vector<std::string> rules, Family family = Family::kIPv4) {
  compile::FamilyState fs;
  fs.family = family;
  fs.chains.push_back({"filter", "SWARMWALL-INPUT", std::move(rules)});
  fs.chains.push_back({"filter", "SWARMWALL-EGRESS", {}});
  fs.hooks.push_back({"filter", "INPUT", "SWARMWALL-INPUT", false});
  compile::IpSet set;
  set.name = family == Family::kIPv4 ? "swarmwall-office-v4" : "swarmwall-office-v6";
  set.policy_name = "office";
  set.family = family;
  set.entries = std::make_shared<const std::vector<netfilter::Cidr>>(std::vector<netfilter::Cidr>{
      *netfilter::Cidr::Parse(family == Family::kIPv4 ? "198.51.100.0/24" : "2001:db8:100::/48")});
  fs.sets.push_back(set);
  return fs;
}

// The one rule SPEC translates to, as JSON text ("" with the error).
std::string Translate(const std::string& spec, Family family = Family::kIPv4) {
  std::string error;
  auto t = TableOf(OneChain({spec}, family), error);
  if (!t) return "error: " + error;
  const Rule& r = t->chains[0].rules[0];
  return JsonText(r.expr) + (r.comment.empty() ? "" : " comment " + r.comment);
}

TEST(TableOf, EveryExampleAndNodeComesBack) {
  int checked = 0;
  for (const auto& ex : testing::Examples())
    for (const compile::FamilyState* fs : {&ex.state.ipv4, &ex.state.ipv6}) {
      if (fs->empty()) continue;
      std::string error;
      auto table = TableOf(*fs, error);
      ASSERT_TRUE(table) << ex.name << " " << ex.node << ": " << error;
      auto back = FamilyStateOf(*table);
      EXPECT_EQ(testing::Difference(testing::Expected(*fs), back), "") << ex.name << " " << ex.node;
      // And the table of what came back is the same table.
      auto again = TableOf(back, error);
      ASSERT_TRUE(again) << error;
      EXPECT_TRUE(*again == *table) << ex.name << " " << ex.node;
      ++checked;
    }
  EXPECT_GE(checked, 20);
}

TEST(TableOf, Statements) {
  EXPECT_EQ(Translate("-i lo -j ACCEPT"),
            R"([{"match":{"left":{"meta":{"key":"iifname"}},"op":"==","right":"lo"}},{"accept":null}])");
  EXPECT_EQ(Translate("-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"),
            R"([{"match":{"left":{"ct":{"key":"state"}},"op":"in","right":["established","related"]}},{"accept":null}])");
  EXPECT_EQ(Translate("-m conntrack --ctstate INVALID -j DROP"),
            R"([{"match":{"left":{"ct":{"key":"state"}},"op":"in","right":"invalid"}},{"drop":null}])");
  EXPECT_EQ(Translate("-i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 9000:9010 -m set --match-set "
                      "swarmwall-office-v4 src -m comment --comment \"swarmwall: containers allow #2\" -j RETURN"),
            R"([{"match":{"left":{"meta":{"key":"iifname"}},"op":"==","right":"eth0"}},)"
            R"({"match":{"left":{"meta":{"key":"l4proto"}},"op":"==","right":6}},)"
            R"({"match":{"left":{"ct":{"key":"status"}},"op":"in","right":"dnat"}},)"
            R"({"match":{"left":{"ct":{"dir":"original","key":"proto-dst"}},"op":"==","right":{"range":[9000,9010]}}},)"
            R"({"match":{"left":{"payload":{"field":"saddr","protocol":"ip"}},"op":"==","right":"@swarmwall-office-v4"}},)"
            R"({"return":null}] comment swarmwall: containers allow #2)");
  EXPECT_EQ(Translate("-p tcp -m multiport --dports 2376:2377,7946 -m comment --comment x -m limit --limit 5/min "
                      "-j LOG --log-prefix \"swarmwall swarm: \""),
            R"([{"match":{"left":{"payload":{"field":"dport","protocol":"tcp"}},"op":"==","right":{"set":[{"range":[2376,2377]},7946]}}},)"
            R"({"limit":{"burst":5,"per":"minute","rate":5}},{"log":{"prefix":"swarmwall swarm: "}}] comment x)");
  EXPECT_EQ(Translate("-s 192.0.2.1/32 -d 10.0.0.0/8 -i br-+ -o eth0 -j SWARMWALL-EGRESS"),
            R"([{"match":{"left":{"payload":{"field":"saddr","protocol":"ip"}},"op":"==","right":"192.0.2.1"}},)"
            R"({"match":{"left":{"payload":{"field":"daddr","protocol":"ip"}},"op":"==","right":{"prefix":{"addr":"10.0.0.0","len":8}}}},)"
            R"({"match":{"left":{"meta":{"key":"iifname"}},"op":"==","right":"br-*"}},)"
            R"({"match":{"left":{"meta":{"key":"oifname"}},"op":"==","right":"eth0"}},{"jump":{"target":"SWARMWALL-EGRESS"}}])");
  EXPECT_EQ(Translate("-p udp -m udp --dport 4789 -m policy --dir in --pol ipsec -j ACCEPT"),
            R"([{"match":{"left":{"payload":{"field":"dport","protocol":"udp"}},"op":"==","right":4789}},)"
            R"({"match":{"left":{"meta":{"key":"ipsec"}},"op":"==","right":true}},{"accept":null}])");
  EXPECT_EQ(Translate("-j LOG"), R"([{"log":null}])");
  EXPECT_EQ(Translate("-p esp -j ACCEPT"),
            R"([{"match":{"left":{"meta":{"key":"l4proto"}},"op":"==","right":50}},{"accept":null}])");
  EXPECT_EQ(Translate("-p icmp -m icmp --icmp-type 8 -m limit --limit 8/sec -j ACCEPT"),
            R"([{"match":{"left":{"payload":{"field":"type","protocol":"icmp"}},"op":"==","right":8}},)"
            R"({"limit":{"burst":5,"per":"second","rate":8}},{"accept":null}])");
  EXPECT_EQ(Translate("-p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT", Family::kIPv6),
            R"([{"match":{"left":{"payload":{"field":"type","protocol":"icmpv6"}},"op":"==","right":135}},{"accept":null}])");
  EXPECT_EQ(Translate("-s 2001:db8::1/128 -j DROP", Family::kIPv6),
            R"([{"match":{"left":{"payload":{"field":"saddr","protocol":"ip6"}},"op":"==","right":"2001:db8::1"}},{"drop":null}])");
  EXPECT_EQ(Translate("-p sctp -m sctp --dport 5000:5010 -j ACCEPT"),
            R"([{"match":{"left":{"payload":{"field":"dport","protocol":"sctp"}},"op":"==","right":{"range":[5000,5010]}}},{"accept":null}])");
  // A multiport of one port: nft lists `{ 80 }` as 80.
  EXPECT_EQ(Translate("-p tcp -m multiport --dports 80 -j ACCEPT"),
            R"([{"match":{"left":{"payload":{"field":"dport","protocol":"tcp"}},"op":"==","right":80}},{"accept":null}])");
}

// What other nft versions and hosts may list reads as what TableOf makes.
TEST(NormalizedExpr, OtherSpellingsOfTheSameRule) {
  auto normal = [](const char* text) { return JsonText(NormalizedExpr(Json::parse(text))); };
  EXPECT_EQ(normal(R"([{"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":"tcp"}},
                       {"match":{"op":"==","left":{"payload":{"protocol":"tcp","field":"dport"}},"right":{"set":[22]}}},
                       {"accept":null}])"),
            Translate("-p tcp -m tcp --dport 22 -j ACCEPT"));
  EXPECT_EQ(normal(R"([{"match":{"op":"==","left":{"payload":{"protocol":"icmpv6","field":"type"}},"right":"nd-neighbor-solicit"}},
                       {"accept":null}])"),
            Translate("-p ipv6-icmp -m icmp6 --icmpv6-type 135 -j ACCEPT", Family::kIPv6));
  EXPECT_EQ(normal(R"([{"match":{"op":"==","left":{"payload":{"protocol":"ip6","field":"saddr"}},"right":{"prefix":{"addr":"2001:0db8:0:0::1","len":128}}}},
                       {"drop":null}])"),
            Translate("-s 2001:db8::1/128 -j DROP", Family::kIPv6));
  EXPECT_EQ(normal(R"([{"match":{"op":"in","left":{"ct":{"key":"state"}},"right":["related","established"]}},{"accept":null}])"),
            Translate("-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"));
  EXPECT_EQ(normal(R"([{"match":{"op":"in","left":{"ct":{"key":"state"}},"right":["invalid"]}},{"drop":null}])"),
            Translate("-m conntrack --ctstate INVALID -j DROP"));
  // The dependency stays where nothing implies it.
  EXPECT_EQ(normal(R"([{"match":{"op":"==","left":{"meta":{"key":"l4proto"}},"right":"esp"}},{"accept":null}])"),
            Translate("-p esp -j ACCEPT"));
}

TEST(TableOf, SpecsOutsideTheVocabularyAreErrorsNamingTheRule) {
  for (const char* spec : {"-m mark --mark 0x1 -j ACCEPT", "! -s 192.0.2.0/24 -j ACCEPT", "-j REJECT",
                           "-m conntrack --ctstate ESTABLISHED,DNAT -j ACCEPT", "-g SWARMWALL-EGRESS",
                           "-m set --match-set swarmwall-other-v4 src -j ACCEPT", "-p tcp -m tcp --sport 22 -j ACCEPT",
                           "-j SWARMWALL-NOWHERE", "-i eth0", "-m policy --dir out --pol ipsec -j ACCEPT",
                           "-p tcp -m tcp --dport 22 -j LOG --log-level 7", "-s 10.0.0.0/255.0.255.0 -j DROP",
                           "-m state --state NEW -j ACCEPT",
                           "-m no-such-module -j ACCEPT"}) {
    std::string t = Translate(spec);
    EXPECT_TRUE(t.starts_with("error: SWARMWALL-INPUT rule 1 (")) << spec << ": " << t;
  }
  std::string error;
  auto fs = OneChain({"-j ACCEPT"});
  fs.hooks.push_back({"filter", "OUTPUT", "SWARMWALL-INPUT", false});
  EXPECT_FALSE(TableOf(fs, error));
  EXPECT_NE(error.find("OUTPUT"), std::string::npos) << error;
}

TEST(TableOf, HooksAndSets) {
  compile::FamilyState fs = OneChain({"-j ACCEPT"});
  fs.chains.push_back({"filter", "SWARMWALL-USER", {}});
  fs.hooks.push_back({"filter", "DOCKER-USER", "SWARMWALL-USER", true});
  fs.hooks.push_back({"filter", "FORWARD", "SWARMWALL-USER", false});
  auto& entries = const_cast<std::vector<netfilter::Cidr>&>(*fs.sets[0].entries);
  entries.push_back(*netfilter::Cidr::Parse("198.51.100.7"));    // inside the /24
  entries.push_back(*netfilter::Cidr::Parse("198.51.101.0/24"));  // adjacent
  entries.push_back(*netfilter::Cidr::Parse("203.0.113.9"));
  std::string error;
  auto t = TableOf(fs, error);
  ASSERT_TRUE(t) << error;
  ASSERT_EQ(t->base_chains.size(), 2u);
  EXPECT_EQ(t->base_chains[0].name, "input");
  EXPECT_EQ(t->base_chains[0].jumps, std::vector<std::string>{"SWARMWALL-INPUT"});
  EXPECT_EQ(t->base_chains[1].name, "forward");
  EXPECT_EQ(t->base_chains[1].hook, "forward");
  EXPECT_EQ(t->base_chains[1].priority, -10);
  EXPECT_EQ(t->base_chains[1].jumps, std::vector<std::string>{"SWARMWALL-USER"});
  ASSERT_EQ(t->sets.size(), 1u);
  EXPECT_EQ(t->sets[0].type, "ipv4_addr");
  EXPECT_EQ(t->sets[0].flags, std::vector<std::string>{"interval"});
  ASSERT_EQ(t->sets[0].elements.size(), 2u);
  EXPECT_EQ(t->sets[0].elements[0].first.ToString(), "198.51.100.0");
  EXPECT_EQ(t->sets[0].elements[0].last.ToString(), "198.51.101.255");
  auto back = FamilyStateOf(*t);
  ASSERT_EQ(back.hooks.size(), 2u);
  EXPECT_EQ(back.hooks[1].chain, "FORWARD");
  EXPECT_EQ(back.sets[0].policy_name, "office");
  std::vector<std::string> cidrs;
  for (const auto& c : *back.sets[0].entries) cidrs.push_back(c.ToString());
  EXPECT_EQ(cidrs, (std::vector<std::string>{"198.51.100.0/23", "203.0.113.9/32"}));
}

TEST(TableOf, CommentsAsNftKeepsThem) {
  EXPECT_EQ(NftComment("say \"hi\""), "say 'hi'");
  std::string long_text(120, 'a');
  long_text += "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9";   // é x5: the 128th byte is inside one
  std::string cut = NftComment(long_text);
  EXPECT_EQ(cut.size(), 128u);
  EXPECT_EQ(NftComment(std::string(300, 'b')).size(), 128u);
  EXPECT_EQ(NftComment(std::string(120, 'a') + "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x").size(), 128u);
  std::string odd = std::string(127, 'a') + "\xc3\xa9";
  EXPECT_EQ(NftComment(odd), std::string(127, 'a'));
}

TEST(FamilyStateOf, RulesItCannotReadBecomeUnknownSpecs) {
  std::vector<Json> odd = {
      Json::array({Json{{"accept", nullptr}}, Json{{"drop", nullptr}}}),           // two verdicts
      Json::array({Json{{"counter", {{"packets", 1}}}}}),                          // no verdict
      Json::array({Json{{"match", {{"op", "!="}, {"left", Meta("iifname")}, {"right", "x"}}}}, Json{{"accept", nullptr}}}),
      Json::array({Json{{"match", 7}}, Json{{"accept", nullptr}}}),
      Json::array({Json{{"match", {{"op", "=="}, {"left", Meta("l4proto")}, {"right", "tcp"}}}}, Json{{"accept", nullptr}}}),
      Json::array({Json{{"match", {{"op", "=="}, {"left", Meta("iifname")}, {"right", "a+b"}}}}, Json{{"accept", nullptr}}}),
      Json::array({Json{{"match", {{"op", "=="}, {"left", Payload("tcp", "dport")}, {"right", 70000}}}}, Json{{"accept", nullptr}}}),
      Json::array({Json{{"match", {{"op", "=="}, {"left", Payload("ip", "saddr")}, {"right", {{"range", {"10.0.0.1", "10.0.0.3"}}}}}}}, Json{{"accept", nullptr}}}),
      Json::array({Json{{"match", {{"op", "in"}, {"left", Ct("state")}, {"right", "dnat"}}}}, Json{{"accept", nullptr}}}),
      Json::array({Json{{"limit", {{"rate", 5}, {"per", "week"}}}}, Json{{"accept", nullptr}}}),
      Json::array({Json{{"log", {{"prefix", "x"}, {"level", "warn"}}}}}),
      Json::array({Json{{"jump", {{"target", 5}}}}}),
      Json{{"not", "a list"}},
      Json::array({Json(nullptr)}),
      Json::array({Json::array()}),
  };
  for (const auto& expr : odd) {
    Rule r;
    r.expr = expr;
    std::string spec = SpecOf(r, Family::kIPv4);
    EXPECT_TRUE(spec.starts_with(kUnknownRule)) << JsonText(expr) << " -> " << spec;
  }
  Rule ok;
  ok.expr = Json::array({Json{{"match", {{"op", "=="}, {"left", Meta("iifname")}, {"right", "eth*"}}}},
                         Json{{"limit", {{"rate", 3}, {"burst", 10}, {"per", "hour"}}}},
                         Json{{"log", {{"prefix", "a b"}}}}});
  ok.comment = "c";
  EXPECT_EQ(SpecOf(ok, Family::kIPv4),
            "-i eth+ -m comment --comment c -m limit --limit 3/hour --limit-burst 10 -j LOG --log-prefix \"a b\"");
}

}  // namespace
}  // namespace swarmwall::backend::nft
