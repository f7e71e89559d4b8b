// Host facts: `ip -j addr`, `ip -j route` and `ipset save` read into HostNetwork.
#include "host/network.h"

#include <gtest/gtest.h>

namespace swarmwall::host {
namespace {

using netfilter::Family;
using netfilter::IpAddress;

IpAddress A(const char* s) { return *IpAddress::Parse(s); }

TEST(HostNetwork, ReadsAddressesAndRoutes) {
  HostNetwork net;
  std::string error;
  ASSERT_TRUE(ParseIpAddrJson(
      R"([{"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
          {"ifname":"eth0","addr_info":[{"family":"inet","local":"203.0.113.11","prefixlen":24,
            "broadcast":"203.0.113.255"},{"family":"inet6","local":"2001:db8::11","prefixlen":64}]},
          {"ifname":"veth1","master":"docker0"}])",
      net, error)) << error;
  ASSERT_TRUE(ParseIpRouteJson(
      R"([{"dst":"default","gateway":"203.0.113.100","dev":"eth0"},
          {"dst":"203.0.113.0/24","dev":"eth0","prefsrc":"203.0.113.11"},
          {"type":"blackhole","dst":"192.0.2.0/24"}])",
      Family::kIPv4, net, error)) << error;
  EXPECT_EQ(net.interfaces.size(), 3u);
  EXPECT_EQ(net.interfaces[2].master, "docker0");
  EXPECT_TRUE(net.IsLocal(A("203.0.113.11")));
  EXPECT_TRUE(net.IsLocal(A("127.0.0.5")));
  EXPECT_TRUE(net.IsLocal(A("2001:db8::11")));
  EXPECT_FALSE(net.IsLocal(A("203.0.113.12")));
  EXPECT_TRUE(net.IsBroadcast(A("203.0.113.255")));
  EXPECT_EQ(net.Lookup(A("203.0.113.50"))->device, "eth0");
  EXPECT_TRUE(net.Lookup(A("203.0.113.50"))->prefsrc.has_value());
  EXPECT_TRUE(net.Lookup(A("8.8.8.8"))->gateway.has_value());
  EXPECT_EQ(net.Lookup(A("192.0.2.1"))->type, "blackhole");
  EXPECT_EQ(net.Lookup(A("2001:db8::1")), nullptr);
  EXPECT_EQ(net.SourceFor("eth0", A("8.8.8.8"), nullptr)->ToString(), "203.0.113.11");
}

// Valid JSON of the wrong shape is an error that says where, never an
// exception (it aborted the command: issue 12, item 12).
TEST(HostNetwork, WrongTypesAreErrorsThatSayWhere) {
  struct Case {
    const char* json;
    const char* error;   // a part of the message
  };
  for (const Case& c : {Case{R"({"a":1})", "not the JSON array"}, Case{R"([1,2])", "interface 1: a number"},
                        Case{R"([{"ifname":5}])", R"("ifname" is a number, not a string)"},
                        Case{R"([{"ifname":"eth0","master":[]}])", R"("master" is an array)"},
                        Case{R"([{"ifname":"eth0","addr_info":{}}])", R"("addr_info" is not an array)"},
                        Case{R"([{"ifname":"eth0","addr_info":[7]}])", "interface 1 (eth0) address 1: a number"},
                        Case{R"([{"ifname":"eth0","addr_info":[{"local":1}]}])", R"("local" is a number)"},
                        Case{R"([{"ifname":"eth0","addr_info":[{"local":"10.0.0.1","prefixlen":"24"}]}])",
                             R"("prefixlen" is not a whole number 0..32)"},
                        Case{R"([{"ifname":"eth0","addr_info":[{"local":"10.0.0.1","prefixlen":99}]}])",
                             "0..32"},
                        Case{R"([{"ifname":"eth0","addr_info":[{"local":"10.0.0.1","prefixlen":-1}]}])",
                             "0..32"},
                        Case{R"([{"ifname":"eth0","addr_info":[{"local":"10.0.0.1","broadcast":true}]}])",
                             R"("broadcast" is a boolean)"}}) {
    HostNetwork net;
    std::string error;
    EXPECT_FALSE(ParseIpAddrJson(c.json, net, error)) << c.json;
    EXPECT_NE(error.find(c.error), std::string::npos) << c.json << ": " << error;
    EXPECT_TRUE(net.interfaces.empty()) << c.json;
  }
  for (const Case& c : {Case{R"({"a":1})", "not the JSON array"}, Case{R"([1,2])", "route 1: a number"},
                        Case{R"([{"dst":5}])", R"("dst" is a number)"},
                        Case{R"([{"dst":"default","dev":{}}])", R"("dev" is an object)"},
                        Case{R"([{"dst":"default","metric":"1"}])", R"("metric" is not a whole number)"},
                        Case{R"([{"dst":"default","metric":4294967296}])", "0..4294967295"},
                        Case{R"([{"dst":"default","gateway":1.5}])", R"("gateway" is a number)"},
                        Case{R"([{"dst":"default","type":null}])", R"("type" is a null)"}}) {
    HostNetwork net;
    std::string error;
    EXPECT_FALSE(ParseIpRouteJson(c.json, Family::kIPv4, net, error)) << c.json;
    EXPECT_NE(error.find(c.error), std::string::npos) << c.json << ": " << error;
    EXPECT_TRUE(net.routes.empty()) << c.json;
  }
}

TEST(HostNetwork, ReadsIpsetSave) {
  HostNetwork net;
  std::string error;
  ASSERT_TRUE(ParseIpsetSave(
      "create t1 hash:net family inet hashsize 1024 maxelem 65536 bucketsize 12 initval 0x5d8add54\n"
      "add t1 10.1.0.0/16 nomatch\n"
      "add t1 10.0.0.0/8\n"
      "create t2 hash:ip,port family inet hashsize 1024 maxelem 65536\n"
      "add t2 1.2.3.4,tcp:80\n"
      "add t2 1.2.3.5,udp:53 timeout 30\n"
      "create t3 bitmap:port range 0-1000\n"
      "add t3 22\n"
      "create t4 hash:ip family inet6 hashsize 1024 maxelem 65536\n"
      "add t4 2001:db8::1\n"
      "create t5 list:set size 8\n"
      "add t5 t1\n"
      "create t6 hash:mac\n",
      net, error)) << error;
  EXPECT_TRUE(net.ipsets_known);
  ASSERT_NE(net.FindSet("t1"), nullptr);
  EXPECT_TRUE(net.FindSet("t1")->entries[0].nomatch);
  EXPECT_EQ(net.FindSet("t2")->entries[1].protocol, 17);
  EXPECT_EQ(net.FindSet("t2")->entries[1].port, 53);
  EXPECT_EQ(net.FindSet("t3")->entries[0].port, 22);
  EXPECT_EQ(net.FindSet("t4")->family, Family::kIPv6);
  EXPECT_EQ(net.FindSet("t5")->entries[0].member, "t1");
  EXPECT_FALSE(net.FindSet("t6")->supported);
  EXPECT_FALSE(ParseIpsetSave("add nosuch 1.2.3.4\n", net, error));
}

}  // namespace
}  // namespace swarmwall::host
