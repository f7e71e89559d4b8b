// Which iptables a host's Docker uses. Debian 12 ships both the nf_tables
// and the legacy variant; each edits a different ruleset in the kernel, so a
// tool that edits the other one than Docker protects nothing.
#pragma once

#include <string>

#include "netfilter/address.h"

namespace swarmwall::host {

struct IptablesVariant {
  std::string name = "nft";   // "nft" or "legacy"
  std::string SaveCommand(netfilter::Family family) const;
  std::string RestoreCommand(netfilter::Family family) const;
};

struct VariantReport {
  IptablesVariant chosen;
  bool docker_in_nft = false;
  bool docker_in_legacy = false;
  std::string system_default;    // what plain `iptables` is: "nft"/"legacy"/""
  std::string reason;            // one sentence for people
};

// Whether any legacy (x_tables) IPv4 or IPv6 table is loaded.
bool LegacyTablesLoaded();

// Looks at both variants' filter tables for Docker's chains.
VariantReport DetectVariant();

struct SaveResult {
  bool ok = false;
  std::string text;
  std::string error;
};
// iptables-save (or ip6tables-save) of the running kernel through VARIANT.
SaveResult SaveLive(const IptablesVariant& variant, netfilter::Family family);

}  // namespace swarmwall::host
