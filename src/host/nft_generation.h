// The nf_tables ruleset generation of this network namespace: a counter the
// kernel bumps on every committed nf_tables transaction (any table, any
// family, whoever commits). Equal generations mean an unchanged ruleset,
// which lets a command trust what it read before instead of reading again.
// Asked over netlink (NFT_MSG_GETGEN), in process: no fork, no library.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace swarmwall::host {

// nullopt when nf_tables cannot be asked (no kernel support, no permission).
std::optional<uint32_t> NftGeneration();

// The names of the nf_tables tables of this namespace (every family), by
// one netlink dump of tables alone: libnftables 1.0.6 loads every set's
// elements before any command, `list tables` included (seconds beside a
// 100,000-element set). nullopt when nf_tables cannot be asked.
std::optional<std::vector<std::string>> NftTableNamesByNetlink();
// Every chain of every table as "TABLE CHAIN", the same way (no rules).
std::optional<std::vector<std::string>> NftChainNamesByNetlink();

// Where this process is: the boot (boot_id) and the network namespace
// (its inode), so that a generation recorded elsewhere is never compared.
std::string NetnsIdentity();

}  // namespace swarmwall::host
