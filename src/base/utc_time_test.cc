#include "base/utc_time.h"

#include <gtest/gtest.h>

namespace swarmwall {
namespace {

TEST(UtcTime, EachStyle) {
  auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(1796610196042));
  EXPECT_EQ(UtcTimestamp(t), "2026-12-07T02:23:16Z");
  EXPECT_EQ(UtcTimestamp(t, UtcStyle::kMilliseconds), "2026-12-07T02:23:16.042Z");
  EXPECT_EQ(UtcTimestamp(t, UtcStyle::kCompact), "20261207T022316Z");
}

TEST(UtcTime, BeforeTheEpochRoundsDown) {
  auto t = std::chrono::system_clock::time_point(std::chrono::milliseconds(-1));
  EXPECT_EQ(UtcTimestamp(t, UtcStyle::kMilliseconds), "1969-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace swarmwall
