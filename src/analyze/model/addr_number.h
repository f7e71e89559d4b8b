// Addresses as unsigned 128-bit numbers (IPv4 in the low 32 bits), for the
// interval arithmetic of the exposure analysis and the ipassmt parser.
#pragma once

#include "netfilter/address.h"

namespace swarmwall::analyze {

__extension__ typedef unsigned __int128 U128;

inline U128 ToNumber(const netfilter::IpAddress& a) {
  U128 v = 0;
  int n = a.family == netfilter::Family::kIPv4 ? 4 : 16;
  for (int i = 0; i < n; ++i) v = (v << 8) | a.bytes[i];
  return v;
}

inline netfilter::IpAddress FromNumber(U128 v, netfilter::Family f) {
  netfilter::IpAddress a{};
  a.family = f;
  int n = f == netfilter::Family::kIPv4 ? 4 : 16;
  for (int i = n - 1; i >= 0; --i) {
    a.bytes[i] = static_cast<uint8_t>(v & 0xff);
    v >>= 8;
  }
  return a;
}

inline U128 MaxOf(netfilter::Family f) {
  return f == netfilter::Family::kIPv4 ? U128{0xffffffffu} : ~U128{0};
}

}  // namespace swarmwall::analyze
