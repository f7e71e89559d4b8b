// The host facts: the network of one host that the packet analyzer needs
// besides its ruleset: interfaces and their addresses, the routing table,
// the contents of its ipsets and whether it forwards. Read from `ip -j addr`,
// `ip -j route` and `ipset save` text (files or the live host).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netfilter/address.h"
#include "netfilter/nft_ruleset.h"

namespace swarmwall::host {

struct InterfaceAddress {
  netfilter::IpAddress address;
  int prefix_length = 0;
  std::optional<netfilter::IpAddress> broadcast;
};

struct Interface {
  std::string name;
  std::string master;                      // bridge it is a port of ("" none)
  std::vector<InterfaceAddress> addresses;
};

struct Route {
  netfilter::Cidr destination;
  std::string device;                      // "" for unreachable/blackhole/prohibit
  std::string type = "unicast";            // unicast, blackhole, unreachable, prohibit
  std::optional<netfilter::IpAddress> gateway, prefsrc;
  uint32_t metric = 0;
};

// One ipset of `ipset save`.
struct IpSet {
  std::string name;
  std::string type;                        // "hash:ip", "hash:net,port", "list:set", ...
  netfilter::Family family = netfilter::Family::kIPv4;
  struct Entry {
    netfilter::Cidr net;                   // ip and net parts (a host is /32 or /128)
    uint16_t protocol = 0;                 // ",port" types: 6 tcp, 17 udp, 1 icmp...
    uint16_t port = 0;
    std::string member;                    // list:set: the member set's name
    bool nomatch = false;
  };
  std::vector<Entry> entries;
  // The dimensions of the type, in order ("ip", "net", "port", "iface", "mac", "set").
  std::vector<std::string> dimensions;
  bool supported = true;                   // false: a type we cannot evaluate
};

struct HostNetwork {
  std::vector<Interface> interfaces;
  std::vector<Route> routes;               // main table
  std::map<std::string, IpSet, std::less<>> ipsets;
  bool ipsets_known = false;               // false: set matches are unknown
  bool forwarding = true;                  // net.ipv4.ip_forward
  // The host's native nftables tables (Docker 29's docker-bridges,
  // firewalld's, an administrator's own): the analyzer runs their base
  // chains beside the iptables ruleset under analysis, each at its hook and
  // priority. iptables-nft's own tables are skipped where that ruleset has
  // them (iptables-save shows their xtables matches; the JSON cannot).
  netfilter::NftRuleset nftables;
  bool nftables_known = false;             // false: not read (a blind spot)

  const Interface* FindInterface(std::string_view name) const;
  const IpSet* FindSet(std::string_view name) const;
  // Addresses the kernel's local table holds: every interface address and
  // all of 127.0.0.0/8 (::1 for IPv6).
  bool IsLocal(const netfilter::IpAddress& a) const;
  // An address of interface NAME (with LIMIT, only NAME's addresses count).
  bool IsLocalOn(const netfilter::IpAddress& a, std::string_view name) const;
  bool IsBroadcast(const netfilter::IpAddress& a) const;
  // The longest-prefix route for A (lowest metric among equals), or nullptr.
  const Route* Lookup(const netfilter::IpAddress& a) const;
  // The address a packet leaving through DEVICE gets from MASQUERADE/REDIRECT:
  // ROUTE's prefsrc, else DEVICE's first address of A's family in A's subnet,
  // else its first address of that family. Out of lo (a packet the host sent
  // itself): for IPv4 the first non-loopback address of any device in order
  // (the kernel wants a universe-scope one, which lo lacks), for IPv6 A itself
  // when it is local (source selection prefers the same address).
  std::optional<netfilter::IpAddress> SourceFor(std::string_view device,
                                                const netfilter::IpAddress& toward,
                                                const Route* route) const;
  // The first address of interface NAME of FAMILY (REDIRECT's destination).
  std::optional<netfilter::IpAddress> PrimaryAddress(std::string_view name,
                                                     netfilter::Family family) const;
};

// Each returns false with ERROR on text it cannot read; what was read is
// added to NET.
bool ParseIpAddrJson(std::string_view json, HostNetwork& net, std::string& error);
bool ParseIpRouteJson(std::string_view json, netfilter::Family family, HostNetwork& net,
                      std::string& error);
bool ParseIpsetSave(std::string_view text, HostNetwork& net, std::string& error);

// The running host: `ip -j addr`, `ip -j route` (and `ip -6 -j route`),
// `ipset save` (a missing ipset tool leaves ipsets_known false), ip_forward.
bool LoadLiveHostNetwork(HostNetwork& net, std::string& error);

}  // namespace swarmwall::host
