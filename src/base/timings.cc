#include "base/timings.h"

#include <fmt/format.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace swarmwall {
namespace {

double NowMs(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// The process's start, from /proc/self/stat field 22 (clock ticks since
// boot), so the first step includes exec and dynamic loading.
double StartMs() {
  FILE* f = std::fopen("/proc/self/stat", "r");
  if (!f) return NowMs(CLOCK_BOOTTIME);
  char buf[1024] = {};
  size_t n = std::fread(buf, 1, sizeof buf - 1, f);
  std::fclose(f);
  buf[n] = 0;
  const char* p = std::strrchr(buf, ')');  // the name may hold spaces
  for (int field = 2; p && field < 22; ++field) p = std::strchr(p + 1, ' ');
  if (!p) return NowMs(CLOCK_BOOTTIME);
  return static_cast<double>(std::strtoull(p + 1, nullptr, 10)) * 1e3 /
         static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

void TimingMark(std::string_view name) {
  static const bool on = [] {
    const char* v = std::getenv("SWARMWALL_TIMINGS");
    return v && std::strcmp(v, "1") == 0;
  }();
  if (!on) return;
  static const double start = StartMs();
  static double last = start;
  double now = NowMs(CLOCK_BOOTTIME);
  fmt::print(stderr, "timing: {} {:.1f} ms (at {:.1f})\n", name, now - last, now - start);
  last = now;
}

}  // namespace swarmwall
