#include "base/input_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace swarmwall {
namespace {

std::string SizeText(size_t limit) {
  return limit % (size_t{1} << 20) == 0 ? fmt::format("{} MiB", limit >> 20)
                                        : fmt::format("{} bytes", limit);
}

// Reads FD to its end, at most LIMIT bytes (one more tells it is too long).
bool ReadFd(int fd, size_t limit, std::string& text, std::string& error) {
  text.clear();
  char buf[1 << 16];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      error = std::strerror(errno);
      return false;
    }
    if (n == 0) return true;
    if (text.size() + static_cast<size_t>(n) > limit) {
      error = "larger than " + SizeText(limit);
      text.clear();
      return false;
    }
    text.append(buf, static_cast<size_t>(n));
  }
}

}  // namespace

bool ReadInputFile(const std::string& file, size_t limit, std::string& text, std::string& error) {
  if (file == "-") return ReadFd(STDIN_FILENO, limit, text, error);
  // O_NONBLOCK: opening a FIFO with no writer must not wait for one.
  int fd = ::open(file.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    error = std::strerror(errno);
    return false;
  }
  struct stat st {};
  bool ok = false;
  if (::fstat(fd, &st) != 0) {
    error = std::strerror(errno);
  } else if (!S_ISREG(st.st_mode)) {
    error = S_ISDIR(st.st_mode) ? "a directory, not a regular file" : "not a regular file";
  } else if (static_cast<unsigned long long>(st.st_size) > limit) {
    error = "larger than " + SizeText(limit);
  } else {
    // Back to blocking reads (a regular file never blocks, but be plain).
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    // /proc files say size 0 and still have text: read to the end, bounded.
    ok = ReadFd(fd, limit, text, error);
  }
  ::close(fd);
  return ok;
}

}  // namespace swarmwall
