// The packets audit and the policy proof try: one representative for each
// class of source addresses and of destination ports that the rules (and
// the policy) cannot tell apart. Boundaries are taken from every address
// and port a rule, an ipset or the policy names, so two packets of one class
// meet the same address and port matches; the tracer then follows one
// representative per class. Also the stranger: an address no rule, set or
// trusted range names.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "host/network.h"
#include "analyze/trace/trace.h"
#include "netfilter/ruleset.h"

namespace swarmwall::analyze {

// A class of addresses [first, last] and the address standing for it.
struct AddressClass {
  netfilter::IpAddress first, last, representative;
  std::string Text() const;   // "198.51.100.0-198.51.100.255" or one address
};

// A class of ports [first, last] (representative = first).
struct PortClass {
  uint16_t first = 0, last = 0;
  std::string Text() const;   // "8080" or "1024-2374"
};

class ClassBuilder {
 public:
  explicit ClassBuilder(netfilter::Family family) : family_(family) {}
  void AddCidr(const netfilter::Cidr& c);
  void AddRange(const netfilter::IpAddress& lo, const netfilter::IpAddress& hi);
  void AddPorts(uint16_t lo, uint16_t hi);
  // Every address, port and set entry RS and HOST's ipsets name.
  void AddRuleset(const netfilter::Ruleset& rs);
  // HOST's ipsets and addresses, and everything its native nftables
  // tables name (ports, addresses, set elements).
  void AddHost(const host::HostNetwork& host);
  void AddNft(const netfilter::NftRuleset& nft);
  // Address classes, without the unusable ones (0/8, 127/8, multicast and
  // above, fe80::/10 and ff00::/8 for IPv6, ::/8 and HOST's own addresses).
  std::vector<AddressClass> Addresses(const host::HostNetwork* host) const;
  std::vector<PortClass> Ports() const;

 private:
  netfilter::Family family_;
  std::vector<netfilter::IpAddress> bounds_;   // class starts
  std::vector<uint32_t> port_bounds_{1};
};

// The next address (nullopt after the last).
std::optional<netfilter::IpAddress> NextAddress(const netfilter::IpAddress& a);
// The last address of C (its broadcast for IPv4).
netfilter::IpAddress LastAddress(const netfilter::Cidr& c);

// An address of FAMILY that no rule of RS, no ipset of HOST, no TRUSTED
// range names, and that is not HOST's own: somebody the firewall knows
// nothing about.
std::optional<netfilter::IpAddress> PickStranger(netfilter::Family family, const netfilter::Ruleset* rs,
                                                 const host::HostNetwork* host,
                                                 const std::vector<netfilter::Cidr>& trusted);

// Traces one NEW packet PROTO SRC -> DST:PORT arriving on IN.
TraceResult TraceNew(const TraceModel& model, const netfilter::IpAddress& src, const netfilter::IpAddress& dst,
                     uint16_t protocol, uint16_t port, std::string_view in);

// Where R's verdict was decided, as "table chain rule N" / "table chain
// policy": the last filter-table rule that accepted, dropped or rejected
// (or a filter policy), else the outcome's own `where`.
std::string DecidedBy(const TraceResult& r);

// The addresses of interface NAME of FAMILY a stranger would connect to
// (global ones; link-local ones only when it has no other).
std::vector<netfilter::IpAddress> TargetAddresses(const host::HostNetwork& host, std::string_view name,
                                                  netfilter::Family family);

}  // namespace swarmwall::analyze
