#include "backend/iptables/ruleset_after.h"

#include <map>
#include <vector>

namespace swarmwall::backend {
namespace {

bool JumpsToOwned(std::string_view line) {
  for (std::string_view t : {" -j ", " -g ", " --jump ", " --goto "}) {
    size_t p = line.find(t);
    if (p != std::string_view::npos &&
        line.substr(p + t.size()).starts_with(compile::kChainPrefix))
      return true;
  }
  return false;
}

std::string_view ChainOf(std::string_view line) {   // "-A NAME ..." -> NAME
  line.remove_prefix(3);
  return line.substr(0, line.find(' '));
}

}  // namespace

std::string RulesetAfter(std::string_view saved, const compile::FamilyState& fs) {
  std::string out;
  bool in_filter = false;
  std::vector<std::string> filter;   // the filter table's lines, rewritten
  std::map<std::string, bool, std::less<>> declared;
  while (!saved.empty()) {
    size_t nl = saved.find('\n');
    std::string_view line = saved.substr(0, nl);
    saved.remove_prefix(nl == std::string_view::npos ? saved.size() : nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line == "*filter") {
      in_filter = true;
      filter.clear();
      continue;
    }
    if (!in_filter) {
      out.append(line);
      out += '\n';
      continue;
    }
    if (line == "COMMIT") {
      // Declarations (ours, and DOCKER-USER when a hook makes it), then the
      // rules with each hook first in its chain, then our chains' rules.
      out += "*filter\n";
      for (const auto& l : filter)
        if (l.starts_with(":")) out += l + "\n";
      for (const auto& c : fs.chains) out += ":" + c.name + " - [0:0]\n";
      for (const auto& h : fs.hooks)
        if (!declared.count(h.chain) && h.chain != "INPUT" && h.chain != "FORWARD" &&
            h.chain != "OUTPUT") {
          out += ":" + h.chain + " - [0:0]\n";
          declared[h.chain] = true;
        }
      std::map<std::string, bool, std::less<>> hooked;
      auto hook = [&](std::string_view chain) {
        if (hooked.count(chain)) return;
        hooked[std::string(chain)] = true;
        for (const auto& h : fs.hooks)
          if (h.chain == chain) out += "-A " + h.chain + " -j " + h.target + "\n";
      };
      for (const auto& l : filter) {
        if (!l.starts_with("-A ")) continue;
        hook(ChainOf(l));
        out += l + "\n";
      }
      for (const auto& h : fs.hooks) hook(h.chain);
      for (const auto& c : fs.chains)
        for (const auto& r : c.rules) out += "-A " + c.name + " " + r + "\n";
      out += "COMMIT\n";
      in_filter = false;
      continue;
    }
    if (line.starts_with(":")) {
      std::string_view name = line.substr(1, line.find(' ') - 1);
      if (name.starts_with(compile::kChainPrefix)) continue;
      declared[std::string(name)] = true;
    } else if (line.starts_with("-A ")) {
      if (ChainOf(line).starts_with(compile::kChainPrefix) || JumpsToOwned(line)) continue;
    }
    filter.emplace_back(line);
  }
  if (out.find("*filter") == std::string::npos) {   // no filter table yet
    std::string empty = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
    out += RulesetAfter(empty, fs);
  }
  return out;
}

}  // namespace swarmwall::backend
