// Append-only storage for the text of a parsed ruleset. Rules hold
// string_views into it, so a 100,000-rule dump costs a few allocations
// instead of one std::string per token.
#pragma once

#include <cstring>
#include <memory>
#include <span>
#include <type_traits>
#include <string_view>
#include <vector>

namespace swarmwall::netfilter {

class Arena {
 public:
  std::string_view Store(std::string_view text);
  template <typename T>
  const T* StoreArray(std::span<const T> items) {
    static_assert(std::is_trivially_copyable_v<T>);
    char* p = Allocate(items.size_bytes(), alignof(T));
    std::memcpy(p, items.data(), items.size_bytes());
    return reinterpret_cast<const T*>(p);
  }
  size_t BytesAllocated() const { return allocated_; }

 private:
  char* Allocate(size_t size, size_t align);
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* cursor_ = nullptr;
  size_t left_ = 0;
  size_t allocated_ = 0;
};

}  // namespace swarmwall::netfilter
