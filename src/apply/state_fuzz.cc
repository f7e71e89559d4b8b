// libFuzzer: any bytes as a state file swarmwall reads back (the commit
// journal, the applied record, a kernel-cache snapshot, a pending confirm's
// owned state). Each reader must validate or throw StateFormatError: never
// crash, never accept a rule the iptables-save parser refuses.
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "apply/journal.h"
#include "apply/record_json.h"
#include "backend/iptables/snapshot_json.h"
#include "base/state_file.h"
#include "compile/desired_state_json.h"

using namespace swarmwall;
using namespace swarmwall::apply;

namespace {

template <typename F>
void Try(F f) {
  try {
    f();
  } catch (const StateFormatError&) {
  }
}

const std::string& Dir() {
  static const std::string dir = [] {
    std::string d = std::filesystem::temp_directory_path() / ("swl-state-fuzz-" + std::to_string(getpid()));
    std::filesystem::create_directories(d);
    return d;
  }();
  return dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded()) {
    Try([&] { compile::DesiredStateFromJson(j); });
    Try([&] { compile::FamilyStateFromJson(j); });
    Try([&] { backend::SnapshotFromJson(j); });
    Try([&] { RecordFromJson(j); });
  }
  // The whole journal path: file checks, validation, setting aside.
  std::ofstream(Dir() + "/commit-journal.json", std::ios::binary) << text;
  std::vector<std::string> notes;
  auto journal = LoadJournal(Dir(), notes);
  if (journal) {
    // What validated must write and read back the same.
    std::string error;
    if (WriteJournal(Dir(), *journal, error)) {
      auto again = LoadJournal(Dir(), notes);
      if (!again || compile::DesiredStateToJson(again->desired) != compile::DesiredStateToJson(journal->desired)) __builtin_trap();
    }
  }
  for (const auto& e : std::filesystem::directory_iterator(Dir())) std::filesystem::remove(e.path());
  return 0;
}
