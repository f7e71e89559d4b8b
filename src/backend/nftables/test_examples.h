// For the tests of this folder: every example policy compiled for every
// node, as the golden tests of the other renderers do (NodeFacts{}: Docker
// hosts with DOCKER-USER in both families), and once more hooked in
// FORWARD with Docker running (the other hook the compiler makes).
#pragma once

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "compile/compiler.h"
#include "policy/policy.h"

namespace swarmwall::backend::nft::testing {

struct Example {
  std::string name;          // "swarm-cluster"
  std::string node;          // "manager-1"
  bool forward = false;      // compiled with the FORWARD hook
  compile::DesiredState state;
};

inline std::string ReadText(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline std::vector<Example> Examples() {
  namespace fs = std::filesystem;
  std::string source = SWARMWALL_SOURCE_DIR;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(source + "/examples"))
    if (e.path().extension() == ".yaml") files.push_back(e.path());
  std::sort(files.begin(), files.end());
  std::vector<Example> out;
  for (const auto& path : files) {
    // Named "examples/NAME.yaml" whatever the checkout's path: the name is
    // in rendered headers.
    auto loaded = policy::LoadPolicyText(ReadText(path), "examples/" + path.filename().string(),
                                         source + "/examples");
    if (!loaded.ok()) continue;
    for (const auto& node : loaded.policy->nodes)
      for (bool forward : {false, true}) {
        compile::NodeFacts facts;
        if (forward) {
          facts.forward_ipv4 = facts.forward_ipv6 = true;
          facts.docker_running = true;
        }
        out.push_back({path.stem().string(), node.name, forward, compile::Compile(*loaded.policy, node, facts)});
      }
  }
  return out;
}

}  // namespace swarmwall::backend::nft::testing

#include <regex>

#include <fmt/format.h>

#include "netfilter/address_interval.h"

namespace swarmwall::backend::nft::testing {

// What FamilyStateOf(TableOf(X)) gives back for a compiled X
// (family_state_of.h): hooks in FORWARD for DOCKER-USER, once per target;
// set entries as the fewest CIDRs; a multiport match of one port as the
// protocol's own match. Comments are kept (those of the tests are short
// and hold no double quote).
inline compile::FamilyState Expected(const compile::FamilyState& x) {
  compile::FamilyState e = x;
  static const std::regex one_port("(^| )-p (tcp|udp|sctp) -m multiport --dports ([0-9]+(:[0-9]+)?) ");
  for (auto& c : e.chains)
    for (auto& r : c.rules) r = std::regex_replace(r, one_port, "$1-p $2 -m $2 --dport $3 ");
  e.hooks.clear();
  for (auto h : x.hooks) {
    if (h.chain == "DOCKER-USER") h.chain = "FORWARD";
    h.create_chain = false;
    bool seen = std::any_of(e.hooks.begin(), e.hooks.end(), [&](const compile::Hook& o) {
      return o.chain == h.chain && o.target == h.target;
    });
    if (!seen) e.hooks.push_back(h);
  }
  for (auto& s : e.sets)
    s.entries = std::make_shared<const std::vector<netfilter::Cidr>>(
        netfilter::CidrsOf(*netfilter::IntervalsOf(*s.entries)));
  return e;
}

// "" when A and B are equal, else the first difference.
inline std::string Difference(const compile::FamilyState& a, const compile::FamilyState& b) {
  if (a.family != b.family) return "family";
  if (a.chains.size() != b.chains.size()) return fmt::format("{} chains, {}", a.chains.size(), b.chains.size());
  for (size_t i = 0; i < a.chains.size(); ++i) {
    const auto &x = a.chains[i], &y = b.chains[i];
    if (x.table != y.table || x.name != y.name) return fmt::format("chain {} / {}", x.name, y.name);
    for (size_t r = 0; r < std::max(x.rules.size(), y.rules.size()); ++r) {
      std::string p = r < x.rules.size() ? x.rules[r] : "(none)";
      std::string q = r < y.rules.size() ? y.rules[r] : "(none)";
      if (p != q) return fmt::format("{} rule {}:\n  {}\n  {}", x.name, r + 1, p, q);
    }
  }
  if (a.hooks.size() != b.hooks.size()) return fmt::format("{} hooks, {}", a.hooks.size(), b.hooks.size());
  for (size_t i = 0; i < a.hooks.size(); ++i) {
    const auto &x = a.hooks[i], &y = b.hooks[i];
    if (x.table != y.table || x.chain != y.chain || x.target != y.target || x.create_chain != y.create_chain)
      return fmt::format("hook {} -> {} / {} -> {}", x.chain, x.target, y.chain, y.target);
  }
  if (a.sets.size() != b.sets.size()) return fmt::format("{} sets, {}", a.sets.size(), b.sets.size());
  for (size_t i = 0; i < a.sets.size(); ++i) {
    const auto &x = a.sets[i], &y = b.sets[i];
    if (x.name != y.name || x.policy_name != y.policy_name || x.family != y.family ||
        !x.entries != !y.entries || (x.entries && *x.entries != *y.entries))
      return fmt::format("set {} / {}", x.name, y.name);
  }
  return "";
}

}  // namespace swarmwall::backend::nft::testing
