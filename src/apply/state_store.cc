#include "apply/state_store.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "apply/compile_inputs.h"
#include "apply/state_json.h"
#include "base/json_text.h"

namespace swarmwall::apply {

std::string NormalizedDigest(const compile::DesiredState& state) {
  return OwnedFingerprint(state);
}

bool StateStore::Save(const AppliedRecord& r, std::string& error) const {
  // Atomic (fsync, rename): old or new record, never half of one.
  return WriteFileAtomically(dir_ + "/applied.json", JsonText(RecordToJson(r), 2) + "\n", error);
}

std::optional<AppliedRecord> StateStore::Load() const {
  std::ifstream in(dir_ + "/applied.json");
  if (!in) return std::nullopt;
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  return RecordFromJson(j);
}

void StateStore::Forget() const {
  std::error_code ec;
  std::filesystem::remove(dir_ + "/applied.json", ec);
}

}  // namespace swarmwall::apply
