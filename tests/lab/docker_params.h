// The Docker versions each lab suite runs against, as googletest parameters
// with the names the suites have always had
// ("Docker/Apply.ConfirmOrTheTimerPutsThePreviousStateBack/v28_5"):
//   INSTANTIATE_TEST_SUITE_P(Docker, Apply, lab::CoreDockers(lab::Suite::kApplies), lab::DockerParamName);
//
// Two lists keep CI within its budget (README.md, "Tests"):
//   CoreDockers:   every version; for the cluster, apply and boot suites
//                  (and the cheap analyzer-only suites).
//   NewestDockers: Docker 29.7 in both firewall modes; for the others.
//                  SWARMWALL_LAB_FULL_MATRIX=1 gives them every version too.
// A suite that applies swarmwall's rules (Suite::kApplies) runs only where
// a backend of swarmwall works (BackendWorksOn).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "lab/lab.h"

namespace swarmwall::lab {

// 20.10 and 28.5: what every suite ran on before Docker 29.
inline const auto kBothDockers = ::testing::Values(DockerVersion::k20_10, DockerVersion::k28_5);

// What a suite does with the node: only reads and analyzes its rules (or
// talks to the Engine API), or applies swarmwall's rules.
enum class Suite { kAnalyzes, kApplies };

// Whether swarmwall can apply its rules on V: on every version (the
// iptables backend where Docker uses iptables, the nftables backend on
// Docker 29 in nftables mode, chosen by `backend: auto`).
inline bool BackendWorksOn(DockerVersion) { return true; }

// SWARMWALL_LAB_FULL_MATRIX=1: every suite on every version.
inline bool FullMatrix() {
  const char* env = std::getenv("SWARMWALL_LAB_FULL_MATRIX");
  return env && std::string(env) == "1";
}

inline std::vector<DockerVersion> DockersFor(Suite suite, const std::vector<DockerVersion>& versions) {
  std::vector<DockerVersion> out;
  for (DockerVersion v : versions) {
    if (suite == Suite::kAnalyzes || BackendWorksOn(v)) out.push_back(v);
  }
  return out;
}

inline std::vector<DockerVersion> AllDockerVersions() {
  return {DockerVersion::k20_10, DockerVersion::k28_5, DockerVersion::k29_7, DockerVersion::k29_7_nft};
}

inline std::vector<DockerVersion> NewestDockerVersions() {
  return {DockerVersion::k29_7, DockerVersion::k29_7_nft};
}

// The cluster, apply and boot suites: every version.
inline auto CoreDockers(Suite suite) { return ::testing::ValuesIn(DockersFor(suite, AllDockerVersions())); }

// The other suites: the newest version (both firewall modes), or every
// version with SWARMWALL_LAB_FULL_MATRIX=1.
inline auto NewestDockers(Suite suite) {
  return ::testing::ValuesIn(DockersFor(suite, FullMatrix() ? AllDockerVersions() : NewestDockerVersions()));
}

// "v20_10", "v28_5", "v29_7", "v29_7_nft".
inline std::string DockerParamName(const ::testing::TestParamInfo<DockerVersion>& info) {
  switch (info.param) {
    case DockerVersion::k20_10: return "v20_10";
    case DockerVersion::k28_5: return "v28_5";
    case DockerVersion::k29_7: return "v29_7";
    case DockerVersion::k29_7_nft: return "v29_7_nft";
  }
  return "v";
}

// A lab tag per version for suites that keep one Lab per version alive at
// once: BASE + "a" (20.10), "b" (28.5), "c" (29.7), "d" (29.7-nft), as the
// suites named them before (BASE at most 7 letters).
inline std::string LabTag(const std::string& base, DockerVersion v) {
  switch (v) {
    case DockerVersion::k20_10: return base + "a";
    case DockerVersion::k28_5: return base + "b";
    case DockerVersion::k29_7: return base + "c";
    case DockerVersion::k29_7_nft: return base + "d";
  }
  return base;
}

}  // namespace swarmwall::lab
