// The agent's log: one line per event on stderr, either "TIME LEVEL EVENT
// key=value ..." (text) or one JSON object per line (--log-format json), so
// that every repair is one structured record of what was found and done.
// Safe to call from several threads.
#pragma once

#include <mutex>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace swarmwall::agent {

class Log {
 public:
  Log(std::ostream& out, bool json) : out_(out), json_(json) {}
  // LEVEL: "info", "warning", "error". FIELDS: an object (may be empty).
  void Write(const std::string& level, const std::string& event,
             const nlohmann::json& fields = nlohmann::json::object());
  void Info(const std::string& event, const nlohmann::json& fields = nlohmann::json::object()) {
    Write("info", event, fields);
  }
  void Error(const std::string& event, const nlohmann::json& fields = nlohmann::json::object()) {
    Write("error", event, fields);
  }

  // One record as a line, without the newline (what Write prints).
  static std::string Format(bool json, const std::string& time, const std::string& level,
                            const std::string& event, const nlohmann::json& fields);

 private:
  std::ostream& out_;
  bool json_;
  std::mutex mu_;
};

// Now as ISO 8601 UTC with milliseconds: "2026-11-23T03:20:00.123Z".
std::string TimestampNow();

}  // namespace swarmwall::agent
