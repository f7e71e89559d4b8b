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

// nftables tables of HOST as "FAMILY NAME", in listing order.
std::vector<std::string> NftTables(Host& host) {
  std::vector<std::string> out;
  std::istringstream in(host.Exec({"nft", "list", "tables"}).out);
  for (std::string line; std::getline(in, line);) {
    std::istringstream words(line);
    std::string table, family, name;
    if (words >> table >> family >> name && table == "table") out.push_back(family + " " + name);
  }
  return out;
}

// The tables iptables-nft makes (read through iptables-save above).
bool XtablesTable(const std::string& table) {
  auto name = table.substr(table.find(' ') + 1);
  return name == "filter" || name == "nat" || name == "mangle" || name == "raw" || name == "security";
}

bool OwnedTable(const std::string& table) { return table == "ip swarmwall" || table == "ip6 swarmwall"; }

// `nft list table` of TABLE with counters and handles zeroed out.
std::string ListTable(Host& host, const std::string& table) {
  static const std::regex counters("counter packets \\d+ bytes \\d+");
  std::istringstream words(table);
  std::string family, name;
  words >> family >> name;
  return std::regex_replace(host.Exec({"nft", "list", "table", family, name}).out, counters, "counter");
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
  // Native nftables tables (Docker 29's docker-bridges, firewalld's, ...).
  for (const auto& t : NftTables(host))
    if (!XtablesTable(t) && !OwnedTable(t)) out += ListTable(host, t);
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
  // The nftables backend's tables, ip before ip6 whatever their handles (a
  // table deleted and made again lists after the other).
  auto tables = NftTables(host);
  for (const char* t : {"ip swarmwall", "ip6 swarmwall"})
    if (std::find(tables.begin(), tables.end(), t) != tables.end()) out += ListTable(host, t);
  return out;
}

}  // namespace swarmwall::lab
