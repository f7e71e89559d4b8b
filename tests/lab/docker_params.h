// The two Docker versions every lab suite runs against, as googletest
// parameters with the names the suites have always had
// ("Docker/Apply.ConfirmOrTheTimerPutsThePreviousStateBack/v28_5"):
//   INSTANTIATE_TEST_SUITE_P(Docker, Apply, lab::kBothDockers, lab::DockerParamName);
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "lab/lab.h"

namespace swarmwall::lab {

inline const auto kBothDockers = ::testing::Values(DockerVersion::k20_10, DockerVersion::k28_5);

inline std::string DockerParamName(const ::testing::TestParamInfo<DockerVersion>& info) {
  return info.param == DockerVersion::k20_10 ? "v20_10" : "v28_5";
}

}  // namespace swarmwall::lab
