// Where a command's milliseconds go: with SWARMWALL_TIMINGS=1 each marked
// step prints its time to stderr ("timing: read-rules 3.1 ms (at 12.4)").
// Used to find the dear steps of an apply (bench/RESULTS.md quotes them);
// costs one getenv when off.
#pragma once

#include <string_view>

namespace swarmwall {

// Marks the end of step NAME, which began at the previous mark (or when the
// process started).
void TimingMark(std::string_view name);

}  // namespace swarmwall
