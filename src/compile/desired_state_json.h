// The owned state as JSON, for what swarmwall keeps on disk between
// processes: the commit journal, the pending --confirm rollback and the
// kernel cache. Lossless: FromJson(ToJson(x)) == x. The FromJson readers
// are strict (base/state_file.h): any field of the wrong type, a name
// swarmwall does not own, an address of the wrong family or a rule the
// iptables-save parser refuses throws StateFormatError.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "compile/desired_state.h"

namespace swarmwall::compile {

nlohmann::json FamilyStateToJson(const FamilyState& fs);
FamilyState FamilyStateFromJson(const nlohmann::json& j);

nlohmann::json DesiredStateToJson(const DesiredState& s);
DesiredState DesiredStateFromJson(const nlohmann::json& j);

// J as JSON text, like JsonText(j); but long strings of plain characters
// (the blank-separated set entries) are copied as they are, not through
// nlohmann's per-byte escaping (~10 ns a byte: 15 ms for the 1.5 MB of a
// 100,000-entry set in a journal).
std::string DumpJson(nlohmann::json j);

}  // namespace swarmwall::compile
