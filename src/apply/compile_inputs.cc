#include "apply/compile_inputs.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <vector>

#include <fmt/format.h>

#include "apply/workflow_steps.h"

namespace swarmwall::apply {
namespace {

// Two 64-bit hashes of the same bytes with different seeds (libstdc++'s
// murmur hash, ~0.5 instructions a byte), each fed the length as well.
struct Hasher {
  uint64_t a = 0x736f6d6570736575ull, b = 0x646f72616e646f6dull;
  void Add(std::string_view s) {
    a = std::_Hash_bytes(s.data(), s.size(), a) + s.size();
    b = std::_Hash_bytes(s.data(), s.size(), b ^ 0x5bd1e995ull) ^ (s.size() << 1);
  }
  std::string Hex() const { return fmt::format("{:016x}{:016x}", a, b); }
};

// The file's bytes into H, 256 KiB at a time through one buffer: a 1.5 MB
// address file read whole into a new string spent most of a no-op's time
// zeroing and faulting in fresh pages.
bool AddFile(Hasher& h, const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  static thread_local std::vector<char> buffer(256 * 1024);
  uint64_t total = 0;
  size_t have = 0;   // each chunk full but the last: the same bytes, the same hash
  for (;;) {
    ssize_t n = read(fd, buffer.data() + have, buffer.size() - have);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      close(fd);
      return false;
    }
    have += static_cast<size_t>(n);
    total += static_cast<uint64_t>(n);
    if (have == buffer.size() || (n == 0 && have > 0)) {
      h.Add(std::string_view(buffer.data(), have));
      have = 0;
    }
    if (n == 0) break;
  }
  close(fd);
  h.Add(fmt::format("{} bytes", total));
  return true;
}

// This binary, so that a new swarmwall compiles again.
std::string SelfIdentity() {
  struct stat st{};
  if (stat("/proc/self/exe", &st) != 0) return "?";
  return fmt::format("{}:{}:{}:{}", st.st_dev, st.st_ino, st.st_size, st.st_mtim.tv_sec * 1000000000ll + st.st_mtim.tv_nsec);
}

}  // namespace

std::vector<std::string> PolicyFiles(const policy::Policy& policy) {
  auto absolute = [](const std::string& f) {
    std::error_code ec;
    return std::filesystem::absolute(f, ec).lexically_normal().string();
  };
  std::vector<std::string> files{absolute(policy.file)};
  for (const auto& s : policy.sets)
    if (!s.file.empty()) files.push_back(absolute(s.file));
  return files;
}


std::optional<std::string> InputsFingerprint(const std::vector<std::string>& files,
                                             const std::string& node_arg,
                                             const compile::NodeFacts& facts) {
  Hasher h;
  h.Add(SelfIdentity());
  h.Add("node=" + node_arg);
  for (const auto& f : files) {
    h.Add(f);
    if (!AddFile(h, f)) return std::nullopt;
  }
  auto addresses = facts.local_addresses;
  std::sort(addresses.begin(), addresses.end());
  std::string text;
  for (const auto& a : addresses) text += a.ToString() + " ";
  text += fmt::format("|{}{}{}{}{}|", facts.docker_user_ipv4, facts.docker_user_ipv6, facts.forward_ipv4,
                      facts.forward_ipv6, facts.docker_running);
  for (const auto& b : facts.docker_bridges) text += b + " ";
  h.Add(text);
  return h.Hex();
}

namespace {

uint64_t Mix(uint64_t x) {   // splitmix64's finalizer
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

uint64_t EntryHash(const netfilter::Cidr& c) {
  uint64_t lo, hi;
  std::memcpy(&lo, c.address.bytes.data(), 8);
  std::memcpy(&hi, c.address.bytes.data() + 8, 8);
  int prefix = c.PrefixLength();
  uint64_t tail = prefix >= 0 ? static_cast<uint64_t>(prefix)
                              : std::hash<std::string>{}(c.ToString()) | (1ull << 63);
  return Mix(lo ^ Mix(hi ^ Mix(tail ^ static_cast<uint64_t>(c.family()) << 32)));
}

}  // namespace

std::string OwnedFingerprint(const compile::DesiredState& state) {
  Hasher h;
  h.Add(state.node);
  for (const compile::FamilyState* fs : {&state.ipv4, &state.ipv6}) {
    h.Add(fs->family == netfilter::Family::kIPv4 ? "4" : "6");
    std::vector<const compile::OwnedChain*> chains;
    for (const auto& c : fs->chains) chains.push_back(&c);
    std::sort(chains.begin(), chains.end(), [](auto* a, auto* b) { return a->name < b->name; });
    for (const auto* c : chains) {
      h.Add(c->table + "/" + c->name);
      for (const auto& r : c->rules) h.Add(r);
    }
    std::vector<std::string> hooks;
    for (const auto& k : fs->hooks) hooks.push_back(k.table + "/" + k.chain + "/" + k.target);
    std::sort(hooks.begin(), hooks.end());
    for (const auto& k : hooks) h.Add("hook " + k);
    std::vector<const compile::IpSet*> sets;
    for (const auto& s : fs->sets) sets.push_back(&s);
    std::sort(sets.begin(), sets.end(), [](auto* a, auto* b) { return a->name < b->name; });
    for (const auto* s : sets) {
      uint64_t sum = 0, x = 0;
      size_t n = s->entries ? s->entries->size() : 0;
      if (s->entries)
        for (const auto& e : *s->entries) {
          uint64_t v = EntryHash(e);
          sum += v;
          x ^= Mix(v + 0x9e3779b97f4a7c15ull);
        }
      h.Add(fmt::format("set {} {} {:016x}{:016x}", s->name, n, sum, x));
    }
  }
  return h.Hex();
}

bool KernelMatchesRecord(const backend::Firewall& firewall, const backend::FirewallView& view,
                         const AppliedRecord& record) {
  compile::DesiredState actual = firewall.Owned(view);
  actual.node = record.node;
  if (actual.ipv4.chains.empty() || NormalizedDigest(actual) != record.digest) return false;
  return firewall.HooksInPlace(view);
}

bool InputsUnchanged(const backend::Firewall& firewall, const backend::FirewallView& view,
                     const AppliedRecord& record,
                     const std::string& policy_file, const std::string& node_arg) {
  if (record.inputs.empty() || record.files.empty() || record.variant != view.variant)
    return false;
  // The same policy file (by path, as given), then the same bytes.
  std::error_code ec;
  if (std::filesystem::absolute(policy_file, ec).lexically_normal().string() != record.files[0])
    return false;
  auto now = InputsFingerprint(record.files, node_arg, FactsFor(firewall, view));
  return now && *now == record.inputs;
}

}  // namespace swarmwall::apply
