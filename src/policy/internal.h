// Shared by the policy library's own files; not part of its API.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "policy/address_cache.h"
#include "policy/policy.h"

namespace swarmwall::policy {

// Collects diagnostics while loading and validating.
class Diagnostics {
 public:
  void Error(const SourceLocation& where, std::string message);
  void Warn(const SourceLocation& where, std::string message);
  bool HasErrors() const { return errors_ > 0; }
  size_t Count() const { return list_.size(); }   // errors and warnings so far
  // Moves everything into RESULT, sorted: the policy file first, then by
  // file, line and column; POLICY is kept only when there is no error.
  LoadResult Finish(std::optional<Policy> policy, const std::string& policy_file);

 private:
  std::vector<Diagnostic> list_;
  int errors_ = 0;
};

// Reads an address file: its text, or nullopt with ERROR set.
using FileReader =
    std::function<std::optional<std::string>(const std::string& path, std::string& error)>;

// The real file system: regular files only, at most 16 MiB.
std::optional<std::string> ReadRegularFile(const std::string& path, std::string& error);

LoadResult LoadPolicyTextWith(std::string_view yaml, const std::string& name,
                              const std::string& base_dir, const FileReader& reader,
                              const AddressCache* cache = nullptr);

// Every check and resolution that does not need the YAML (validate.cc).
void ValidateInto(Policy& policy, Diagnostics& diagnostics);

// Sorts, merges overlapping and adjacent ranges.
void NormalizePorts(std::vector<PortRange>& ports);
// Sorts protocols, merges duplicates (a protocol with every port absorbs
// its ranges), normalises ports.
void NormalizeTraffic(Traffic& traffic);
// "2377,7946/tcp 7946,4789/udp"; nullopt when malformed.
std::optional<Traffic> ParseTrafficSpec(std::string_view spec);
// The union of A and B.
Traffic MergeTraffic(const Traffic& a, const Traffic& b);

// The offset of the first byte of TEXT that is not part of well-formed
// UTF-8 (no overlong forms, surrogates or code points past U+10FFFF), or npos.
size_t InvalidUtf8At(std::string_view text);
// TEXT with each such byte written \xNN: messages quote what the policy says.
std::string EscapeInvalidUtf8(std::string_view text);

// Prefix containment (both masks contiguous).
bool CidrContains(const Cidr& outer, const Cidr& inner);

// "; did you mean 'x'?" for the closest candidate, or "" when none is close.
std::string DidYouMean(std::string_view word, std::span<const std::string> candidates);
std::string DidYouMean(std::string_view word, std::span<const std::string_view> candidates);

}  // namespace swarmwall::policy
