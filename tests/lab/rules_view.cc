#include "lab/rules_view.h"

#include <algorithm>
#include <regex>
#include <sstream>
#include <vector>

namespace swarmwall::lab {

namespace {

std::string ZeroCounters(const std::string& line) {
  static const std::regex counters("\\[\\d+:\\d+\\]");
  return std::regex_replace(line, counters, "[0:0]");
}

}  // namespace

std::string ForeignRules(Host& host) {
  std::string out;
  for (const char* tool : {"iptables-save", "ip6tables-save"}) {
    std::istringstream in(host.Exec({tool}).out);
    std::string table;
    bool meaningful = false;
    for (std::string line; std::getline(in, line);) {
      if (line.starts_with("#") || line.find("SWARMWALL") != std::string::npos) continue;
      line = ZeroCounters(line);
      if (line.starts_with("*")) {
        table.clear();
        meaningful = false;
      }
      table += line + "\n";
      if (line.starts_with("-A") || (line.starts_with(":") && line.find(" ACCEPT ") == std::string::npos &&
                                     line != ":DOCKER-USER - [0:0]"))
        meaningful = true;
      if (line == "COMMIT" && meaningful) out += table;
    }
  }
  return out;
}

std::string OwnedRules(Host& host) {
  std::string out;
  for (const char* tool : {"iptables-save", "ip6tables-save"}) {
    std::istringstream in(host.Exec({tool, "-t", "filter"}).out);
    for (std::string line; std::getline(in, line);)
      if (line.find("SWARMWALL") != std::string::npos) out += ZeroCounters(line) + "\n";
  }
  static const std::regex volatile_fields(" (initval 0x[0-9a-f]+|hashsize \\d+|bucketsize \\d+)");
  std::vector<std::string> sets;
  std::istringstream in(host.Sh("ipset save | grep swarmwall || true").out);
  for (std::string line; std::getline(in, line);) sets.push_back(std::regex_replace(line, volatile_fields, ""));
  std::sort(sets.begin(), sets.end());
  for (const auto& s : sets) out += s + "\n";
  return out;
}

}  // namespace swarmwall::lab
