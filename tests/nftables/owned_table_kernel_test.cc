// Issue 15: swarmwall's own nftables table as the kernel holds it. For
// every example policy and node, for random compiled policies and for sets
// of 10,000 random CIDRs, the table's libnftables JSON commands
// (AddTableCommands) and its nft text (NftText) are loaded into a
// throwaway network namespace and listed back; the listing must read
// (OwnedTableFromListing) as exactly the table TableOf made, since the
// firewall compares the two with == and any difference would be drift
// forever. Needs root (network namespaces).
//
// SWARMWALL_NFT_CAPTURE=DIR writes a few listings there (the unit tests'
// data in tests/nftables/).
#include <gtest/gtest.h>
#include <nftables/libnftables.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "backend/iptables/iptables_firewall.h"
#include "backend/nftables/commands.h"
#include "backend/nftables/listing.h"
#include "backend/nftables/nftables_firewall.h"
#include "backend/nftables/nft_text.h"
#include "backend/nftables/table_of.h"
#include "backend/nftables/test_examples.h"
#include "base/json_text.h"
#include "base/process.h"
#include "host/nft_generation.h"
#include "host/nftables.h"
#include "random_policy.h"

namespace swarmwall::backend::nft {
namespace {

namespace fs = std::filesystem;
using netfilter::Family;

class Kernel : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
    dir_ = fs::temp_directory_path() / fmt::format("swarmwall-nft-{}", getpid());
    fs::create_directories(dir_);
  }
  void TearDown() override {
    if (!dir_.empty()) fs::remove_all(dir_);
  }

  // TEXT (nft text or a JSON batch) loaded into a new namespace, listed.
  nlohmann::json Load(const std::string& text, const std::string& what) {
    fs::path path = dir_ / "input";
    std::ofstream(path, std::ios::binary) << text;
    std::string error;
    auto json = host::NftTextToJson(path.string(), error);
    EXPECT_TRUE(json) << what << ": " << error;
    if (!json) return nlohmann::json::object();
    return nlohmann::json::parse(*json);
  }

  // Each of TEXTS loaded in turn (one transaction each) into one new
  // namespace, then listed: how the firewall changes a table it made
  // before. host::NftTextToJson loads one file; this test forks its own.
  nlohmann::json LoadInTurn(const std::vector<std::string>& texts, const std::string& what) {
    std::vector<std::string> paths;
    for (size_t i = 0; i < texts.size(); ++i) {
      paths.push_back((dir_ / fmt::format("step{}", i)).string());
      std::ofstream(paths.back(), std::ios::binary) << texts[i];
    }
    fs::path out = dir_ / "listing";
    pid_t pid = fork();
    if (pid == 0) {
      int code = 1;
      if (unshare(CLONE_NEWNET) == 0) {
        nft_ctx* ctx = nft_ctx_new(NFT_CTX_DEFAULT);
        nft_ctx_output_set_flags(ctx, NFT_CTX_OUTPUT_JSON);
        nft_ctx_buffer_output(ctx);
        code = 0;
        for (size_t i = 0; i < paths.size() && code == 0; ++i)
          if (nft_run_cmd_from_filename(ctx, paths[i].c_str()) != 0) code = 10 + static_cast<int>(i);
        if (code == 0 && nft_run_cmd_from_buffer(ctx, "list ruleset") == 0)
          std::ofstream(out, std::ios::binary) << nft_ctx_get_output_buffer(ctx);
        nft_ctx_free(ctx);
      }
      _exit(code);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0)
        << what << ": step " << (WEXITSTATUS(status) - 10) << " did not load";
    if (!fs::exists(out)) return nlohmann::json::object();
    return nlohmann::json::parse(testing::ReadText(out));
  }

