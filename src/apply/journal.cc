#include "apply/journal.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "apply/state_json.h"

namespace swarmwall::apply {
namespace {

using nlohmann::json;

std::string JournalPath(const std::string& dir) { return dir + "/commit-journal.json"; }

}  // namespace

bool WriteJournal(const std::string& dir, const Journal& j, std::string& error) {
  json out = {{"operation", j.operation},
              {"writer", j.writer},
              {"previous", DesiredStateToJson(j.previous)},
              {"desired", DesiredStateToJson(j.desired)}};
  if (j.previous_record) out["previous_record"] = RecordToJson(*j.previous_record);
  if (j.new_record) out["new_record"] = RecordToJson(*j.new_record);
  out["kept_v4"] = j.kept_sets[0];
  out["kept_v6"] = j.kept_sets[1];
  return WriteFileAtomically(JournalPath(dir), DumpJson(std::move(out)), error);
}

std::optional<Journal> LoadJournal(const std::string& dir) {
  std::ifstream in(JournalPath(dir));
  if (!in) return std::nullopt;
  auto j = json::parse(in, nullptr, false);
  Journal journal;
  if (j.is_discarded() || !j.is_object()) {
    // Torn writes cannot happen (rename); anything else is not ours to use.
    journal.operation = "unreadable";
    return journal;
  }
  journal.operation = j.value("operation", "");
  journal.writer = j.value("writer", 0);
  journal.previous = DesiredStateFromJson(j.value("previous", json::object()));
  journal.desired = DesiredStateFromJson(j.value("desired", json::object()));
  if (j.contains("previous_record")) journal.previous_record = RecordFromJson(j["previous_record"]);
  if (j.contains("new_record")) journal.new_record = RecordFromJson(j["new_record"]);
  journal.kept_sets[0] = j.value("kept_v4", std::vector<std::string>{});
  journal.kept_sets[1] = j.value("kept_v6", std::vector<std::string>{});
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
