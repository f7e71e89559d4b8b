#include "apply/committer.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>

#include <nlohmann/json.hpp>

#include "base/json_text.h"
#include "base/process.h"
#include "host/nftables.h"

namespace swarmwall::apply {
namespace {

using nlohmann::json;

json ToJson(const backend::WriteResult& r) {
  json diffs = json::array();
  for (const auto& d : r.diffs)
    diffs.push_back({{"family", d.family == netfilter::Family::kIPv4 ? 4 : 6},
                     {"rules", d.rules},
                     {"changed_sets", d.changed_sets},
                     {"stale_sets", d.stale_sets},
                     {"lines", d.lines}});
  json j = {{"ok", r.ok},           {"changed", r.changed},         {"error", r.error},
            {"steps", r.steps},     {"kernel_commits", r.kernel_commits}, {"rollback_failed", r.rollback_failed},
            {"diffs", diffs}};
  if (r.generation_after) j["generation_after"] = *r.generation_after;
  return j;
}

backend::WriteResult FromJson(const json& j) {
  backend::WriteResult r;
  r.ok = j.value("ok", false);
  r.changed = j.value("changed", false);
  r.error = j.value("error", "");
  r.steps = j.value("steps", std::vector<std::string>{});
  r.kernel_commits = j.value("kernel_commits", 0);
  r.rollback_failed = j.value("rollback_failed", false);
  if (auto g = j.find("generation_after"); g != j.end() && g->is_number_unsigned() && *g <= UINT32_MAX)
    r.generation_after = g->get<uint32_t>();
  for (const auto& d : j.value("diffs", json::array())) {
    backend::FamilyDiff f;
    f.family = d.value("family", 4) == 4 ? netfilter::Family::kIPv4 : netfilter::Family::kIPv6;
    f.rules = d.value("rules", false);
    f.changed_sets = d.value("changed_sets", std::vector<std::string>{});
    f.stale_sets = d.value("stale_sets", std::vector<std::string>{});
    f.lines = d.value("lines", std::vector<std::string>{});
    r.diffs.push_back(std::move(f));
  }
  return r;
}

void WriteAll(int fd, const std::string& text) {
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // the command is gone: nobody to tell
    done += static_cast<size_t>(n);
  }
}

}  // namespace

backend::WriteResult RunDetached(const std::function<backend::WriteResult()>& work,
                              const std::string& log) {
  // The committer may write through libnftables: loaded here, so that the
  // child never loads it while another thread of this process might.
  host::LoadNftables();
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return work();
  pid_t pid = fork();
  if (pid < 0) {
    close(pipefd[0]);
    close(pipefd[1]);
    return work();
  }
  if (pid == 0) {
    // The committer. A session of its own: no signal sent to the command's
    // process group reaches it; no terminal hang-up either.
    setsid();
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    close(pipefd[0]);
    RedirectStdioToLog(log);
    backend::WriteResult r = work();
    WriteAll(pipefd[1], JsonText(ToJson(r)));
    _exit(r.ok ? 0 : 1);
  }
  close(pipefd[1]);
  std::string answer;
  char buf[65536];
  for (;;) {
    ssize_t n = read(pipefd[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    answer.append(buf, static_cast<size_t>(n));
  }
  close(pipefd[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  auto j = json::parse(answer, nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    backend::WriteResult r;
    r.error = "the committer (pid " + std::to_string(pid) + ") died without an answer (" +
              (WIFSIGNALED(status) ? "signal " + std::to_string(WTERMSIG(status))
                                   : "exit " + std::to_string(WEXITSTATUS(status))) +
              "); the next swarmwall command finishes or undoes its commit";
    return r;
  }
  return FromJson(j);
}

}  // namespace swarmwall::apply