  // The listing's table of FAMILY equals WANT (nullopt: absent).
  void ExpectTable(const nlohmann::json& listing, Family family, const std::optional<OwnedTable>& want,
                   const std::string& what) {
    std::string error;
    auto got = OwnedTableFromListing(listing, family, error);
    ASSERT_EQ(error, "") << what;
    ASSERT_EQ(got.has_value(), want.has_value()) << what;
    if (!want) return;
    EXPECT_TRUE(*got == *want) << what << ": listed back\n" << Describe(*got) << "\nwanted\n" << Describe(*want);
  }

  static std::string Describe(const OwnedTable& t) {
    std::string error;
    auto text = TableText(t, error);
    return text ? *text : JsonText(Batch(AddTableCommands(t)), 1);
  }

  static std::optional<OwnedTable> TableOrNone(const compile::FamilyState& fs) {
    if (fs.empty()) return std::nullopt;
    std::string error;
    auto t = TableOf(fs, error);
    EXPECT_TRUE(t) << error;
    return t;
  }

  // Both ways into the kernel, and both back to the tables TableOf made.
  void Check(const compile::DesiredState& state, const std::string& what, const std::string& capture = "") {
    auto v4 = TableOrNone(state.ipv4), v6 = TableOrNone(state.ipv6);
    std::vector<nlohmann::json> commands;
    for (const auto* t : {&v4, &v6})
      if (*t)
        for (auto& c : AddTableCommands(**t)) commands.push_back(std::move(c));
    auto listing = Load(JsonText(Batch(std::move(commands))), what + " (JSON)");
    ExpectTable(listing, Family::kIPv4, v4, what + " (JSON, ip)");
    ExpectTable(listing, Family::kIPv6, v6, what + " (JSON, ip6)");
    if (const char* dir = std::getenv("SWARMWALL_NFT_CAPTURE"); dir && !capture.empty())
      std::ofstream(fs::path(dir) / capture, std::ios::binary) << JsonText(listing, 1) << "\n";
    std::string error;
    auto text = NftText(state, error);
    ASSERT_TRUE(text) << what << ": " << error;
    // Loaded twice in one transaction: the second replaces the first.
    listing = Load(*text + *text, what + " (text)");
    ExpectTable(listing, Family::kIPv4, v4, what + " (text, ip)");
    ExpectTable(listing, Family::kIPv6, v6, what + " (text, ip6)");
  }

  fs::path dir_;
};

TEST_F(Kernel, EveryExampleAndNode) {
  int n = 0;
  std::string previous;
  for (const auto& ex : nft::testing::Examples()) {
    std::string what = ex.name + " " + ex.node + (ex.forward ? " (FORWARD)" : "");
    bool capture = !ex.forward && ((ex.name == "swarm-cluster" && ex.node == "manager-1") ||
                                   (ex.name == "dual-stack" && ex.node == "web-1"));
    Check(ex.state, what, capture ? ex.name + "-" + ex.node + ".json" : "");
    // This node's text over another node's tables: replaced whole.
    std::string error;
    auto text = NftText(ex.state, error);
    ASSERT_TRUE(text) << error;
    if (!previous.empty()) {
      auto listing = Load(previous + *text, what + " (over another node's text)");
      ExpectTable(listing, Family::kIPv4, TableOrNone(ex.state.ipv4), what + " over another");
      ExpectTable(listing, Family::kIPv6, TableOrNone(ex.state.ipv6), what + " over another");
    }
    previous = *text;
    ++n;
  }
  EXPECT_GE(n, 20);
}

TEST_F(Kernel, RandomPolicies) {
  int n = 0;
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    std::string yaml = swarmwall::testing::RandomPolicy(seed, seed % 2 == 0).Yaml();
    auto loaded = policy::LoadPolicyText(yaml, "random.yaml", ".");
    ASSERT_TRUE(loaded.ok()) << yaml;
    for (const auto& node : loaded.policy->nodes) {
      compile::NodeFacts facts;
      facts.forward_ipv4 = facts.forward_ipv6 = seed % 3 == 0;
      Check(compile::Compile(*loaded.policy, node, facts), fmt::format("seed {} node {}", seed, node.name));
      ++n;
    }
  }
  EXPECT_GE(n, 60);
}

