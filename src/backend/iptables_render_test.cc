#include "backend/iptables_render.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

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
      Golden(dir / (node.name + ".v4.rules"), RenderRestore(state.ipv4, FreshDockerHost()));
      if (!state.ipv6.empty())
        Golden(dir / (node.name + ".v6.rules"), RenderRestore(state.ipv6, FreshDockerHost()));
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
