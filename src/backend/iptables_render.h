// Renders a node's DesiredState for the kernel's own tools: one
// `iptables-restore --noflush` input per family (declare, flush and refill
// only the owned chains, then place each hook as the first rule of its
// chain), and one `ipset restore` input that fills temporary sets and swaps
// them in. Each is built in one buffer, to be written in one call.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "compile/desired_state.h"

namespace swarmwall::backend {

// What of swarmwall (and of its hook points) the kernel holds now, per
// family. Declaring a chain under --noflush flushes it, and deleting a rule
// that is not there aborts the whole restore: the renderer must know.
struct KernelState {
  std::vector<std::string> existing_chains;        // filter chains present now
  // (chain, target) -> how many "-A chain -j target" rules exist now.
  std::map<std::pair<std::string, std::string>, int> jumps;
  // The rules each owned chain holds now (rule specs as iptables-save
  // prints them, without "-A chain"), when known. A chain listed here that
  // the desired state keeps is edited in place (ChainEditScript) when the
  // edit is small, instead of being declared (flushed) and refilled.
  std::map<std::string, std::vector<std::string>> owned_rules;
  bool HasChain(std::string_view name) const;
  int Jumps(const std::string& chain, const std::string& target) const;
};

// A host as `swarmwall render` assumes it when it cannot look: Docker's
// chains present, nothing of swarmwall yet.
KernelState FreshDockerHost();

// The iptables-restore --noflush input for FS given the kernel's state NOW.
// Owned chains in NOW that FS no longer has are emptied and deleted. An
// owned chain whose current rules NOW.owned_rules gives is edited with -D /
// -I lines when ChainEditScript finds a small edit, left alone when it is
// unchanged, and flushed and refilled otherwise (always, when NOW does not
// give its rules, so a fresh host's text never changes).
std::string RenderRestore(const compile::FamilyState& fs, const KernelState& now);

// A small edit turning one chain's rule list into another, in the order
// iptables-restore must run it: every deletion first (by rule spec: the
// old list has no duplicate, so each spec names one rule), then the
// insertions by increasing position in the new list (1-based), so that
// each position is valid when its line runs and the end state is NEW.
struct ChainEdit {
  std::vector<std::string> deletions;
  std::vector<std::pair<int, std::string>> insertions;
  size_t size() const { return deletions.size() + insertions.size(); }
};
// A minimal edit (longest common subsequence of the rule texts) when it has
// at most MAX_EDITS lines; nullopt when it is larger, when OLD holds the
// same rule twice, or when the lists are too long to compare cheaply.
std::optional<ChainEdit> ChainEditScript(const std::vector<std::string>& old_rules,
                                         const std::vector<std::string>& new_rules,
                                         size_t max_edits);
// The largest edit RenderRestore applies in place to a chain of N rules
// (desired): a quarter of it.
size_t MaxInPlaceEdits(size_t n);

// The ipset restore input: each set created if missing, a temporary twin
// filled and swapped in, the twin destroyed. Sets only (no iptables).
std::string RenderIpsetRestore(const compile::FamilyState& fs);
// One set's part of the ipset restore input. Nodes of one policy share
// their sets' entries; the cache renders each set once for all of them.
class IpsetTextCache {
 public:
  std::shared_ptr<const std::string> Get(const compile::IpSet& set);

 private:
  std::map<std::pair<std::string, const void*>, std::shared_ptr<const std::string>> texts_;
};
std::string RenderSetRestore(const compile::IpSet& set);

// The twin's name (at most 31 characters).
std::string TemporarySetName(const std::string& set);

// The hook/owned-chain tables swarmwall touches; for status and apply.
bool IsOwnedChain(std::string_view name);

}  // namespace swarmwall::backend
