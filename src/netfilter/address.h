// IPv4/IPv6 addresses and prefixes as iptables writes them (`10.0.0.0/8`,
// `2001:db8::1/128`). Kept as 16 bytes plus a family so one type serves both
// iptables and ip6tables rules and the analyzer can compare them cheaply.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace swarmwall::netfilter {

enum class Family : uint8_t { kIPv4 = 4, kIPv6 = 6 };

struct IpAddress {
  std::array<uint8_t, 16> bytes{};   // IPv4 uses the first 4
  Family family = Family::kIPv4;

  static std::optional<IpAddress> Parse(std::string_view text);
  static std::optional<IpAddress> Parse(std::string_view text, Family family);
  std::string ToString() const;
  int Bits() const { return family == Family::kIPv4 ? 32 : 128; }
  auto operator<=>(const IpAddress&) const = default;
};

// An address with a netmask. Masks are usually prefixes; iptables also allows
// non-contiguous masks (`1.2.3.4/255.0.255.0`), so the mask is kept in full.
struct Cidr {
  IpAddress address;   // already masked, as the kernel stores it
  IpAddress mask;

  // "a.b.c.d", "a.b.c.d/24", "a.b.c.d/255.255.0.0", "2001:db8::/32".
  // Without a prefix the address is a host (/32 or /128).
  static std::optional<Cidr> Parse(std::string_view text);
  static std::optional<Cidr> Parse(std::string_view text, Family family);
  static Cidr Prefix(const IpAddress& address, int prefix_length);
  static Cidr Any(Family family) { return Prefix(IpAddress{{}, family}, 0); }
  // -1 when the mask is not contiguous.
  int PrefixLength() const;
  bool Contains(const IpAddress& a) const;
  Family family() const { return address.family; }
  // iptables-save form: "10.0.0.0/8", non-contiguous masks in dotted form.
  std::string ToString() const;
  auto operator<=>(const Cidr&) const = default;
};

}  // namespace swarmwall::netfilter
