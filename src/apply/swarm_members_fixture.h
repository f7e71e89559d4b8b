// For unit tests of `nodes: auto` (agent/membership_test.cc,
// apply/set_entries_test.cc): a policy whose nodes come from the Swarm, and
// a member made by hand. Header-only; not part of the library.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "apply/swarm_members.h"
#include "policy/policy.h"

namespace swarmwall::apply::fixture {

inline constexpr const char* kAutoPolicy = R"(version: 1
interfaces: { public: [eth0], cluster: [ens11] }
nodes: auto
host:
  allow:
    - { ports: [80], on: [label:ingress] }
swarm: { from: nodes }
)";

inline policy::Policy AutoPolicy(const std::string& text = kAutoPolicy) {
  auto loaded = policy::LoadPolicyText(text, "p.yaml", ".");
  EXPECT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors.front().ToString());
  return *loaded.policy;
}

inline SwarmMember Member(const std::string& id, const std::string& host, const char* addr,
                          policy::Role role = policy::Role::kWorker) {
  SwarmMember m;
  m.id = id;
  m.hostname = host;
  m.role = role;
  m.state = "ready";
  m.addresses = {*netfilter::IpAddress::Parse(addr)};
  return m;
}

}  // namespace swarmwall::apply::fixture
