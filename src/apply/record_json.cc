#include "apply/record_json.h"

#include "base/state_file.h"

namespace swarmwall::apply {

using nlohmann::json;

json RecordToJson(const AppliedRecord& r) {
  json j = {{"node", r.node}, {"policy", r.policy}, {"digest", r.digest}, {"variant", r.variant},
            {"time", r.time}};
  if (!r.inputs.empty()) {
    j["inputs"] = r.inputs;
    j["files"] = r.files;
  }
  return j;
}

AppliedRecord RecordFromJson(const json& j) {
  if (!j.is_object()) throw StateFormatError(std::string("a record must be an object, not ") + j.type_name());
  AppliedRecord r;
  r.node = StringField(j, "node");
  r.policy = OptStringField(j, "policy");
  r.digest = StringField(j, "digest");
  r.variant = OptStringField(j, "variant");
  r.time = OptStringField(j, "time");
  r.inputs = OptStringField(j, "inputs");
  r.files = OptStringList(j, "files");
  return r;
}

}  // namespace swarmwall::apply
