// Random compiled policies through swarmwall's nftables table, without a
// kernel: every state translates (TableOf), comes back as the compiler
// made it (FamilyStateOf, with the exceptions family_state_of.h lists),
// translates again to the same table, and renders as nft text.
#include <gtest/gtest.h>

#include "backend/nftables/family_state_of.h"
#include "backend/nftables/nft_text.h"
#include "backend/nftables/table_of.h"
#include "backend/nftables/test_examples.h"
#include "random_policy.h"

namespace swarmwall::backend::nft {
namespace {

TEST(RandomPolicies, TranslateAndComeBack) {
  int states = 0;
  for (uint32_t seed = 1; seed <= 300; ++seed) {
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
  EXPECT_GE(states, 1000);
}

}  // namespace
}  // namespace swarmwall::backend::nft
