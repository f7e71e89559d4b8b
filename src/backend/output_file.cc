#include "backend/output_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <vector>

#include <fmt/format.h>

namespace swarmwall::backend {
namespace {

// Closes a descriptor when it goes.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd >= 0) close(fd);
  }
};

std::vector<std::string> Split(const std::string& rel) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= rel.size()) {
    size_t slash = rel.find('/', start);
    if (slash == std::string::npos) slash = rel.size();
    parts.push_back(rel.substr(start, slash - start));
    start = slash + 1;
  }
  return parts;
}

}  // namespace

std::string WriteOutputFile(const std::string& dir, const std::string& rel, const std::string& text) {
  std::vector<std::string> parts = Split(rel);
  for (const auto& p : parts)
    if (p.empty() || p == "." || p == "..")
      return fmt::format("refusing to write '{}': not a plain relative path", rel);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return fmt::format("cannot make {}: {}", dir, ec.message());
  auto at = std::make_unique<Fd>(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (at->fd < 0) return fmt::format("cannot open {}: {}", dir, strerror(errno));
  std::string path = dir;
  for (size_t i = 0; i + 1 < parts.size(); ++i) {
    path += "/" + parts[i];
    if (mkdirat(at->fd, parts[i].c_str(), 0777) != 0 && errno != EEXIST)
      return fmt::format("cannot make {}: {}", path, strerror(errno));
    auto next = std::make_unique<Fd>(
        openat(at->fd, parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (next->fd < 0)
      return fmt::format("refusing to write into {}: {}", path,
                         errno == ELOOP || errno == ENOTDIR ? "a symbolic link or not a folder"
                                                            : strerror(errno));
    at = std::move(next);
  }
  const std::string& name = parts.back();
  path += "/" + name;
  struct stat st;
  if (fstatat(at->fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode))
    return fmt::format("cannot write {}: a folder is there", path);
  std::string tmp;
  int fd = -1;
  for (int attempt = 0; fd < 0 && attempt < 100; ++attempt) {
    tmp = fmt::format(".{}.{}-{}.tmp", name, getpid(), attempt);
    fd = openat(at->fd, tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (fd < 0 && errno != EEXIST) break;
  }
  if (fd < 0) return fmt::format("cannot write beside {}: {}", path, strerror(errno));
  Fd file(fd);
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      std::string why = strerror(errno);
      unlinkat(at->fd, tmp.c_str(), 0);
      return fmt::format("cannot write {}: {}", path, why);
    }
    done += static_cast<size_t>(n);
  }
  if (renameat(at->fd, tmp.c_str(), at->fd, name.c_str()) != 0) {
    std::string why = strerror(errno);
    unlinkat(at->fd, tmp.c_str(), 0);
    return fmt::format("cannot write {}: {}", path, why);
  }
  return "";
}

}  // namespace swarmwall::backend
