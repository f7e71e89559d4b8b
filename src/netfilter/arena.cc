#include "netfilter/arena.h"

#include <algorithm>
#include <cstdint>

namespace swarmwall::netfilter {

char* Arena::NewBlock(Cursor& c, size_t size, size_t align) {
  // Blocks grow with the arena (64 KiB up to 256 KiB) so that a big dump
  // takes few allocations and a small one little memory.
  size_t block = std::clamp<size_t>(allocated_ / 8, 64 * 1024, 256 * 1024);
  block = std::max(block, size + align);
  // Not zeroed: pages of a large block stay untouched until used.
  blocks_.push_back(std::unique_ptr<char[]>(new char[block]));
  c.at = blocks_.back().get();
  c.left = block;
  allocated_ += block;
  return c.at;
}

char* Arena::Allocate(size_t size, size_t align) {
  Cursor& c = align > 1 ? aligned_ : text_;
  size_t pad = (align - reinterpret_cast<uintptr_t>(c.at) % align) % align;
  if (size + pad > c.left) {
    NewBlock(c, size, align);
    pad = (align - reinterpret_cast<uintptr_t>(c.at) % align) % align;
  }
  char* p = c.at + pad;
  c.at += pad + size;
  c.left -= pad + size;
  return p;
}

std::string_view Arena::Store(std::string_view text) {
  if (text.empty()) return {};
  char* p = Allocate(text.size(), 1);
  memcpy(p, text.data(), text.size());
  return {p, text.size()};
}

Name Arena::StoreName(std::string_view text) {
  if (text.empty()) return {};
  size_t n = text.size();
  size_t head = n < 0xff ? 1 : 5;
  char* p = Allocate(head + n, 1);
  if (head == 1) {
    p[0] = static_cast<char>(n);
  } else {
    p[0] = static_cast<char>(0xff);
    for (int i = 0; i < 4; ++i) p[1 + i] = static_cast<char>((n >> (8 * i)) & 0xff);
  }
  memcpy(p + head, text.data(), n);
  return Name::FromPrefixed(p);
}

Interner::Interner(Arena& arena, size_t slots) : arena_(arena) {
  size_t n = 16;
  while (n < slots) n *= 2;
  slots_.resize(n);
  mask_ = n - 1;
}

Name Interner::Intern(std::string_view text) {
  if (text.empty()) return {};
  uint64_t h = HashText(text);
  Slot& s = slots_[h & mask_];
  uint32_t tag = static_cast<uint32_t>(h >> 32);
  if (s.hash == tag && s.size == text.size() && s.name.prefixed() &&
      memcmp(s.name.data(), text.data(), text.size()) == 0)
    return s.name;
  Name stored = arena_.StoreName(text);
  s = {stored, static_cast<uint32_t>(text.size()), tag};
  return stored;
}

}  // namespace swarmwall::netfilter
