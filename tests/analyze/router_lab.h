// The router of the differential tests of trace against the kernel
// (trace_kernel_test.cc for iptables, nft_trace_kernel_test.cc for native
// nftables): a router namespace between two client namespaces and a server
// namespace, a sender that puts real packets on the wire from them, and the
// kernel's fate of each packet as its conntrack table shows it.
//
//   ca (10.1.0.2-6) --eth0--+
//                           router (10.1.0.1, 10.3.0.1, 10.2.0.1) --eth2-- sv (10.2.0.2-3)
//   cb (10.3.0.2-4) --eth1--+
//
// The same for IPv6 (2001:db8:N::X for 10.N.0.X; static neighbours, as the
// rules under test may drop neighbour discovery). No host ever answers a
// SYN with a RST (a table `inet swquiet` drops them at the start of OUTPUT):
// a RST makes conntrack forget the connection at once.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "lab/lab.h"
#include "ruleset_generator.h"

namespace swarmwall::tracetest {

struct RouterLab {
  std::unique_ptr<lab::Lab> lab;
  lab::Host *ca = nullptr, *cb = nullptr, *rt = nullptr, *sv = nullptr;
  std::string sender;   // the sender script (python3)
};

// The table that keeps every host from sending RSTs (`nft -f` input).
extern const char* const kQuietTable;

// Builds the lab (namespaces named after TAG), or returns null and says why
// not in *skip (not root, a tool of TOOLS missing, ...).
std::unique_ptr<RouterLab> MakeRouterLab(const std::string& tag,
                                         const std::vector<std::string>& tools, std::string* skip);

// Puts PACKETS on the wire: those of "eth0" from ca, "eth1" from cb, "local"
// from the router. False (and *error) when a sender failed to run.
bool SendPackets(RouterLab& r, const std::vector<TestPacket>& packets, std::string* error);

// A connection of the router's conntrack table: its reply tuple shows every
// NAT rewrite.
struct Seen {
  std::string repl_src, repl_dst;
  int repl_sport = 0, repl_dport = 0;
};
// `conntrack -L -o extended` lines by original "PROTO SRC DST SPORT" (the
// echo id for ICMP), PROTO as a number (6, 17, 1, 58).
std::map<std::string, Seen> ParseConntrack(const std::string& text);
// The key ParseConntrack gives packet P.
std::string ConntrackKey(const TestPacket& p);

}  // namespace swarmwall::tracetest
