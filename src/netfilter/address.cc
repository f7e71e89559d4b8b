#include "netfilter/address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>

namespace swarmwall::netfilter {
namespace {

// What glibc's inet_pton4 does with the C string TEXT is (a NUL ends it):
// four decimal octets 0..255 separated by dots, no leading zeros, nothing
// else.
bool ParseIpv4(std::string_view text, uint8_t* out) {
  const char* p = text.data();
  const char* const e = p + text.size();
  auto digit = [&](const char* q) { return q < e && *q >= '0' && *q <= '9'; };
  uint8_t tmp[4];
  for (int k = 0; k < 4; ++k) {
    if (k > 0) {
      if (p == e || *p != '.') return false;
      ++p;
    }
    if (!digit(p)) return false;
    unsigned v = static_cast<unsigned>(*p++ - '0');
    if (digit(p)) {
      if (v == 0) return false;   // a leading zero
      v = v * 10 + static_cast<unsigned>(*p++ - '0');
      if (digit(p)) {
        v = v * 10 + static_cast<unsigned>(*p++ - '0');
        if (digit(p)) return false;
      }
    }
    if (v > 255) return false;
    tmp[k] = static_cast<uint8_t>(v);
  }
  if (p != e && *p != 0) return false;
  memcpy(out, tmp, 4);
  return true;
}

bool ParseInto(std::string_view text, Family family, IpAddress& out) {
  char buf[INET6_ADDRSTRLEN + 1];
  if (text.empty() || text.size() >= sizeof buf) return false;
  out = IpAddress{};
  out.family = family;
  if (family == Family::kIPv4) return ParseIpv4(text, out.bytes.data());
  // inet_pton reads a C string: a NUL ends the text.
  if (const void* nul = memchr(text.data(), 0, text.size()))
    text = text.substr(0, static_cast<size_t>(static_cast<const char*>(nul) - text.data()));
  memcpy(buf, text.data(), text.size());
  buf[text.size()] = 0;
  return inet_pton(AF_INET6, buf, out.bytes.data()) == 1;
}

// Writes V (0..255) in decimal at P; returns the end.
char* PutByte(char* p, unsigned v) {
  if (v >= 100) {
    *p++ = static_cast<char>('0' + v / 100);
    v %= 100;
    *p++ = static_cast<char>('0' + v / 10);
  } else if (v >= 10) {
    *p++ = static_cast<char>('0' + v / 10);
  }
  *p++ = static_cast<char>('0' + v % 10);
  return p;
}

IpAddress PrefixMask(Family family, int prefix_length) {
  IpAddress m;
  m.family = family;
  for (int i = 0; i < m.Bits() / 8; ++i) {
    int take = prefix_length - i * 8;
    m.bytes[i] = take >= 8 ? 0xff : take <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - take));
  }
  return m;
}

// Non-contiguous masks, process-wide: each distinct mask once, id 1..65535.
class MaskTable {
 public:
  static MaskTable& Get() {
    static MaskTable* table = new MaskTable;   // never destroyed: ids outlive statics
    return *table;
  }
  // 0 when the table is full.
  uint16_t Add(const IpAddress& mask) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = ids_.find(mask);
    if (it != ids_.end()) return it->second;
    if (masks_.size() >= 0xffff) return 0;
    masks_.push_back(mask);
    uint16_t id = static_cast<uint16_t>(masks_.size());
    ids_.emplace(mask, id);
    return id;
  }
  IpAddress At(uint16_t id) {
    std::lock_guard<std::mutex> lock(mu_);
    return masks_[id - 1u];
  }

 private:
  std::mutex mu_;
  std::deque<IpAddress> masks_;
  std::map<IpAddress, uint16_t> ids_;
};

// The prefix length of MASK, or -1 when it is not contiguous.
int MaskPrefix(const IpAddress& mask) {
  int bits = mask.Bits(), len = 0;
  bool zero_seen = false;
  for (int i = 0; i < bits; ++i) {
    bool set = mask.bytes[i / 8] & (0x80 >> (i % 8));
    if (set && zero_seen) return -1;
    if (set) ++len;
    else zero_seen = true;
  }
  return len;
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

void IpAddress::AppendTo(std::string& out) const {
  if (family == Family::kIPv4) {
    char buf[16];
    char* p = buf;
    for (int i = 0; i < 4; ++i) {
      if (i) *p++ = '.';
      p = PutByte(p, bytes[i]);
    }
    out.append(buf, p);
    return;
  }
  char buf[INET6_ADDRSTRLEN];
  inet_ntop(AF_INET6, bytes.data(), buf, sizeof buf);
  out += buf;
}

std::string IpAddress::ToString() const {
  std::string out;
  AppendTo(out);
  return out;
}

Cidr Cidr::Prefix(const IpAddress& address, int prefix_length) {
  Cidr c;
  c.address = address;
  int bits = address.Bits();
  if (prefix_length < 0) prefix_length = 0;
  if (prefix_length > bits) prefix_length = bits;
  c.prefix_ = static_cast<uint8_t>(prefix_length);
  for (int i = 0; i < bits / 8; ++i) {
    int take = prefix_length - i * 8;
    uint8_t m = take >= 8 ? 0xff : take <= 0 ? 0 : static_cast<uint8_t>(0xff << (8 - take));
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
  for (size_t i = 0; i < 16; ++i) a.bytes[i] &= mask.bytes[i];
  int prefix = MaskPrefix(mask);
  if (prefix >= 0) return Prefix(a, prefix);
  Cidr c;
  c.address = a;
  c.mask_id_ = MaskTable::Get().Add(mask);
  if (c.mask_id_ == 0) return std::nullopt;   // 65,535 distinct odd masks already
  c.prefix_ = 0xff;
  return c;
}

IpAddress Cidr::Mask() const {
  if (mask_id_) return MaskTable::Get().At(mask_id_);
  return PrefixMask(address.family, prefix_);
}

bool Cidr::Contains(const IpAddress& a) const {
  if (a.family != address.family) return false;
  if (mask_id_) {
    IpAddress mask = Mask();
    for (size_t i = 0; i < 16; ++i)
      if ((a.bytes[i] & mask.bytes[i]) != address.bytes[i]) return false;
    return true;
  }
  int full = prefix_ / 8, rest = prefix_ % 8;
  if (memcmp(a.bytes.data(), address.bytes.data(), static_cast<size_t>(full)) != 0) return false;
  if (rest) {
    uint8_t m = static_cast<uint8_t>(0xff << (8 - rest));
    if ((a.bytes[full] & m) != address.bytes[full]) return false;
  }
  return true;
}

void Cidr::AppendTo(std::string& out) const {
  address.AppendTo(out);
  out += '/';
  if (mask_id_) {
    Mask().AppendTo(out);
  } else {
    char buf[4];
    out.append(buf, PutByte(buf, prefix_));
  }
}

std::string Cidr::ToString() const {
  std::string out;
  AppendTo(out);
  return out;
}

std::strong_ordering operator<=>(const Cidr& a, const Cidr& b) {
  if (auto c = a.address <=> b.address; c != 0) return c;
  // For prefixes the order of the mask bytes is the order of the lengths.
  if (!a.mask_id_ && !b.mask_id_) return a.prefix_ <=> b.prefix_;
  return a.Mask() <=> b.Mask();
}

}  // namespace swarmwall::netfilter
