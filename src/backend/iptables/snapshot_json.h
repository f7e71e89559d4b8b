// An iptables snapshot as JSON, for the read cache (kernel_cache.h).
// Lossless but for the sets (always read live); the reader is strict
// (base/state_file.h: StateFormatError).
#pragma once

#include <nlohmann/json.hpp>

#include "backend/iptables/kernel_state.h"

namespace swarmwall::backend {

nlohmann::json SnapshotToJson(const FamilySnapshot& s);
FamilySnapshot SnapshotFromJson(const nlohmann::json& j);

}  // namespace swarmwall::backend
