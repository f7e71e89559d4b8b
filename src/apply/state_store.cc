#include "apply/state_store.h"

#include <filesystem>
#include <fstream>
#include <iostream>

#include <nlohmann/json.hpp>

#include "apply/compile_inputs.h"
#include "apply/record_json.h"
#include "base/state_file.h"
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
  std::string path = dir_ + "/applied.json";
  auto read = ReadStateFile(path, 16u << 20);
  if (!read.present) return std::nullopt;
  try {
    if (!read.json) throw StateFormatError(read.problem);
    auto record = RecordFromJson(*read.json);
    // The digest is compared with one swarmwall makes: hex, nothing else.
    if (record.digest.empty() || record.digest.find_first_not_of("0123456789abcdef") != std::string::npos)
      throw StateFormatError("\"digest\" is not a digest swarmwall writes");
    return record;
  } catch (const StateFormatError& e) {
    std::cerr << "swarmwall: " << SetAside(path, e.what()) << "\n";
    return std::nullopt;
  }
}

void StateStore::Forget() const {
  std::error_code ec;
  std::filesystem::remove(dir_ + "/applied.json", ec);
}

}  // namespace swarmwall::apply
