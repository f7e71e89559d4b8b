#include "netfilter/nft_json.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace swarmwall::netfilter {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const NftChain* Chain(const NftRuleset& rs, std::string_view table, std::string_view chain) {
  for (const auto& t : rs.tables)
    if (t.name == table) {
      int i = t.FindChain(chain);
      return i < 0 ? nullptr : &t.chains[i];
    }
  return nullptr;
}

TEST(NftJson, ReadsDockerAndAnOwnTable) {
  auto r = ParseNftJson(ReadFile(std::string(SWARMWALL_SOURCE_DIR) + "/tests/nftables/mixed.json"), "mixed.json");
  ASSERT_TRUE(r.ruleset) << r.error->ToString();
  const NftRuleset& rs = *r.ruleset;
  ASSERT_EQ(rs.tables.size(), 2u);
  EXPECT_EQ(rs.nft_version, "1.0.6");
  const NftChain* fwd = Chain(rs, "docker-bridges", "filter-FORWARD");
  ASSERT_TRUE(fwd);
  EXPECT_TRUE(fwd->base);
  EXPECT_EQ(fwd->hook, "forward");
  EXPECT_EQ(fwd->priority, 0);
  ASSERT_EQ(fwd->rules.size(), 2u);
  const NftStatement& vmap = fwd->rules[0].statements[0];
  EXPECT_EQ(vmap.kind, NftStatement::kVmap);
  EXPECT_EQ(vmap.key[0].kind, NftSelector::kOifname);
  ASSERT_GE(vmap.set, 0);
  const NftTable& docker = rs.tables[0];
  const NftSet& jumps = docker.sets[vmap.set];
  ASSERT_EQ(jumps.elements.size(), 2u);
  EXPECT_EQ(jumps.elements[1].key[0].name, "bridge1");
  EXPECT_EQ(jumps.elements[1].verdict.kind, NftVerdict::kJump);
  EXPECT_EQ(docker.chains[jumps.elements[1].verdict.chain_index].name, "filter-forward-in__bridge1");

  const NftChain* dnat = Chain(rs, "docker-bridges", "nat-prerouting-and-output");
  ASSERT_TRUE(dnat);
  const NftRule& d = dnat->rules[0];
  EXPECT_EQ(d.comment, "DNAT");
  ASSERT_EQ(d.statements.size(), 4u);
  EXPECT_EQ(d.statements[0].op, NftStatement::kNe);
  EXPECT_EQ(d.statements[1].key[0].kind, NftSelector::kDport);
  EXPECT_EQ(d.statements[1].key[0].protocol, 6);
  EXPECT_EQ(d.statements[1].values[0].key[0].lo, 8080u);
  EXPECT_EQ(d.statements[3].kind, NftStatement::kDnat);
  EXPECT_EQ(d.statements[3].addr_lo.ToString(), "192.0.2.2");
  EXPECT_EQ(d.statements[3].port_lo, 80);

  const NftChain* own = Chain(rs, "own", "myfwd");
  ASSERT_TRUE(own);
  EXPECT_EQ(own->priority, -10);
  // ct status dnat (a bit test), meta l4proto tcp, ct original proto-dst, ct original ip daddr @nodes
  const auto& first = own->rules[0].statements;
  EXPECT_EQ(first[0].key[0].kind, NftSelector::kCtStatus);
  EXPECT_EQ(first[0].op, NftStatement::kAnyBits);
  EXPECT_EQ(first[0].values[0].key[0].lo, 32u);
  EXPECT_EQ(first[1].values[0].key[0].lo, 6u);
  EXPECT_EQ(first[2].key[0].kind, NftSelector::kCtProtoDst);
  EXPECT_EQ(first[3].key[0].kind, NftSelector::kCtDaddr);
  EXPECT_EQ(first[3].key[0].protocol, 4);
  const NftSet& nodes = rs.tables[1].sets[first[3].set];
  ASSERT_EQ(nodes.elements.size(), 2u);
  EXPECT_EQ(nodes.elements[0].key[0].addr_lo.ToString(), "10.10.10.0");
  EXPECT_EQ(nodes.elements[0].key[0].addr_hi.ToString(), "10.10.10.255");
  // ct state { established, related }: one of two values, not a bit test
  EXPECT_EQ(own->rules[1].statements[0].op, NftStatement::kEq);
  EXPECT_EQ(own->rules[1].statements[0].values.size(), 2u);
  // meta mark & 0xff == 1
  EXPECT_EQ(own->rules[2].statements[0].key[0].mask, 0xffu);
  // ip saddr . tcp dport vmap @pm
  EXPECT_EQ(own->rules[3].statements[0].key.size(), 2u);
  // tcp flags & (syn|ack) == syn
  EXPECT_EQ(own->rules[4].statements[0].key[0].mask, 18u);
  // iifname "eth*"
  const auto& wild = own->rules[9].statements[0].values[0].key[0];
  EXPECT_EQ(wild.name, "eth");
  EXPECT_TRUE(wild.wildcard);
  // ct mark set 0x5, meta mark set ct mark
  EXPECT_EQ(own->rules[10].statements[0].kind, NftStatement::kSetCtMark);
  EXPECT_TRUE(own->rules[10].statements[1].from_other);
  EXPECT_EQ(own->rules[11].statements[1].kind, NftStatement::kNotrack);
  EXPECT_EQ(own->rules[0].text, "ct status dnat meta l4proto tcp ct original proto-dst 8080 ct original ip daddr @nodes accept");
}

