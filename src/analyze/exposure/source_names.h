// Names for classes of source addresses, so that a report says "nodes" or
// "everyone else" where it would print dozens of CIDRs ("0.0.0.0/5,
// 8.0.0.0/7, ... and 73 more"). A class equal to a named set of addresses
// (the policy's nodes, a host ipset of addresses) takes its name; equal to
// every address outside all the named sets, "everyone else"; to every
// address outside one of them, "everyone but NAME"; to every address,
// "anywhere". The CIDRs stay beside the name (JSON, the HTML report's
// details, exposure --cidrs).
#pragma once

#include <string>
#include <vector>

#include "analyze/model/interval_set.h"
#include "host/network.h"
#include "netfilter/address.h"

namespace swarmwall::analyze {

class SourceNames {
 public:
  // A named set of FAMILY (empty CIDRS: ignored). The first name added for
  // a set of addresses wins.
  void Add(const std::string& name, netfilter::Family family, const std::vector<netfilter::Cidr>& cidrs);
  // HOST's ipsets of addresses alone (hash:ip, hash:net; no nomatch entry),
  // then the named sets of addresses of its nftables tables (the nftables
  // backend's copies of the policy's sets, an administrator's own): NAME,
  // or TABLE/NAME for a set of a table not swarmwall's. swarmwall's own sets
  // go by the policy's name ("office" for swarmwall-office-v4).
  void AddHostSets(const host::HostNetwork& host);
  // The name of SOURCES, or "" when none fits.
  std::string Name(netfilter::Family family, const std::vector<netfilter::Cidr>& sources) const;
  bool empty() const { return sets_.empty(); }

 private:
  struct Named {
    std::string name;
    netfilter::Family family;
    IntervalSet addresses;
  };
  void AddIntervals(const std::string& name, netfilter::Family family, IntervalSet addresses);
  std::vector<Named> sets_;
};

}  // namespace swarmwall::analyze
