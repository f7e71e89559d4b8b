#include "apply/control_ports.h"

#include <gtest/gtest.h>

namespace swarmwall::apply {
namespace {

using analyze::ExposureEntry;
using analyze::FamilyExposure;

netfilter::Cidr C(const char* text) { return *netfilter::Cidr::Parse(text); }

ExposureEntry Entry(std::vector<netfilter::Cidr> sources, uint16_t protocol, uint16_t lo, uint16_t hi) {
  ExposureEntry e;
  e.sources = std::move(sources);
  e.protocol = protocol;
  e.ports = {{lo, hi}};
  return e;
}

TEST(ControlPorts, OnlyTheControlPortsTheWorldReaches) {
  FamilyExposure v4;
  v4.interfaces.push_back({"eth0",
                           {
                               // The world on 2377, and a span holding two control ports (4789, 7946).
                               Entry({C("0.0.0.0/0")}, 6, 2377, 2377),
                               Entry({C("0.0.0.0/0")}, 17, 4000, 8000),
                               // The nodes only: no exposure.
                               Entry({C("10.10.10.0/24")}, 6, 2375, 2377),
                               // The world on a port of no control plane.
                               Entry({C("0.0.0.0/0")}, 6, 8080, 8080),
                           }});
  FamilyExposure v6;
  v6.family = netfilter::Family::kIPv6;
  v6.interfaces.push_back({"eth0", {Entry({C("2001:db8::/32"), C("::/0")}, 6, 2375, 2376)}});
  auto ports = ControlPortsOf({v4, v6});
  std::vector<ExposedControlPort> want = {
      {"IPv4", "eth0", "tcp", 2377},
      {"IPv4", "eth0", "udp", 4789},
      {"IPv4", "eth0", "udp", 7946},
      {"IPv6", "eth0", "tcp", 2375},
      {"IPv6", "eth0", "tcp", 2376},
  };
  EXPECT_EQ(ports, want);
}

TEST(ControlPorts, NothingReachedIsEmpty) {
  FamilyExposure v4;
  // Private sources only (the nodes): none of the world.
  v4.interfaces.push_back({"eth0", {Entry({C("10.0.0.0/8"), C("192.168.0.0/16")}, 6, 2377, 2377)}});
  EXPECT_TRUE(ControlPortsOf({v4}).empty());
}

}  // namespace
}  // namespace swarmwall::apply
