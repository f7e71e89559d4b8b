#include "netfilter/address_interval.h"

#include <gtest/gtest.h>

#include <random>

namespace swarmwall::netfilter {
namespace {

Cidr C(const char* text) { return *Cidr::Parse(text); }
IpAddress A(const char* text) { return *IpAddress::Parse(text); }
AddressInterval I(const char* a, const char* b) { return {A(a), A(b)}; }

std::vector<std::string> Texts(const std::vector<Cidr>& cidrs) {
  std::vector<std::string> out;
  for (const auto& c : cidrs) out.push_back(c.ToString());
  return out;
}

TEST(AddressInterval, OfCidr) {
  EXPECT_EQ(IntervalOf(C("10.0.0.0/8")), I("10.0.0.0", "10.255.255.255"));
  EXPECT_EQ(IntervalOf(C("192.0.2.7")), I("192.0.2.7", "192.0.2.7"));
  EXPECT_EQ(IntervalOf(C("0.0.0.0/0")), I("0.0.0.0", "255.255.255.255"));
  EXPECT_EQ(IntervalOf(C("::/0")), I("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_EQ(IntervalOf(C("2001:db8::/32")), I("2001:db8::", "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"));
  EXPECT_FALSE(IntervalOf(C("10.0.0.0/255.0.255.0")));
}

TEST(AddressInterval, MergeOverlappingAndAdjacent) {
  auto merged = *IntervalsOf(std::vector<Cidr>{C("10.10.10.3"), C("10.10.10.1"), C("10.10.10.2"),
                                              C("10.0.0.0/8"), C("11.0.0.0/8"), C("192.0.2.0/24"),
                                              C("192.0.2.128/25"), C("198.51.100.0/24")});
  EXPECT_EQ(merged, (std::vector<AddressInterval>{I("10.0.0.0", "11.255.255.255"),
                                                  I("192.0.2.0", "192.0.2.255"),
                                                  I("198.51.100.0", "198.51.100.255")}));
  // The top of the space does not wrap.
  auto top = MergeIntervals({I("255.255.255.255", "255.255.255.255"), I("0.0.0.0", "0.0.0.0")});
  EXPECT_EQ(top.size(), 2u);
  auto v6 = MergeIntervals({I("::", "::5"), I("::6", "::9"), I("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                                                               "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")});
  EXPECT_EQ(v6, (std::vector<AddressInterval>{I("::", "::9"), I("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff",
                                                                "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")}));
}

TEST(AddressInterval, AsPrefix) {
  EXPECT_EQ(AsPrefix(I("10.0.0.0", "10.255.255.255")), C("10.0.0.0/8"));
  EXPECT_EQ(AsPrefix(I("10.0.0.1", "10.0.0.1")), C("10.0.0.1/32"));
  EXPECT_EQ(AsPrefix(I("0.0.0.0", "255.255.255.255")), C("0.0.0.0/0"));
  EXPECT_EQ(AsPrefix(I("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff")), C("::/0"));
  EXPECT_FALSE(AsPrefix(I("10.0.0.1", "10.0.0.2")));
  EXPECT_FALSE(AsPrefix(I("10.0.0.0", "10.0.0.2")));
  EXPECT_FALSE(AsPrefix(I("10.0.0.2", "10.0.0.5")));
}

TEST(AddressInterval, FewestCidrs) {
  EXPECT_EQ(Texts(CidrsOf(I("10.10.10.1", "10.10.10.3"))),
            (std::vector<std::string>{"10.10.10.1/32", "10.10.10.2/31"}));
  EXPECT_EQ(Texts(CidrsOf(I("0.0.0.0", "255.255.255.255"))), (std::vector<std::string>{"0.0.0.0/0"}));
  EXPECT_EQ(Texts(CidrsOf(I("255.255.255.254", "255.255.255.255"))),
            (std::vector<std::string>{"255.255.255.254/31"}));
  EXPECT_EQ(Texts(CidrsOf(I("::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))),
            (std::vector<std::string>{"::/0"}));
  EXPECT_EQ(Texts(CidrsOf(I("::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"))).size(), 128u);
}

// Random CIDRs: merging, then back to CIDRs and merging again, changes
// nothing, and every address of the input is in exactly one interval.
TEST(AddressInterval, RandomRoundTrip) {
  std::mt19937 rng(15);
  for (int round = 0; round < 200; ++round) {
    Family f = round % 2 ? Family::kIPv6 : Family::kIPv4;
    std::vector<Cidr> cidrs;
    int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      IpAddress a{};
      a.family = f;
      for (auto& b : a.bytes) b = static_cast<uint8_t>(rng() % 4);   // dense: overlaps and neighbours
      if (f == Family::kIPv4) std::fill(a.bytes.begin() + 4, a.bytes.end(), 0);
      int bits = f == Family::kIPv4 ? 32 : 128;
      cidrs.push_back(Cidr::Prefix(a, bits - static_cast<int>(rng() % 6)));
    }
    auto merged = *IntervalsOf(cidrs);
    auto back = CidrsOf(merged);
    EXPECT_EQ(*IntervalsOf(back), merged);
    for (size_t i = 1; i < merged.size(); ++i) EXPECT_LT(merged[i - 1].last, merged[i].first);
    for (const auto& c : cidrs) {
      auto ci = *IntervalOf(c);
      int inside = 0;
      for (const auto& m : merged) inside += m.first <= ci.first && ci.last <= m.last;
      EXPECT_EQ(inside, 1) << c.ToString();
    }
  }
}

}  // namespace
}  // namespace swarmwall::netfilter
