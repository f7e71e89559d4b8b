#include "backend/iptables/snapshot_json.h"

#include "base/state_file.h"
#include "compile/desired_state_json.h"

namespace swarmwall::backend {
namespace {

using nlohmann::json;

[[noreturn]] void Invalid(const std::string& where, const std::string& what) {
  throw StateFormatError(where + ": " + what);
}

}  // namespace

json SnapshotToJson(const FamilySnapshot& s) {
  compile::FamilyState owned = s.owned;
  owned.sets.clear();
  json jumps = json::array();
  for (const auto& [key, n] : s.kernel.jumps) jumps.push_back({key.first, key.second, n});
  json first = json::array();
  for (const auto& [key, f] : s.hook_first) first.push_back({key.first, key.second, f});
  return {{"owned", compile::FamilyStateToJson(owned)},
          {"chains", s.kernel.existing_chains},
          {"jumps", jumps},
          {"hook_first", first},
          {"forward_jumps_to_docker_user", s.forward_jumps_to_docker_user},
          {"docker_chains", s.docker_chains},
          {"docker_user_referenced", s.docker_user_referenced},
          {"docker_user_foreign_rules", s.docker_user_foreign_rules},
          {"docker_user_removable", s.docker_user_removable},
          {"foreign_rules", s.foreign_rules}};
}

FamilySnapshot SnapshotFromJson(const json& j) {
  FamilySnapshot s;
  s.owned = compile::FamilyStateFromJson(Field(j, "owned"));
  s.kernel.existing_chains = OptStringList(j, "chains");
  auto pair = [](const json& e, const char* what) {
    if (!e.is_array() || e.size() != 3 || !e[0].is_string() || !e[1].is_string())
      Invalid(what, "each entry must be [chain, chain, value]");
    return std::make_pair(e[0].get<std::string>(), e[1].get<std::string>());
  };
  if (j.contains("jumps"))
    for (const auto& e : ArrayField(j, "jumps")) {
      auto key = pair(e, "jumps");
      if (!e[2].is_number_integer()) Invalid("jumps", "a count must be an integer");
      s.kernel.jumps[key] = e[2].get<int>();
    }
  if (j.contains("hook_first"))
    for (const auto& e : ArrayField(j, "hook_first")) {
      auto key = pair(e, "hook_first");
      if (!e[2].is_boolean()) Invalid("hook_first", "must be true or false");
      s.hook_first[key] = e[2].get<bool>();
    }
  s.forward_jumps_to_docker_user = OptBoolField(j, "forward_jumps_to_docker_user", false);
  s.docker_chains = OptBoolField(j, "docker_chains", false);
  s.docker_user_referenced = OptBoolField(j, "docker_user_referenced", false);
  s.docker_user_foreign_rules = OptBoolField(j, "docker_user_foreign_rules", false);
  s.docker_user_removable = OptBoolField(j, "docker_user_removable", false);
  int64_t foreign = OptIntField(j, "foreign_rules", 0);
  if (foreign < 0) Invalid("foreign_rules", "must not be negative");
  s.foreign_rules = static_cast<size_t>(foreign);
  return s;
}

}  // namespace swarmwall::backend
