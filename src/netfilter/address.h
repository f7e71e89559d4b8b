// IPv4/IPv6 addresses and prefixes as iptables writes them (`10.0.0.0/8`,
// `2001:db8::1/128`). Kept as 16 bytes plus a family so one type serves both
// iptables and ip6tables rules and the analyzer can compare them cheaply.
#pragma once

#include <array>
#include <compare>
#include <cstring>
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
  // Appends ToString()'s text to OUT (no temporary string).
  void AppendTo(std::string& out) const;
  int Bits() const { return family == Family::kIPv4 ? 32 : 128; }
  // The bytes in order (memcmp: sorting 100,000 set entries spends its
  // time here), then the family; what the defaulted order would say.
  std::strong_ordering operator<=>(const IpAddress& o) const {
    int c = std::memcmp(bytes.data(), o.bytes.data(), bytes.size());
    if (c != 0) return c < 0 ? std::strong_ordering::less : std::strong_ordering::greater;
    return family <=> o.family;
  }
  bool operator==(const IpAddress& o) const = default;
};

// An address with a netmask, 20 bytes. Masks are almost always prefixes and
// are kept as a prefix length. iptables also allows non-contiguous masks
// (`1.2.3.4/255.0.255.0`): those are rare and live out of line, in a
// process-wide table of distinct masks (mask_id_ != 0), so that a Cidr stays
// small and trivially copyable. Comparison and ordering are those of
// (address, mask bytes).
struct Cidr {
  IpAddress address;   // already masked, as the kernel stores it

  // "a.b.c.d", "a.b.c.d/24", "a.b.c.d/255.255.0.0", "2001:db8::/32".
  // Without a prefix the address is a host (/32 or /128).
  static std::optional<Cidr> Parse(std::string_view text);
  static std::optional<Cidr> Parse(std::string_view text, Family family);
  static Cidr Prefix(const IpAddress& address, int prefix_length);
  // ADDRESS already masked to PREFIX_LENGTH (0..Bits()), as the kernel
  // gives a set's entries: no masking (100,000 entries per read).
  static Cidr Masked(const IpAddress& address, int prefix_length) {
    Cidr c;
    c.address = address;
    c.prefix_ = static_cast<uint8_t>(prefix_length);
    return c;
  }
  static Cidr Any(Family family) { return Prefix(IpAddress{{}, family}, 0); }
  // -1 when the mask is not contiguous.
  int PrefixLength() const { return mask_id_ ? -1 : prefix_; }
  // The mask in full (a.b.c.d form for any mask).
  IpAddress Mask() const;
  bool IsAny() const { return mask_id_ == 0 && prefix_ == 0; }
  bool Contains(const IpAddress& a) const;
  Family family() const { return address.family; }
  // iptables-save form: "10.0.0.0/8", non-contiguous masks in dotted form.
  std::string ToString() const;
  void AppendTo(std::string& out) const;

  friend bool operator==(const Cidr& a, const Cidr& b) {
    return a.address == b.address && a.prefix_ == b.prefix_ && a.mask_id_ == b.mask_id_;
  }
  friend std::strong_ordering operator<=>(const Cidr& a, const Cidr& b);

 private:
  uint8_t prefix_ = 0;     // the prefix length when mask_id_ == 0
  uint16_t mask_id_ = 0;   // 0: a prefix; else the non-contiguous mask's id
};

}  // namespace swarmwall::netfilter
