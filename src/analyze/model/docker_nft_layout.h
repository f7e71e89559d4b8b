// Docker 29's nftables layout read back from the host's native tables
// (`--firewall-backend nftables`): tables ip/ip6 docker-bridges (and ip
// docker-overlay on a Swarm node), per-bridge chains reached through
// verdict maps on the interface name, published ports as DNAT rules in
// nat-prerouting-and-output, "UNPUBLISHED PORT DROP", the raw direct-access
// drops, and --bridge-accept-fwmark accepts. Other native tables (firewalld's,
// swarmwall's own, an administrator's) are named with their owner.
#pragma once

#include "analyze/model/docker_layout.h"
#include "netfilter/nft_ruleset.h"

namespace swarmwall::analyze {

// Adds what NFT's tables say to E (layout, chains, bridges, ports, drops,
// advice). Leaves E as it is when Docker has no nftables tables there.
void ExplainDockerNft(const netfilter::NftRuleset& nft, DockerExplanation& e);

}  // namespace swarmwall::analyze
