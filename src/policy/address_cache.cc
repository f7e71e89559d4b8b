#include "policy/address_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <type_traits>

#include <fmt/format.h>

namespace swarmwall::policy {
namespace {

using netfilter::Cidr;
static_assert(std::is_trivially_copyable_v<Cidr>, "entries are stored as bytes");

constexpr char kMagic[8] = {'S', 'W', 'A', 'D', 'D', 'R', '1', '\n'};

// Everything a stored file must match besides the bytes: this binary and
// the in-memory layout of an entry.
std::string Identity() {
  struct stat st{};
  if (stat("/proc/self/exe", &st) != 0) return "";
  return fmt::format("{}:{}:{}:{}:{}", st.st_dev, st.st_ino, st.st_size,
                     st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec, sizeof(Cidr));
}

// Two 64-bit hashes (libstdc++'s murmur, different seeds) and the length.
struct Key {
  uint64_t a = 0, b = 0, size = 0;
  bool operator==(const Key&) const = default;
};
Key KeyOf(std::string_view bytes) {
  return {std::_Hash_bytes(bytes.data(), bytes.size(), 0x736f6d6570736575ull),
          std::_Hash_bytes(bytes.data(), bytes.size(), 0x646f72616e646f6dull), bytes.size()};
}

struct Header {
  char magic[8];
  Key key;
  uint64_t identity_size, lines, ipv4, ipv6;
};

bool ReadExactly(int fd, void* out, size_t n) {
  auto* p = static_cast<char*>(out);
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool WriteExactly(int fd, const void* data, size_t n) {
  const auto* p = static_cast<const char*>(data);
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

// Entries read back as bytes are trusted only when each is what a parse
// gives: its family, a contiguous prefix in range, the address masked.
bool Valid(const std::vector<Cidr>& entries, netfilter::Family family) {
  int bits = family == netfilter::Family::kIPv4 ? 32 : 128;
  return std::all_of(entries.begin(), entries.end(), [&](const Cidr& c) {
    int prefix = c.PrefixLength();
    bool tail_zero = family == netfilter::Family::kIPv6 ||
                     std::all_of(c.address.bytes.begin() + 4, c.address.bytes.end(), [](uint8_t b) { return b == 0; });
    return c.family() == family && tail_zero && prefix >= 0 && prefix <= bits &&
           Cidr::Prefix(c.address, prefix) == c;
  });
}

}  // namespace

std::string AddressCache::FileFor(const std::string& path) const {
  return fmt::format("{}/address-{:016x}.bin", dir_, std::hash<std::string>{}(path));
}

std::optional<AddressCache::Parsed> AddressCache::Find(const std::string& path,
                                                       std::string_view bytes) const {
  if (dir_.empty()) return std::nullopt;
  int fd = open(FileFor(path).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) return std::nullopt;
  struct stat st{};
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return std::nullopt;
  }
  std::optional<Parsed> out;
  Header h{};
  std::string identity = Identity();
  if (ReadExactly(fd, &h, sizeof h) && std::memcmp(h.magic, kMagic, sizeof kMagic) == 0 &&
      h.key == KeyOf(bytes) && h.identity_size == identity.size() && h.ipv4 + h.ipv6 <= bytes.size()) {
    std::string stored(identity.size(), '\0');
    std::string stored_path(path.size() + 1, '\0');
    Parsed p;
    p.lines = h.lines;
    p.ipv4.resize(h.ipv4);
    p.ipv6.resize(h.ipv6);
    if (ReadExactly(fd, stored.data(), stored.size()) && stored == identity &&
        ReadExactly(fd, stored_path.data(), stored_path.size()) && stored_path == path + '\n' &&
        ReadExactly(fd, p.ipv4.data(), p.ipv4.size() * sizeof(Cidr)) &&
        ReadExactly(fd, p.ipv6.data(), p.ipv6.size() * sizeof(Cidr))) {
      char extra;
      if (read(fd, &extra, 1) == 0 && Valid(p.ipv4, netfilter::Family::kIPv4) &&
          Valid(p.ipv6, netfilter::Family::kIPv6))
        out = std::move(p);
    }
  }
  close(fd);
  return out;
}

void AddressCache::Store(const std::string& path, std::string_view bytes, const Parsed& parsed) const {
  if (dir_.empty()) return;
  for (const auto* family : {&parsed.ipv4, &parsed.ipv6})
    for (const auto& c : *family)
      if (c.PrefixLength() < 0) return;   // a mask's id means nothing in another process
  std::string identity = Identity();
  if (identity.empty()) return;
  mkdir(dir_.c_str(), 0700);
  std::string file = FileFor(path);
  std::string tmp = file + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return;
  Header h{};
  std::memcpy(h.magic, kMagic, sizeof kMagic);
  h.key = KeyOf(bytes);
  h.identity_size = identity.size();
  h.lines = parsed.lines;
  h.ipv4 = parsed.ipv4.size();
  h.ipv6 = parsed.ipv6.size();
  std::string path_line = path + '\n';
  // No fsync: a cache lost in a crash is parsed again.
  bool ok = WriteExactly(fd, &h, sizeof h) && WriteExactly(fd, identity.data(), identity.size()) &&
            WriteExactly(fd, path_line.data(), path_line.size()) &&
            WriteExactly(fd, parsed.ipv4.data(), parsed.ipv4.size() * sizeof(Cidr)) &&
            WriteExactly(fd, parsed.ipv6.data(), parsed.ipv6.size() * sizeof(Cidr));
  close(fd);
  if (!ok || std::rename(tmp.c_str(), file.c_str()) != 0) {
    std::remove(tmp.c_str());
    return;
  }
  Prune(file);
}

void AddressCache::Prune(const std::string& keep) const {
  // Address files that come and go (dated names, say) would otherwise leave
  // a cache file each, forever: the least recently written go.
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::pair<fs::file_time_type, fs::path>> files;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const auto name = e.path().filename().string();
    if (name.starts_with("address-") && name.ends_with(".bin") && e.path() != keep)
      files.emplace_back(e.last_write_time(ec), e.path());
  }
  if (files.size() < kMaxFiles) return;
  std::sort(files.begin(), files.end());
  for (size_t i = 0; i + kMaxFiles <= files.size(); ++i) fs::remove(files[i].second, ec);
}

}  // namespace swarmwall::policy
