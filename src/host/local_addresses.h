// The local addresses of the host swarmwall runs on, to find itself in the
// policy. Where it hooks in is read with the kernel's state (apply's
// SetHookFacts), so the rules are read once.
#pragma once

#include <vector>

#include "netfilter/address.h"

namespace swarmwall::host {

// Local addresses of every interface (getifaddrs).
std::vector<netfilter::IpAddress> LocalAddresses();

}  // namespace swarmwall::host
