#include "agent/agent.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <exception>
#include <filesystem>
#include <memory>
#include <optional>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "agent/agent_state.h"
#include "agent/docker_events.h"
#include "agent/keeper.h"
#include "agent/log.h"
#include "agent/membership.h"
#include "agent/metrics.h"
#include "agent/metrics_server.h"
#include "agent/policy_read.h"
#include "apply/swarm_members.h"
#include "docker/engine.h"
#include "host/nft_monitor.h"
#include "policy/policy.h"

namespace swarmwall::agent {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

int g_signal_pipe[2] = {-1, -1};

void OnSignal(int sig) {
  int saved = errno;
  unsigned char b = static_cast<unsigned char>(sig);
  if (write(g_signal_pipe[1], &b, 1) < 0) {
  }
  errno = saved;
}

void InstallSignals() {
  if (pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return;
  struct sigaction sa{};
  sa.sa_handler = OnSignal;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  for (int s : {SIGHUP, SIGTERM, SIGINT}) sigaction(s, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void RestoreSignals() {
  for (int s : {SIGHUP, SIGTERM, SIGINT}) signal(s, SIG_DFL);
  for (int& fd : g_signal_pipe) {
    if (fd >= 0) close(fd);
    fd = -1;
  }
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

class Agent {
 public:
  Agent(const AgentOptions& o, std::ostream& out)
      : o_(o), log_(out, o.json_log), keeper_(o.state_dir, o.node, o.backend) {}
  int Run();

 private:
  int Loop();
  std::optional<policy::Policy> Load(const std::string& why);
  // BASE with the Swarm's nodes when it says `nodes: auto` (else BASE).
  // Read from the manager; when that fails, the members known last.
  std::optional<policy::Policy> WithMembers(const policy::Policy& base, const std::string& why);
  bool ReadMembers(const std::string& why);
  void Relist(const std::string& trigger);
  bool Apply(const policy::Policy& p, const std::string& trigger, bool first);
  void Check(const std::string& trigger);
  void Reload(const std::string& trigger);
  void SaveState();
  void Schedule(Clock::time_point at, const std::string& why);
  // The control ports the world reaches, soon (after a write) / now.
  void ExposureSoon();
  void Exposure();

  AgentOptions o_;
  Log log_;
  Metrics metrics_;
  Keeper keeper_;
  std::optional<policy::Policy> policy_;  // what is kept: the file's, plus the Swarm's nodes
  std::optional<policy::Policy> base_;    // the policy file's own
  std::optional<std::vector<apply::SwarmMember>> members_, read_;  // kept / last read
  std::string members_error_;             // the last failed read's error (logged once)
  std::optional<Clock::time_point> relist_at_, relist_first_;  // next re-list; the event behind it
  std::string relist_why_;
  AgentState state_;
  // The next check, why, and when the first event behind it arrived.
  std::optional<Clock::time_point> check_at_, first_event_;
  std::string check_why_;
  std::optional<Clock::time_point> reload_at_;
  std::string reload_why_;
  std::optional<Clock::time_point> exposure_at_;   // the next computation of the control ports
  std::optional<std::vector<apply::ExposedControlPort>> exposed_;   // as last computed
  int failures_ = 0;
};

std::optional<policy::Policy> Agent::Load(const std::string& why) {
  PolicyRead read = ReadPolicy(o_.policy_file, why, log_);
  if (!read.policy) {
    metrics_.AddError();
    state_.last_error = read.error;
  }
  metrics_.SetPolicyValid(read.policy.has_value());
  return std::move(read.policy);
}

void Agent::ExposureSoon() {
  if (o_.exposure_interval.count() == 0) return;
  // A few seconds after the write: Docker may still be adding its rules.
  auto at = Clock::now() + std::chrono::seconds(2);
  if (!exposure_at_ || at < *exposure_at_) exposure_at_ = at;
}

void Agent::Exposure() {
  std::string error;
  auto start = Clock::now();
  auto ports = keeper_.ControlPorts(*policy_, error);
  if (!ports) {
    log_.Write("warning", "exposure-failed", {{"error", error}});
    return;
  }
  metrics_.SetControlPorts(*ports);
  if (exposed_ && *exposed_ == *ports) return;
  json list = json::array();
  for (const auto& p : *ports)
    list.push_back(fmt::format("{} {} {}/{}", p.family, p.interface, p.port, p.protocol));
  json fields = {{"ports", list}, {"duration_ms", Ms(Clock::now() - start)}};
  if (ports->empty())
    log_.Info("control-ports-closed", fields);
  else
    log_.Write("warning", "control-ports-exposed", fields);
  exposed_ = std::move(ports);
}

bool Agent::ReadMembers(const std::string& why) {
  std::string error, used;
  auto members = apply::ReadSwarmMembers(o_.manager, error, &used);
  if (!members) {
    metrics_.AddError();
    if (error != members_error_)
      log_.Write("warning", "membership-read-failed", {{"trigger", why}, {"manager", o_.manager}, {"error", error},
                                                      {"kept", "the Swarm's nodes read last"}});
    members_error_ = error;
    state_.last_error = error;
    return false;
  }
  if (!members_error_.empty()) log_.Info("membership-read", {{"manager", used}, {"note", "the manager answers again"}});
  members_error_.clear();
  read_ = std::move(members);
  metrics_.SetSwarmNodes(static_cast<int64_t>(read_->size()));
  return true;
}

std::optional<policy::Policy> Agent::WithMembers(const policy::Policy& base, const std::string& why) {
  if (!base.auto_nodes) return base;
  if (!ReadMembers(why) && !read_) {
    std::string saved_error;
    auto saved = LoadSavedMembers(o_.state_dir, saved_error);
    if (!saved_error.empty())
      log_.Write("warning", "membership-saved-unusable", {{"error", saved_error}, {"kept", "nothing of it"}});
    if (saved) {
      log_.Write("warning", "membership-saved", {{"note", "using the Swarm's nodes saved by an earlier run"},
                                                 {"nodes", saved->size()}});
      read_ = std::move(saved);
    } else {
      log_.Error("membership-unknown", {{"trigger", why}, {"error", members_error_},
                                        {"hint", "nodes: auto needs a manager's Engine API: the local daemon "
                                                 "when it is a manager, else --manager HOST"}});
      return std::nullopt;
    }
  }
  std::vector<std::string> notes;
  auto merged = apply::PolicyWithMembers(base, *read_, &notes);
  if (!merged.ok()) {
    for (const auto& e : merged.errors)
      log_.Error("membership-invalid", {{"trigger", why}, {"error", e.ToString()}});
    metrics_.AddError();
    return std::nullopt;
  }
  return std::move(merged.policy);
}

void Agent::Relist(const std::string& trigger) {
  if (!base_ || !base_->auto_nodes) return;
  auto start = Clock::now();
  auto since = relist_first_;
  relist_first_.reset();
  if (!ReadMembers(trigger)) {
    // Try again soon: the manager may be restarting.
    relist_at_ = Clock::now() + std::chrono::seconds(1);
    relist_why_ = "retry";
    return;
  }
  if (members_ && *read_ == *members_) return;
  MembershipChange change = DiffMembers(members_ ? *members_ : std::vector<apply::SwarmMember>{}, *read_);
  std::vector<std::string> notes;
  auto merged = apply::PolicyWithMembers(*base_, *read_, &notes);
  if (!merged.ok()) {
    for (const auto& e : merged.errors) log_.Error("membership-invalid", {{"trigger", trigger}, {"error", e.ToString()}});
    metrics_.AddError();
    members_ = read_;  // the same list is not tried again; the running policy stays
    return;
  }
  KeepResult r = keeper_.UpdateSets(*merged.policy);
  for (const auto& n : r.notes) log_.Info("recovered", {{"note", n}});
  json fields = {{"trigger", trigger},        {"node", r.node},       {"joined", change.joined},
                 {"left", change.left},       {"changed", change.changed},
                 {"nodes", read_->size()},    {"written", r.changed}, {"how", r.how.empty() ? "none" : r.how},
                 {"found", r.found},          {"duration_ms", Ms(Clock::now() - start)}};
  if (since) fields["since_event_ms"] = Ms(Clock::now() - *since);
  if (!r.ok) {
    metrics_.AddError();
    state_.last_error = r.error;
    fields["error"] = r.error;
    log_.Error("membership-failed", fields);
    relist_at_ = Clock::now() + std::chrono::seconds(1);
    relist_why_ = "retry";
    SaveState();
    return;
  }
  policy_ = std::move(merged.policy);
  members_ = read_;
  metrics_.AddMembershipUpdate();
  if (r.changed) metrics_.AddApply(r.commit_seconds);
  if (r.changed) ExposureSoon();
  std::string error;
  if (!apply::SaveMembers(o_.state_dir, *members_, error))
    log_.Write("warning", "state-not-written", {{"error", error}});
  log_.Info("membership", fields);
  SaveState();
}

void Agent::SaveState() {
  state_.updated = TimestampNow();
  state_.counters = metrics_.Snapshot();
  std::string error;
  if (!WriteAgentState(o_.state_dir, state_, error))
    log_.Write("warning", "state-not-written", {{"error", error}});
}

bool Agent::Apply(const policy::Policy& p, const std::string& trigger, bool first) {
  auto start = Clock::now();
  KeepResult r = keeper_.Ensure(p, !o_.force, true);
  for (const auto& n : r.notes) log_.Info("recovered", {{"note", n}});
  metrics_.AddCheck(r.ok);
  if (!r.ok) {
    metrics_.AddError();
    state_.last_error = r.error;
    log_.Error(first ? "apply-failed" : "reload-failed",
               {{"trigger", trigger}, {"policy", p.file}, {"error", r.error}, {"found", r.found}});
    SaveState();
    return false;
  }
  state_.node = r.node;
  state_.variant = r.variant;
  if (r.changed || first) metrics_.AddApply(r.changed ? r.commit_seconds : 0.0);
  if (r.changed || first) ExposureSoon();
  log_.Info(first ? "applied" : "reloaded",
            {{"trigger", trigger}, {"policy", p.file}, {"node", r.node}, {"variant", r.variant},
             {"changed", r.changed}, {"changes", r.found.size()},
             {"duration_ms", Ms(Clock::now() - start)}});
  SaveState();
  return true;
}

void Agent::Check(const std::string& trigger) {
  auto start = Clock::now();
  auto since = first_event_;
  first_event_.reset();
  KeepResult r = keeper_.Ensure(*policy_, false, false);
  for (const auto& n : r.notes) log_.Info("recovered", {{"note", n}});
  metrics_.AddCheck(r.ok);
  if (!r.ok) {
    metrics_.AddError();
    state_.last_error = r.error;
    log_.Error("repair-failed", {{"trigger", trigger}, {"kinds", r.kinds}, {"found", r.found},
                                 {"error", r.error}});
    SaveState();
    // Try again, later and later (at most every 10 s).
    ++failures_;
    Schedule(Clock::now() + std::chrono::milliseconds(std::min(10000, 250 << std::min(failures_, 6))),
             "retry");
    return;
  }
  failures_ = 0;
  if (r.in_sync) {
    if (!state_.counters.in_sync) SaveState();
    return;
  }
  auto now = Clock::now();
  for (const auto& k : r.kinds) metrics_.AddRepair(k);
  metrics_.AddApply(r.commit_seconds);
  ExposureSoon();
  state_.last_repair = TimestampNow();
  state_.last_repair_kinds = r.kinds;
  json fields = {{"trigger", trigger}, {"node", r.node}, {"kinds", r.kinds}, {"found", r.found},
                 {"duration_ms", Ms(now - start)}};
  if (since) fields["since_event_ms"] = Ms(now - *since);
  log_.Info("repair", fields);
  SaveState();
}

void Agent::Reload(const std::string& trigger) {
  auto p = Load(trigger);
  if (!p) {
    log_.Error("reload-rejected", {{"trigger", trigger}, {"policy", o_.policy_file},
                                   {"kept", "the running policy and rules"}});
    SaveState();
    return;
  }
  auto effective = WithMembers(*p, trigger);
  if (!effective) {
    log_.Error("reload-rejected", {{"trigger", trigger}, {"kept", "the running policy and rules"}});
    SaveState();
    return;
  }
  if (Apply(*effective, trigger, false)) {
    base_ = std::move(p);
    policy_ = std::move(effective);
    if (base_->auto_nodes) members_ = read_;
  } else {
    log_.Error("reload-rejected", {{"trigger", trigger}, {"kept", "the running policy and rules"}});
  }
}

void Agent::Schedule(Clock::time_point at, const std::string& why) {
  if (!check_at_ || at < *check_at_) {
    check_at_ = at;
    check_why_ = why;
  }
}

// Nothing should throw here; if something does, the agent stops saying so,
// and agent.json no longer claims it runs.
int Agent::Run() {
  try {
    return Loop();
  } catch (const std::exception& e) {
    log_.Error("agent-failed", {{"error", e.what()}, {"rules", "kept as they are"}});
    state_.running = false;
    state_.last_error = e.what();
    SaveState();
    RestoreSignals();
    return 1;
  }
}

int Agent::Loop() {
  InstallSignals();
  SetProcessIdentity(state_);
  state_.started = TimestampNow();
  state_.running = true;
  state_.policy = o_.policy_file;
  state_.metrics = o_.metrics;
  base_ = Load("start");
  if (base_) policy_ = WithMembers(*base_, "start");
  if (base_ && base_->auto_nodes && policy_) {
    members_ = read_;
    std::string error;
    apply::SaveMembers(o_.state_dir, *members_, error);
    log_.Info("membership", {{"trigger", "start"}, {"nodes", members_->size()},
                             {"manager", o_.manager.empty() ? "the local daemon" : o_.manager}});
  }
  if (!policy_ || !Apply(*policy_, "start", true)) {
    state_.running = false;
    SaveState();
    RestoreSignals();
    return 1;
  }
  std::unique_ptr<MetricsServer> server;
  if (!o_.metrics.empty()) {
    std::string error;
    server = MetricsServer::Start(o_.metrics, metrics_, error);
    if (!server) {
      log_.Error("metrics-failed", {{"error", error}});
      state_.running = false;
      SaveState();
      RestoreSignals();
      return 1;
    }
  }
  // Watchers.
  std::optional<host::NftMonitor> nft;
  // nf_tables events: iptables-nft's tables and the nftables backend's own.
  if (state_.variant == "nft" || state_.variant == "nftables") {
    std::string error;
    nft = host::NftMonitor::Open(error);
    if (!nft) log_.Write("warning", "no-nft-events", {{"error", error}, {"fallback", "periodic checks"}});
  }
  int inotify = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  std::string dir = std::filesystem::absolute(o_.policy_file).parent_path().string();
  std::string base = std::filesystem::path(o_.policy_file).filename().string();
  if (inotify >= 0 &&
      inotify_add_watch(inotify, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE) < 0)
    log_.Write("warning", "no-policy-watch", {{"dir", dir}, {"error", std::strerror(errno)}});
  int docker_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  std::unique_ptr<DockerEvents> docker;
  docker::Engine engine;
  if (!engine.socket_path().empty())
    docker = std::make_unique<DockerEvents>(engine.socket_path(), [docker_wake] {
      uint64_t one = 1;
      if (write(docker_wake, &one, sizeof one) < 0) {
      }
    });
  else
    log_.Write("warning", "no-docker-events", {{"host", engine.host()}, {"why", "events are followed over a local unix socket only"}});
  // A manager named by --manager: its node events tell membership changes
  // (a worker's own daemon has none). Over a unix socket only; the
  // periodic re-list covers the rest.
  std::unique_ptr<DockerEvents> manager_events;
  int manager_wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (base_->auto_nodes && !o_.manager.empty()) {
    docker::Engine manager(o_.manager);
    if (!manager.socket_path().empty() && manager.socket_path() != engine.socket_path())
      manager_events = std::make_unique<DockerEvents>(manager.socket_path(), [manager_wake] {
        uint64_t one = 1;
        if (write(manager_wake, &one, sizeof one) < 0) {
        }
      });
  }
  auto next_relist = Clock::now() + o_.relist;
  log_.Info("watching", {{"policy", o_.policy_file}, {"node", state_.node}, {"variant", state_.variant},
                         {"nft_events", nft.has_value()}, {"docker", engine.host()},
                         {"interval_ms", o_.interval.count()}, {"metrics", o_.metrics},
                         {"nodes_auto", base_->auto_nodes}, {"manager_events", manager_events != nullptr}});
  SaveState();
  auto next_tick = Clock::now() + o_.interval;
  bool stop = false;
  while (!stop) {
    auto now = Clock::now();
    auto wake = next_tick;
    if (check_at_ && *check_at_ < wake) wake = *check_at_;
    if (reload_at_ && *reload_at_ < wake) wake = *reload_at_;
    if (relist_at_ && *relist_at_ < wake) wake = *relist_at_;
    if (exposure_at_ && *exposure_at_ < wake) wake = *exposure_at_;
    if (base_->auto_nodes && next_relist < wake) wake = next_relist;
    int timeout = wake <= now ? 0 : static_cast<int>(Ms(wake - now)) + 1;
    pollfd fds[5] = {{g_signal_pipe[0], POLLIN, 0}, {inotify, POLLIN, 0},
                     {nft ? nft->fd() : -1, POLLIN, 0}, {docker_wake, POLLIN, 0},
                     {manager_events ? manager_wake : -1, POLLIN, 0}};
    if (poll(fds, 5, timeout) < 0 && errno != EINTR) break;
    now = Clock::now();
    if (fds[0].revents & POLLIN) {
      unsigned char sig;
      while (read(g_signal_pipe[0], &sig, 1) == 1) {
        if (sig == SIGHUP) {
          log_.Info("signal", {{"signal", "SIGHUP"}, {"action", "reload"}});
          reload_at_ = now;
          reload_why_ = "SIGHUP";
        } else {
          log_.Info("stopping", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                                 {"rules", "kept as they are"}});
          stop = true;
        }
      }
    }
    if (stop) break;
    if (fds[1].revents & POLLIN) {
      alignas(inotify_event) char buf[4096];
      for (ssize_t n; (n = read(inotify, buf, sizeof buf)) > 0;)
        for (char* p = buf; p < buf + n;) {
          auto* ev = reinterpret_cast<inotify_event*>(p);
          std::string name = ev->len ? ev->name : "";
          if (name == base) {
            if (!reload_at_) log_.Info("policy-changed", {{"file", dir + "/" + name}});
            if (!reload_at_) reload_why_ = "file-change";
            reload_at_ = now + std::chrono::milliseconds(100);  // let the writer finish
          }
          p += sizeof(inotify_event) + ev->len;
        }
    }
    if (nft && (fds[2].revents & POLLIN) && nft->Drain() > 0) {
      if (!first_event_) first_event_ = now;
      // Quiet for DEBOUNCE, but never later than 5 x DEBOUNCE after the first.
      auto at = std::min(now + o_.debounce, *first_event_ + 5 * o_.debounce);
      check_at_ = at;
      if (check_why_.empty() || check_why_ == "timer") check_why_ = "nftables-event";
    }
    if (fds[3].revents & POLLIN) {
      uint64_t n;
      if (read(docker_wake, &n, sizeof n) < 0) {
      }
      for (const auto& e : docker->Take()) {
        log_.Info("docker-event", {{"type", e.kind}, {"action", e.action}, {"name", e.name}});
        if (e.kind == "daemon-gone") continue;
        if (!first_event_) first_event_ = now;
        if (base_->auto_nodes && (e.kind == "node" || e.kind == "daemon-up") && !relist_at_) {
          relist_at_ = now + o_.debounce;
          relist_first_ = now;
          relist_why_ = "docker-" + e.kind + (e.action.empty() ? "" : ":" + e.action);
        }
        Schedule(now + o_.debounce, "docker-" + e.kind + (e.action.empty() ? "" : ":" + e.action));
        // A daemon that came back rebuilds its chains over a few seconds;
        // the legacy variant has no events to tell: look again.
        if (e.kind == "daemon-up" && e.action == "reconnected") next_tick = std::min(next_tick, now + std::chrono::seconds(1));
      }
    }
    if (fds[4].revents & POLLIN) {
      uint64_t n;
      if (read(manager_wake, &n, sizeof n) < 0) {
      }
      for (const auto& e : manager_events->Take()) {
        if (e.kind != "node" && e.kind != "daemon-up") continue;
        log_.Info("docker-event", {{"type", e.kind}, {"action", e.action}, {"name", e.name}, {"daemon", "manager"}});
        if (!relist_at_) {
          relist_at_ = now + o_.debounce;
          relist_first_ = now;
          relist_why_ = "manager-" + e.kind + (e.action.empty() ? "" : ":" + e.action);
        }
      }
    }
    now = Clock::now();
    if (reload_at_ && *reload_at_ <= now) {
      reload_at_.reset();
      Reload(reload_why_);
      continue;
    }
    if ((relist_at_ && *relist_at_ <= now) || (base_->auto_nodes && next_relist <= now)) {
      std::string why = relist_at_ && *relist_at_ <= now ? relist_why_ : "relist-timer";
      relist_at_.reset();
      next_relist = now + o_.relist;
      Relist(why);
      continue;
    }
    if (check_at_ && *check_at_ <= now) {
      std::string why = check_why_;
      check_at_.reset();
      check_why_.clear();
      Check(why);
      continue;
    }
    if (next_tick <= now) {
      next_tick = now + o_.interval;
      Check("timer");
      continue;
    }
    // Last: a repair or reload due now goes first.
    if (exposure_at_ && *exposure_at_ <= now) {
      exposure_at_ = now + o_.exposure_interval;
      Exposure();
    }
  }
  docker.reset();
  manager_events.reset();
  close(manager_wake);
  server.reset();
  if (inotify >= 0) close(inotify);
  close(docker_wake);
  state_.running = false;
  SaveState();
  RestoreSignals();
  return 0;
}

}  // namespace

int RunAgent(const AgentOptions& options, std::ostream& log) {
  Agent agent(options, log);
  return agent.Run();
}

}  // namespace swarmwall::agent
