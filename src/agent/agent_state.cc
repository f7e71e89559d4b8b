#include "agent/agent_state.h"

#include <unistd.h>

#include <climits>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "base/state_file.h"
#include "base/json_text.h"
#include "host/process_identity.h"

namespace swarmwall::agent {

using nlohmann::json;

namespace {

// V as a signed integer, whether parsed (positive numbers come back
// unsigned) or built in code; nullopt for anything else.
std::optional<int64_t> AsInt(const json& v) {
  if (v.is_number_unsigned()) {
    uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  return std::nullopt;
}

// Readers of one optional field each: absent is fine (OUT keeps its
// default); present with another type sets ERROR.
struct Fields {
  const json& j;
  std::string where;  // "" or "counters."
  std::string& error;

  const json* Get(const char* key) const {
    auto it = j.find(key);
    return it == j.end() ? nullptr : &*it;
  }
  void Wrong(const char* key, const char* want) {
    if (error.empty()) error = fmt::format("\"{}{}\" is not {}", where, key, want);
  }
  void Str(const char* key, std::string& out) {
    if (auto* v = Get(key)) v->is_string() ? void(out = v->get<std::string>()) : Wrong(key, "a string");
  }
  void Bool(const char* key, bool& out) {
    if (auto* v = Get(key)) v->is_boolean() ? void(out = v->get<bool>()) : Wrong(key, "true or false");
  }
  void Count(const char* key, uint64_t& out) {
    auto* v = Get(key);
    if (!v) return;
    if (v->is_number_unsigned()) out = v->get<uint64_t>();
    else if (auto i = AsInt(*v); i && *i >= 0) out = static_cast<uint64_t>(*i);
    else Wrong(key, "a count");
  }
  void Int(const char* key, int64_t& out) {
    auto* v = Get(key);
    if (!v) return;
    if (auto i = AsInt(*v)) out = *i;
    else Wrong(key, "an integer");
  }
  void Number(const char* key, double& out) {
    if (auto* v = Get(key)) v->is_number() ? void(out = v->get<double>()) : Wrong(key, "a number");
  }
  void Strings(const char* key, std::vector<std::string>& out) {
    auto* v = Get(key);
    if (!v) return;
    if (!v->is_array()) return Wrong(key, "a list of strings");
    for (const auto& e : *v) {
      if (!e.is_string()) return Wrong(key, "a list of strings");
      out.push_back(e.get<std::string>());
    }
  }
};

std::string ReadSmallFile(const std::string& path, bool& exists, std::string& error) {
  std::ifstream in(path, std::ios::binary);
  exists = static_cast<bool>(in);
  if (!in) return "";
  std::string text;
  char buf[4096];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    text.append(buf, static_cast<size_t>(in.gcount()));
    if (text.size() > (1u << 20)) {
      error = "larger than 1 MiB";
      return "";
    }
  }
  return text;
}

// Seconds since the epoch of "YYYY-MM-DDTHH:MM:SS[.mmm]Z"; -1 if unreadable.
long long ParseIso(const std::string& s) {
  std::tm tm{};
  std::istringstream in(s.substr(0, 19));
  in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
  if (in.fail()) return -1;
  return static_cast<long long>(timegm(&tm));
}

}  // namespace

json AgentStateToJson(const AgentState& s) {
  json repairs = json::object();
  for (const auto& [k, v] : s.counters.repairs) repairs[k] = v;
  return {{"pid", s.pid}, {"start_ticks", s.start_ticks}, {"boot_id", s.boot_id}, {"pid_ns", s.pid_ns},
          {"running", s.running}, {"started", s.started}, {"updated", s.updated},
          {"policy", s.policy}, {"node", s.node}, {"variant", s.variant}, {"metrics", s.metrics},
          {"last_repair", s.last_repair}, {"last_repair_kinds", s.last_repair_kinds},
          {"last_error", s.last_error},
          {"counters", {{"applies", s.counters.applies}, {"errors", s.counters.errors},
                        {"drift_checks", s.counters.drift_checks}, {"repairs", repairs},
                        {"last_apply_seconds", s.counters.last_apply_seconds},
                        {"in_sync", s.counters.in_sync},
                        {"membership_updates", s.counters.membership_updates},
                        {"swarm_nodes", s.counters.swarm_nodes}}}};
}

std::optional<AgentState> AgentStateFromJson(const json& j, std::string& error) {
  error.clear();
  if (!j.is_object()) {
    error = "not a JSON object";
    return std::nullopt;
  }
  AgentState s;
  auto pid_field = j.find("pid");
  auto pid = pid_field == j.end() ? std::nullopt : AsInt(*pid_field);
  if (!pid || *pid <= 0 || *pid > INT_MAX) {
    error = "\"pid\" is missing or not a process id";
    return std::nullopt;
  }
  s.pid = static_cast<int>(*pid);
  auto running = j.find("running");
  if (running == j.end() || !running->is_boolean()) {
    error = "\"running\" is missing or not true or false";
    return std::nullopt;
  }
  s.running = running->get<bool>();
  Fields f{j, "", error};
  int64_t ticks = -1;
  f.Int("start_ticks", ticks);
  s.start_ticks = ticks;
  f.Str("boot_id", s.boot_id);
  f.Str("pid_ns", s.pid_ns);
  f.Str("started", s.started);
  f.Str("updated", s.updated);
  f.Str("policy", s.policy);
  f.Str("node", s.node);
  f.Str("variant", s.variant);
  f.Str("metrics", s.metrics);
  f.Str("last_repair", s.last_repair);
  f.Strings("last_repair_kinds", s.last_repair_kinds);
  f.Str("last_error", s.last_error);
  if (auto c = j.find("counters"); c != j.end()) {
    if (!c->is_object()) {
      f.Wrong("counters", "an object");
    } else {
      Fields cf{*c, "counters.", error};
      cf.Count("applies", s.counters.applies);
      cf.Count("errors", s.counters.errors);
      cf.Count("drift_checks", s.counters.drift_checks);
      cf.Number("last_apply_seconds", s.counters.last_apply_seconds);
      cf.Bool("in_sync", s.counters.in_sync);
      cf.Count("membership_updates", s.counters.membership_updates);
      cf.Int("swarm_nodes", s.counters.swarm_nodes);
      if (auto r = c->find("repairs"); r != c->end()) {
        if (!r->is_object()) cf.Wrong("repairs", "an object of counts");
        else
          for (const auto& [k, v] : r->items()) {
            auto n = AsInt(v);
            if (v.is_number_unsigned()) {
              s.counters.repairs[k] = v.get<uint64_t>();
            } else if (n && *n >= 0) {
              s.counters.repairs[k] = static_cast<uint64_t>(*n);
            } else {
              cf.Wrong("repairs", "an object of counts");
              break;
            }
          }
      }
    }
  }
  if (!error.empty()) return std::nullopt;
  return s;
}

AgentStateFile ParseAgentState(const std::string& text, const std::string& path) {
  AgentStateFile out;
  std::string why;
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) why = "not JSON";
  else out.state = AgentStateFromJson(j, why);
  if (!why.empty()) {
    out.state.reset();
    out.error = path + ": " + why;
  }
  return out;
}

