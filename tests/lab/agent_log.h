// For tests that run `swarmwall agent --log-format json`: a file's bytes and
// the agent's JSON records in its log.
#pragma once

#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace swarmwall::lab {

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The agent's JSON log records after byte OFFSET (other lines skipped).
inline std::vector<nlohmann::json> Records(const std::string& log, size_t offset = 0) {
  std::vector<nlohmann::json> out;
  std::istringstream in(log.substr(std::min(offset, log.size())));
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

}  // namespace swarmwall::lab
