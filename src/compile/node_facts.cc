#include "compile/node_facts.h"

#include <algorithm>

#include <fmt/format.h>

namespace swarmwall::compile {

NodeChoice IdentifyNode(const policy::Policy& policy, const NodeFacts& facts,
                        const std::optional<std::string>& name) {
  NodeChoice choice;
  if (policy.nodes.empty()) {
    policy::Node host;
    host.name = name ? *name : "host";
    host.role = policy::Role::kWorker;
    choice.node = host;
    return choice;
  }
  if (name) {
    if (const policy::Node* n = policy.FindNode(*name)) choice.node = *n;
    if (!choice.node) {
      std::string known;
      for (const auto& n : policy.nodes) known += (known.empty() ? "" : ", ") + n.name;
      choice.error = fmt::format("node '{}' is not in {} (nodes: {})", *name, policy.file,
                                 known.empty() ? "none" : known);
    }
    return choice;
  }
  std::vector<const policy::Node*> found;
  for (const auto& n : policy.nodes)
    for (const auto& a : n.addresses)
      if (std::find(facts.local_addresses.begin(), facts.local_addresses.end(), a) !=
          facts.local_addresses.end()) {
        found.push_back(&n);
        break;
      }
  if (found.size() == 1) {
    choice.node = *found[0];
  } else if (found.empty()) {
    choice.error = fmt::format(
        "no node of {} has an address on this host's interfaces; name it with --node", policy.file);
  } else {
    std::string names;
    for (const auto* n : found) names += (names.empty() ? "" : ", ") + n->name;
    choice.error = fmt::format("several nodes of {} have addresses on this host ({}); name one with --node",
                               policy.file, names);
  }
  return choice;
}

}  // namespace swarmwall::compile