// 10,000 random CIDRs per family, overlapping and adjacent: merged into
// intervals, loaded, listed back as the same intervals; then refilled in
// one transaction (flush and add) and some elements deleted, as the
// firewall changes a set's contents.
TEST_F(Kernel, BigSets) {
  std::mt19937 rng(15);
  compile::DesiredState state;
  state.node = "big";
  state.policy_file = "big.yaml";
  auto random_cidrs = [&](Family f) {
    std::vector<netfilter::Cidr> out;
    for (int i = 0; i < 10000; ++i) {
      netfilter::IpAddress a{};
      a.family = f;
      // 10.0.0.0/10 and 2001:db8::/106: dense enough that entries overlap
      // and touch, sparse enough for thousands of intervals.
      if (f == Family::kIPv4) {
        a.bytes[0] = 10;
        a.bytes[1] = static_cast<uint8_t>(rng() % 64);
        a.bytes[2] = static_cast<uint8_t>(rng());
        a.bytes[3] = static_cast<uint8_t>(rng());
      } else {
        a.bytes[0] = 0x20, a.bytes[1] = 0x01, a.bytes[2] = 0x0d, a.bytes[3] = 0xb8;
        a.bytes[13] = static_cast<uint8_t>(rng() % 64);
        a.bytes[14] = static_cast<uint8_t>(rng());
        a.bytes[15] = static_cast<uint8_t>(rng());
      }
      int bits = a.Bits();
      out.push_back(netfilter::Cidr::Prefix(a, bits - static_cast<int>(rng() % 9)));
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  };
  for (Family f : {Family::kIPv4, Family::kIPv6}) {
    compile::FamilyState& fs = f == Family::kIPv4 ? state.ipv4 : state.ipv6;
    fs.family = f;
    std::string set = f == Family::kIPv4 ? "swarmwall-big-v4" : "swarmwall-big-v6";
    fs.chains.push_back({"filter", "SWARMWALL-INPUT", {"-m set --match-set " + set + " src -j DROP"}});
    fs.hooks.push_back({"filter", "INPUT", "SWARMWALL-INPUT", false});
    compile::IpSet s;
    s.name = set;
    s.policy_name = "big";
    s.family = f;
    s.entries = std::make_shared<const std::vector<netfilter::Cidr>>(random_cidrs(f));
    fs.sets.push_back(s);
  }
  Check(state, "big sets");
  for (Family f : {Family::kIPv4, Family::kIPv6}) {
    std::string error;
    auto t = TableOf(state.Of(f), error);
    ASSERT_TRUE(t) << error;
    Set& set = t->sets[0];
    EXPECT_GT(set.elements.size(), 1000u);
    std::string made = JsonText(Batch(AddTableCommands(*t)));
    // New contents in one transaction: flush, add. (Not in the transaction
    // that made the set: the kernel then refuses an element overlapping
    // one added and flushed in it, "File exists".)
    auto fresh = netfilter::IntervalsOf(random_cidrs(f));
    std::string refill = JsonText(Batch({FlushSetCommand(f, set.name), AddElementsCommand(f, set.name, *fresh)}));
    // Then a few elements deleted, as they were added. (A few: libnftables
    // 1.0.6 takes 47 s to delete 4,000 elements of an 8,600-element
    // interval set one by one, 0.3 s to flush and refill it.)
    std::vector<netfilter::AddressInterval> gone, kept;
    for (size_t i = 0; i < fresh->size(); ++i) ((i % 400 == 7) ? gone : kept).push_back((*fresh)[i]);
    std::string del = JsonText(Batch({DeleteElementsCommand(f, set.name, gone)}));
    set.elements = *fresh;
    ExpectTable(LoadInTurn({made, refill}, "big set refilled"), f, *t, "big set refilled");
    set.elements = kept;
    ExpectTable(LoadInTurn({made, refill, del}, "big set thinned"), f, *t, "big set thinned");
  }
}

// BODY run in a child in a new network namespace: "" when it passed, else
// what failed.
std::string InNewNetns(const std::function<std::string()>& body) {
  int fds[2];
  if (pipe(fds) != 0) return "pipe";
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    std::string r = unshare(CLONE_NEWNET) == 0 ? body() : "unshare";
    if (r.empty()) r = "ok";
    (void)!write(fds[1], r.data(), r.size());
    _exit(0);
  }
  close(fds[1]);
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = read(fds[0], buf, sizeof buf)) > 0;) out.append(buf, static_cast<size_t>(n));
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  return out == "ok" ? "" : out.empty() ? "the child died" : out;
}

