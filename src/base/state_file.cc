#include "base/state_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>

#include "base/utc_time.h"

namespace swarmwall {

using nlohmann::json;

namespace {

[[noreturn]] void Bad(const char* key, const std::string& what) {
  throw StateFormatError(std::string("\"") + key + "\" " + what);
}

const char* TypeName(const json& j) { return j.type_name(); }

}  // namespace

const json& Field(const json& j, const char* key) {
  if (!j.is_object()) throw StateFormatError(std::string("not an object where \"") + key + "\" belongs");
  auto it = j.find(key);
  if (it == j.end()) Bad(key, "is missing");
  return *it;
}

std::string StringField(const json& j, const char* key) {
  const json& v = Field(j, key);
  if (!v.is_string()) Bad(key, std::string("must be a string, not ") + TypeName(v));
  return v.get<std::string>();
}

std::string OptStringField(const json& j, const char* key, std::string fallback) {
  if (!j.is_object() || !j.contains(key)) return fallback;
  return StringField(j, key);
}

int64_t IntField(const json& j, const char* key) {
  const json& v = Field(j, key);
  if (!v.is_number_integer()) Bad(key, std::string("must be an integer, not ") + TypeName(v));
  return v.get<int64_t>();
}

int64_t OptIntField(const json& j, const char* key, int64_t fallback) {
  if (!j.is_object() || !j.contains(key)) return fallback;
  return IntField(j, key);
}

bool OptBoolField(const json& j, const char* key, bool fallback) {
  if (!j.is_object() || !j.contains(key)) return fallback;
  const json& v = Field(j, key);
  if (!v.is_boolean()) Bad(key, std::string("must be true or false, not ") + TypeName(v));
  return v.get<bool>();
}

const json& ArrayField(const json& j, const char* key) {
  const json& v = Field(j, key);
  if (!v.is_array()) Bad(key, std::string("must be an array, not ") + TypeName(v));
  return v;
}

std::vector<std::string> OptStringList(const json& j, const char* key) {
  std::vector<std::string> out;
  if (!j.is_object() || !j.contains(key)) return out;
  for (const json& v : ArrayField(j, key)) {
    if (!v.is_string()) Bad(key, std::string("must hold strings only, not ") + TypeName(v));
    out.push_back(v.get<std::string>());
  }
  return out;
}

StateFileRead ReadStateFile(const std::string& path, size_t max_bytes) {
  StateFileRead r;
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    if (errno == ENOENT) return r;
    r.present = true;
    r.problem = errno == ELOOP ? "it is a symbolic link" : std::string("cannot open it: ") + std::strerror(errno);
    return r;
  }
  r.present = true;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    r.problem = "it is not a regular file";
    return r;
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    close(fd);
    r.problem = "it is larger than " + std::to_string(max_bytes >> 20) + " MiB";
    return r;
  }
  std::string text;
  text.resize(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = read(fd, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  close(fd);
  text.resize(done);
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) r.problem = "it is not JSON";
  else if (!j.is_object()) r.problem = std::string("it holds a JSON ") + j.type_name() + ", not an object";
  else r.json = std::move(j);
  return r;
}

std::string SetAside(const std::string& path, const std::string& why) {
  std::string aside = path + ".invalid-" + UtcNow(UtcStyle::kCompact);
  if (std::rename(path.c_str(), aside.c_str()) == 0)
    return path + " is not valid (" + why + "): set aside as " + aside + ", not used";
  std::remove(path.c_str());
  return path + " is not valid (" + why + "): removed, not used";
}

bool WriteFileAtomically(const std::string& path, const std::string& text, std::string& error,
                         bool durable) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) {
    error = "cannot write " + tmp + ": " + std::strerror(errno);
    return false;
  }
  size_t done = 0;
  int why = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n <= 0) {
      why = n < 0 ? errno : ENOSPC;
      break;
    }
    done += static_cast<size_t>(n);
  }
  bool ok = done == text.size();
  if (ok && durable && fsync(fd) != 0) ok = false, why = errno;
  if (close(fd) != 0 && ok) ok = false, why = errno;
  if (ok && std::rename(tmp.c_str(), path.c_str()) != 0) ok = false, why = errno;
  if (!ok) {
    std::remove(tmp.c_str());
    error = "cannot write " + path + ": " + std::strerror(why);
    return false;
  }
  return true;
}

}  // namespace swarmwall
