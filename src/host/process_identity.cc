#include "host/process_identity.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>

namespace swarmwall::host {

bool ProcessExists(int pid) { return pid > 0 && (kill(pid, 0) == 0 || errno == EPERM); }

long long ProcessStartTicks(int pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
  // The command (field 2) is in parentheses and may hold spaces and ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 > text.size()) return -1;
  std::istringstream fields(text.substr(close + 2));
  std::string f;
  // Fields after the command: state is field 3; starttime is field 22.
  for (int i = 3; i < 22 && fields >> f;) ++i;
  long long ticks = -1;
  if (!(fields >> ticks) || ticks < 0) return -1;
  return ticks;
}

long long ProcessStartSeconds(int pid) {
  long long ticks = ProcessStartTicks(pid);
  if (ticks < 0) return -1;
  std::ifstream proc_stat("/proc/stat");
  for (std::string line; std::getline(proc_stat, line);)
    if (line.rfind("btime ", 0) == 0) {
      long hz = sysconf(_SC_CLK_TCK);
      return std::atoll(line.c_str() + 6) + ticks / (hz > 0 ? hz : 100);
    }
  return -1;
}

std::string BootId() {
  std::ifstream in("/proc/sys/kernel/random/boot_id");
  std::string line;
  std::getline(in, line);
  return line;
}

std::string PidNamespace() {
  std::error_code ec;
  auto target = std::filesystem::read_symlink("/proc/self/ns/pid", ec);
  return ec ? "" : target.string();
}

}  // namespace swarmwall::host
