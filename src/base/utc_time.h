// UTC timestamps, the one formatter every record, log line and set-aside
// file name uses (ISO 8601, as `date -u +%FT%TZ`).
#pragma once

#include <chrono>
#include <string>

namespace swarmwall {

enum class UtcStyle {
  kSeconds,       // 2026-12-07T02:23:16Z   (records: applied.json, commit.log)
  kMilliseconds,  // 2026-12-07T02:23:16.042Z (the agent's log and state)
  kCompact,       // 20261207T022316Z       (file name suffixes)
};

std::string UtcTimestamp(std::chrono::system_clock::time_point t, UtcStyle style = UtcStyle::kSeconds);

inline std::string UtcNow(UtcStyle style = UtcStyle::kSeconds) {
  return UtcTimestamp(std::chrono::system_clock::now(), style);
}

}  // namespace swarmwall
