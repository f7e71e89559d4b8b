// libFuzzer: any bytes as the entries of a parsed address file kept in
// STATE_DIR/address-cache (policy/address_cache.h). The header, identity
// and path are right (as a cache file of this binary would have them), so
// every input reaches the entries: Find must give entries that a parse
// could give, or nothing; never crash.
#include <unistd.h>

#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include "policy/address_cache.h"

using swarmwall::netfilter::Cidr;
using swarmwall::policy::AddressCache;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  static const std::string dir =
      std::filesystem::temp_directory_path() / ("swl-addr-fuzz-" + std::to_string(getpid()));
  std::filesystem::remove_all(dir);
  const std::string bytes(256, 'x');   // the address file's bytes (counts must stay below their size)
  AddressCache cache(dir);
  AddressCache::Parsed one;
  one.ipv4 = {*Cidr::Parse("192.0.2.0/28")};
  one.lines = 1;
  cache.Store("/f.txt", bytes, one);
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    std::string all;
    {
      std::ifstream in(e.path(), std::ios::binary);
      all.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    if (all.size() < 64 + sizeof(Cidr)) return 0;
    all.resize(all.size() - sizeof(Cidr));   // header, identity, path
    uint64_t n4 = data[0] % 4, n6 = data[1] % 4;
    std::memcpy(all.data() + 48, &n4, sizeof n4);
    std::memcpy(all.data() + 56, &n6, sizeof n6);
    all.append(reinterpret_cast<const char*>(data + 2), size - 2);
    std::ofstream(e.path(), std::ios::binary | std::ios::trunc) << all;
  }
  if (auto found = cache.Find("/f.txt", bytes))
    for (const auto* family : {&found->ipv4, &found->ipv6})
      for (const auto& c : *family)
        if (*Cidr::Parse(c.ToString(), c.family()) != c) __builtin_trap();
  return 0;
}
