// The applied record as JSON (applied.json, the commit journal). The
// reader is strict (base/state_file.h: StateFormatError).
#pragma once

#include <nlohmann/json.hpp>

#include "apply/state_store.h"

namespace swarmwall::apply {

nlohmann::json RecordToJson(const AppliedRecord& r);
AppliedRecord RecordFromJson(const nlohmann::json& j);

}  // namespace swarmwall::apply
