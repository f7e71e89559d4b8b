// Reading a file a command was given, bounded: only a regular file (or "-",
// standard input), never more than a limit. A device (/dev/zero), a FIFO or
// a directory is refused at once instead of hanging or exhausting memory.
#pragma once

#include <cstddef>
#include <string>

namespace swarmwall {

// The limits: a ruleset dump (the largest seen are tens of MiB), and the
// host's facts (`ip -j addr`, `ip -j route`, `ipset save`, an ipassmt,
// config files), which are far smaller.
inline constexpr size_t kRulesetLimit = size_t{256} << 20;   // 256 MiB
inline constexpr size_t kFactsLimit = size_t{16} << 20;      // 16 MiB

// FILE ("-" = standard input, which may be a pipe) into TEXT; false with
// ERROR ("not a regular file", "larger than 16 MiB", "No such file ...").
bool ReadInputFile(const std::string& file, size_t limit, std::string& text, std::string& error);

}  // namespace swarmwall
