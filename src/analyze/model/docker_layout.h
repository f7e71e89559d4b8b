// What Docker and Swarm have put into a host's ruleset, read back from the
// rules alone: which generation of Docker's chain layout it is, what each
// chain is for, the bridges, every published port, and the rules that belong
// to someone else. `swarmwall explain` prints this; the compiler and the
// auditor use it to know where their own rules must go.
#pragma once

#include <string>
#include <vector>

#include "netfilter/nft_ruleset.h"
#include "netfilter/ruleset.h"

namespace swarmwall::analyze {

enum class DockerLayout {
  kNone,        // no Docker chains
  kLegacy,      // 20.10 - 27.x: Docker's rules directly in FORWARD
  k28_0,        // 28.0.0: ipset docker-ext-bridges-v4 in FORWARD
  k28_1,        // 28.0.1 - 28.5: DOCKER-FORWARD, DOCKER-CT, DOCKER-BRIDGE
  k29,          // 29.x: DOCKER-INTERNAL, no isolation stages
  kNftables,    // 29.x with --firewall-backend nftables: tables ip/ip6 docker-bridges
};
std::string LayoutName(DockerLayout layout);

enum class Owner { kSystem, kDocker, kSwarm, kSwarmwall, kFirewalld, kOther };
std::string OwnerName(Owner owner);

struct ChainInfo {
  std::string table, chain;
  Owner owner = Owner::kOther;
  std::string purpose;
  size_t rules = 0;
};

struct Bridge {
  std::string name;
  std::string subnet;          // from its MASQUERADE rule, if any
  bool icc = true;             // containers on it may talk to each other
  bool isolated = false;       // kept apart from other bridges
  bool internal = false;       // no traffic in or out of the bridge
  bool swarm_gateway = false;  // docker_gwbridge
};

struct PublishedPort {
  std::string protocol;        // tcp, udp, sctp
  std::string host_ports;      // "8080" or "8000:8100"
  std::string host_address;    // "" = every address; "127.0.0.1" = loopback only
  std::string container;       // "172.17.0.2:80"
  std::string bridge;          // the bridge it is not DNATed from ("! -i")
  bool loopback_only = false;
  bool swarm_ingress = false;  // via DOCKER-INGRESS (routing mesh)
  int family = 4;
};

struct ForeignRule {
  std::string table, chain, rule;
};

struct DirectAccessDrop {       // raw PREROUTING drops (28.0+)
  std::string address, except_interface;
};

struct DockerExplanation {
  DockerLayout layout = DockerLayout::kNone;
  std::vector<std::string> evidence;      // why we think it is that layout
  std::vector<ChainInfo> chains;
  std::vector<Bridge> bridges;
  std::vector<PublishedPort> ports;
  std::vector<DirectAccessDrop> direct_access_drops;
  std::vector<ForeignRule> foreign_rules;
  // FORWARD's first rule jumps to DOCKER-USER (FilterOwners::DockerUserFirstInForward;
  // whether DOCKER-USER is hooked at all is DockerUserHook::NotHooked).
  bool docker_user_first_in_forward = false;
  bool swarm = false;
  // Docker's nftables tables (29.x nftables mode): "ip docker-bridges", ...
  std::vector<std::string> docker_nft_tables;
  // Rules of Docker's nftables tables that accept a packet mark
  // (--bridge-accept-fwmark): "ip docker-bridges filter-FORWARD: meta mark ...".
  std::vector<std::string> fwmark_accepts;
  // Native tables of other owners (firewalld, an administrator's, swarmwall's).
  std::vector<std::string> other_nft_tables;
  std::vector<std::string> advice;
};

// v6 may be null. Rules of both families are explained together; NFT (the
// host's native tables, may be null) adds Docker's nftables layout and the
// tables of other owners.
DockerExplanation ExplainDocker(const netfilter::Ruleset& v4,
                                const netfilter::Ruleset* v6 = nullptr,
                                const netfilter::NftRuleset* nft = nullptr);

}  // namespace swarmwall::analyze