AgentStateFile ReadAgentState(const std::string& dir) {
  std::string path = dir + "/agent.json", why;
  bool exists = false;
  std::string text = ReadSmallFile(path, exists, why);
  if (!exists) return {};
  if (!why.empty()) return {std::nullopt, path + ": " + why};
  return ParseAgentState(text, path);
}

bool WriteAgentState(const std::string& dir, const AgentState& s, std::string& error) {
  return WriteFileAtomically(dir + "/agent.json", JsonText(AgentStateToJson(s), 2) + "\n", error);
}

std::optional<AgentState> LoadAgentState(const std::string& dir) { return ReadAgentState(dir).state; }

void SetProcessIdentity(AgentState& s) {
  s.pid = getpid();
  s.start_ticks = host::ProcessStartTicks(s.pid);
  s.boot_id = host::BootId();
  s.pid_ns = host::PidNamespace();
}

bool AgentRuns(const AgentState& s, std::string* why) {
  auto no = [&](std::string text) {
    if (why) *why = std::move(text);
    return false;
  };
  if (s.pid <= 0) return no("no pid recorded");
  // An agent in another pid namespace (a container, read from the host):
  // its pid names another process here, so it cannot be checked by pid.
  if (std::string ns = host::PidNamespace(); !s.pid_ns.empty() && !ns.empty() && ns != s.pid_ns) return true;
  if (!host::ProcessExists(s.pid)) return no(fmt::format("pid {} is gone", s.pid));
  if (std::string boot = host::BootId(); !s.boot_id.empty() && !boot.empty() && boot != s.boot_id)
    return no(fmt::format("recorded before the last reboot; pid {} is another process now", s.pid));
  long long ticks = host::ProcessStartTicks(s.pid);
  if (s.start_ticks >= 0) {
    if (ticks >= 0 && ticks != s.start_ticks)
      return no(fmt::format("pid {} now belongs to another process", s.pid));
    return true;
  }
  // An older file, without the start: a process that started after the
  // agent's recorded start is not the agent.
  long long started = ParseIso(s.started), process = host::ProcessStartSeconds(s.pid);
  if (started >= 0 && process >= 0 && process > started + 2)
    return no(fmt::format("pid {} now belongs to a process started after the agent's start {}", s.pid,
                          s.started));
  return true;
}

