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

namespace swarmwall::netfilter {

// A Cidr keeps a prefix length; odd masks live in a shared table. Both read,
// compare and order as (address, mask bytes).
TEST(Cidr, NonContiguousMasks) {
  auto odd = *Cidr::Parse("1.2.3.4/255.0.255.0");
  EXPECT_EQ(odd.PrefixLength(), -1);
  EXPECT_EQ(odd.Mask().ToString(), "255.0.255.0");
  EXPECT_EQ(odd.address.ToString(), "1.0.3.0");
  EXPECT_TRUE(odd.Contains(*IpAddress::Parse("1.9.3.9")));
  EXPECT_FALSE(odd.Contains(*IpAddress::Parse("1.9.4.9")));
  EXPECT_EQ(odd, *Cidr::Parse("1.0.3.0/255.0.255.0"));
  EXPECT_NE(odd, *Cidr::Parse("1.0.3.0/255.0.255.128"));
  // ordered by the mask's bytes: /8 (255.0.0.0) < 255.0.255.0 < /16
  auto a = *Cidr::Parse("1.0.0.0/8"), b = *Cidr::Parse("1.0.0.0/255.0.255.0"),
       c = *Cidr::Parse("1.0.0.0/16");
  EXPECT_LT(a, b);
  EXPECT_LT(b, c);
  EXPECT_EQ(Cidr::Parse("10.1.2.3/255.255.255.0")->PrefixLength(), 24);
  EXPECT_EQ(Cidr::Parse("2001:db8::1/ffff:ffff::")->ToString(), "2001:db8::/32");
  EXPECT_EQ(Cidr::Parse("2001:db8::1/ffff::ffff")->ToString(), "2001::1/ffff::ffff");
  EXPECT_TRUE(Cidr::Any(Family::kIPv4).IsAny());
  EXPECT_EQ(Cidr::Any(Family::kIPv6).ToString(), "::/0");
}

// inet_pton's IPv4 rules: four decimal octets, no leading zeros; the text
// ends at a NUL.
TEST(IpAddress, ParsesAsInetPton) {
  EXPECT_TRUE(IpAddress::Parse("0.0.0.0"));
  EXPECT_TRUE(IpAddress::Parse("255.255.255.255"));
  EXPECT_FALSE(IpAddress::Parse("01.2.3.4"));
  EXPECT_FALSE(IpAddress::Parse("1.2.3"));
  EXPECT_FALSE(IpAddress::Parse("1.2.3.4."));
  EXPECT_FALSE(IpAddress::Parse("1.2.3.256"));
  EXPECT_FALSE(IpAddress::Parse("1.2.3.2555"));
  EXPECT_FALSE(IpAddress::Parse("1..3.4"));
  EXPECT_EQ(IpAddress::Parse(std::string_view("1.2.3.4\0x", 9))->ToString(), "1.2.3.4");
  EXPECT_EQ(IpAddress::Parse("10.244.0.1")->ToString(), "10.244.0.1");
}

}  // namespace swarmwall::netfilter
