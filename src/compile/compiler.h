// The compiler: a validated Policy and one of its nodes in, that node's
// DesiredState out. Pure: no I/O, same input gives byte-identical output.
#pragma once

#include "compile/desired_state.h"
#include "compile/node_facts.h"
#include "policy/policy.h"

namespace swarmwall::compile {

// The owned chains, by role.
inline constexpr const char* kInputChain = "SWARMWALL-INPUT";     // hooked first in INPUT
inline constexpr const char* kUserChain = "SWARMWALL-USER";       // first in DOCKER-USER
inline constexpr const char* kEgressChain = "SWARMWALL-EGRESS";   // from SWARMWALL-USER

// The ipset name of a policy set for a family: "swarmwall-NAME-v4", at most
// 31 characters (long names are shortened with a digest).
std::string SetName(std::string_view policy_set, netfilter::Family family);

// Free text as a rule comment may hold it: valid UTF-8 (a bad byte becomes
// '?'), control characters as spaces (a newline would end the restore
// line), at most kMaxCommentBytes, cut between characters. Still to be
// quoted (netfilter::QuoteText).
inline constexpr size_t kMaxCommentBytes = 255;   // iptables: XT_MAX_COMMENT_LEN - 1
std::string CommentText(std::string_view text);

// Shares set entries between the nodes of one policy (see IpSet).
class SetCache {
 public:
  std::shared_ptr<const std::vector<Cidr>> Entries(const policy::AddressSet& set,
                                                   netfilter::Family family);

 private:
  std::vector<std::pair<std::string, std::shared_ptr<const std::vector<Cidr>>>> cache_;
};

DesiredState Compile(const policy::Policy& policy, const policy::Node& node,
                     const NodeFacts& facts, SetCache* cache = nullptr);

}  // namespace swarmwall::compile
