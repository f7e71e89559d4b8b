#include "apply/journal.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apply/record_json.h"
#include "base/state_file.h"
#include "compile/desired_state_json.h"

namespace swarmwall::apply {
namespace {

using nlohmann::json;

std::string JournalPath(const std::string& dir) { return dir + "/commit-journal.json"; }

}  // namespace

bool WriteJournal(const std::string& dir, const Journal& j, std::string& error) {
  json out = {{"operation", j.operation},
              {"writer", j.writer},
              {"previous", compile::DesiredStateToJson(j.previous)},
              {"desired", compile::DesiredStateToJson(j.desired)}};
  if (j.previous_record) out["previous_record"] = RecordToJson(*j.previous_record);
  if (j.new_record) out["new_record"] = RecordToJson(*j.new_record);
  out["kept_v4"] = j.kept_sets[0];
  out["kept_v6"] = j.kept_sets[1];
  return WriteFileAtomically(JournalPath(dir), compile::DumpJson(std::move(out)), error);
}

std::optional<Journal> LoadJournal(const std::string& dir, std::vector<std::string>& notes) {
  std::string path = JournalPath(dir);
  auto read = ReadStateFile(path);
  if (!read.present) return std::nullopt;
  if (!read.json) {
    notes.push_back(SetAside(path, read.problem));
    return std::nullopt;
  }
  const json& j = *read.json;
  Journal journal;
  try {
    journal.operation = StringField(j, "operation");
    if (journal.operation != "apply" && journal.operation != "remove" && journal.operation != "rollback" &&
        journal.operation != "agent")
      throw StateFormatError("\"operation\" is not one swarmwall writes");
    int64_t writer = IntField(j, "writer");
    if (writer <= 0 || writer > INT32_MAX) throw StateFormatError("\"writer\" is not a pid");
    journal.writer = static_cast<int>(writer);
    journal.previous = compile::DesiredStateFromJson(Field(j, "previous"));
    journal.desired = compile::DesiredStateFromJson(Field(j, "desired"));
    if (j.contains("previous_record")) journal.previous_record = RecordFromJson(j["previous_record"]);
    if (j.contains("new_record")) journal.new_record = RecordFromJson(j["new_record"]);
    journal.kept_sets[0] = OptStringList(j, "kept_v4");
    journal.kept_sets[1] = OptStringList(j, "kept_v6");
  } catch (const StateFormatError& e) {
    notes.push_back(SetAside(path, e.what()));
    return std::nullopt;
  }
  return journal;
}

void FillKeptSets(Journal& journal, const compile::FamilyState& kernel_v4,
                  const compile::FamilyState& kernel_v6) {
  const compile::FamilyState* kernel[2] = {&kernel_v4, &kernel_v6};
  compile::FamilyState* states[4] = {&journal.previous.ipv4, &journal.previous.ipv6,
                                     &journal.desired.ipv4, &journal.desired.ipv6};
  for (int i = 0; i < 4; ++i) {
    int f = i % 2;
    for (auto& set : states[i]->sets) {
      if (std::find(journal.kept_sets[f].begin(), journal.kept_sets[f].end(), set.name) ==
          journal.kept_sets[f].end())
        continue;
      for (const auto& k : kernel[f]->sets)
        if (k.name == set.name) set.entries = k.entries;
    }
  }
}

void ClearJournal(const std::string& dir) {
  std::error_code ec;
  std::filesystem::remove(JournalPath(dir), ec);
}

}  // namespace swarmwall::apply
