// What doctor and status need to know of the Docker daemon's firewalling,
// read from the Engine API's answers with no I/O (tested on JSON samples):
// GET /info's FirewallBackend (Docker 29: "iptables" or "nftables", maybe
// "+firewalld"; older daemons have no such field and use iptables) and
// whether any network of GET /networks has IPv6.
#pragma once

#include <optional>
#include <string>

namespace swarmwall::docker {

struct DaemonFirewall {
  std::string driver = "iptables";   // FirewallBackend.Driver as given ("nftables+firewalld", ...)
  bool nftables() const { return driver.starts_with("nftables"); }
};

// nullopt (with ERROR) when BODY is not a JSON object.
std::optional<DaemonFirewall> ParseInfoFirewall(const std::string& body, std::string& error);

// True when a network of GET /networks has EnableIPv6; nullopt on a bad body.
std::optional<bool> ParseNetworksIpv6(const std::string& body);

}  // namespace swarmwall::docker
