#include "analyze/exposure/source_names.h"

#include <gtest/gtest.h>

#include "analyze/audit/audit.h"
#include "analyze/audit/reach_matrix.h"
#include "host/network.h"
#include "netfilter/nft_json.h"
#include "netfilter/parser.h"

namespace swarmwall::analyze {
namespace {

using netfilter::Cidr;
using netfilter::Family;

std::vector<Cidr> Cidrs(std::initializer_list<const char*> texts) {
  std::vector<Cidr> out;
  for (const char* t : texts) out.push_back(*Cidr::Parse(t));
  return out;
}

TEST(SourceNames, ASetItsComplementAndEveryoneElse) {
  SourceNames names;
  names.Add("nodes", Family::kIPv4, Cidrs({"10.10.10.1/32", "10.10.10.2/32", "10.10.10.3/32"}));
  names.Add("office", Family::kIPv4, Cidrs({"198.51.100.0/24"}));
  // The same addresses however written: the set's name.
  EXPECT_EQ(names.Name(Family::kIPv4, Cidrs({"10.10.10.1/32", "10.10.10.2/31"})), "nodes");
  EXPECT_EQ(names.Name(Family::kIPv4, Cidrs({"198.51.100.0/25", "198.51.100.128/25"})), "office");
  // Everything but the nodes (as the exposure engine splits it).
  EXPECT_EQ(names.Name(Family::kIPv4, Cidrs({"0.0.0.0/5", "8.0.0.0/7", "10.0.0.0/13", "10.8.0.0/15", "10.10.0.0/21",
                                              "10.10.8.0/23", "10.10.10.0/32", "10.10.10.4/30", "10.10.10.8/29",
                                              "10.10.10.16/28", "10.10.10.32/27", "10.10.10.64/26",
                                              "10.10.10.128/25", "10.10.11.0/24", "10.10.12.0/22",
                                              "10.10.16.0/20", "10.10.32.0/19", "10.10.64.0/18",
                                              "10.10.128.0/17", "10.11.0.0/16", "10.12.0.0/14", "10.16.0.0/12",
                                              "10.32.0.0/11", "10.64.0.0/10", "10.128.0.0/9", "11.0.0.0/8",
                                              "12.0.0.0/6", "16.0.0.0/4", "32.0.0.0/3", "64.0.0.0/2",
                                              "128.0.0.0/1"})),
            "everyone but nodes");
  // Outside both: everyone else.
  SourceNames one;
  one.Add("nodes", Family::kIPv4, Cidrs({"128.0.0.0/1"}));
  one.Add("office", Family::kIPv4, Cidrs({"0.0.0.0/2"}));
  EXPECT_EQ(one.Name(Family::kIPv4, Cidrs({"64.0.0.0/2"})), "everyone else");
  EXPECT_EQ(names.Name(Family::kIPv4, Cidrs({"0.0.0.0/0"})), "anywhere");
  // No fit, another family, nothing: no name.
  EXPECT_EQ(names.Name(Family::kIPv4, Cidrs({"203.0.113.0/24"})), "");
  EXPECT_EQ(names.Name(Family::kIPv6, Cidrs({"2001:db8::/32"})), "");
  EXPECT_EQ(names.Name(Family::kIPv4, {}), "");
}

TEST(SourceNames, HostIpsetsOfAddressesOnly) {
  host::HostNetwork host;
  host::IpSet admins;
  admins.name = "admins";
  admins.type = "hash:net";
  admins.dimensions = {"net"};
  admins.entries.push_back({.net = *Cidr::Parse("192.0.2.0/24")});
  host.ipsets["admins"] = admins;
  host::IpSet ports = admins;
  ports.name = "web";
  ports.type = "hash:net,port";
  ports.dimensions = {"net", "port"};
  ports.entries[0].net = *Cidr::Parse("203.0.113.0/24");
  host.ipsets["web"] = ports;
  SourceNames names;
  names.AddHostSets(host);
  EXPECT_EQ(names.Name(Family::kIPv4, Cidrs({"192.0.2.0/24"})), "admins");
  EXPECT_EQ(names.Name(Family::kIPv4, Cidrs({"203.0.113.0/24"})), "");
}

// The nftables backend keeps the policy's sets as nft named sets (no
// ipset): they name classes as well, by the policy's name, an administrator's own table's sets as
// TABLE/NAME. Maps and sets of ports do not.
TEST(SourceNames, NftNamedSetsOfAddresses) {
  const char* json = R"({"nftables": [
    {"table": {"family": "ip", "name": "swarmwall", "handle": 1}},
    {"set": {"family": "ip", "name": "swarmwall-office-v4", "table": "swarmwall", "type": "ipv4_addr",
             "handle": 2, "flags": ["interval"], "elem": [{"prefix": {"addr": "198.51.100.0", "len": 24}}]}},
    {"table": {"family": "ip6", "name": "swarmwall", "handle": 7}},
    {"set": {"family": "ip6", "name": "swarmwall-office-v6", "table": "swarmwall", "type": "ipv6_addr",
             "handle": 3, "flags": ["interval"], "elem": [{"prefix": {"addr": "2001:db8:100::", "len": 48}}]}},
    {"table": {"family": "ip", "name": "mine", "handle": 4}},
    {"set": {"family": "ip", "name": "admins", "table": "mine", "type": "ipv4_addr", "handle": 5,
             "flags": ["interval"], "elem": [{"range": ["192.0.2.10", "192.0.2.20"]}]}},
    {"set": {"family": "ip", "name": "ports", "table": "mine", "type": "inet_service", "handle": 6,
             "elem": [22]}}
  ]})";
  auto parsed = netfilter::ParseNftJson(json, "nft.json");
  ASSERT_TRUE(parsed.ruleset) << parsed.error->ToString();
  host::HostNetwork host;
  host.nftables = std::move(*parsed.ruleset);
  host.nftables_known = true;
  SourceNames names;
  names.AddHostSets(host);
  EXPECT_EQ(names.Name(Family::kIPv4, Cidrs({"198.51.100.0/24"})), "office");
  EXPECT_EQ(names.Name(Family::kIPv6, Cidrs({"2001:db8:100::/48"})), "office");
  EXPECT_EQ(names.Name(Family::kIPv4, Cidrs({"192.0.2.10/31", "192.0.2.12/30", "192.0.2.16/30", "192.0.2.20/32"})),
            "mine/admins");
  EXPECT_EQ(names.Name(Family::kIPv4, Cidrs({"203.0.113.0/24"})), "");
}

// audit --policy names the policy's own sets even where the host holds no
// copy of them (a host the policy is not applied on yet).
TEST(SourceNames, AuditMatrixNamesThePolicysSets) {
  auto rs = netfilter::ParseRuleset(
      "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      "-A INPUT -s 198.51.100.0/24 -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n");
  ASSERT_TRUE(rs.ruleset) << rs.error->ToString();
  host::HostNetwork net;
  std::string error;
  ASSERT_TRUE(host::ParseIpAddrJson(
      R"([{"ifname":"eth0","addr_info":[{"family":"inet","local":"203.0.113.11","prefixlen":24}]}])", net, error))
      << error;
  AuditInput in;
  in.v4 = &*rs.ruleset;
  in.host = &net;
  in.public_interfaces = {"eth0"};
  in.named_sets = {{"office", Cidrs({"198.51.100.0/24", "2001:db8:100::/48"})}};
  auto rows = ExposureMatrix(in);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].source_name, "office");
  EXPECT_EQ(rows[0].ports, "22");
}

}  // namespace
}  // namespace swarmwall::analyze
