// For the analyzer's unit tests only: where the shared fixtures are, a
// file's text, and a ruleset with its host's facts and a TraceModel over
// them (Self: the test's own host type, which adds its helpers).
#pragma once

#include <cstdlib>
#include <fstream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "host/network.h"
#include "analyze/trace/trace.h"
#include "netfilter/nft_json.h"
#include "netfilter/parser.h"

namespace swarmwall::analyze::test {

inline std::string Shared() {
  const char* s = std::getenv("SWARMWALL_SHARED");
  return s ? s : SWARMWALL_SHARED_DEFAULT;
}

inline std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Rules of one of moby's generated docs in ../shared/fixtures/moby-iptablesdoc
// (TABLE's "iptables commands" block), as iptables-restore text.
inline std::string MobyRules(const std::string& doc, const std::string& table) {
  std::string text = ReadFile(Shared() + "/fixtures/moby-iptablesdoc/" + doc);
  std::istringstream in(text);
  std::string line, out = "*" + table + "\n";
  int block = 0;
  bool in_block = false;
  int want = table == "filter" ? 0 : table == "nat" ? 1 : 2;
  while (std::getline(in, line)) {
    if (line.find("<summary>iptables commands</summary>") != std::string::npos) {
      in_block = true;
      continue;
    }
    if (line.find("</details>") != std::string::npos) {
      if (in_block) ++block;
      in_block = false;
      continue;
    }
    if (!in_block || block != want) continue;
    size_t start = line.find_first_not_of(' ');
    if (start == std::string::npos || line[start] != '-') continue;
    std::string rule = line.substr(start);
    if (rule.rfind("-P ", 0) == 0) continue;
    out += rule + "\n";
  }
  return out + "COMMIT\n";
}

template <typename Self>
struct HostBase {
  netfilter::Ruleset ruleset;
  host::HostNetwork net;
  std::unique_ptr<TraceModel> model;

  HostBase(const std::string& rules, const std::string& addr, const std::string& route,
           const std::string& ipsets = "", const std::string& nft_json = "") {
    auto r = netfilter::ParseRuleset(rules);
    if (!r.ruleset) throw std::runtime_error(r.error->ToString());
    ruleset = std::move(*r.ruleset);
    std::string error;
    if (!host::ParseIpAddrJson(addr, net, error)) throw std::runtime_error(error);
    if (!host::ParseIpRouteJson(route, ruleset.family, net, error)) throw std::runtime_error(error);
    if (!ipsets.empty() && !host::ParseIpsetSave(ipsets, net, error)) throw std::runtime_error(error);
    if (!nft_json.empty()) {
      auto n = netfilter::ParseNftJson(nft_json, "nft.json");
      if (!n.ruleset) throw std::runtime_error(n.error->ToString());
      net.nftables = std::move(*n.ruleset);
      net.nftables_known = true;
    }
    model = std::make_unique<TraceModel>(ruleset, net);
  }
  // A node of ../shared/fixtures/DIR with its `ip -j` facts.
  static Self Fixture(const std::string& dir, const std::string& node, bool v6 = false) {
    std::string d = Shared() + "/fixtures/" + dir + "/" + node;
    return Self(ReadFile(d + (v6 ? ".ip6tables-save" : ".iptables-save")), ReadFile(d + ".ip-addr.json"),
                ReadFile(d + ".ip-route.json"));
  }
};

}  // namespace swarmwall::analyze::test
