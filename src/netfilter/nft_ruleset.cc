#include "netfilter/nft_ruleset.h"

namespace swarmwall::netfilter {

std::string_view NftFamilyName(NftFamily f) {
  switch (f) {
    case NftFamily::kIp: return "ip";
    case NftFamily::kIp6: return "ip6";
    case NftFamily::kInet: return "inet";
    case NftFamily::kArp: return "arp";
    case NftFamily::kBridge: return "bridge";
    case NftFamily::kNetdev: return "netdev";
  }
  return "?";
}

NftValueType ValueTypeOf(NftSelector::Kind k) {
  switch (k) {
    case NftSelector::kIpSaddr:
    case NftSelector::kIpDaddr:
    case NftSelector::kIp6Saddr:
    case NftSelector::kIp6Daddr:
    case NftSelector::kCtSaddr:
    case NftSelector::kCtDaddr:
      return NftValueType::kAddress;
    case NftSelector::kIifname:
    case NftSelector::kOifname:
      return NftValueType::kName;
    default:
      return NftValueType::kNumber;
  }
}

bool IsFlagSelector(NftSelector::Kind k) {
  return k == NftSelector::kCtState || k == NftSelector::kCtStatus || k == NftSelector::kTcpFlags;
}

int NftTable::FindChain(std::string_view n) const {
  for (size_t i = 0; i < chains.size(); ++i)
    if (chains[i].name == n) return static_cast<int>(i);
  return -1;
}

int NftTable::FindSet(std::string_view n) const {
  for (size_t i = 0; i < sets.size(); ++i)
    if (sets[i].name == n) return static_cast<int>(i);
  return -1;
}

size_t NftRuleset::RuleCount() const {
  size_t n = 0;
  for (const auto& t : tables)
    for (const auto& c : t.chains) n += c.rules.size();
  return n;
}

bool IsXtablesTable(const NftTable& t) {
  if (t.family != NftFamily::kIp && t.family != NftFamily::kIp6) return false;
  return t.name == "filter" || t.name == "nat" || t.name == "mangle" || t.name == "raw" ||
         t.name == "security";
}

}  // namespace swarmwall::netfilter
