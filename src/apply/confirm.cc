#include "apply/confirm.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apply/state_json.h"
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
  json j = {{"token", token}, {"node", previous.node}, {"ipv4", FamilyStateToJson(previous.ipv4)},
            {"ipv6", FamilyStateToJson(previous.ipv6)}};
  if (!WriteFileAtomically(PendingPath(dir), DumpJson(std::move(j)), error)) return std::nullopt;
  return token;
}

std::optional<PendingConfirm> LoadPending(const std::string& dir) {
  std::ifstream in(PendingPath(dir));
  if (!in) return std::nullopt;
  auto j = json::parse(in, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return std::nullopt;
  PendingConfirm p;
  p.token = j.value("token", "");
  p.previous.node = j.value("node", "");
  p.previous.ipv4 = FamilyStateFromJson(j.value("ipv4", json::object()));
  p.previous.ipv6 = FamilyStateFromJson(j.value("ipv6", json::object()));
  return p;
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
