#include "analyze/model/ipassmt.h"

#include <algorithm>

#include <fmt/format.h>

#include "analyze/model/addr_number.h"

namespace swarmwall::analyze {

using netfilter::Cidr;
using netfilter::Family;
using netfilter::IpAddress;

namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r' ||
                        s.front() == '\n'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r' ||
                        s.back() == '\n'))
    s.remove_suffix(1);
  return s;
}

bool ParseSpan(std::string_view text, AddressSpan& out) {
  size_t dash = text.find('-');
  if (dash != std::string_view::npos) {
    auto lo = IpAddress::Parse(Trim(text.substr(0, dash)));
    auto hi = IpAddress::Parse(Trim(text.substr(dash + 1)));
    if (!lo || !hi || lo->family != hi->family || *hi < *lo) return false;
    out = {*lo, *hi};
    return true;
  }
  size_t slash = text.find('/');
  auto addr = IpAddress::Parse(Trim(text.substr(0, slash)));
  if (!addr) return false;
  int bits = addr->Bits(), len = bits;
  if (slash != std::string_view::npos) {
    std::string_view l = Trim(text.substr(slash + 1));
    if (l.empty() || l.size() > 3) return false;
    len = 0;
    for (char c : l) {
      if (c < '0' || c > '9') return false;
      len = len * 10 + (c - '0');
    }
    if (len > bits) return false;
  }
  U128 v = ToNumber(*addr);
  U128 host = len == bits ? 0 : (len == 0 ? MaxOf(addr->family) : ((U128{1} << (bits - len)) - 1));
  out = {FromNumber(v & ~host, addr->family), FromNumber((v & ~host) | host, addr->family)};
  return true;
}

std::vector<AddressSpan> Normalize(std::vector<AddressSpan> s) {
  std::sort(s.begin(), s.end(), [](const AddressSpan& a, const AddressSpan& b) { return a.lo < b.lo; });
  std::vector<AddressSpan> out;
  for (const auto& x : s) {
    if (!out.empty()) {
      U128 end = ToNumber(out.back().hi);
      if (end == MaxOf(x.lo.family) || ToNumber(x.lo) <= end + 1) {
        if (out.back().hi < x.hi) out.back().hi = x.hi;
        continue;
      }
    }
    out.push_back(x);
  }
  return out;
}

std::vector<AddressSpan> Complement(const std::vector<AddressSpan>& s, Family f) {
  std::vector<AddressSpan> out;
  U128 next = 0;
  bool done = false;
  for (const auto& x : s) {
    U128 lo = ToNumber(x.lo), hi = ToNumber(x.hi);
    if (lo > next) out.push_back({FromNumber(next, f), FromNumber(lo - 1, f)});
    if (hi == MaxOf(f)) {
      done = true;
      break;
    }
    next = hi + 1;
  }
  if (!done) out.push_back({FromNumber(next, f), FromNumber(MaxOf(f), f)});
  return out;
}

}  // namespace

const IpAssignment::Entry* IpAssignment::Find(std::string_view interface) const {
  for (const auto& e : entries)
    if (e.interface == interface) return &e;
  return nullptr;
}

bool ParseIpAssignment(std::string_view text, IpAssignment& out, std::string& error) {
  // Strip comments, keep line numbers for messages.
  std::string clean;
  std::vector<int> line_of;   // line of each character of clean
  int line = 1;
  bool comment = false;
  for (char c : text) {
    if (c == '\n') {
      comment = false;
      clean += c;
      line_of.push_back(line++);
      continue;
    }
    if (c == '#') comment = true;
    if (comment) continue;
    clean += c;
    line_of.push_back(line);
  }
  bool family_set = false;
  size_t pos = 0;
  while (true) {
    while (pos < clean.size() && std::string_view(" \t\r\n").find(clean[pos]) != std::string_view::npos)
      ++pos;
    if (pos >= clean.size()) break;
    int at = line_of[pos];
    size_t eq = clean.find('=', pos);
    size_t open = clean.find('[', pos);
    if (eq == std::string::npos || open == std::string::npos || open < eq) {
      error = fmt::format("line {}: expected `interface = [addresses]`", at);
      return false;
    }
    size_t close = clean.find(']', open);
    if (close == std::string::npos) {
      error = fmt::format("line {}: `[` without `]`", at);
      return false;
    }
    IpAssignment::Entry e;
    e.interface = std::string(Trim(std::string_view(clean).substr(pos, eq - pos)));
    std::string_view mid = Trim(std::string_view(clean).substr(eq + 1, open - eq - 1));
    if (e.interface.empty() || e.interface.find_first_of(" \t\n") != std::string::npos) {
      error = fmt::format("line {}: bad interface name `{}`", at, e.interface);
      return false;
    }
    if (mid == "all_but_those_ips") e.all_but = true;
    else if (!mid.empty()) {
      error = fmt::format("line {}: unknown keyword `{}` (all_but_those_ips?)", at, mid);
      return false;
    }
    std::string_view list = std::string_view(clean).substr(open + 1, close - open - 1);
    size_t start = 0;
    while (start <= list.size()) {
      size_t comma = list.find(',', start);
      std::string_view item = Trim(list.substr(start, comma == std::string_view::npos ? comma : comma - start));
      if (!item.empty()) {
        AddressSpan s;
        if (!ParseSpan(item, s)) {
          error = fmt::format("line {}: `{}` is not an address, range or CIDR", line_of[open + 1 + start], item);
          return false;
        }
        if (!family_set) {
          out.family = s.lo.family;
          family_set = true;
        } else if (s.lo.family != out.family) {
          error = fmt::format("line {}: IPv4 and IPv6 mixed", line_of[open + 1 + start]);
          return false;
        }
        e.written.push_back(s);
      }
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    for (const auto& x : out.entries)
      if (x.interface == e.interface) {
        error = fmt::format("line {}: interface {} given twice", at, e.interface);
        return false;
      }
    e.spans = Normalize(e.written);
    out.entries.push_back(std::move(e));
    pos = close + 1;
  }
  for (auto& e : out.entries)
    if (e.all_but) e.spans = Complement(e.spans, out.family);
  return true;
}

std::vector<Cidr> SpansToCidrs(const std::vector<AddressSpan>& spans) {
  std::vector<Cidr> out;
  for (const auto& s : spans) {
    Family f = s.lo.family;
    int bits = f == Family::kIPv4 ? 32 : 128;
    U128 lo = ToNumber(s.lo), hi = ToNumber(s.hi);
    auto mask = [](int k) { return k >= 128 ? ~U128{0} : (U128{1} << k) - 1; };
    while (true) {
      // The largest aligned block at lo that fits in [lo, hi].
      int size = 0;
      while (size < bits && (lo & mask(size + 1)) == 0 && mask(size + 1) <= hi - lo) ++size;
      out.push_back(Cidr::Prefix(FromNumber(lo, f), bits - size));
      U128 last = lo + mask(size);
      if (last >= hi) break;
      lo = last + 1;
    }
  }
  return out;
}

const IpAssignment& GenericLoAssignment(netfilter::Family family) {
  static const auto make = [](std::string_view text) {
    IpAssignment a;
    std::string error;
    ParseIpAssignment(text, a, error);   // cannot fail: fixed text
    return a;
  };
  static const IpAssignment v4 = make("lo = [127.0.0.0/8]\n");
  static const IpAssignment v6 = make("lo = [::1/128]\n");
  return family == netfilter::Family::kIPv6 ? v6 : v4;
}

}  // namespace swarmwall::analyze
