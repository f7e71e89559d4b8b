// swarmwall check: validate a policy, report every problem as FILE:LINE:COL.
#include <algorithm>
#include <iostream>
#include <nlohmann/json.hpp>

#include "apply/workflow_steps.h"
#include "base/json_text.h"
#include "cli/commands.h"
#include "policy/policy.h"

namespace swarmwall::cli {
namespace {

using json = nlohmann::ordered_json;

json Location(const policy::SourceLocation& w) {
  return {{"file", w.file}, {"line", w.line}, {"column", w.column}};
}

json DiagnosticJson(const policy::Diagnostic& d) {
  json j = Location(d.where);
  j["severity"] = d.severity == policy::Diagnostic::Severity::kError ? "error" : "warning";
  j["message"] = d.message;
  return j;
}

json Strings(const std::vector<std::string>& v) { return json(v); }

json TrafficJson(const policy::Traffic& t) {
  if (t.Any()) return "any";
  json out = json::array();
  for (const auto& p : t.protocols) {
    json ports = json::array();
    for (const auto& r : p.ports) ports.push_back(r.ToString());
    out.push_back({{"proto", policy::ProtocolName(p.protocol)},
                   {"ports", p.ports.empty() ? json("any") : ports}});
  }
  return out;
}

template <typename Terms>
json TermsJson(const Terms& terms, const char* empty) {
  if (terms.empty()) return empty;
  json out = json::array();
  for (const auto& t : terms) out.push_back(t.ToString());
  return out;
}

json RuleJson(const policy::Policy& p, const policy::Rule& r) {
  json j;
  j["action"] = policy::ActionName(r.action);
  j["at"] = Location(r.where);
  j["traffic"] = TrafficJson(r.traffic);
  j["text"] = r.traffic.ToString();
  if (!r.workloads.empty()) {  // their published ports, resolved on each node
    j["traffic"] = "published";
    j["text"] = r.Describe();
    j["names"] = TermsJson(r.workloads, "none");
  }
  if (!r.services.empty()) {
    json s = json::array();
    for (const auto& ref : r.services) s.push_back(ref.name);
    j["services"] = s;
  }
  if (r.section != policy::Section::kEgress) j["from"] = TermsJson(r.from.terms, "any");
  if (r.section == policy::Section::kEgress) j["to"] = TermsJson(r.to.terms, "any");
  json nodes = json::array();
  for (const auto* n : p.NodesSelectedBy(r.on)) nodes.push_back(n->name);
  j["on"] = TermsJson(r.on.terms, "all");
  j["nodes"] = nodes;
  if (!r.comment.empty()) j["comment"] = r.comment;
  return j;
}

json PolicyJson(const policy::Policy& p) {
  json j;
  j["version"] = p.version;
  j["ipv6"] = p.ipv6;
  j["log_drops"] = p.log_drops;
  j["backend"] = policy::BackendName(p.backend);
  j["interfaces"] = {{"public", Strings(p.interfaces.public_)},
                     {"cluster", Strings(p.interfaces.cluster)}};
  json sets = json::array();
  for (const auto& s : p.sets) {
    json e4 = json::array(), e6 = json::array();
    for (const auto& c : s.ipv4) e4.push_back(c.ToString());
    for (const auto& c : s.ipv6) e6.push_back(c.ToString());
    json js = {{"name", s.name}, {"ipv4", e4}, {"ipv6", e6}};
    if (s.builtin) js["builtin"] = true;
    if (!s.file.empty()) js["file"] = s.file;
    sets.push_back(js);
  }
  j["sets"] = sets;
  json nodes = json::array();
  for (const auto& n : p.nodes) {
    json a = json::array();
    for (const auto& ip : n.addresses) a.push_back(ip.ToString());
    json jn = {{"name", n.name},
               {"role", policy::RoleName(n.role)},
               {"addresses", a},
               {"labels", Strings(n.labels)}};
    const auto& ifs = p.InterfacesOf(n);
    jn["interfaces"] = {{"public", Strings(ifs.public_)}, {"cluster", Strings(ifs.cluster)}};
    jn["backend"] = policy::BackendName(p.BackendOf(n));
    if (p.swarm.enabled) jn["swarm_ports"] = policy::SwarmTraffic(p.swarm, n.role).ToString();
    nodes.push_back(jn);
  }
  j["nodes"] = nodes;
  j["auto_nodes"] = p.auto_nodes;
  auto rules = [&](const std::vector<policy::Rule>& list) {
    json out = json::array();
    for (const auto& r : list) out.push_back(RuleJson(p, r));
    return out;
  };
  json icmp = {{"echo", p.host.icmp.echo}};
  if (p.host.icmp.echo_limit) icmp["echo_limit"] = p.host.icmp.echo_limit->ToString();
  j["host"] = {
      {"rules", rules(p.host.rules)},
      {"icmp", icmp},
      {"cluster", p.host.cluster == policy::ClusterMode::kAccept ? "accept" : "swarm-only"}};
  if (p.swarm.enabled)
    j["swarm"] = {{"from", TermsJson(p.swarm.from.terms, "any")},
                  {"docker_machine", p.swarm.docker_machine},
                  {"encrypted_overlay", p.swarm.encrypted_overlay}};
  j["containers"] = {{"default", policy::ActionName(p.containers.default_action)},
                     {"rules", rules(p.containers.rules)}};
  j["egress"] = {{"default", policy::ActionName(p.egress.default_action)},
                 {"rules", rules(p.egress.rules)}};
  return j;
}

}  // namespace

void RegisterCheck(CLI::App& app, GlobalOptions& global) {
  struct Args {
    std::string file;
    bool strict = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd =
      app.add_subcommand("check", "Validate a policy file; report every problem as FILE:LINE:COL");
  cmd->add_option("policy", args->file, "The policy (YAML), or - for standard input")->required();
  cmd->add_flag("--strict", args->strict, "Treat warnings as errors (exit 1)");
  cmd->callback([args, &global] {
    policy::LoadResult result;
    if (args->file == "-") {
      std::string text;
      if (!ReadInput("-", text)) {
        global.exit_code = kError;
        return;
      }
      result = policy::LoadPolicyText(text, "<stdin>", ".");
    } else {
      result = policy::LoadPolicyFile(args->file);
    }
    // Services, containers and labels: resolved where Docker answers.
    std::optional<apply::LocalSelectors> selectors;
    if (result.policy && result.policy->HasWorkloadRules()) {
      selectors = apply::ResolveSelectorsHere(*result.policy);
      for (auto& w : selectors->warnings) result.warnings.push_back(std::move(w));
    }
    bool failed = !result.ok() || (args->strict && !result.warnings.empty());
    std::string name = args->file == "-" ? "<stdin>" : args->file;
    if (global.json()) {
      json j;
      j["file"] = name;
      j["ok"] = !failed;
      json errors = json::array(), warnings = json::array();
      for (const auto& d : result.errors) errors.push_back(DiagnosticJson(d));
      for (const auto& d : result.warnings) warnings.push_back(DiagnosticJson(d));
      j["errors"] = errors;
      j["warnings"] = warnings;
      if (result.policy) j["policy"] = PolicyJson(*result.policy);
      if (selectors) {
        j["selectors"] = SelectorsJson(selectors->matches);
        if (!selectors->docker_error.empty()) j["selectors_not_resolved"] = selectors->docker_error;
      }
      std::cout << JsonText(j, 2) << "\n";
    } else {
      // Errors and warnings together, in file order.
      std::vector<const policy::Diagnostic*> all;
      for (const auto& d : result.errors) all.push_back(&d);
      for (const auto& d : result.warnings) all.push_back(&d);
      std::stable_sort(all.begin(), all.end(), [&](const auto* a, const auto* b) {
        bool pa = a->where.file == name, pb = b->where.file == name;
        if (pa != pb) return pa;
        return a->where < b->where;
      });
      for (const auto* d : all) std::cerr << d->ToString() << "\n";
      if (selectors && !selectors->docker_error.empty())
        std::cerr << name << ": services, containers and labels not resolved here (" << selectors->docker_error
                  << "); plan and apply resolve them on each node\n";
      else if (selectors)
        PrintSelectors(std::cout, selectors->matches);
      auto plural = [](size_t n, const char* word) {
        return std::to_string(n) + " " + word + (n == 1 ? "" : "s");
      };
      if (result.policy) {
        const auto& p = *result.policy;
        size_t rules = p.host.rules.size() + p.containers.rules.size() + p.egress.rules.size();
        std::cout << name << ": " << (failed ? "warnings are errors (--strict)" : "ok") << ": "
                  << plural(p.nodes.size(), "node") << (p.auto_nodes ? " (+ auto)" : "") << ", "
                  << plural(p.sets.size() - 1, "set") << ", " << plural(rules, "rule") << ", "
                  << plural(result.warnings.size(), "warning") << "\n";
      } else {
        std::cerr << name << ": " << plural(result.errors.size(), "error") << ", "
                  << plural(result.warnings.size(), "warning") << "\n";
      }
    }
    if (failed) global.exit_code = kError;
  });
}

}  // namespace swarmwall::cli
