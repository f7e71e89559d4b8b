// swarmwall's firewall on a lab node in the terms of the backend that
// `backend: auto` picks there: iptables chains and ipsets where Docker uses
// iptables, the tables `ip/ip6 swarmwall` where Docker runs its nftables
// backend. Tests use it to make the same drift and read the same facts in
// either mode, so each test proves the same thing in both.
#pragma once

#include <string>

#include "lab/lab.h"

namespace swarmwall::lab {

// True when swarmwall applies with its nftables backend on V.
bool NftablesBackend(DockerVersion v);

// Shell commands (Host::Sh) that disturb swarmwall's rules on a node of V.
// iptables form / nftables form:
//   FlushInputChain:   iptables -F SWARMWALL-INPUT / nft flush chain ip swarmwall SWARMWALL-INPUT
//   DeleteInputJump:   iptables -D INPUT -j SWARMWALL-INPUT / nft delete rule (by handle) of the
//                      base chain input's jump
//   InsertBeforeJump:  an ACCEPT of 192.0.2.1 put first in INPUT / in the base chain input
//   RemoveInserted:    takes that rule out again (no-op when the agent did)
//   FlushSet(S):       ipset flush S / nft flush set ip swarmwall S
std::string FlushInputChain(DockerVersion v);
std::string DeleteInputJump(DockerVersion v);
std::string InsertBeforeJump(DockerVersion v);
std::string RemoveInserted(DockerVersion v);
std::string FlushSet(DockerVersion v, const std::string& set);
// What iptables.service / nftables.service do: SaveWithoutSwarmwall(FILE)
// keeps the filter table (iptables) or the whole ruleset (nftables) without
// swarmwall's rules; RestoreSaved(FILE) loads it back in one transaction
// (iptables-restore; nft -f of a file that starts with `flush ruleset`).
std::string SaveWithoutSwarmwall(DockerVersion v, const std::string& file);
std::string RestoreSaved(DockerVersion v, const std::string& file);

// True when swarmwall's jump is the first rule of its hook point (INPUT, or
// the base chain input, which then holds nothing else).
bool InputJumpFirst(Host& host, DockerVersion v);
// The rules of swarmwall's chain CHAIN (iptables -S / nft list chain).
std::string OwnedChain(Host& host, DockerVersion v, const std::string& chain);
// How a rule of OwnedChain refers to set SET as a source ("match-set SET
// src" / "ip saddr @SET"), and its accept verdict ("-j ACCEPT" / "accept").
std::string SourceSetMatch(DockerVersion v, const std::string& set);
std::string AcceptVerdict(DockerVersion v);

// Swarmwall's set SET (IPv4 or IPv6 by its -v4/-v6 name): whether it exists,
// whether it holds ADDR (inside one of its entries or intervals), its listing.
bool SetExists(Host& host, DockerVersion v, const std::string& set);
bool SetHas(Host& host, DockerVersion v, const std::string& set, const std::string& addr);
std::string ListSet(Host& host, DockerVersion v, const std::string& set);

}  // namespace swarmwall::lab
