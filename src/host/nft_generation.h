// The nf_tables ruleset generation of this network namespace: a counter the
// kernel bumps on every committed nf_tables transaction (any table, any
// family, whoever commits). Equal generations mean an unchanged ruleset,
// which lets a command trust what it read before instead of reading again.
// Asked over netlink (NFT_MSG_GETGEN), in process: no fork, no library.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace swarmwall::host {

// nullopt when nf_tables cannot be asked (no kernel support, no permission).
std::optional<uint32_t> NftGeneration();

// Where this process is: the boot (boot_id) and the network namespace
// (its inode), so that a generation recorded elsewhere is never compared.
std::string NetnsIdentity();

}  // namespace swarmwall::host
