// For tests that run `swarmwall agent --log-format json`: a file's bytes,
// the agent's JSON records in its log, and starting it in the background.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace swarmwall::lab {

inline std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The agent's JSON log records after byte OFFSET (other lines skipped).
inline std::vector<nlohmann::json> Records(const std::string& log, size_t offset = 0) {
  std::vector<nlohmann::json> out;
  std::istringstream in(log.substr(std::min(offset, log.size())));
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object()) out.push_back(std::move(j));
  }
  return out;
}

// Starts ARGV (a `swarmwall agent ...` command line, JSON or text log) in
// the background, its output appended to LOG, and waits until it logs
// "watching" after what LOG held before. Throws with the log's new part,
// naming WHO, when it exits or has not started in 30 s (then killed). Its
// pid.
inline pid_t StartAgent(std::vector<std::string> argv, const std::string& log, const std::string& who) {
  size_t mark = ReadAll(log).size();
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    dup2(null, 0);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    execvp(args[0], args.data());
    _exit(127);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = ReadAll(log);
    for (const auto& r : Records(text, mark))
      if (r.value("event", "") == "watching") return pid;
    if (text.find(" info watching ", mark) != std::string::npos) return pid;   // --log-format text
    if (waitpid(pid, nullptr, WNOHANG) == pid)
      throw std::runtime_error("the agent " + who + " exited: " + ReadAll(log).substr(mark));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGKILL);
  waitpid(pid, nullptr, 0);
  throw std::runtime_error("the agent " + who + " did not start watching in 30 s: " + ReadAll(log).substr(mark));
}

}  // namespace swarmwall::lab
