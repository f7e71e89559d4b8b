// Reading back what swarmwall wrote under its state directory. Nothing read
// from disk is trusted before it is validated: a state file must be a
// regular file of bounded size holding JSON of the exact shape swarmwall
// writes (every field of the right type, names of owned chains and sets,
// rules that the iptables-save parser accepts). A file that does not
// validate is set aside (renamed NAME.invalid-TIME), reported with its path,
// and never acted on: a wrong-shaped commit journal once made `status`
// remove the whole firewall.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace swarmwall {

// What is wrong with a state file's content ("ipv4.chains[2].rules[0]: ...").
struct StateFormatError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// Strict field readers: KEY must be present (or, for the Opt forms,
// absent) with the right type; otherwise StateFormatError naming KEY.
const nlohmann::json& Field(const nlohmann::json& j, const char* key);
std::string StringField(const nlohmann::json& j, const char* key);
std::string OptStringField(const nlohmann::json& j, const char* key, std::string fallback = "");
int64_t IntField(const nlohmann::json& j, const char* key);
int64_t OptIntField(const nlohmann::json& j, const char* key, int64_t fallback);
bool OptBoolField(const nlohmann::json& j, const char* key, bool fallback);
const nlohmann::json& ArrayField(const nlohmann::json& j, const char* key);
// An array of strings (absent: empty).
std::vector<std::string> OptStringList(const nlohmann::json& j, const char* key);

// The outcome of reading one state file.
struct StateFileRead {
  bool present = false;               // the file exists
  std::optional<nlohmann::json> json; // set when it is a readable JSON object
  std::string problem;                // why it is not (when present and no json)
};

// Reads PATH: a regular file (not a symlink, FIFO or device) of at most
// MAX_BYTES holding a JSON object.
StateFileRead ReadStateFile(const std::string& path, size_t max_bytes = 256u << 20);

// Renames PATH to PATH.invalid-YYYYmmddTHHMMSSZ (or removes it when that
// fails) and returns the message saying so, with WHY.
std::string SetAside(const std::string& path, const std::string& why);

// Writes TEXT to PATH through a temporary file, fsync and rename: a reader
// (or a crash) sees the old or the new file, never a part of one.
// DURABLE false: no fsync (a cache that a crash may lose).
bool WriteFileAtomically(const std::string& path, const std::string& text, std::string& error,
                         bool durable = true);

}  // namespace swarmwall
