#include "netfilter/address_interval.h"

#include <algorithm>

namespace swarmwall::netfilter {
namespace {

__extension__ typedef unsigned __int128 U128;

int Width(Family f) { return f == Family::kIPv4 ? 32 : 128; }

U128 ToNumber(const IpAddress& a) {
  U128 v = 0;
  int n = a.family == Family::kIPv4 ? 4 : 16;
  for (int i = 0; i < n; ++i) v = (v << 8) | a.bytes[i];
  return v;
}

IpAddress FromNumber(U128 v, Family f) {
  IpAddress a{};
  a.family = f;
  int n = f == Family::kIPv4 ? 4 : 16;
  for (int i = n - 1; i >= 0; --i) {
    a.bytes[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
  return a;
}

// The addresses a prefix of LENGTH covers beyond its first, as a mask of
// low bits (all ones for length 0).
U128 HostBits(Family f, int length) {
  int host = Width(f) - length;
  return host >= 128 ? ~U128{0} : (U128{1} << host) - 1;
}

}  // namespace

std::optional<AddressInterval> IntervalOf(const Cidr& cidr) {
  int length = cidr.PrefixLength();
  if (length < 0) return std::nullopt;
  U128 first = ToNumber(cidr.address);
  U128 last = first | HostBits(cidr.family(), length);
  return AddressInterval{FromNumber(first, cidr.family()), FromNumber(last, cidr.family())};
}

std::vector<AddressInterval> MergeIntervals(std::vector<AddressInterval> intervals) {
  std::sort(intervals.begin(), intervals.end(),
            [](const AddressInterval& a, const AddressInterval& b) { return a.first < b.first; });
  std::vector<AddressInterval> out;
  out.reserve(intervals.size());
  for (const auto& i : intervals) {
    if (!out.empty()) {
      U128 end = ToNumber(out.back().last);
      // Overlapping or adjacent (end + 1 == first; no wrap past the top).
      if (end == ~U128{0} || end + 1 >= ToNumber(i.first)) {
        if (out.back().last < i.last) out.back().last = i.last;
        continue;
      }
    }
    out.push_back(i);
  }
  return out;
}

std::optional<std::vector<AddressInterval>> IntervalsOf(std::span<const Cidr> cidrs) {
  std::vector<AddressInterval> all;
  all.reserve(cidrs.size());
  for (const auto& c : cidrs) {
    auto i = IntervalOf(c);
    if (!i) return std::nullopt;
    all.push_back(*i);
  }
  return MergeIntervals(std::move(all));
}

std::optional<Cidr> AsPrefix(const AddressInterval& interval) {
  Family f = interval.first.family;
  U128 first = ToNumber(interval.first), last = ToNumber(interval.last);
  U128 span = last - first;   // all ones in the low bits for a prefix
  if ((span & (span + 1)) != 0 || (first & span) != 0) return std::nullopt;
  int host = 0;
  while (host < 128 && ((span >> host) & 1)) ++host;
  return Cidr::Masked(interval.first, Width(f) - host);
}

std::vector<Cidr> CidrsOf(const AddressInterval& interval) {
  Family f = interval.first.family;
  std::vector<Cidr> out;
  U128 first = ToNumber(interval.first), last = ToNumber(interval.last);
  while (true) {
    // The largest prefix starting at FIRST that ends at or before LAST.
    int length = Width(f);
    while (length > 0) {
      U128 bits = HostBits(f, length - 1);
      if ((first & bits) != 0 || first + bits > last || first + bits < first) break;
      --length;
    }
    out.push_back(Cidr::Masked(FromNumber(first, f), length));
    U128 end = first + HostBits(f, length);
    if (end >= last) break;
    first = end + 1;
  }
  return out;
}

std::vector<Cidr> CidrsOf(std::span<const AddressInterval> intervals) {
  std::vector<Cidr> out;
  for (const auto& i : intervals) {
    auto part = CidrsOf(i);
    out.insert(out.end(), part.begin(), part.end());
  }
  return out;
}

}  // namespace swarmwall::netfilter
