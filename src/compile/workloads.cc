#include "compile/workloads.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>

namespace swarmwall::compile {
namespace {

using policy::Protocol;
using policy::WorkloadRef;

std::optional<Protocol> ProtocolOf(const std::string& name) {
  if (name == "tcp") return Protocol::kTcp;
  if (name == "udp") return Protocol::kUdp;
  if (name == "sctp") return Protocol::kSctp;
  return std::nullopt;
}

// Ports grouped by protocol as Traffic wants them: sorted, adjacent merged.
policy::Traffic TrafficOf(const std::map<Protocol, std::set<uint16_t>>& ports) {
  policy::Traffic t;
  for (const auto& [protocol, set] : ports) {
    if (set.empty()) continue;
    policy::ProtocolPorts pp{protocol, {}};
    for (uint16_t p : set) {
      if (!pp.ports.empty() && pp.ports.back().last + 1 == p)
        pp.ports.back().last = p;
      else
        pp.ports.push_back({p, p});
    }
    t.protocols.push_back(std::move(pp));
  }
  return t;
}

std::string RuleName(const policy::Rule& r) {
  return fmt::format("{} {} #{}", policy::SectionName(r.section),
                     r.action == policy::Action::kAccept ? "allow" : "deny", r.index + 1);
}

}  // namespace

bool Selects(const WorkloadRef& ref, const PublishedPort& published) {
  switch (ref.kind) {
    case WorkloadRef::Kind::kService:
      return !published.service.empty() && published.service == ref.name;
    case WorkloadRef::Kind::kContainer:
      return !published.container.empty() && published.container == ref.name;
    case WorkloadRef::Kind::kLabel: {
      auto it = published.labels.find(ref.name);
      return it != published.labels.end() && (!ref.value || it->second == *ref.value);
    }
  }
  return false;
}

const policy::Traffic* WorkloadResolution::TrafficOf(const policy::Rule& rule) const {
  for (const auto& [r, t] : traffic)
    if (r == &rule) return &t;
  return nullptr;
}

WorkloadResolution ResolveWorkloads(const policy::Policy& policy,
                                    const std::vector<PublishedPort>& published) {
  WorkloadResolution out;
  for (const auto& rule : policy.containers.rules) {
    if (rule.workloads.empty()) continue;
    std::map<Protocol, std::set<uint16_t>> all;
    for (const auto& ref : rule.workloads) {
      std::map<Protocol, std::set<uint16_t>> mine;
      std::set<std::string> owners;
      for (const auto& p : published) {
        auto protocol = ProtocolOf(p.protocol);
        if (!protocol || p.port == 0 || !Selects(ref, p)) continue;
        mine[*protocol].insert(p.port);
        all[*protocol].insert(p.port);
        owners.insert(p.container.empty() ? "service " + p.service + " (ingress)" : p.container);
      }
      out.matches.push_back({RuleName(rule), ref.ToString(), ref.where, TrafficOf(mine),
                             {owners.begin(), owners.end()}});
    }
    out.traffic.emplace_back(&rule, TrafficOf(all));
  }
  return out;
}

std::vector<policy::Diagnostic> UnresolvedWarnings(const std::vector<SelectorMatch>& matches) {
  std::vector<policy::Diagnostic> out;
  for (const auto& m : matches)
    if (m.traffic.Any())
      out.push_back({policy::Diagnostic::Severity::kWarning, m.where,
                     fmt::format("{}: {} publishes no port on this node (the rule matches nothing here)",
                                 m.rule, m.selector)});
  return out;
}

}  // namespace swarmwall::compile
