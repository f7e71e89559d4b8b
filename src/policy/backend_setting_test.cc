#include "policy/backend_setting.h"

#include <gtest/gtest.h>

namespace swarmwall::policy {
namespace {

using netfilter::IpAddress;

const char* kYaml = R"(version: 1
interfaces: { public: eth0 }
backend: nftables
nodes:
  - { name: a, role: worker, address: 10.0.0.1, backend: iptables }
  - { name: b, role: worker, address: [10.0.0.2, "2001:db8::2"] }
)";

TEST(BackendSettings, PolicyAndNodes) {
  auto s = ReadBackendSettings(kYaml);
  EXPECT_EQ(s.policy, Backend::kNftables);
  EXPECT_TRUE(s.NodesDiffer());
  EXPECT_EQ(s.For("a", {}), Backend::kIptables);
  EXPECT_EQ(s.For("b", {}), Backend::kNftables);
  EXPECT_EQ(s.For("", {*IpAddress::Parse("10.0.0.1")}), Backend::kIptables);
  EXPECT_EQ(s.For("", {*IpAddress::Parse("2001:db8::2")}), Backend::kNftables);
  EXPECT_EQ(s.For("nobody", {}), Backend::kNftables);
}

// Malformed settings read as auto: the full load reports them.
TEST(BackendSettings, WhatDoesNotReadIsAuto) {
  EXPECT_EQ(ReadBackendSettings("backend: nftable\n").policy, Backend::kAuto);
  EXPECT_EQ(ReadBackendSettings("backend: [nftables]\n").policy, Backend::kAuto);
  EXPECT_EQ(ReadBackendSettings("{{{").policy, Backend::kAuto);
  EXPECT_EQ(ReadBackendSettings("nodes: auto\n").nodes.size(), 0u);
  EXPECT_FALSE(ReadBackendSettingsFile("/nonexistent/policy.yaml"));
}

}  // namespace
}  // namespace swarmwall::policy
