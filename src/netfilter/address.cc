#include "netfilter/address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace swarmwall::netfilter {
namespace {

bool ParseInto(std::string_view text, Family family, IpAddress& out) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return false;
  memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  out = IpAddress{};
  out.family = family;
  return inet_pton(family == Family::kIPv4 ? AF_INET : AF_INET6, buf,
                   out.bytes.data()) == 1;
}

}  // namespace

std::optional<IpAddress> IpAddress::Parse(std::string_view text) {
  return Parse(text, text.find(':') != std::string_view::npos ? Family::kIPv6
                                                              : Family::kIPv4);
}

std::optional<IpAddress> IpAddress::Parse(std::string_view text, Family family) {
  IpAddress a;
  if (!ParseInto(text, family, a)) return std::nullopt;
  return a;
}

std::string IpAddress::ToString() const {
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(family == Family::kIPv4 ? AF_INET : AF_INET6, bytes.data(), buf,
            sizeof buf);
  return buf;
}

Cidr Cidr::Prefix(const IpAddress& address, int prefix_length) {
  Cidr c;
  c.address = address;
  c.mask.family = address.family;
  int bits = address.Bits();
  if (prefix_length < 0) prefix_length = 0;
  if (prefix_length > bits) prefix_length = bits;
  for (int i = 0; i < bits / 8; ++i) {
    int take = prefix_length - i * 8;
    uint8_t m = take >= 8 ? 0xff : take <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - take));
    c.mask.bytes[i] = m;
    c.address.bytes[i] &= m;
  }
  return c;
}

std::optional<Cidr> Cidr::Parse(std::string_view text) {
  return Parse(text, text.find(':') != std::string_view::npos ? Family::kIPv6
                                                              : Family::kIPv4);
}

std::optional<Cidr> Cidr::Parse(std::string_view text, Family family) {
  size_t slash = text.find('/');
  IpAddress a;
  if (!ParseInto(text.substr(0, slash), family, a)) return std::nullopt;
  if (slash == std::string_view::npos) return Prefix(a, a.Bits());
  std::string_view m = text.substr(slash + 1);
  int len = -1;
  auto [end, ec] = std::from_chars(m.data(), m.data() + m.size(), len);
  if (ec == std::errc() && end == m.data() + m.size()) {
    if (len < 0 || len > a.Bits()) return std::nullopt;
    return Prefix(a, len);
  }
  IpAddress mask;
  if (!ParseInto(m, family, mask)) return std::nullopt;
  Cidr c;
  c.mask = mask;
  c.address = a;
  for (size_t i = 0; i < 16; ++i) c.address.bytes[i] &= mask.bytes[i];
  return c;
}

int Cidr::PrefixLength() const {
  int bits = address.Bits(), len = 0;
  bool zero_seen = false;
  for (int i = 0; i < bits; ++i) {
    bool set = mask.bytes[i / 8] & (0x80 >> (i % 8));
    if (set && zero_seen) return -1;
    if (set) ++len;
    else zero_seen = true;
  }
  return len;
}

bool Cidr::Contains(const IpAddress& a) const {
  if (a.family != address.family) return false;
  for (size_t i = 0; i < 16; ++i)
    if ((a.bytes[i] & mask.bytes[i]) != address.bytes[i]) return false;
  return true;
}

std::string Cidr::ToString() const {
  int len = PrefixLength();
  if (len >= 0) return address.ToString() + "/" + std::to_string(len);
  return address.ToString() + "/" + mask.ToString();
}

}  // namespace swarmwall::netfilter
