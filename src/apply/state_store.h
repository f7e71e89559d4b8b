// What swarmwall remembers between runs, under one directory (default
// /var/lib/swarmwall; --state-dir or SWARMWALL_STATE_DIR), so that several
// lab nodes can share a machine: the last applied state's digest and origin.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "compile/desired_state.h"

namespace swarmwall::apply {

struct AppliedRecord {
  std::string node;
  std::string policy;
  std::string digest;      // of the normalized desired state
  std::string variant;     // nft / legacy
  std::string time;        // ISO 8601, UTC
  // What the desired state was compiled from (see compile_inputs.h); empty
  // when it cannot be told (nodes: auto, the agent's applies).
  std::string inputs;
  std::vector<std::string> files;   // the policy file, then its address files
};

// The digest of STATE in canonical order (what status compares): its
// OwnedFingerprint (chains and hooks in order, each set's entries as an
// order-free sum, so 100,000 entries cost neither a sort nor a text each).
std::string NormalizedDigest(const compile::DesiredState& state);

class StateStore {
 public:
  explicit StateStore(std::string dir) : dir_(std::move(dir)) {}
  const std::string& dir() const { return dir_; }
  bool Save(const AppliedRecord& record, std::string& error) const;
  std::optional<AppliedRecord> Load() const;
  void Forget() const;

 private:
  std::string dir_;
};

}  // namespace swarmwall::apply
