// A set of unsigned numbers as sorted, disjoint, non-adjacent inclusive
// intervals: one dimension of a packet set in the exposure analysis
// (protocols, addresses as 128-bit numbers, ports).
#pragma once

#include <cstddef>
#include <vector>

#include "analyze/model/addr_number.h"

namespace swarmwall::analyze {

struct Interval {
  U128 lo = 0, hi = 0;   // inclusive
  bool operator==(const Interval&) const = default;
};

class IntervalSet {
 public:
  IntervalSet() = default;
  static IntervalSet Range(U128 lo, U128 hi) {
    IntervalSet s;
    if (lo <= hi) s.v_.push_back({lo, hi});
    return s;
  }
  // From any intervals (sorted and merged here).
  static IntervalSet Of(std::vector<Interval> parts);

  bool empty() const { return v_.empty(); }
  size_t size() const { return v_.size(); }
  const std::vector<Interval>& intervals() const { return v_; }
  U128 First() const { return v_.front().lo; }
  bool Contains(U128 x) const;
  // The number of values (saturating at the maximum).
  U128 Count() const;

  IntervalSet Intersect(const IntervalSet& o) const;
  IntervalSet Subtract(const IntervalSet& o) const;
  IntervalSet Union(const IntervalSet& o) const;
  bool Intersects(const IntervalSet& o) const;
  // Whether some value of [lo, hi] is in the set (a binary search).
  bool IntersectsRange(U128 lo, U128 hi) const;
  // The part of this set in [lo, hi].
  IntervalSet Clip(U128 lo, U128 hi) const;

  bool operator==(const IntervalSet&) const = default;
  size_t Hash() const;

 private:
  std::vector<Interval> v_;
};

}  // namespace swarmwall::analyze
