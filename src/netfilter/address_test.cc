#include "netfilter/address.h"

#include <gtest/gtest.h>

namespace swarmwall::netfilter {

TEST(Cidr, ParsesHostsAndPrefixes) {
  EXPECT_EQ(Cidr::Parse("10.1.2.3")->ToString(), "10.1.2.3/32");
  EXPECT_EQ(Cidr::Parse("10.1.2.3/8")->ToString(), "10.0.0.0/8");
  EXPECT_EQ(Cidr::Parse("10.1.2.3/255.255.0.0")->ToString(), "10.1.0.0/16");
  EXPECT_EQ(Cidr::Parse("1.2.3.4/255.0.255.0")->ToString(), "1.0.3.0/255.0.255.0");
  EXPECT_EQ(Cidr::Parse("2001:db8::1")->ToString(), "2001:db8::1/128");
  EXPECT_EQ(Cidr::Parse("2001:db8::1/32")->ToString(), "2001:db8::/32");
  EXPECT_FALSE(Cidr::Parse("10.0.0.0/33"));
  EXPECT_FALSE(Cidr::Parse("300.0.0.0"));
  EXPECT_FALSE(Cidr::Parse("10.0.0.1", Family::kIPv6));
}

TEST(Cidr, Contains) {
  auto net = *Cidr::Parse("192.0.2.0/24");
  EXPECT_TRUE(net.Contains(*IpAddress::Parse("192.0.2.77")));
  EXPECT_FALSE(net.Contains(*IpAddress::Parse("192.0.3.1")));
  EXPECT_FALSE(net.Contains(*IpAddress::Parse("2001:db8::1")));
  EXPECT_TRUE(Cidr::Any(Family::kIPv6).Contains(*IpAddress::Parse("::1")));
}

}  // namespace swarmwall::netfilter