// A vouched digest holds exactly as long as nothing commits to nf_tables:
// the no-op apply trusts it instead of reading the tables (~2 MB of cache
// for 100,000 set entries), so any commit of anyone must end it.
TEST_F(Kernel, AVouchedDigestEndsWithAnyCommit) {
  std::string state_dir = (dir_ / "state").string();
  fs::create_directories(state_dir);
  std::string failed = InNewNetns([&]() -> std::string {
    compile::DesiredState want;
    want.node = "n1";
    want.ipv4.family = Family::kIPv4;
    want.ipv6.family = Family::kIPv6;
    want.ipv4.chains.push_back({"filter", "SWARMWALL-INPUT", {"-p tcp --dport 22 -j ACCEPT", "-j DROP"}});
    want.ipv4.hooks.push_back({"filter", "INPUT", "SWARMWALL-INPUT", false});
    NftablesFirewall fw(state_dir);
    IptablesFirewall other(state_dir);
    if (fw.MayHoldOwned()) return "an empty namespace may hold our nftables tables";
    if (other.MayHoldOwned()) return "an empty namespace may hold our iptables rules";
    std::string error;
    auto view = fw.Read(true, true, error);
    if (!view) return "read: " + error;
    auto wrote = fw.Write(*view, want, {}, false);
    if (!wrote.ok) return "write: " + wrote.error;
    if (!wrote.generation_after) return "a commit nobody raced left no generation";
    if (!fw.MayHoldOwned()) return "our table is there, MayHoldOwned said no";
    if (fw.VouchedDigest()) return "vouched before anything was vouched for";
    fw.Vouch(*wrote.generation_after, "0123abcd");
    if (fw.VouchedDigest() != std::optional<std::string>("0123abcd")) return "the vouched digest did not come back";
    // A read at the same generation vouches the same way.
    auto again = fw.Read(true, true, error);
    if (!again || again->generation != wrote.generation_after) return "a read at the same generation lost it";
    // Another owner's commit, in a table of its own.
    if (!host::RunNftJson(R"({"nftables":[{"add":{"table":{"family":"inet","name":"bump"}}}]})", error))
      return "bump: " + error;
    if (fw.VouchedDigest()) return "still vouched after another owner's commit";
    fw.Vouch(*host::NftGeneration(), "0123abcd");
    // iptables-nft's chains are another firewall's, and ours to retire.
    if (other.MayHoldOwned()) return "iptables: nothing of ours yet";
    if (RunProcess({"iptables-nft", "-N", "SWARMWALL-INPUT"}, {}).exit_code != 0) return "iptables-nft -N";
    if (fw.VouchedDigest()) return "still vouched after iptables-nft's commit";
    if (!other.MayHoldOwned()) return "iptables-nft holds SWARMWALL-INPUT, MayHoldOwned said no";
    // A vouch file that is not ours to trust is set aside, never used.
    auto gen = host::NftGeneration();
    fw.Vouch(*gen, "not hex!");
    if (fw.VouchedDigest()) return "a malformed digest was trusted";
    return "";
  });
  EXPECT_EQ(failed, "");
}

}  // namespace
}  // namespace swarmwall::backend::nft
