// The `backend:` settings of a policy file read without loading the policy:
// apply's fast no-op reads the host through the chosen firewall before it
// decides whether the policy must be loaded at all. Only the policy's and
// each listed node's `backend:` (with the node's addresses, to find this
// host's node) are read; anything malformed reads as auto here and is
// reported, FILE:LINE:COLUMN, by the full load that follows.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "netfilter/address.h"
#include "policy/policy.h"

namespace swarmwall::policy {

struct BackendSettings {
  Backend policy = Backend::kAuto;
  struct NodeSetting {
    std::string name;
    std::vector<netfilter::IpAddress> addresses;
    std::optional<Backend> backend;
  };
  std::vector<NodeSetting> nodes;

  // NODE's backend: its own, else the policy's. NODE empty: the one node
  // with an address in LOCAL (none or several: the policy's).
  Backend For(std::string_view node, const std::vector<netfilter::IpAddress>& local) const;
  // Whether any node overrides the policy's (then the node must be known).
  bool NodesDiffer() const;
};

BackendSettings ReadBackendSettings(std::string_view yaml);
// The file's; nullopt when it cannot be read (the load says why).
std::optional<BackendSettings> ReadBackendSettingsFile(const std::string& path);

// "auto", "iptables", "nftables"; nullopt for anything else.
std::optional<Backend> ParseBackendName(std::string_view text);

}  // namespace swarmwall::policy
