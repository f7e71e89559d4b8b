// Random rulesets and packets for the differential test of trace against the
// kernel: filter user chains with jumps, gotos and RETURN, nat DNAT/REDIRECT/
// MASQUERADE/SNAT, raw drops, mangle marks, ipsets, conntrack states and
// original-destination matches, interfaces, ports, multiport, tcp flags and
// icmp types, over the fixed topology of trace_kernel_test (client networks
// 10.1.0.0/24 on eth0 and 10.3.0.0/24 on eth1, servers 10.2.0.0/24 on eth2).
#pragma once

#include <cstdint>
#include <random>
#include <string>
#include <vector>

namespace swarmwall::tracetest {

struct GeneratedRuleset {
  std::string ipsets;     // `ipset restore` input
  std::string rules;      // `iptables-restore` input (raw, mangle, nat, filter)
};

struct TestPacket {
  std::string in;         // router interface it arrives on: eth0 or eth1; "local":
                          // the router sends it
  std::string src, dst;
  int proto = 6;          // 6, 17, 1
  int sport = 0;          // also the ICMP echo id: unique within a batch
  int dport = 0;
  int icmp_type = 8;
};

GeneratedRuleset GenerateRuleset(std::mt19937& rng);
// The same ruleset and packets for IPv6: 10.N.0.X -> 2001:db8:N::X (/24 ->
// /64, /29 -> /125, /30 -> /126), 10.0.0.0/8 -> 2001:db8::/32, 192.0.2.0/24
// -> 2001:db8:ff::/64, icmp -> ipv6-icmp (echo request 128, reply 129).
GeneratedRuleset ToIPv6(const GeneratedRuleset& g);
TestPacket ToIPv6(const TestPacket& p);
// COUNT packets with distinct source ports / ICMP ids; LOCAL of them (the
// last ones) sent by the router itself from its own addresses.
std::vector<TestPacket> GeneratePackets(std::mt19937& rng, int count, int local = 0);

}  // namespace swarmwall::tracetest
