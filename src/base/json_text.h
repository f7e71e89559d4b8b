// JSON as text for everything swarmwall writes (output, state files, logs).
// Strings are bytes from policies, paths, the kernel and Docker: any of them
// may hold bytes that are not UTF-8, and nlohmann's plain dump() throws on
// those (type_error 316), which aborted commands and killed the agent. Here
// each invalid byte becomes U+FFFD instead.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace swarmwall {

// INDENT as for nlohmann::json::dump (-1: one line).
std::string JsonText(const nlohmann::json& j, int indent = -1);

}  // namespace swarmwall
