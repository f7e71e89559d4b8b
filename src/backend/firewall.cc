#include "backend/firewall.h"

#include "backend/iptables/iptables_firewall.h"
#include "backend/nftables/nftables_firewall.h"

namespace swarmwall::backend {

std::string_view FirewallKindName(FirewallKind kind) {
  return kind == FirewallKind::kNftables ? "nftables" : "iptables";
}

std::unique_ptr<Firewall> HostFirewall(const std::string& state_dir, FirewallKind kind) {
  if (kind == FirewallKind::kNftables) return std::make_unique<NftablesFirewall>(state_dir);
  return std::make_unique<IptablesFirewall>(state_dir);
}

std::vector<std::string> DescribeSetEntryChanges(const std::vector<SetEntryChange>& changes) {
  std::vector<std::string> out;
  for (const auto& c : changes) {
    std::string line = c.set;
    for (const auto& e : c.add) line += " +" + e.ToString();
    for (const auto& e : c.del) line += " -" + e.ToString();
    out.push_back(std::move(line));
  }
  return out;
}

}  // namespace swarmwall::backend
