// Renders a DockerExplanation for people (text) and for programs (JSON).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "analyze/model/docker_layout.h"

namespace swarmwall::analyze {

struct ExplainContext {
  std::string source;          // file name or "live"
  std::string variant;         // "nft" / "legacy" when read live
  std::string docker_version;  // from the Engine API when live
};

std::string ExplainText(const DockerExplanation& e, const ExplainContext& context);
nlohmann::json ExplainJson(const DockerExplanation& e, const ExplainContext& context);

}  // namespace swarmwall::analyze
