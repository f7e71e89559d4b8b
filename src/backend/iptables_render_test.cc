#include "backend/iptables_render.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backend/hand_render.h"
#include "backend/persistent_render.h"
#include "compile/compiler.h"

namespace swarmwall::backend {
namespace {

namespace fs = std::filesystem;

std::string Source() { return SWARMWALL_SOURCE_DIR; }

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Compares TEXT with the golden file; SWARMWALL_UPDATE_GOLDEN=1 rewrites it.
void Golden(const fs::path& rel, const std::string& text) {
  fs::path path = fs::path(Source()) / "tests/golden" / rel;
  if (getenv("SWARMWALL_UPDATE_GOLDEN")) {
    fs::create_directories(path.parent_path());
    std::ofstream(path, std::ios::binary) << text;
    return;
  }
  ASSERT_TRUE(fs::exists(path)) << path << " missing: run with SWARMWALL_UPDATE_GOLDEN=1";
  EXPECT_EQ(Read(path), text) << "golden file " << path
                              << " differs (SWARMWALL_UPDATE_GOLDEN=1 to accept)";
}

TEST(Golden, EveryExampleAndNode) {
  int n = 0;
  for (const auto& entry : fs::directory_iterator(Source() + "/examples")) {
    if (entry.path().extension() != ".yaml") continue;
    // Named "examples/NAME.yaml" whatever the checkout's path: the name is
    // in the rendered headers.
    auto loaded = policy::LoadPolicyText(Read(entry.path()), "examples/" + entry.path().filename().string(),
                                         Source() + "/examples");
    ASSERT_TRUE(loaded.ok()) << entry.path();
    std::string example = entry.path().stem().string();
    for (const auto& node : loaded.policy->nodes) {
      auto state = compile::Compile(*loaded.policy, node, compile::NodeFacts{});
      fs::path dir = fs::path("iptables") / example;
      Golden(dir / (node.name + ".ipset"),
             RenderIpsetRestore(state.ipv4) + RenderIpsetRestore(state.ipv6));
      Golden(dir / (node.name + ".v4.rules"), RenderHandRestore(state, state.ipv4));
      if (!state.ipv6.empty())
        Golden(dir / (node.name + ".v6.rules"), RenderHandRestore(state, state.ipv6));
      Golden(dir / (node.name + ".hooks.sh"), RenderHookScript(state));
      for (const auto& [name, text] : RenderPersistent(state))
        Golden(fs::path("persistent") / example / node.name / name, text);
      ++n;
    }
  }
  EXPECT_GE(n, 5);
}

compile::FamilyState Small() {
  compile::FamilyState fs;
  fs.chains.push_back({"filter", "SWARMWALL-INPUT", {"-i lo -j ACCEPT"}});
  fs.hooks.push_back({"filter", "INPUT", "SWARMWALL-INPUT", false});
  fs.hooks.push_back({"filter", "DOCKER-USER", "SWARMWALL-USER", true});
  fs.chains.push_back({"filter", "SWARMWALL-USER", {}});
  return fs;
}

TEST(RenderRestore, ExistingJumpsAreDeletedOnceEach) {
  KernelState now = FreshDockerHost();
  now.existing_chains.push_back("SWARMWALL-INPUT");
  now.jumps[{"INPUT", "SWARMWALL-INPUT"}] = 2;
  std::string text = RenderRestore(Small(), now);
  size_t first = text.find("-D INPUT -j SWARMWALL-INPUT\n");
  ASSERT_NE(first, std::string::npos);
  EXPECT_NE(text.find("-D INPUT -j SWARMWALL-INPUT\n", first + 1), std::string::npos);
  EXPECT_EQ(text.find("-D DOCKER-USER"), std::string::npos) << "no jump there to delete";
  EXPECT_NE(text.find("-I DOCKER-USER 1 -j SWARMWALL-USER\n"), std::string::npos);
}

TEST(RenderRestore, NeverDeclaresAForeignChainThatExists) {
  // Declaring an existing chain under --noflush empties it.
  std::string text = RenderRestore(Small(), FreshDockerHost());
  EXPECT_EQ(text.find(":DOCKER-USER"), std::string::npos);
  EXPECT_EQ(text.find(":INPUT"), std::string::npos);
  KernelState before_docker;
  before_docker.existing_chains = {"INPUT", "FORWARD", "OUTPUT"};
  EXPECT_NE(RenderRestore(Small(), before_docker).find(":DOCKER-USER - [0:0]\n"), std::string::npos);
}

TEST(RenderRestore, HooksThatMovedAreDeleted) {
  // Hooked in FORWARD before Docker made DOCKER-USER; now wanted there only.
  KernelState now = FreshDockerHost();
  now.existing_chains.push_back("SWARMWALL-USER");
  now.jumps[{"FORWARD", "SWARMWALL-USER"}] = 1;
  std::string text = RenderRestore(Small(), now);
  EXPECT_NE(text.find("-D FORWARD -j SWARMWALL-USER\n"), std::string::npos) << text;
  EXPECT_NE(text.find("-I DOCKER-USER 1 -j SWARMWALL-USER\n"), std::string::npos);
}

TEST(RenderRestore, StaleOwnedChainsAreRemoved) {
  KernelState now = FreshDockerHost();
  now.existing_chains.push_back("SWARMWALL-EGRESS");
  now.jumps[{"SWARMWALL-USER", "SWARMWALL-EGRESS"}] = 1;
  std::string text = RenderRestore(Small(), now);
  EXPECT_NE(text.find(":SWARMWALL-EGRESS - [0:0]\n"), std::string::npos);
  EXPECT_NE(text.find("-X SWARMWALL-EGRESS\n"), std::string::npos);
  EXPECT_EQ(text.find("-D SWARMWALL-USER"), std::string::npos) << "refilled, not deleted from";
}

// Runs EDIT the way iptables-restore does: -D by spec, -I at a position.
std::vector<std::string> Play(std::vector<std::string> chain, const ChainEdit& edit) {
  for (const auto& d : edit.deletions) {
    auto it = std::find(chain.begin(), chain.end(), d);
    EXPECT_NE(it, chain.end()) << "-D of a rule that is not there: " << d;
    if (it != chain.end()) chain.erase(it);
  }
  for (const auto& [pos, r] : edit.insertions) {
    EXPECT_GE(pos, 1);
    EXPECT_LE(static_cast<size_t>(pos), chain.size() + 1) << "-I past the end";
    chain.insert(chain.begin() + std::min<size_t>(pos - 1, chain.size()), r);
  }
  return chain;
}

std::vector<std::string> Rules(int n, int from = 0) {
  std::vector<std::string> v;
  for (int i = from; i < from + n; ++i) v.push_back("-p tcp --dport " + std::to_string(i) + " -j ACCEPT");
  return v;
}

TEST(ChainEditScript, OneChangedRuleIsOneDeletionAndOneInsertion) {
  auto old_rules = Rules(1000), new_rules = old_rules;
  new_rules[500] = "-p tcp --dport 99999 -j ACCEPT";
  auto edit = ChainEditScript(old_rules, new_rules, MaxInPlaceEdits(new_rules.size()));
  ASSERT_TRUE(edit);
  ASSERT_EQ(edit->deletions, std::vector<std::string>{old_rules[500]});
  ASSERT_EQ(edit->insertions.size(), 1u);
  EXPECT_EQ(edit->insertions[0].first, 501);
  EXPECT_EQ(Play(old_rules, *edit), new_rules);
}

TEST(ChainEditScript, NothingChangedIsNoEdit) {
  auto edit = ChainEditScript(Rules(10), Rules(10), 0);
  ASSERT_TRUE(edit);
  EXPECT_EQ(edit->size(), 0u);
}

TEST(ChainEditScript, LargeEditsAndDuplicatesAreRefused) {
  EXPECT_FALSE(ChainEditScript(Rules(100), Rules(100, 50), MaxInPlaceEdits(100)));
  EXPECT_FALSE(ChainEditScript(Rules(10), Rules(40), MaxInPlaceEdits(40)));
  auto dup = Rules(10);
  dup.push_back(dup[3]);
  EXPECT_FALSE(ChainEditScript(dup, Rules(10), 5)) << "-D by spec would be ambiguous";
  EXPECT_TRUE(ChainEditScript(Rules(10), dup, 5)) << "duplicates in the new list are fine";
}

TEST(ChainEditScript, RandomEditsReplayToTheNewList) {
  std::srand(4);
  for (int round = 0; round < 2000; ++round) {
    int n = std::rand() % 40;
    auto old_rules = Rules(n);
    auto new_rules = old_rules;
    int changes = std::rand() % 6;
    int next = 1000;
    for (int k = 0; k < changes; ++k) {
      int op = std::rand() % 3;
      if (op == 0 || new_rules.empty()) {
        new_rules.insert(new_rules.begin() + std::rand() % (new_rules.size() + 1), Rules(1, next++)[0]);
      } else if (op == 1) {
        new_rules.erase(new_rules.begin() + std::rand() % new_rules.size());
      } else {  // a move: delete here, insert there
        size_t from = std::rand() % new_rules.size();
        std::string r = new_rules[from];
        new_rules.erase(new_rules.begin() + from);
        new_rules.insert(new_rules.begin() + std::rand() % (new_rules.size() + 1), r);
      }
    }
    auto edit = ChainEditScript(old_rules, new_rules, 1000);
    ASSERT_TRUE(edit);
    EXPECT_LE(edit->size(), 2u * changes) << "minimal: each change costs at most two lines";
    EXPECT_EQ(Play(old_rules, *edit), new_rules) << "round " << round;
  }
}

TEST(RenderRestore, ASmallChangeEditsTheChainInPlace) {
  compile::FamilyState fs = Small();
  fs.chains[1].rules = Rules(100);
  KernelState now = FreshDockerHost();
  now.existing_chains.push_back("SWARMWALL-INPUT");
  now.existing_chains.push_back("SWARMWALL-USER");
  now.jumps[{"INPUT", "SWARMWALL-INPUT"}] = 1;
  now.jumps[{"DOCKER-USER", "SWARMWALL-USER"}] = 1;
  std::string fresh = RenderRestore(fs, now);  // rules unknown: refilled
  EXPECT_NE(fresh.find(":SWARMWALL-USER - [0:0]\n"), std::string::npos);
  now.owned_rules["SWARMWALL-INPUT"] = fs.chains[0].rules;
  now.owned_rules["SWARMWALL-USER"] = Rules(100);
  now.owned_rules["SWARMWALL-USER"][7] = "-p udp --dport 7 -j ACCEPT";
  std::string text = RenderRestore(fs, now);
  EXPECT_EQ(text.find(":SWARMWALL-USER"), std::string::npos) << "declaring would flush it";
  EXPECT_EQ(text.find(":SWARMWALL-INPUT"), std::string::npos) << "unchanged: left alone";
  EXPECT_EQ(text.find("-A SWARMWALL-"), std::string::npos);
  EXPECT_NE(text.find("-D SWARMWALL-USER -p udp --dport 7 -j ACCEPT\n"), std::string::npos) << text;
  EXPECT_NE(text.find("-I SWARMWALL-USER 8 -p tcp --dport 7 -j ACCEPT\n"), std::string::npos) << text;
  // A large change is a refill.
  now.owned_rules["SWARMWALL-USER"] = Rules(100, 60);
  text = RenderRestore(fs, now);
  EXPECT_NE(text.find(":SWARMWALL-USER - [0:0]\n"), std::string::npos);
  EXPECT_EQ(text.find("-D SWARMWALL-USER -p"), std::string::npos);
}

TEST(RenderIpset, SwapsAFilledTwin) {
  compile::FamilyState fs;
  compile::IpSet set;
  set.name = "swarmwall-office-v4";
  set.entries = std::make_shared<const std::vector<netfilter::Cidr>>(
      std::vector<netfilter::Cidr>{*netfilter::Cidr::Parse("198.51.100.0/24")});
  fs.sets.push_back(set);
  EXPECT_EQ(RenderIpsetRestore(fs),
            "create swarmwall-office-v4 hash:net family inet maxelem 1048576 -exist\n"
            "create swarmwall-office-v4~ hash:net family inet maxelem 1048576 -exist\n"
            "flush swarmwall-office-v4~\n"
            "add swarmwall-office-v4~ 198.51.100.0/24\n"
            "swap swarmwall-office-v4~ swarmwall-office-v4\n"
            "destroy swarmwall-office-v4~\n");
  EXPECT_LE(TemporarySetName(std::string(31, 'x')).size(), 31u);
}

}  // namespace
}  // namespace swarmwall::backend
