#include "agent/policy_read.h"

#include <exception>

namespace swarmwall::agent {

PolicyRead ReadPolicy(const std::string& file, const std::string& trigger, Log& log) {
  PolicyRead out;
  policy::LoadResult loaded;
  try {
    loaded = policy::LoadPolicyFile(file);
  } catch (const std::exception& e) {
    out.error = file + ": " + e.what();
    log.Error("policy-invalid", {{"trigger", trigger}, {"error", out.error}});
    return out;
  }
  for (const auto& w : loaded.warnings) log.Write("warning", "policy-warning", {{"message", w.ToString()}});
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors) log.Error("policy-invalid", {{"trigger", trigger}, {"error", e.ToString()}});
    out.error = loaded.errors.empty() ? file + ": the policy does not load" : loaded.errors.front().ToString();
    if (loaded.errors.empty()) log.Error("policy-invalid", {{"trigger", trigger}, {"error", out.error}});
    return out;
  }
  out.policy = std::move(loaded.policy);
  return out;
}

}  // namespace swarmwall::agent
