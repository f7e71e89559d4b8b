// Random compiled policies through swarmwall's nftables table, without a
// kernel: every state translates (TableOf), comes back as the compiler
// made it (FamilyStateOf, with the exceptions family_state_of.h lists),
// translates again to the same table, and renders as nft text.
#include <gtest/gtest.h>

#include "backend/nftables/family_state_of.h"
#include "backend/nftables/nft_text.h"
#include "backend/nftables/table_of.h"
#include "base/sanitized.h"
#include "backend/nftables/test_examples.h"
#include "random_policy.h"

namespace swarmwall::backend::nft {
namespace {

// 300 seeds in six shards of 50, each its own ctest test: under ASan the
// whole took two minutes, the longest unit test by far, run alone at the end
// of CI's sanitizer phase while the other core idled. Under the sanitizers
// 10 seeds a shard (60 in all).
class RandomPolicies : public ::testing::TestWithParam<uint32_t> {};

TEST_P(RandomPolicies, TranslateAndComeBack) {
  int states = 0;
  const uint32_t first = GetParam();
  const uint32_t seeds = kSanitized ? 10 : 50;
  for (uint32_t seed = first; seed < first + seeds; ++seed) {
    bool odd = seed % 3 == 0;
    std::string yaml = swarmwall::testing::RandomPolicy(seed, odd).Yaml();
    auto loaded = policy::LoadPolicyText(yaml, "random.yaml", ".");
    ASSERT_TRUE(loaded.ok()) << "seed " << seed << ":\n" << yaml << "\n"
                             << (loaded.errors.empty() ? "" : loaded.errors[0].ToString());
    for (const auto& node : loaded.policy->nodes)
      for (bool forward : {false, true}) {
        compile::NodeFacts facts;
        facts.forward_ipv4 = facts.forward_ipv6 = forward;
        auto state = compile::Compile(*loaded.policy, node, facts);
        for (const compile::FamilyState* fs : {&state.ipv4, &state.ipv6}) {
          if (fs->empty()) continue;
          std::string error;
          auto table = TableOf(*fs, error);
          ASSERT_TRUE(table) << "seed " << seed << ": " << error;
          auto back = FamilyStateOf(*table);
          if (!odd) {
            EXPECT_EQ(nft::testing::Difference(nft::testing::Expected(*fs), back), "") << "seed " << seed;
          }
          auto again = TableOf(back, error);
          ASSERT_TRUE(again) << "seed " << seed << ": " << error;
          EXPECT_TRUE(*again == *table) << "seed " << seed;
          ++states;
        }
        std::string error;
        EXPECT_TRUE(NftText(state, error)) << "seed " << seed << ": " << error;
      }
  }
  EXPECT_GE(states, kSanitized ? 30 : 150);
}

INSTANTIATE_TEST_SUITE_P(Seeds, RandomPolicies, ::testing::Values(1u, 51u, 101u, 151u, 201u, 251u),
                         [](const ::testing::TestParamInfo<uint32_t>& info) {
                           return "from" + std::to_string(info.param);
                         });

}  // namespace
}  // namespace swarmwall::backend::nft
