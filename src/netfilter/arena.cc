#include "netfilter/arena.h"

#include <algorithm>
#include <cstdint>

namespace swarmwall::netfilter {

char* Arena::Allocate(size_t size, size_t align) {
  size_t pad = (align - reinterpret_cast<uintptr_t>(cursor_) % align) % align;
  if (size + pad > left_) {
    size_t block = std::max<size_t>(64 * 1024, size + align);
    blocks_.push_back(std::make_unique<char[]>(block));
    cursor_ = blocks_.back().get();
    left_ = block;
    allocated_ += block;
    pad = (align - reinterpret_cast<uintptr_t>(cursor_) % align) % align;
  }
  char* p = cursor_ + pad;
  cursor_ += pad + size;
  left_ -= pad + size;
  return p;
}

std::string_view Arena::Store(std::string_view text) {
  if (text.empty()) return {};
  char* p = Allocate(text.size(), 1);
  memcpy(p, text.data(), text.size());
  return {p, text.size()};
}

}  // namespace swarmwall::netfilter
