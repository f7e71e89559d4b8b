// OwnedTableFromListing: libnftables' listing of swarmwall's table read back,
// on listings captured from the kernel (tests/nftables/*.json, written by
// owned_table_kernel_test with SWARMWALL_NFT_CAPTURE) and on hand-made ones.
#include "backend/nftables/listing.h"

#include <gtest/gtest.h>

#include "backend/nftables/family_state_of.h"
#include "backend/nftables/table_of.h"
#include "backend/nftables/expr.h"
#include "backend/nftables/test_examples.h"
#include "base/json_text.h"

namespace swarmwall::backend::nft {
namespace {

using netfilter::Family;

Json Listing(const std::string& text) { return Json::parse(text); }

TEST(Listing, CapturedFromTheKernelEqualsTheTableOfItsPolicy) {
  int checked = 0;
  for (const auto& ex : testing::Examples()) {
    if (ex.forward) continue;
    std::filesystem::path capture =
        std::filesystem::path(SWARMWALL_SOURCE_DIR) / "tests/nftables" / (ex.name + "-" + ex.node + ".json");
    if (!std::filesystem::exists(capture)) continue;
    Json listing = Json::parse(testing::ReadText(capture));
    for (const compile::FamilyState* fs : {&ex.state.ipv4, &ex.state.ipv6}) {
      std::string error;
      auto want = TableOf(*fs, error);
      ASSERT_TRUE(want) << error;
      auto got = OwnedTableFromListing(listing, fs->family, error);
      ASSERT_TRUE(got) << capture << ": " << error;
      EXPECT_TRUE(*got == *want) << capture;
      ++checked;
    }
  }
  EXPECT_GE(checked, 4);
}

// What another nft (or another host's /etc/protocols) lists differently,
// and what the kernel adds (handles, counters), reads as the same table.
TEST(Listing, SpellingsAndExtrasAreNormalized) {
  Json listing = Listing(R"({"nftables": [
    {"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}},
    {"table": {"family": "ip", "name": "filter", "handle": 1}},
    {"chain": {"family": "ip", "table": "filter", "name": "INPUT", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}},
    {"rule": {"family": "ip", "table": "filter", "chain": "INPUT", "handle": 3, "expr": [{"xt": {"type": "match", "name": "conntrack"}}]}},
    {"table": {"family": "ip", "name": "swarmwall", "handle": 7}},
    {"set": {"family": "ip", "name": "swarmwall-b-v4", "table": "swarmwall", "type": "ipv4_addr", "handle": 3, "flags": "interval",
             "elem": ["192.0.2.7", {"prefix": {"addr": "10.0.0.0", "len": 9}}, {"range": ["10.128.0.0", "10.255.255.255"]},
                      {"elem": {"val": "192.0.2.6", "comment": "x"}}]}},
    {"set": {"family": "ip", "name": "swarmwall-a-v4", "table": "swarmwall", "type": "ipv4_addr", "handle": 2, "flags": ["interval"]}},
    {"chain": {"family": "ip", "table": "swarmwall", "name": "SWARMWALL-INPUT", "handle": 4}},
    {"chain": {"family": "ip", "table": "swarmwall", "name": "forward", "handle": 5, "type": "filter", "hook": "forward", "prio": -10, "policy": "accept"}},
    {"chain": {"family": "ip", "table": "swarmwall", "name": "input", "handle": 6, "type": "filter", "hook": "input", "prio": -10, "policy": "accept"}},
    {"rule": {"family": "ip", "table": "swarmwall", "chain": "input", "handle": 8, "expr": [{"counter": {"packets": 3, "bytes": 180}}, {"jump": {"target": "SWARMWALL-INPUT"}}]}},
    {"rule": {"family": "ip", "table": "swarmwall", "chain": "SWARMWALL-INPUT", "handle": 9, "comment": "c", "expr": [
      {"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "ipv6-icmp"}},
      {"match": {"op": "==", "left": {"payload": {"protocol": "icmp", "field": "type"}}, "right": "echo-request"}},
      {"match": {"op": "in", "left": {"ct": {"key": "state"}}, "right": ["related", "established"]}},
      {"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "192.0.2.1", "len": 32}}}},
      {"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": {"set": [443, {"range": [80, 81]}]}}},
      {"counter": {"packets": 0, "bytes": 0}},
      {"accept": null}]}}
  ]})");
  std::string error;
  auto t = OwnedTableFromListing(listing, Family::kIPv4, error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(error, "");
  ASSERT_EQ(t->sets.size(), 2u);
  EXPECT_EQ(t->sets[0].name, "swarmwall-a-v4");   // by name
  EXPECT_TRUE(t->sets[0].elements.empty());
  EXPECT_EQ(t->sets[1].flags, std::vector<std::string>{"interval"});
  ASSERT_EQ(t->sets[1].elements.size(), 2u);      // 10/8 merged; .6 and .7 merged
  EXPECT_EQ(t->sets[1].elements[0].last.ToString(), "10.255.255.255");
  EXPECT_EQ(t->sets[1].elements[1].first.ToString(), "192.0.2.6");
  ASSERT_EQ(t->base_chains.size(), 2u);
  EXPECT_EQ(t->base_chains[0].name, "input");     // input first
  EXPECT_EQ(t->base_chains[0].jumps, std::vector<std::string>{"SWARMWALL-INPUT"});
  EXPECT_TRUE(t->base_chains[1].jumps.empty());
  ASSERT_EQ(t->chains.size(), 1u);
  ASSERT_EQ(t->chains[0].rules.size(), 1u);
  EXPECT_EQ(t->chains[0].rules[0].comment, "c");
  EXPECT_EQ(JsonText(t->chains[0].rules[0].expr),
            R"([{"match":{"left":{"meta":{"key":"l4proto"}},"op":"==","right":58}},)"
            R"({"match":{"left":{"payload":{"field":"type","protocol":"icmp"}},"op":"==","right":8}},)"
            R"({"match":{"left":{"ct":{"key":"state"}},"op":"in","right":["established","related"]}},)"
            R"({"match":{"left":{"payload":{"field":"saddr","protocol":"ip"}},"op":"==","right":"192.0.2.1"}},)"
            R"({"match":{"left":{"payload":{"field":"dport","protocol":"tcp"}},"op":"==","right":{"set":[{"range":[80,81]},443]}}},)"
            R"({"accept":null}])");
  // The other family's table is not there.
  EXPECT_FALSE(OwnedTableFromListing(listing, Family::kIPv6, error));
  EXPECT_EQ(error, "");
}

TEST(Listing, HandEditsShowAsDifferences) {
  Json listing = Listing(R"({"nftables": [
    {"table": {"family": "ip6", "name": "swarmwall", "handle": 7}},
    {"chain": {"family": "ip6", "table": "swarmwall", "name": "input", "handle": 6, "type": "filter", "hook": "input", "prio": -10, "policy": "drop"}},
    {"rule": {"family": "ip6", "table": "swarmwall", "chain": "input", "handle": 8, "expr": [{"accept": null}]}},
    {"map": {"family": "ip6", "name": "m", "table": "swarmwall", "type": "ipv6_addr", "map": "verdict", "handle": 2}},
    {"set": {"family": "ip6", "name": "c", "table": "swarmwall", "type": ["ipv6_addr", "inet_service"], "handle": 3}}
  ]})");
  std::string error;
  auto t = OwnedTableFromListing(listing, Family::kIPv6, error);
  ASSERT_TRUE(t) << error;
  EXPECT_EQ(t->base_chains[0].policy, "drop");
  ASSERT_EQ(t->base_chains[0].jumps.size(), 1u);
  EXPECT_TRUE(t->base_chains[0].jumps[0].starts_with(kUnknownRule)) << t->base_chains[0].jumps[0];
  ASSERT_EQ(t->sets.size(), 2u);
  EXPECT_EQ(t->sets[0].type, R"(["ipv6_addr","inet_service"])");
  EXPECT_EQ(t->sets[1].type, "map ipv6_addr");
  auto back = FamilyStateOf(*t);
  ASSERT_EQ(back.hooks.size(), 1u);
  EXPECT_EQ(back.hooks[0].chain, "INPUT");
  EXPECT_TRUE(back.hooks[0].target.starts_with(kUnknownRule));
}

TEST(Listing, NotAListingIsAnError) {
  for (const char* text : {
           R"([])", R"({"nftables": {}})", R"({"nftables": [], "x": 1})", R"({"nftables": [7]})",
           R"({"nftables": [{"table": {"family": "ip", "name": "swarmwall"}, "x": 1}]})",
           R"({"nftables": [{"table": {"name": "swarmwall"}}]})",
           R"({"nftables": [{"chain": {"family": "ip", "table": "swarmwall", "name": "x"}}]})",
           R"({"nftables": [{"table": {"family": "ip", "name": "swarmwall"}}, {"table": {"family": "ip", "name": "swarmwall"}}]})",
           R"({"nftables": [{"table": {"family": "ip", "name": "swarmwall"}}, {"rule": {"family": "ip", "table": "swarmwall", "chain": "x", "expr": []}}]})",
           R"({"nftables": [{"table": {"family": "ip", "name": "swarmwall"}}, {"chain": {"family": "ip", "table": "swarmwall", "name": "x"}},
                            {"rule": {"family": "ip", "table": "swarmwall", "chain": "x", "expr": [{"a": 1, "b": 2}]}}]})",
           R"({"nftables": [{"table": {"family": "ip", "name": "swarmwall"}}, {"chain": {"family": "ip", "table": "swarmwall", "name": "x"}},
                            {"rule": {"family": "ip", "table": "swarmwall", "chain": "x", "expr": {}}}]})",
           R"({"nftables": [{"table": {"family": "ip", "name": "swarmwall"}}, {"chain": {"family": "ip", "table": "swarmwall", "name": "x"}},
                            {"rule": {"family": "ip", "table": "swarmwall", "chain": "x", "expr": [], "comment": 3}}]})",
           R"({"nftables": [{"table": {"family": "ip", "name": "swarmwall"}},
                            {"chain": {"family": "ip", "table": "swarmwall", "name": "input", "hook": "input"}}]})",
           R"({"nftables": [{"table": {"family": "ip", "name": "swarmwall"}},
                            {"set": {"family": "ip", "table": "swarmwall", "name": "s", "type": "ipv4_addr", "elem": ["300.1.1.1"]}}]})",
           R"({"nftables": [{"table": {"family": "ip", "name": "swarmwall"}},
                            {"set": {"family": "ip", "table": "swarmwall", "name": "s", "type": "ipv4_addr", "elem": [{"range": ["10.0.0.9", "10.0.0.1"]}]}}]})",
           R"({"nftables": [{"table": {"family": "ip", "name": "swarmwall"}},
                            {"set": {"family": "ip", "table": "swarmwall", "name": "s", "type": "ipv4_addr", "elem": ["2001:db8::1"]}}]})",
       }) {
    std::string error;
    EXPECT_FALSE(OwnedTableFromListing(Listing(text), Family::kIPv4, error)) << text;
    EXPECT_NE(error, "") << text;
  }
}

}  // namespace
}  // namespace swarmwall::backend::nft