std::string DescribeAgent(const std::string& dir) {
  auto file = ReadAgentState(dir);
  if (!file.error.empty()) return "unknown: " + file.error + " (the file is not used)";
  if (!file.state) return "";
  const AgentState& s = *file.state;
  std::string why;
  std::string head;
  if (!s.running) head = fmt::format("stopped at {}", s.updated);
  else if (AgentRuns(s, &why)) head = fmt::format("running (pid {}, since {})", s.pid, s.started);
  else head = fmt::format("dead ({}; last word at {})", why, s.updated);
  std::string text = fmt::format("{}, node {}, {}, {} repair(s)", head, s.node,
                                 s.counters.in_sync ? "in sync at its last check" : "NOT in sync at its last check",
                                 s.counters.repairs_total());
  if (!s.last_repair.empty())
    text += fmt::format(", last at {} ({})", s.last_repair, fmt::join(s.last_repair_kinds, ", "));
  text += fmt::format(", {} error(s)", s.counters.errors);
  if (!s.last_error.empty()) text += ", last error: " + s.last_error;
  return text;
}

json AgentStatusJson(const std::string& dir) {
  auto s = LoadAgentState(dir);
  if (!s) return nullptr;
  json j = AgentStateToJson(*s);
  // The file's "running" is the agent's last word; a dead agent wrote none.
  if (std::string why; s->running && !AgentRuns(*s, &why)) {
    j["running"] = false;
    j["dead"] = why;
  }
  return j;
}

std::string AgentProblem(const std::string& state_dir, const std::string& policy_file, const std::string& node) {
  auto file = ReadAgentState(state_dir);
  if (!file.error.empty()) return "the agent's state is unusable: " + file.error;
  if (!file.state) return fmt::format("no agent state in {}/agent.json (no agent has run here)", state_dir);
  const AgentState& s = *file.state;
  if (!s.running)
    return fmt::format("the agent stopped at {}{}", s.updated,
                       s.last_error.empty() ? "" : " (last error: " + s.last_error + ")");
  if (std::string why; !AgentRuns(s, &why))
    return fmt::format("the agent is dead ({}; last word at {})", why, s.updated);
  std::error_code ec1, ec2;
  auto mine = std::filesystem::weakly_canonical(policy_file, ec1);
  auto its = std::filesystem::weakly_canonical(s.policy, ec2);
  if (!ec1 && !ec2 && mine != its)
    return fmt::format("the agent (pid {}) keeps {}, not {}", s.pid, s.policy, policy_file);
  if (!s.node.empty() && !node.empty() && s.node != node)
    return fmt::format("the agent (pid {}) keeps node {}, not {}", s.pid, s.node, node);
  return "";
}

}  // namespace swarmwall::agent
