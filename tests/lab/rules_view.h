// What e2e tests compare on a lab host: swarmwall's own rules and sets, and
// everyone else's rules (Docker's, Swarm's), each read back from the kernel
// in a form where only meaningful differences remain (counters zeroed, hash
// seeds and sizes of sets dropped, empty built-in-only tables left out).
#pragma once

#include <string>

#include "lab/lab.h"

namespace swarmwall::lab {

// Every table of both families without swarmwall's chains and jumps (and
// every native nftables table but swarmwall's own),
// counters zeroed. A table holding nothing but built-in chains with ACCEPT
// policies (and maybe an empty DOCKER-USER, the hook point apply creates
// where Docker made none) behaves as no table at all and is left out: with
// nft, adding and removing a chain leaves such a table behind.
std::string ForeignRules(Host& host);

// swarmwall's rules (filter table, both families; counters zeroed) and its
// sets (`ipset save` lines, sorted, without initval / hashsize / bucketsize:
// a refilled set gets a new random seed, which is not content), and the
// nftables backend's tables `ip swarmwall` / `ip6 swarmwall`. "" when
// swarmwall owns nothing on HOST.
std::string OwnedRules(Host& host);

}  // namespace swarmwall::lab
