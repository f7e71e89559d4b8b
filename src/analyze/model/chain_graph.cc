#include "analyze/model/chain_graph.h"

#include <map>
#include <set>

#include <fmt/format.h>

#include "analyze/model/docker_layout.h"
#include "base/process.h"

namespace swarmwall::analyze {
namespace {

std::string Escape(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

struct Colors {
  const char* fill;
  const char* border;
};

Colors ColorOf(Owner o) {
  switch (o) {
    case Owner::kSystem: return {"#f2f2f2", "#333333"};
    case Owner::kDocker: return {"#d6e9ff", "#1f5fa8"};
    case Owner::kSwarm: return {"#e6dcff", "#5b3fa8"};
    case Owner::kSwarmwall: return {"#d9f5d6", "#2e7d32"};
    case Owner::kFirewalld: return {"#fff6c2", "#8a6d00"};
    case Owner::kOther: return {"#ffe3c7", "#b85c00"};
  }
  return {"#ffffff", "#000000"};
}

const char* kHookOrder[] = {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"};

void Family(const netfilter::Ruleset& rs, const DockerExplanation& ex, size_t max_chains, std::string& out) {
  std::string fam = rs.family == netfilter::Family::kIPv4 ? "v4" : "v6";
  std::map<std::pair<std::string, std::string>, Owner> owners;
  for (const auto& c : ex.chains) owners[{c.table, c.chain}] = c.owner;
  for (const auto& t : rs.tables) {
    size_t rules = 0;
    for (const auto& c : t.chains) rules += c.rules.size();
    bool builtin_policy_drop = false;
    for (const auto& c : t.chains) builtin_policy_drop |= c.builtin && c.policy == "DROP";
    if (rules == 0 && !builtin_policy_drop) continue;
    // Which chains to draw: built-ins, then breadth first along jumps.
    std::vector<const netfilter::Chain*> shown;
    std::set<std::string_view> seen;
    for (const char* h : kHookOrder)
      if (const auto* c = t.FindChain(h)) {
        shown.push_back(c);
        seen.insert(c->name);
      }
    for (size_t i = 0; i < shown.size() && shown.size() < max_chains; ++i)
      for (const auto& r : shown[i]->rules)
        if (r.target_kind == netfilter::TargetKind::kChain && !seen.count(r.target))
          if (const auto* sub = t.FindChain(r.target)) {
            seen.insert(sub->name);
            shown.push_back(sub);
            if (shown.size() >= max_chains) break;
          }
    for (const auto& c : t.chains)   // chains nothing jumps to
      if (!seen.count(c.name) && shown.size() < max_chains) {
        seen.insert(c.name);
        shown.push_back(&c);
      }
    size_t hidden = t.chains.size() - shown.size();
    std::string id = fam + "_" + std::string(t.name);
    out += fmt::format("  subgraph \"cluster_{}\" {{\n    label=\"{} {} (IPv{})\"; style=rounded; color=\"#999999\";\n",
                       id, t.name, hidden ? fmt::format("- {} more chains not drawn", hidden) : "",
                       rs.family == netfilter::Family::kIPv4 ? 4 : 6);
    out += "    { rank=same; ";
    std::vector<std::string_view> hooks;
    for (const auto* c : shown)
      if (c->builtin) {
        out += fmt::format("\"{}:{}\"; ", id, Escape(c->name));
        hooks.push_back(c->name);
      }
    out += "}\n";
    // The hooks left to right in the kernel's order.
    for (size_t i = 1; i < hooks.size(); ++i)
      out += fmt::format("    \"{}:{}\" -> \"{}:{}\" [style=invis];\n", id, Escape(hooks[i - 1]), id, Escape(hooks[i]));
    for (const auto* c : shown) {
      Owner o = c->builtin ? Owner::kSystem : Owner::kOther;
      if (auto it = owners.find({std::string(t.name), std::string(c->name)}); it != owners.end()) o = it->second;
      if (!c->builtin && o == Owner::kSystem) o = Owner::kOther;
      Colors col = ColorOf(o);
      std::string count = fmt::format("{} rule{}", c->rules.size(), c->rules.size() == 1 ? "" : "s");
      std::string label = c->builtin ? fmt::format("{}\\n{}, policy {}", Escape(c->name), count, c->policy)
                                     : fmt::format("{}\\n{}", Escape(c->name), count);
      out += fmt::format(
          "    \"{}:{}\" [label=\"{}\", shape=box, style=\"filled{}\", fillcolor=\"{}\", color=\"{}\", "
          "tooltip=\"{} {} ({})\"];\n",
          id, Escape(c->name), label, c->builtin ? ",bold" : ",rounded", col.fill,
          col.border, t.name, Escape(c->name), OwnerName(o));
    }
    for (const auto* c : shown) {
      std::map<std::pair<std::string_view, bool>, int> jumps;
      for (const auto& r : c->rules)
        if (r.target_kind == netfilter::TargetKind::kChain && seen.count(r.target)) ++jumps[{r.target, r.is_goto}];
      for (const auto& [k, n] : jumps)
        out += fmt::format("    \"{}:{}\" -> \"{}:{}\" [label=\"{}\"{}];\n", id, Escape(c->name), id, Escape(k.first),
                           n, k.second ? ", style=dashed" : "");
    }
    out += "  }\n";
  }
}

}  // namespace

std::string ChainGraphDot(const netfilter::Ruleset* v4, const netfilter::Ruleset* v6, size_t max_chains) {
  netfilter::Ruleset empty;
  DockerExplanation ex = ExplainDocker(v4 ? *v4 : empty, v6);
  std::string out =
      "digraph chains {\n  rankdir=TB; fontname=\"Helvetica\"; node [fontname=\"Helvetica\", fontsize=10];\n"
      "  edge [fontname=\"Helvetica\", fontsize=9, color=\"#555555\"];\n";
  if (v4) Family(*v4, ex, max_chains, out);
  if (v6) Family(*v6, ex, max_chains, out);
  out += "}\n";
  return out;
}

std::optional<std::string> RenderSvg(const std::string& dot, std::string& error) {
  if (!ProgramExists("dot")) {
    error = "graphviz (dot) is not installed";
    return std::nullopt;
  }
  auto r = RunProcess({"dot", "-Tsvg"}, {.input = dot, .timeout = std::chrono::seconds(60)});
  if (!r.ok()) {
    error = "dot -Tsvg failed: " + r.err;
    return std::nullopt;
  }
  auto start = r.out.find("<svg");
  if (start == std::string::npos) {
    error = "dot -Tsvg wrote no <svg>";
    return std::nullopt;
  }
  return r.out.substr(start);
}

}  // namespace swarmwall::analyze
