// The owned state and the kernel snapshot as JSON, for what swarmwall keeps
// on disk between processes: the commit journal, the pending --confirm
// rollback and the kernel cache. Lossless: FromJson(ToJson(x)) == x.
// The FromJson readers are strict (state_file.h): any field of the wrong
// type, a name swarmwall does not own, an address of the wrong family or a
// rule the iptables-save parser refuses throws StateFormatError.
#pragma once

#include <nlohmann/json.hpp>

#include "apply/kernel_state.h"
#include "apply/state_store.h"
#include "compile/desired_state.h"

namespace swarmwall::apply {

nlohmann::json FamilyStateToJson(const compile::FamilyState& fs);
compile::FamilyState FamilyStateFromJson(const nlohmann::json& j);

nlohmann::json DesiredStateToJson(const compile::DesiredState& s);
compile::DesiredState DesiredStateFromJson(const nlohmann::json& j);

// A snapshot without its sets (sets are always read live).
nlohmann::json SnapshotToJson(const FamilySnapshot& s);
FamilySnapshot SnapshotFromJson(const nlohmann::json& j);

nlohmann::json RecordToJson(const AppliedRecord& r);
AppliedRecord RecordFromJson(const nlohmann::json& j);

// Writes TEXT to PATH through a temporary file, fsync and rename: a reader
// (or a crash) sees the old or the new file, never a part of one.
// J as JSON text, like j.dump(); but long strings of plain characters (the
// blank-separated set entries) are copied as they are, not through
// nlohmann's per-byte escaping (~10 ns a byte: 15 ms for the 1.5 MB of a
// 100,000-entry set in a journal).
std::string DumpJson(nlohmann::json j);

// DURABLE false: no fsync (a cache that a crash may lose).
bool WriteFileAtomically(const std::string& path, const std::string& text, std::string& error,
                         bool durable = true);

}  // namespace swarmwall::apply
