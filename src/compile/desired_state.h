// What one node's firewall must contain, for IPv4 and IPv6: the chains
// swarmwall owns (whole, rule by rule, in canonical iptables-save form), the
// jumps that hook them into chains others own, and the ipsets they match.
// The compiler produces it; backends render it; apply diffs it against the
// kernel. It names nothing it does not own except the hook points.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "netfilter/address.h"

namespace swarmwall::compile {

using netfilter::Cidr;
using netfilter::Family;

// Every chain and set swarmwall owns starts with these.
inline constexpr std::string_view kChainPrefix = "SWARMWALL-";
inline constexpr std::string_view kSetPrefix = "swarmwall-";

struct OwnedChain {
  std::string table;               // "filter"
  std::string name;                // "SWARMWALL-INPUT"
  std::vector<std::string> rules;  // rule specs, what follows "-A NAME "
};

// "-I CHAIN 1 -j TARGET": one jump, first in a chain someone else owns.
struct Hook {
  std::string table;
  std::string chain;               // "INPUT", "DOCKER-USER" or "FORWARD"
  std::string target;              // an owned chain
  bool create_chain = false;       // DOCKER-USER may not exist yet: create it
                                   // (Docker keeps a DOCKER-USER it finds)
};

// A hash:net set. Its entries are shared: every node of a cluster matches
// the same sets, so compiling 1,000 nodes does not copy them 1,000 times.
struct IpSet {
  std::string name;                // "swarmwall-office-v4"
  std::string policy_name;         // "office"
  Family family = Family::kIPv4;
  std::shared_ptr<const std::vector<Cidr>> entries;
};

struct FamilyState {
  Family family = Family::kIPv4;
  std::vector<OwnedChain> chains;  // in the order they are declared
  std::vector<Hook> hooks;
  std::vector<IpSet> sets;         // sorted by name
  bool empty() const { return chains.empty() && hooks.empty() && sets.empty(); }
};

struct DesiredState {
  std::string node;
  std::string policy_file;
  FamilyState ipv4;
  FamilyState ipv6;                // empty when the policy says ipv6: false
  // A digest of everything above (FNV-1a 64, hex): equal digests, equal state.
  std::string Digest() const;
  const FamilyState& Of(Family f) const { return f == Family::kIPv4 ? ipv4 : ipv6; }
};

}  // namespace swarmwall::compile
