#include "analyze/model/interval_set.h"

#include <algorithm>

namespace swarmwall::analyze {

namespace {
const U128 kMax = ~U128{0};
}

IntervalSet IntervalSet::Of(std::vector<Interval> parts) {
  std::sort(parts.begin(), parts.end(), [](const Interval& a, const Interval& b) { return a.lo < b.lo; });
  IntervalSet s;
  for (const auto& p : parts) {
    if (p.lo > p.hi) continue;
    if (!s.v_.empty() && (s.v_.back().hi == kMax || p.lo <= s.v_.back().hi + 1)) {
      s.v_.back().hi = std::max(s.v_.back().hi, p.hi);
      continue;
    }
    s.v_.push_back(p);
  }
  return s;
}

bool IntervalSet::Contains(U128 x) const {
  auto it = std::upper_bound(v_.begin(), v_.end(), x, [](U128 a, const Interval& b) { return a < b.lo; });
  if (it == v_.begin()) return false;
  --it;
  return x <= it->hi;
}

U128 IntervalSet::Count() const {
  U128 n = 0;
  for (const auto& i : v_) {
    U128 k = i.hi - i.lo;
    if (k == kMax || n + k + 1 < n) return kMax;
    n += k + 1;
  }
  return n;
}

IntervalSet IntervalSet::Intersect(const IntervalSet& o) const {
  IntervalSet r;
  size_t i = 0, j = 0;
  while (i < v_.size() && j < o.v_.size()) {
    U128 lo = std::max(v_[i].lo, o.v_[j].lo), hi = std::min(v_[i].hi, o.v_[j].hi);
    if (lo <= hi) r.v_.push_back({lo, hi});
    if (v_[i].hi < o.v_[j].hi) ++i;
    else ++j;
  }
  return r;
}

bool IntervalSet::Intersects(const IntervalSet& o) const {
  size_t i = 0, j = 0;
  while (i < v_.size() && j < o.v_.size()) {
    if (std::max(v_[i].lo, o.v_[j].lo) <= std::min(v_[i].hi, o.v_[j].hi)) return true;
    if (v_[i].hi < o.v_[j].hi) ++i;
    else ++j;
  }
  return false;
}

bool IntervalSet::IntersectsRange(U128 lo, U128 hi) const {
  // The first interval that ends at or after lo.
  auto it = std::lower_bound(v_.begin(), v_.end(), lo, [](const Interval& a, U128 x) { return a.hi < x; });
  return it != v_.end() && it->lo <= hi;
}

IntervalSet IntervalSet::Subtract(const IntervalSet& o) const {
  IntervalSet r;
  size_t j = 0;
  for (Interval cur : v_) {
    while (j < o.v_.size() && o.v_[j].hi < cur.lo) ++j;
    size_t k = j;
    bool alive = true;
    while (k < o.v_.size() && o.v_[k].lo <= cur.hi) {
      if (o.v_[k].lo > cur.lo) r.v_.push_back({cur.lo, o.v_[k].lo - 1});
      if (o.v_[k].hi >= cur.hi) {
        alive = false;
        break;
      }
      cur.lo = o.v_[k].hi + 1;
      ++k;
    }
    if (alive) r.v_.push_back(cur);
  }
  return r;
}

IntervalSet IntervalSet::Union(const IntervalSet& o) const {
  if (o.v_.empty()) return *this;
  if (v_.empty()) return o;
  std::vector<Interval> all;
  all.reserve(v_.size() + o.v_.size());
  std::merge(v_.begin(), v_.end(), o.v_.begin(), o.v_.end(), std::back_inserter(all),
             [](const Interval& a, const Interval& b) { return a.lo < b.lo; });
  IntervalSet r;
  for (const auto& p : all) {
    if (!r.v_.empty() && (r.v_.back().hi == kMax || p.lo <= r.v_.back().hi + 1)) {
      r.v_.back().hi = std::max(r.v_.back().hi, p.hi);
      continue;
    }
    r.v_.push_back(p);
  }
  return r;
}

IntervalSet IntervalSet::Clip(U128 lo, U128 hi) const {
  IntervalSet r;
  auto it = std::upper_bound(v_.begin(), v_.end(), lo, [](U128 a, const Interval& b) { return a < b.lo; });
  if (it != v_.begin()) --it;
  for (; it != v_.end() && it->lo <= hi; ++it) {
    U128 a = std::max(it->lo, lo), b = std::min(it->hi, hi);
    if (a <= b) r.v_.push_back({a, b});
  }
  return r;
}

size_t IntervalSet::Hash() const {
  size_t h = v_.size();
  for (const auto& i : v_) {
    h = h * 1000003u ^ static_cast<size_t>(i.lo) ^ static_cast<size_t>(i.lo >> 64);
    h = h * 1000003u ^ static_cast<size_t>(i.hi) ^ static_cast<size_t>(i.hi >> 64);
  }
  return h;
}

}  // namespace swarmwall::analyze
