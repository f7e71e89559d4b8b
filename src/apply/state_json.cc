#include "apply/state_json.h"
#include "base/json_text.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace swarmwall::apply {

using nlohmann::json;
using netfilter::Family;

json FamilyStateToJson(const compile::FamilyState& fs) {
  json j;
  j["family"] = fs.family == Family::kIPv4 ? 4 : 6;
  j["chains"] = json::array();
  for (const auto& c : fs.chains) j["chains"].push_back({{"table", c.table}, {"name", c.name}, {"rules", c.rules}});
  j["hooks"] = json::array();
  for (const auto& h : fs.hooks)
    j["hooks"].push_back({{"table", h.table}, {"chain", h.chain}, {"target", h.target}, {"create", h.create_chain}});
  j["sets"] = json::array();
  for (const auto& s : fs.sets) {
    // One string, blank-separated: 100,000 entries as a JSON array of
    // strings took ~40 ms to build and write, and a journal holds them.
    std::string entries;
    if (s.entries) {
      entries.reserve(s.entries->size() * 19);
      for (const auto& e : *s.entries) {
        if (!entries.empty()) entries += ' ';
        e.AppendTo(entries);
      }
    }
    j["sets"].push_back({{"name", s.name}, {"policy_name", s.policy_name}, {"entry_list", std::move(entries)}});
  }
  return j;
}

compile::FamilyState FamilyStateFromJson(const json& j) {
  compile::FamilyState fs;
  fs.family = j.value("family", 4) == 4 ? Family::kIPv4 : Family::kIPv6;
  for (const auto& c : j.value("chains", json::array()))
    fs.chains.push_back({c.value("table", "filter"), c.value("name", ""),
                         c.value("rules", std::vector<std::string>{})});
  for (const auto& h : j.value("hooks", json::array()))
    fs.hooks.push_back({h.value("table", "filter"), h.value("chain", ""), h.value("target", ""),
                        h.value("create", false)});
  for (const auto& s : j.value("sets", json::array())) {
    std::vector<netfilter::Cidr> entries;
    if (auto list = s.find("entry_list"); list != s.end() && list->is_string()) {
      std::string_view rest = list->get_ref<const std::string&>();
      while (!rest.empty()) {
        size_t blank = rest.find(' ');
        if (auto c = netfilter::Cidr::Parse(rest.substr(0, blank), fs.family)) entries.push_back(*c);
        rest = blank == std::string_view::npos ? std::string_view() : rest.substr(blank + 1);
      }
    }
    for (const auto& e : s.value("entries", std::vector<std::string>{}))   // the earlier form
      if (auto c = netfilter::Cidr::Parse(e, fs.family)) entries.push_back(*c);
    compile::IpSet set;
    set.name = s.value("name", "");
    set.policy_name = s.value("policy_name", "");
    set.family = fs.family;
    set.entries = std::make_shared<const std::vector<netfilter::Cidr>>(std::move(entries));
    fs.sets.push_back(std::move(set));
  }
  return fs;
}

json DesiredStateToJson(const compile::DesiredState& s) {
  return {{"node", s.node}, {"policy_file", s.policy_file}, {"ipv4", FamilyStateToJson(s.ipv4)},
          {"ipv6", FamilyStateToJson(s.ipv6)}};
}

compile::DesiredState DesiredStateFromJson(const json& j) {
  compile::DesiredState s;
  s.node = j.value("node", "");
  s.policy_file = j.value("policy_file", "");
  s.ipv4 = FamilyStateFromJson(j.value("ipv4", json::object()));
  s.ipv6 = FamilyStateFromJson(j.value("ipv6", json::object()));
  s.ipv4.family = Family::kIPv4;
  s.ipv6.family = Family::kIPv6;
  return s;
}

json SnapshotToJson(const FamilySnapshot& s) {
  compile::FamilyState owned = s.owned;
  owned.sets.clear();
  json jumps = json::array();
  for (const auto& [key, n] : s.kernel.jumps) jumps.push_back({key.first, key.second, n});
  json first = json::array();
  for (const auto& [key, f] : s.hook_first) first.push_back({key.first, key.second, f});
  return {{"owned", FamilyStateToJson(owned)},
          {"chains", s.kernel.existing_chains},
          {"jumps", jumps},
          {"hook_first", first},
          {"forward_jumps_to_docker_user", s.forward_jumps_to_docker_user},
          {"docker_chains", s.docker_chains},
          {"docker_user_referenced", s.docker_user_referenced},
          {"docker_user_foreign_rules", s.docker_user_foreign_rules},
          {"docker_user_removable", s.docker_user_removable},
          {"foreign_rules", s.foreign_rules}};
}

