// Everything a node's desired state is compiled from on this host, as one
// fingerprint: the policy file and the address files it names (their
// bytes), the --node argument, the node facts read from the host, and this
// swarmwall binary. Recorded with each apply, it lets the next apply of an
// unchanged policy skip loading and compiling it (a 100,000-entry address
// file alone takes ~40 ms to parse): when the fingerprint is the same, the
// desired state is the one whose digest was recorded, and the kernel only
// has to be compared with that digest.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "apply/host_session.h"
#include "apply/state_store.h"
#include "compile/node_facts.h"
#include "policy/policy.h"

namespace swarmwall::apply {

// The files POLICY was read from: the policy file, then each address file.
std::vector<std::string> PolicyFiles(const policy::Policy& policy);

// The fingerprint of FILES' bytes (in order), NODE_ARG, FACTS and this
// binary; nullopt when a file cannot be read.
std::optional<std::string> InputsFingerprint(const std::vector<std::string>& files,
                                             const std::string& node_arg,
                                             const compile::NodeFacts& facts);

// A fingerprint of an owned state that stays cheap on big sets: chains and
// hooks in canonical order, and for each set its name, size and an
// order-free sum of its entries' hashes (no sort, no text per entry).
std::string OwnedFingerprint(const compile::DesiredState& state);

// True when the kernel, as VIEW saw it, holds exactly what RECORD says was
// applied: the owned state's digest, each owned hook once and first.
bool KernelMatchesRecord(const backend::Firewall& firewall, const backend::FirewallView& view,
                         const AppliedRecord& record);

// The first half of apply's no-op without loading the policy: RECORD was
// made from inputs that still have the same fingerprint (POLICY_FILE named
// first). Needs VIEW's rules only, not its sets.
bool InputsUnchanged(const backend::Firewall& firewall, const backend::FirewallView& view,
                     const AppliedRecord& record,
                     const std::string& policy_file, const std::string& node_arg);

}  // namespace swarmwall::apply