TEST(NftJson, ErrorsSayWhere) {
  auto r = ParseNftJson("{\"nftables\": [\n {\"table\": {\"family\": \"ip\", \"name\": \"t\", \"handle\": 1}},\n"
                        "  {\"rule\": {\"family\": \"ip\", \"table\": \"t\", \"chain\": \"c\", \"handle\": 2, \"expr\": []}}]}",
                        "x.json");
  ASSERT_FALSE(r.ruleset);
  EXPECT_EQ(r.error->ToString(), "x.json:3:3: rule of chain c, which is not defined");
  r = ParseNftJson("{\"nftables\": [\n{\"table\": {\"family\": \"ip\", \"name\": \"t\", \"handle\": 1}},\n"
                   "{\"chain\": {\"family\": \"ip\", \"table\": \"t\", \"name\": \"c\", \"handle\": 1}},\n"
                   "{\"rule\": {\"family\": \"ip\", \"table\": \"t\", \"chain\": \"c\", \"handle\": 2, "
                   "\"expr\": [{\"jump\": {\"target\": \"nowhere\"}}]}}]}",
                   "y.json");
  ASSERT_FALSE(r.ruleset);
  EXPECT_EQ(r.error->ToString(), "y.json:4:1: jump nowhere to chain nowhere, which table t does not have");
  r = ParseNftJson("{\"nftables\": [}", "z.json");
  ASSERT_FALSE(r.ruleset);
  EXPECT_EQ(r.error->line, 1);
  EXPECT_EQ(r.error->column, 15);
  r = ParseNftJson("[1]", "w.json");
  ASSERT_FALSE(r.ruleset);
}

TEST(NftJson, UnknownThingsStayUndecidable) {
  auto r = ParseNftJson(R"({"nftables": [{"table": {"family": "inet", "name": "t", "handle": 1}},
    {"chain": {"family": "inet", "table": "t", "name": "c", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "drop"}},
    {"rule": {"family": "inet", "table": "t", "chain": "c", "handle": 2,
      "expr": [{"match": {"op": "==", "left": {"osf": {"key": "name"}}, "right": "Linux"}}, {"tproxy": {"port": 1}}, {"accept": null}]}}]})",
                        "u.json");
  ASSERT_TRUE(r.ruleset) << r.error->ToString();
  const auto& st = r.ruleset->tables[0].chains[0].rules[0].statements;
  ASSERT_EQ(st.size(), 3u);
  EXPECT_EQ(st[0].kind, NftStatement::kUnknown);
  EXPECT_EQ(st[1].kind, NftStatement::kUnknown);
  EXPECT_EQ(r.ruleset->tables[0].chains[0].policy, NftVerdict::kDrop);
}

TEST(NftJson, ASetElementWeCannotReadMakesItsLookupsUndecidable) {
  auto r = ParseNftJson(R"({"nftables": [{"table": {"family": "inet", "name": "t", "handle": 1}},
    {"set": {"family": "inet", "name": "svc", "table": "t", "type": "inet_service", "handle": 2, "elem": ["ssh", 80]}},
    {"chain": {"family": "inet", "table": "t", "name": "c", "handle": 1, "type": "filter", "hook": "input", "prio": 0, "policy": "accept"}},
    {"rule": {"family": "inet", "table": "t", "chain": "c", "handle": 3,
      "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "tcp", "field": "dport"}}, "right": "@svc"}}, {"drop": null}]}}]})",
                        "s.json");
  ASSERT_TRUE(r.ruleset) << r.error->ToString();
  ASSERT_EQ(r.warnings.size(), 1u);
  EXPECT_NE(r.warnings[0].message.find("set svc"), std::string::npos);
  EXPECT_EQ(r.ruleset->tables[0].chains[0].rules[0].statements[0].kind, NftStatement::kUnknown);
}

}  // namespace
}  // namespace swarmwall::netfilter
