// The libnftables JSON commands on swarmwall's table.
#include "backend/nftables/commands.h"

#include <gtest/gtest.h>

#include "backend/nftables/expr.h"
#include "base/json_text.h"

namespace swarmwall::backend::nft {
namespace {

using netfilter::Family;

netfilter::AddressInterval I(const char* a, const char* b) {
  return {*netfilter::IpAddress::Parse(a), *netfilter::IpAddress::Parse(b)};
}

TEST(Commands, Shapes) {
  EXPECT_EQ(JsonText(AddTableCommand(Family::kIPv4)), R"({"add":{"table":{"family":"ip","name":"swarmwall"}}})");
  EXPECT_EQ(JsonText(DeleteTableCommand(Family::kIPv6)), R"({"delete":{"table":{"family":"ip6","name":"swarmwall"}}})");
  BaseChain b;
  b.name = b.hook = "forward";
  EXPECT_EQ(JsonText(AddBaseChainCommand(Family::kIPv4, b)),
            R"({"add":{"chain":{"family":"ip","hook":"forward","name":"forward","policy":"accept","prio":-10,"table":"swarmwall","type":"filter"}}})");
  EXPECT_EQ(JsonText(AddChainCommand(Family::kIPv4, "SWARMWALL-USER")),
            R"({"add":{"chain":{"family":"ip","name":"SWARMWALL-USER","table":"swarmwall"}}})");
  EXPECT_EQ(JsonText(FlushChainCommand(Family::kIPv4, "SWARMWALL-USER")),
            R"({"flush":{"chain":{"family":"ip","name":"SWARMWALL-USER","table":"swarmwall"}}})");
  EXPECT_EQ(JsonText(DeleteChainCommand(Family::kIPv4, "SWARMWALL-USER")),
            R"({"delete":{"chain":{"family":"ip","name":"SWARMWALL-USER","table":"swarmwall"}}})");
  Rule r{Json::array({Json{{"accept", nullptr}}}), "why"};
  EXPECT_EQ(JsonText(AddRuleCommand(Family::kIPv4, "SWARMWALL-INPUT", r)),
            R"({"add":{"rule":{"chain":"SWARMWALL-INPUT","comment":"why","expr":[{"accept":null}],"family":"ip","table":"swarmwall"}}})");
  r.comment.clear();
  EXPECT_EQ(JsonText(AddRuleCommand(Family::kIPv4, "SWARMWALL-INPUT", r)),
            R"({"add":{"rule":{"chain":"SWARMWALL-INPUT","expr":[{"accept":null}],"family":"ip","table":"swarmwall"}}})");
  EXPECT_EQ(JsonText(AddJumpCommand(Family::kIPv6, "input", "SWARMWALL-INPUT")),
            R"({"add":{"rule":{"chain":"input","expr":[{"jump":{"target":"SWARMWALL-INPUT"}}],"family":"ip6","table":"swarmwall"}}})");
  Set s{"swarmwall-office-v4", "ipv4_addr", {"interval"}, {}};
  EXPECT_EQ(JsonText(AddSetCommand(Family::kIPv4, s)),
            R"({"add":{"set":{"family":"ip","flags":["interval"],"name":"swarmwall-office-v4","table":"swarmwall","type":"ipv4_addr"}}})");
  EXPECT_EQ(JsonText(FlushSetCommand(Family::kIPv4, s.name)),
            R"({"flush":{"set":{"family":"ip","name":"swarmwall-office-v4","table":"swarmwall"}}})");
  EXPECT_EQ(JsonText(DeleteSetCommand(Family::kIPv4, s.name)),
            R"({"delete":{"set":{"family":"ip","name":"swarmwall-office-v4","table":"swarmwall"}}})");
  std::vector<netfilter::AddressInterval> elements = {I("10.0.0.0", "10.255.255.255"), I("192.0.2.7", "192.0.2.7"),
                                                       I("198.51.100.1", "198.51.100.9")};
  EXPECT_EQ(JsonText(AddElementsCommand(Family::kIPv4, s.name, elements)),
            R"({"add":{"element":{"elem":[{"prefix":{"addr":"10.0.0.0","len":8}},"192.0.2.7",{"range":["198.51.100.1","198.51.100.9"]}],"family":"ip","name":"swarmwall-office-v4","table":"swarmwall"}}})");
  EXPECT_EQ(JsonText(DeleteElementsCommand(Family::kIPv4, s.name, elements)).substr(0, 22), R"({"delete":{"element":{)");
  EXPECT_EQ(JsonText(AddSetWithElementsCommand(Family::kIPv4, s)), JsonText(AddSetCommand(Family::kIPv4, s)));
  s.elements = elements;
  EXPECT_EQ(JsonText(AddSetWithElementsCommand(Family::kIPv4, s)),
            R"({"add":{"set":{"elem":[{"prefix":{"addr":"10.0.0.0","len":8}},"192.0.2.7",{"range":["198.51.100.1","198.51.100.9"]}],"family":"ip","flags":["interval"],"name":"swarmwall-office-v4","table":"swarmwall","type":"ipv4_addr"}}})");
}

TEST(Commands, WholeTableInDependencyOrder) {
  OwnedTable t;
  t.family = Family::kIPv6;
  BaseChain input;
  input.name = input.hook = "input";
  input.jumps = {"SWARMWALL-INPUT"};
  t.base_chains.push_back(input);
  t.chains.push_back({"SWARMWALL-INPUT", {Rule{Json::array({Json{{"jump", {{"target", "SWARMWALL-EGRESS"}}}}}), ""}}});
  t.chains.push_back({"SWARMWALL-EGRESS", {Rule{Json::array({Json{{"drop", nullptr}}}), ""}}});
  t.sets.push_back({"swarmwall-a-v6", "ipv6_addr", {"interval"}, {I("2001:db8::", "2001:db8::ff")}});
  t.sets.push_back({"swarmwall-empty-v6", "ipv6_addr", {"interval"}, {}});
  std::vector<std::string> order;
  for (const auto& c : AddTableCommands(t)) {
    const auto& verb = c.begin();
    const auto& object = verb.value().begin();
    order.push_back(verb.key() + " " + object.key() + " " +
                    object.value().value("name", object.value().value("chain", std::string())));
  }
  // The elements in their set's declaration (AddSetWithElementsCommand).
  EXPECT_EQ(order, (std::vector<std::string>{"add table swarmwall", "add set swarmwall-a-v6",
                                             "add set swarmwall-empty-v6",
                                             "add chain SWARMWALL-INPUT", "add chain SWARMWALL-EGRESS",
                                             "add chain input", "add rule SWARMWALL-INPUT",
                                             "add rule SWARMWALL-EGRESS", "add rule input"}));
  EXPECT_EQ(AddTableCommands(t)[1]["add"]["set"]["elem"].size(), 1u);
  auto batch = Batch(AddTableCommands(t));
  EXPECT_EQ(batch["nftables"].size(), order.size());
}

}  // namespace
}  // namespace swarmwall::backend::nft
