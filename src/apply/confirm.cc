#include "apply/confirm.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "base/state_file.h"
#include "compile/desired_state_json.h"
#include "base/process.h"

namespace swarmwall::apply {
namespace {

using nlohmann::json;
using netfilter::Family;

std::string PendingPath(const std::string& dir) { return dir + "/pending-confirm.json"; }

}  // namespace

std::optional<std::string> SavePending(const std::string& dir, const compile::DesiredState& previous,
                                       std::string& error) {
  std::random_device rd;
  std::string token = fmt::format("{:08x}{:08x}", rd(), rd());
  json j = {{"token", token}, {"node", previous.node}, {"ipv4", compile::FamilyStateToJson(previous.ipv4)},
            {"ipv6", compile::FamilyStateToJson(previous.ipv6)}};
  if (!WriteFileAtomically(PendingPath(dir), compile::DumpJson(std::move(j)), error)) return std::nullopt;
  return token;
}

std::optional<PendingConfirm> LoadPending(const std::string& dir) {
  auto read = ReadStateFile(PendingPath(dir));
  if (!read.present) return std::nullopt;
  try {
    if (!read.json) throw StateFormatError(read.problem);
    const json& j = *read.json;
    PendingConfirm p;
    p.token = StringField(j, "token");
    if (p.token.empty() || p.token.find_first_not_of("0123456789abcdef") != std::string::npos)
      throw StateFormatError("\"token\" is not a token swarmwall writes");
    p.previous.node = OptStringField(j, "node");
    p.previous.ipv4 = compile::FamilyStateFromJson(Field(j, "ipv4"));
    p.previous.ipv6 = compile::FamilyStateFromJson(Field(j, "ipv6"));
    if (p.previous.ipv4.family != Family::kIPv4 || p.previous.ipv6.family != Family::kIPv6)
      throw StateFormatError("its families are swapped");
    return p;
  } catch (const StateFormatError& e) {
    std::cerr << "swarmwall: " << SetAside(PendingPath(dir), e.what()) << "\n";
    return std::nullopt;
  }
}

bool ClearPending(const std::string& dir) {
  std::error_code ec;
  return std::filesystem::remove(PendingPath(dir), ec);
}

bool ArmTimer(const std::string& binary, const std::string& dir, const std::string& token,
              int seconds, std::string& error) {
  std::string log = dir + "/rollback-timer.log";
  pid_t pid = fork();
  if (pid < 0) {
    error = "fork failed";
    return false;
  }
  if (pid == 0) {
    // Child: a new session, then fork again so the timer is re-parented
    // to init and outlives whoever killed us.
    setsid();
    if (fork() != 0) _exit(0);
    RedirectStdioToLog(log);
    std::string after = std::to_string(seconds);
    execl(binary.c_str(), binary.c_str(), "--state-dir", dir.c_str(), "rollback-timer", "--token",
          token.c_str(), "--after", after.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return true;
}

}  // namespace swarmwall::apply