FamilySnapshot SnapshotFromJson(const json& j) {
  FamilySnapshot s;
  s.owned = FamilyStateFromJson(j.value("owned", json::object()));
  s.kernel.existing_chains = j.value("chains", std::vector<std::string>{});
  for (const auto& e : j.value("jumps", json::array()))
    s.kernel.jumps[{e[0].get<std::string>(), e[1].get<std::string>()}] = e[2].get<int>();
  for (const auto& e : j.value("hook_first", json::array()))
    s.hook_first[{e[0].get<std::string>(), e[1].get<std::string>()}] = e[2].get<bool>();
  s.forward_jumps_to_docker_user = j.value("forward_jumps_to_docker_user", false);
  s.docker_chains = j.value("docker_chains", false);
  s.docker_user_referenced = j.value("docker_user_referenced", false);
  s.docker_user_foreign_rules = j.value("docker_user_foreign_rules", false);
  s.docker_user_removable = j.value("docker_user_removable", false);
  s.foreign_rules = j.value("foreign_rules", size_t{0});
  return s;
}

json RecordToJson(const AppliedRecord& r) {
  json j = {{"node", r.node}, {"policy", r.policy}, {"digest", r.digest}, {"variant", r.variant},
            {"time", r.time}};
  if (!r.inputs.empty()) {
    j["inputs"] = r.inputs;
    j["files"] = r.files;
  }
  return j;
}

AppliedRecord RecordFromJson(const json& j) {
  AppliedRecord r;
  r.node = j.value("node", "");
  r.policy = j.value("policy", "");
  r.digest = j.value("digest", "");
  r.variant = j.value("variant", "");
  r.time = j.value("time", "");
  r.inputs = j.value("inputs", "");
  if (j.contains("files") && j["files"].is_array())
    for (const auto& f : j["files"])
      if (f.is_string()) r.files.push_back(f.get<std::string>());
  return r;
}

namespace {

bool Plain(const std::string& s) {
  return std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' ||
           c == ':' || c == '/' || c == ' ' || c == '-' || c == '_';
  });
}

// Moves J's long plain strings into OUT, leaving "\u0001N" in their place.
void TakeLongStrings(json& j, std::vector<std::string>& out) {
  if (j.is_string()) {
    auto& s = j.get_ref<std::string&>();
    if (s.size() >= 4096 && Plain(s)) {
      out.push_back(std::move(s));
      j = "\x01" + std::to_string(out.size() - 1);
    }
  } else if (j.is_structured()) {
    for (auto& v : j) TakeLongStrings(v, out);
  }
}

bool HasMarker(const json& j) {
  if (j.is_string()) return j.get_ref<const std::string&>().starts_with('\x01');
  if (j.is_structured())
    for (const auto& v : j)
      if (HasMarker(v)) return true;
  return false;
}

}  // namespace

std::string DumpJson(json j) {
  if (HasMarker(j)) return JsonText(j);   // a string of its own looks like a placeholder
  std::vector<std::string> taken;
  TakeLongStrings(j, taken);
  std::string text = JsonText(j);
  if (taken.empty()) return text;
  // A control character is always escaped by dump, so the only "\u0001" in
  // TEXT are the placeholders.
  std::string out;
  size_t size = text.size();
  for (const auto& t : taken) size += t.size();
  out.reserve(size);
  size_t at = 0;
  for (;;) {
    size_t p = text.find("\"\\u0001", at);
    if (p == std::string::npos) break;
    size_t digits = p + 7, end = digits;
    while (end < text.size() && text[end] >= '0' && text[end] <= '9') ++end;
    out.append(text, at, p + 1 - at);   // up to and with the opening quote
    out += taken[std::stoul(text.substr(digits, end - digits))];
    at = end;   // the closing quote comes next
  }
  out.append(text, at, std::string::npos);
  return out;
}

bool WriteFileAtomically(const std::string& path, const std::string& text, std::string& error,
                         bool durable) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) {
    error = "cannot write " + tmp;
    return false;
  }
  size_t done = 0;
  while (done < text.size()) {
    ssize_t n = write(fd, text.data() + done, text.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  bool ok = done == text.size() && (!durable || fsync(fd) == 0);
  close(fd);
  if (!ok || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    error = "cannot write " + path;
    return false;
  }
  return true;
}

}  // namespace swarmwall::apply
