// The ipassmt parser on the format's shapes and on the corpus's files.
#include "analyze/model/ipassmt.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

namespace swarmwall::analyze {
namespace {

using netfilter::Cidr;

std::string Cidrs(const std::vector<AddressSpan>& s) {
  std::string out;
  for (const auto& c : SpansToCidrs(s)) out += (out.empty() ? "" : " ") + c.ToString();
  return out;
}

TEST(IpAssignment, Shapes) {
  IpAssignment a;
  std::string error;
  ASSERT_TRUE(ParseIpAssignment("eth0 = [0.0.0.0-255.255.255.255]\nfoo = []\n"
                                "eth1.96 = [198.51.100.3/25] # comment\n"
                                "lup = all_but_those_ips [\n  192.168.0.0/16,\n"
                                "  172.16.0.0/12,\n 10.0.0.0/8\n]\nlo = [127.0.0.0/8, 10.0.0.1]\n",
                                a, error))
      << error;
  ASSERT_EQ(a.entries.size(), 5u);
  EXPECT_EQ(Cidrs(a.Find("eth0")->spans), "0.0.0.0/0");
  EXPECT_TRUE(a.Find("foo")->spans.empty());
  EXPECT_EQ(Cidrs(a.Find("eth1.96")->spans), "198.51.100.0/25");
  EXPECT_TRUE(a.Find("lup")->all_but);
  EXPECT_EQ(Cidrs(a.Find("lup")->spans),
            "0.0.0.0/5 8.0.0.0/7 11.0.0.0/8 12.0.0.0/6 16.0.0.0/4 32.0.0.0/3 64.0.0.0/2 "
            "128.0.0.0/3 160.0.0.0/5 168.0.0.0/6 172.0.0.0/12 172.32.0.0/11 172.64.0.0/10 "
            "172.128.0.0/9 173.0.0.0/8 174.0.0.0/7 176.0.0.0/4 192.0.0.0/9 192.128.0.0/11 "
            "192.160.0.0/13 192.169.0.0/16 192.170.0.0/15 192.172.0.0/14 192.176.0.0/12 "
            "192.192.0.0/10 193.0.0.0/8 194.0.0.0/7 196.0.0.0/6 200.0.0.0/5 208.0.0.0/4 "
            "224.0.0.0/3");
  EXPECT_EQ(Cidrs(a.Find("lo")->spans), "10.0.0.1/32 127.0.0.0/8");
  EXPECT_EQ(a.Find("nope"), nullptr);
}

TEST(IpAssignment, Errors) {
  IpAssignment a;
  std::string error;
  EXPECT_FALSE(ParseIpAssignment("eth0 = [1.2.3.4/33]\n", a, error));
  EXPECT_NE(error.find("line 1"), std::string::npos);
  IpAssignment b;
  EXPECT_FALSE(ParseIpAssignment("eth0 = [1.2.3.4]\n\neth1 = some [1.2.3.4]\n", b, error));
  EXPECT_NE(error.find("line 3"), std::string::npos) << error;
  IpAssignment c;
  EXPECT_FALSE(ParseIpAssignment("eth0 = [1.2.3.4\n", c, error));
  IpAssignment d;
  EXPECT_FALSE(ParseIpAssignment("eth0 = [1.2.3.4, 2001:db8::1]\n", d, error));
}

TEST(IpAssignment, Ipv6) {
  IpAssignment a;
  std::string error;
  ASSERT_TRUE(ParseIpAssignment("eth0 = [2001:db8::/32]\neth1 = all_but_those_ips [::/1]\n", a, error))
      << error;
  EXPECT_EQ(a.family, netfilter::Family::kIPv6);
  EXPECT_EQ(Cidrs(a.Find("eth0")->spans), "2001:db8::/32");
  EXPECT_EQ(Cidrs(a.Find("eth1")->spans), "8000::/1");
}

TEST(IpAssignment, Corpus) {
  const char* s = getenv("SWARMWALL_SHARED");
  std::string dir = std::string(s ? s : SWARMWALL_SHARED_DEFAULT) + "/corpus/ipassmt/";
  for (const char* name : {"ipassmt_tumi8", "ipassmt_sqrl"}) {
    std::ifstream in(dir + name);
    if (!in) GTEST_SKIP() << "no corpus";
    std::stringstream ss;
    ss << in.rdbuf();
    IpAssignment a;
    std::string error;
    ASSERT_TRUE(ParseIpAssignment(ss.str(), a, error)) << name << ": " << error;
    EXPECT_GT(a.entries.size(), 5u);
  }
}

}  // namespace
}  // namespace swarmwall::analyze
