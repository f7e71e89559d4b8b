#include "apply/state_store.h"

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

namespace swarmwall::apply {

std::string NormalizedDigest(const compile::DesiredState& state) {
  compile::DesiredState n;
  n.node = state.node;
  n.ipv4 = Normalized(state.ipv4);
  n.ipv6 = Normalized(state.ipv6);
  return n.Digest();
}

bool StateStore::Save(const AppliedRecord& r, std::string& error) const {
  std::error_code ec;
  std::filesystem::create_directories(dir_, ec);
  if (ec) {
    error = "cannot create " + dir_ + ": " + ec.message();
    return false;
  }
  nlohmann::json j = {{"node", r.node}, {"policy", r.policy}, {"digest", r.digest},
                      {"variant", r.variant}, {"time", r.time}};
  std::string path = dir_ + "/applied.json", tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << j.dump(2) << "\n";
    if (!out) {
      error = "cannot write " + tmp;
      return false;
    }
  }
  std::filesystem::rename(tmp, path, ec);  // atomic: old or new record
  if (ec) error = "cannot write " + path + ": " + ec.message();
  return !ec;
}

std::optional<AppliedRecord> StateStore::Load() const {
  std::ifstream in(dir_ + "/applied.json");
  if (!in) return std::nullopt;
  auto j = nlohmann::json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  AppliedRecord r;
  r.node = j.value("node", "");
  r.policy = j.value("policy", "");
  r.digest = j.value("digest", "");
  r.variant = j.value("variant", "");
  r.time = j.value("time", "");
  return r;
}

void StateStore::Forget() const {
  std::error_code ec;
  std::filesystem::remove(dir_ + "/applied.json", ec);
}

}  // namespace swarmwall::apply
