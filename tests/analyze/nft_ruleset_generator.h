// Random native nftables rulesets (nft text, what `nft -f` loads) for the
// differential test of trace against the kernel (nft_trace_kernel_test.cc),
// over the fixed topology of router_lab.h: 1-4 tables of families ip, ip6
// and inet; several filter and nat base chains on one hook at different
// priorities; regular chains with jump, goto and return; named and anonymous
// sets, concatenations, verdict maps; payload, meta, ct, fib matches; NAT,
// marks, notrack, reject. Some rulesets add small iptables-nft tables beside
// the native ones. Each ruleset says which features it used, for the
// coverage the test prints.
#pragma once

#include <map>
#include <random>
#include <string>
#include <vector>

#include "ruleset_generator.h"

namespace swarmwall::tracetest {

struct NftGenerated {
  std::string nft;        // `nft -f` input: the native tables
  std::string xtables4;   // iptables-nft-restore input ("": none)
  std::string xtables6;   // ip6tables-nft-restore input ("": none)
  std::map<std::string, int> features;   // feature -> rules (or chains, sets) using it
};

NftGenerated GenerateNftRuleset(std::mt19937& rng);

// COUNT packets, IPv4 and IPv6 mixed (the IPv6 ones through ToIPv6), TCP
// SYNs, UDP datagrams and ICMP/ICMPv6 echo requests; a fifth of each family
// sent by the router itself. Source ports (echo ids) are distinct within a
// family.
std::vector<TestPacket> GenerateNftPackets(std::mt19937& rng, int count);

// What the generated rulesets covered: per feature, the rulesets and rules
// that used it; per kernel fate, the packets.
struct NftCoverage {
  std::map<std::string, std::pair<int, int>> features;   // -> (rulesets, rules)
  std::map<std::string, int> fates;
  int rulesets = 0;
  void Add(const NftGenerated& g);
  std::string Text() const;
};

}  // namespace swarmwall::tracetest
