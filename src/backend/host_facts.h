// Gathers the NodeFacts of the host swarmwall runs on: its addresses (to
// find itself in the policy) and whether Docker has DOCKER-USER per family.
#pragma once

#include "backend/iptables_variant.h"
#include "compile/node_facts.h"

namespace swarmwall::backend {

// Local addresses of every interface (getifaddrs).
std::vector<netfilter::IpAddress> LocalAddresses();

// Addresses, and DOCKER-USER presence read through VARIANT.
compile::NodeFacts GatherNodeFacts(const IptablesVariant& variant);

}  // namespace swarmwall::backend
