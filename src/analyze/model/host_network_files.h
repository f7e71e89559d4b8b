// The host's network facts given as files (--addr, --route, --route6, --ipsets, --nft), as
// trace, exposure and audit take them: each read bounded (input_file.h) and
// checked field by field before use (host/network.h).
#pragma once

#include <string>

#include "host/network.h"

namespace swarmwall::analyze {

struct HostNetworkFiles {
  std::string addr, route, route6, ipsets;   // "" = not given
  // The host's nftables ruleset: `nft -j list ruleset` JSON, or nftables
  // text (/etc/nftables.conf, `nft list ruleset`) that libnftables loads in
  // a throwaway network namespace.
  std::string nft;
};

// Adds what FILES hold to NET; false with ERROR ("--addr FILE: ...").
bool ReadHostNetworkFiles(const HostNetworkFiles& files, host::HostNetwork& net, std::string& error);

}  // namespace swarmwall::analyze
