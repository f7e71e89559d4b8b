// Append-only storage for the text and arrays of a parsed ruleset (names,
// option texts, every rule's parts). Rules hold Names, string_views and
// pointers into it, so a 100,000-rule dump costs a few hundred allocations
// instead of several per rule.
#pragma once

#include <compare>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fmt/core.h>

namespace swarmwall::netfilter {

// A fast, well-mixed 64-bit hash of a short string (names, option text).
inline uint64_t HashText(std::string_view s) {
  const char* p = s.data();
  size_t n = s.size();
  uint64_t h = 0x9e3779b97f4a7c15ull ^ (n * 0xff51afd7ed558ccdull);
  while (n >= 8) {
    uint64_t w;
    std::memcpy(&w, p, 8);
    h = (h ^ w) * 0xbf58476d1ce4e5b9ull;
    h ^= h >> 31;
    p += 8;
    n -= 8;
  }
  if (n) {
    uint64_t w = 0;
    std::memcpy(&w, p, n);
    h = (h ^ w) * 0x94d049bb133111ebull;
    h ^= h >> 29;
  }
  h *= 0xbf58476d1ce4e5b9ull;
  return h ^ (h >> 32);
}

// Text stored once in an arena, 8 bytes instead of a string_view's 16: it
// points at the length, then the text (see Arena::StoreName; the length is
// one byte, or 0xff and four bytes for 255 and more). It reads like the
// std::string_view it converts to implicitly: ==, <=>, empty(), size(),
// starts_with(), find(), std::string(name), fmt and ostream printing.
class Name {
 public:
  static constexpr size_t npos = std::string_view::npos;

  constexpr Name() = default;
  // P: the length, then the text ("\x06ACCEPT").
  static constexpr Name FromPrefixed(const char* p) {
    Name n;
    n.p_ = p;
    return n;
  }
  constexpr std::string_view view() const {
    if (!p_) return {};
    uint8_t b = static_cast<uint8_t>(p_[0]);
    if (b != 0xff) return {p_ + 1, b};
    return {p_ + 5, LongSize()};
  }
  constexpr operator std::string_view() const { return view(); }
  constexpr const char* prefixed() const { return p_; }

  constexpr const char* data() const { return view().data(); }
  constexpr size_t size() const { return view().size(); }
  constexpr size_t length() const { return size(); }
  constexpr bool empty() const { return size() == 0; }
  constexpr const char* begin() const { return view().data(); }
  constexpr const char* end() const { return view().data() + size(); }
  constexpr char operator[](size_t i) const { return view()[i]; }
  constexpr char front() const { return view().front(); }
  constexpr char back() const { return view().back(); }
  constexpr bool starts_with(std::string_view s) const { return view().starts_with(s); }
  constexpr bool starts_with(char c) const { return view().starts_with(c); }
  constexpr bool ends_with(std::string_view s) const { return view().ends_with(s); }
  constexpr bool ends_with(char c) const { return view().ends_with(c); }
  constexpr size_t find(std::string_view s, size_t pos = 0) const { return view().find(s, pos); }
  constexpr size_t find(char c, size_t pos = 0) const { return view().find(c, pos); }
  constexpr size_t rfind(char c, size_t pos = npos) const { return view().rfind(c, pos); }
  constexpr size_t find_first_of(std::string_view s, size_t pos = 0) const {
    return view().find_first_of(s, pos);
  }
  constexpr size_t find_first_not_of(std::string_view s, size_t pos = 0) const {
    return view().find_first_not_of(s, pos);
  }
  constexpr std::string_view substr(size_t pos = 0, size_t n = npos) const {
    return view().substr(pos, n);
  }
  constexpr int compare(std::string_view s) const { return view().compare(s); }

  friend constexpr bool operator==(Name a, Name b) { return a.view() == b.view(); }
  friend constexpr bool operator==(Name a, std::string_view b) { return a.view() == b; }
  friend constexpr std::strong_ordering operator<=>(Name a, Name b) {
    return a.view() <=> b.view();
  }
  friend constexpr std::strong_ordering operator<=>(Name a, std::string_view b) {
    return a.view() <=> b;
  }
  template <typename OStream>
  friend auto operator<<(OStream& os, Name n) -> decltype(os << std::string_view()) {
    return os << n.view();
  }

 private:
  constexpr size_t LongSize() const {
    return static_cast<size_t>(static_cast<uint8_t>(p_[1])) |
           static_cast<size_t>(static_cast<uint8_t>(p_[2])) << 8 |
           static_cast<size_t>(static_cast<uint8_t>(p_[3])) << 16 |
           static_cast<size_t>(static_cast<uint8_t>(p_[4])) << 24;
  }
  const char* p_ = nullptr;
};

class Arena {
 public:
  std::string_view Store(std::string_view text);
  // TEXT as a Name (its length, then the text); "" is Name().
  Name StoreName(std::string_view text);
  template <typename T>
  const T* StoreArray(std::span<const T> items) {
    static_assert(std::is_trivially_copyable_v<T>);
    if (items.empty()) return nullptr;
    char* p = Allocate(items.size_bytes(), alignof(T));
    std::memcpy(p, items.data(), items.size_bytes());
    return reinterpret_cast<const T*>(p);
  }
  size_t BytesAllocated() const { return allocated_; }

 private:
  // Text (alignment 1) and aligned arrays come from separate blocks, so
  // that mixing them wastes no padding.
  struct Cursor {
    char* at = nullptr;
    size_t left = 0;
  };
  char* Allocate(size_t size, size_t align);
  char* NewBlock(Cursor& c, size_t size, size_t align);
  std::vector<std::unique_ptr<char[]>> blocks_;
  Cursor text_, aligned_;
  size_t allocated_ = 0;
};

// Stores strings in an arena as Names, once per distinct string as far as
// a fixed cache remembers (a direct-mapped table of recent strings by
// hash). Lossy on purpose: its memory is bounded whatever the input, and
// the repeats of a dump (targets, match names, comments, interfaces) are
// mostly close.
class Interner {
 public:
  // SLOTS is rounded up to a power of two.
  Interner(Arena& arena, size_t slots);
  Name Intern(std::string_view text);
  size_t MemoryBytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  struct Slot {
    Name name;
    uint32_t size = 0;
    uint32_t hash = 0;
  };
  Arena& arena_;
  std::vector<Slot> slots_;
  size_t mask_ = 0;
};

}  // namespace swarmwall::netfilter

template <>
struct fmt::formatter<swarmwall::netfilter::Name> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(swarmwall::netfilter::Name n, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(n.view(), ctx);
  }
};
