#include "policy/address_cache.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "policy/policy.h"

namespace swarmwall::policy {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/address_cache_test.XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { fs::remove_all(path_); }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ + "/" + name) << text;
  }
  const std::string& path() const { return path_; }
  size_t CacheFiles() const {
    if (!fs::exists(path_ + "/cache")) return 0;
    return static_cast<size_t>(std::distance(fs::directory_iterator(path_ + "/cache"), fs::directory_iterator()));
  }

 private:
  std::string path_;
};

const char* kPolicy = R"(version: 1
interfaces: { public: eth0 }
sets: { office: { file: office.txt, entries: [198.51.100.7] } }
containers: { allow: [{ from: office }] }
)";

LoadResult LoadWithCache(const TempDir& dir) {
  return LoadPolicyFile(dir.path() + "/p.yaml", {.address_cache_dir = dir.path() + "/cache"});
}

TEST(AddressCache, ASecondLoadGivesTheSamePolicyFromTheCache) {
  TempDir dir;
  dir.Write("p.yaml", kPolicy);
  dir.Write("office.txt", "# office\n192.0.2.9\n192.0.2.0/28\n2001:db8::/48\n203.0.113.1\n");
  auto plain = LoadPolicyFile(dir.path() + "/p.yaml");
  ASSERT_TRUE(plain.ok());
  auto first = LoadWithCache(dir);
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(dir.CacheFiles(), 1u);
  auto second = LoadWithCache(dir);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*second.policy, *plain.policy);
  EXPECT_EQ(*first.policy, *plain.policy);
  EXPECT_EQ(second.policy->FindSet("office")->ipv4.size(), 4u);   // with the inline entry
  // The second load did read the cache: an entry changed in it (as only a
  // broken cache could) comes back.
  for (const auto& e : fs::directory_iterator(dir.path() + "/cache")) {
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t at = bytes.find(std::string("\xc0\x00\x02\x09", 4));
    ASSERT_NE(at, std::string::npos);
    f.seekp(static_cast<std::streamoff>(at + 3));
    f.put('\x08');
  }
  auto third = LoadWithCache(dir);
  ASSERT_TRUE(third.ok());
  EXPECT_EQ(third.policy->FindSet("office")->ipv4[1].ToString(), "192.0.2.8/32");
}

TEST(AddressCache, ChangedBytesAreParsedAgain) {
  TempDir dir;
  dir.Write("p.yaml", kPolicy);
  dir.Write("office.txt", "192.0.2.9\n");
  ASSERT_TRUE(LoadWithCache(dir).ok());
  dir.Write("office.txt", "192.0.2.10\n");
  auto r = LoadWithCache(dir);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.policy->FindSet("office")->ipv4[0].ToString(), "192.0.2.10/32");
  EXPECT_EQ(dir.CacheFiles(), 1u) << "one cache file per address file";
  dir.Write("office.txt", "192.0.2.300\n");
  auto bad = LoadWithCache(dir);
  EXPECT_FALSE(bad.ok()) << "an error is an error, cache or not";
}

TEST(AddressCache, AFileWithAWarningIsNotKeptSoTheWarningIsSaidEachTime) {
  TempDir dir;
  dir.Write("p.yaml", kPolicy);
  dir.Write("office.txt", "192.0.2.9/24\n");
  for (int i = 0; i < 2; ++i) {
    auto r = LoadWithCache(dir);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r.warnings.size(), 1u) << "load " << i;
    EXPECT_EQ(r.warnings[0].where.line, 1);
  }
  EXPECT_EQ(dir.CacheFiles(), 0u);
}

TEST(AddressCache, ABrokenCacheFileIsAMiss) {
  TempDir dir;
  dir.Write("p.yaml", kPolicy);
  dir.Write("office.txt", "192.0.2.9\n192.0.2.10\n");
  ASSERT_TRUE(LoadWithCache(dir).ok());
  for (const auto& e : fs::directory_iterator(dir.path() + "/cache")) {
    auto size = fs::file_size(e.path());
    fs::resize_file(e.path(), size - 3);   // cut short
  }
  auto r = LoadWithCache(dir);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.policy->FindSet("office")->ipv4.size(), 3u);
  // Another path with the same bytes is not the same file.
  AddressCache cache(dir.path() + "/cache");
  EXPECT_FALSE(cache.Find(dir.path() + "/other.txt", "192.0.2.9\n192.0.2.10\n"));
  EXPECT_TRUE(cache.Find(dir.path() + "/office.txt", "192.0.2.9\n192.0.2.10\n"));
}

// Issue 12: nothing read back from disk is trusted before it is validated.
// An entry that no parse could give (a host bit set under its prefix, an
// address of the other family) makes the whole file a miss.
TEST(AddressCache, AnEntryNoParseCouldGiveIsAMiss) {
  TempDir dir;
  dir.Write("p.yaml", kPolicy);
  std::string bytes = "192.0.2.0/28\n";
  dir.Write("office.txt", bytes);
  ASSERT_TRUE(LoadWithCache(dir).ok());
  AddressCache cache(dir.path() + "/cache");
  ASSERT_TRUE(cache.Find(dir.path() + "/office.txt", bytes));
  for (const auto& e : fs::directory_iterator(dir.path() + "/cache")) {
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    size_t at = all.find(std::string("\xc0\x00\x02\x00", 4));
    ASSERT_NE(at, std::string::npos);
    f.seekp(static_cast<std::streamoff>(at + 3));
    f.put('\x05');   // 192.0.2.5/28: not masked
  }
  EXPECT_FALSE(cache.Find(dir.path() + "/office.txt", bytes));
  auto r = LoadWithCache(dir);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.policy->FindSet("office")->ipv4[0].ToString(), "192.0.2.0/28");
  // A symbolic link in the cache's place is never followed.
  for (const auto& e : fs::directory_iterator(dir.path() + "/cache")) {
    fs::path target = dir.path() + "/elsewhere";
    fs::copy_file(e.path(), target);
    fs::remove(e.path());
    fs::create_symlink(target, e.path());
  }
  EXPECT_FALSE(cache.Find(dir.path() + "/office.txt", bytes));
}

TEST(AddressCache, AtMostKMaxFilesAreKept) {
  TempDir dir;
  AddressCache cache(dir.path() + "/cache");
  AddressCache::Parsed parsed;
  parsed.ipv4.push_back(*netfilter::Cidr::Parse("192.0.2.1"));
  for (size_t i = 0; i < AddressCache::kMaxFiles + 10; ++i)
    cache.Store(dir.path() + "/dated-" + std::to_string(i) + ".txt", "192.0.2.1\n", parsed);
  EXPECT_EQ(dir.CacheFiles(), AddressCache::kMaxFiles);
  EXPECT_TRUE(cache.Find(dir.path() + "/dated-" + std::to_string(AddressCache::kMaxFiles + 9) + ".txt",
                         "192.0.2.1\n"))
      << "the newest stays";
}

}  // namespace
}  // namespace swarmwall::policy
