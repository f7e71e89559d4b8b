#include "base/utc_time.h"

#include <ctime>

#include <fmt/format.h>

namespace swarmwall {

std::string UtcTimestamp(std::chrono::system_clock::time_point t, UtcStyle style) {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
  int millis = static_cast<int>(((ms % 1000) + 1000) % 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);   // thread-safe, unlike std::gmtime
  char buf[32];
  std::strftime(buf, sizeof buf, style == UtcStyle::kCompact ? "%Y%m%dT%H%M%S" : "%Y-%m-%dT%H:%M:%S", &tm);
  if (style == UtcStyle::kMilliseconds) return fmt::format("{}.{:03d}Z", buf, millis);
  return std::string(buf) + "Z";
}

}  // namespace swarmwall
