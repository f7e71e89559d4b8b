#include "agent/log.h"

#include <chrono>
#include <ctime>

#include <fmt/format.h>

#include "base/json_text.h"
#include "base/utc_time.h"

namespace swarmwall::agent {

std::string TimestampNow() { return UtcNow(UtcStyle::kMilliseconds); }

std::string Log::Format(bool json, const std::string& time, const std::string& level,
                        const std::string& event, const nlohmann::json& fields) {
  if (json) {
    nlohmann::json j = {{"time", time}, {"level", level}, {"event", event}};
    for (const auto& [k, v] : fields.items()) j[k] = v;
    return JsonText(j);
  }
  std::string line = time + " " + level + " " + event;
  for (const auto& [k, v] : fields.items()) {
    std::string value;
    if (v.is_string()) {
      value = v.get<std::string>();
      if (value.empty() || value.find_first_of(" \"=") != std::string::npos)
        value = JsonText(value);
    } else {
      value = JsonText(v);
    }
    line += " " + k + "=" + value;
  }
  return line;
}

void Log::Write(const std::string& level, const std::string& event, const nlohmann::json& fields) {
  // The log must never be what stops the agent.
  std::string line;
  try {
    line = Format(json_, TimestampNow(), level, event, fields);
  } catch (const std::exception& e) {
    line = Format(json_, TimestampNow(), level, event, {{"log-error", e.what()}});
  }
  std::lock_guard<std::mutex> lock(mu_);
  out_ << line << "\n";
  out_.flush();
}

}  // namespace swarmwall::agent
