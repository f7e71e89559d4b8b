#include "apply/kernel_state.h"

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>

#include "base/process.h"
#include "netfilter/parser.h"
#include "netfilter/printer.h"

namespace swarmwall::apply {

using netfilter::Family;

std::optional<FamilySnapshot> SnapshotFromText(const std::string& filter_save,
                                               const std::string& ipset_save, Family family,
                                               std::string& error) {
  netfilter::ParseOptions options;
  options.family = family;
  options.file_name = family == Family::kIPv4 ? "iptables-save" : "ip6tables-save";
  auto parsed = netfilter::ParseRuleset(filter_save, options);
  if (!parsed.ruleset) {
    error = parsed.error->ToString();
    return std::nullopt;
  }
  FamilySnapshot snap;
  snap.owned.family = family;
  const netfilter::Table* filter = parsed.ruleset->FindTable("filter");
  if (filter) {
    for (const auto& chain : filter->chains) {
      snap.kernel.existing_chains.emplace_back(chain.name);
      snap.docker_chains |= chain.name.starts_with("DOCKER") && chain.name != "DOCKER-USER";
      bool owned = backend::IsOwnedChain(chain.name);
      if (owned) {
        compile::OwnedChain oc{"filter", std::string(chain.name), {}};
        for (const auto& r : chain.rules) oc.rules.push_back(netfilter::RuleSpec(r, family));
        snap.owned.chains.push_back(std::move(oc));
      }
      for (size_t i = 0; i < chain.rules.size(); ++i) {
        const auto& r = chain.rules[i];
        if (chain.name == "FORWARD" && r.target == "DOCKER-USER") snap.forward_jumps_to_docker_user = true;
        bool jump_to_owned = r.target_kind == netfilter::TargetKind::kChain &&
                             backend::IsOwnedChain(r.target);
        if (!owned && !jump_to_owned) ++snap.foreign_rules;
        if (!jump_to_owned) continue;
        auto key = std::make_pair(std::string(chain.name), std::string(r.target));
        snap.kernel.jumps[key]++;
        if (!owned) {
          if (!snap.hook_first.count(key)) {
            snap.hook_first[key] = i == 0;
            snap.owned.hooks.push_back({"filter", key.first, key.second, false});
          }
        }
      }
    }
  }
  if (filter) {
    const netfilter::Chain* user = filter->FindChain("DOCKER-USER");
    bool referenced = false;
    for (const auto& chain : filter->chains)
      for (const auto& r : chain.rules) referenced |= r.target == "DOCKER-USER";
    bool only_ours = user && std::all_of(user->rules.begin(), user->rules.end(), [](const auto& r) {
      return backend::IsOwnedChain(r.target);
    });
    snap.docker_user_referenced = referenced;
    snap.docker_user_foreign_rules = user && !only_ours;
    snap.docker_user_removable = user && only_ours && !referenced && !snap.docker_chains;
  }
  SetOwnedSets(ipset_save, snap);
  return snap;
}

void SetOwnedSets(const std::string& ipset_save, FamilySnapshot& snap) {
  Family family = snap.owned.family;
  snap.owned.sets.clear();
  std::map<std::string, std::vector<netfilter::Cidr>> sets;
  std::string want = family == Family::kIPv4 ? "family inet " : "family inet6 ";
  std::istringstream in(ipset_save);
  std::string line;
  std::map<std::string, bool> of_family;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string verb, name;
    ls >> verb >> name;
    if (!name.starts_with(compile::kSetPrefix) || name.ends_with("~")) continue;
    if (verb == "create") {
      of_family[name] = line.find(want) != std::string::npos;
      if (of_family[name]) sets[name];
    } else if (verb == "add" && of_family[name]) {
      std::string entry;
      ls >> entry;
      if (auto c = netfilter::Cidr::Parse(entry, family)) sets[name].push_back(*c);
    }
  }
  for (auto& [name, entries] : sets) {
    std::sort(entries.begin(), entries.end());
    compile::IpSet s;
    s.name = name;
    s.family = family;
    s.entries = std::make_shared<const std::vector<netfilter::Cidr>>(std::move(entries));
    snap.owned.sets.push_back(std::move(s));
  }
}

std::string SaveIpsets() {
  if (!ProgramExists("ipset")) return "";
  auto r = RunProcess({"ipset", "save"}, {.timeout = std::chrono::seconds(60)});
  return r.ok() ? r.out : "";
}

namespace {

std::optional<FamilySnapshot> Read(const backend::IptablesVariant& variant, Family family,
                                   const std::string& ipsets, std::string& error) {
  auto r = RunProcess({variant.SaveCommand(family), "-t", "filter"},
                      {.timeout = std::chrono::seconds(60)});
  if (!r.ok()) {
    error = variant.SaveCommand(family) + ": " + (r.err.empty() ? "failed" : r.err);
    return std::nullopt;
  }
  return SnapshotFromText(r.out, ipsets, family, error);
}

}  // namespace

std::optional<FamilySnapshot> ReadKernel(const backend::IptablesVariant& variant, Family family,
                                         std::string& error) {
  return Read(variant, family, SaveIpsets(), error);
}

std::optional<Before> ReadBefore(const backend::IptablesVariant& variant, std::string& error) {
  std::string ipsets = SaveIpsets();
  auto v4 = Read(variant, Family::kIPv4, ipsets, error);
  if (!v4) return std::nullopt;
  auto v6 = Read(variant, Family::kIPv6, ipsets, error);
  if (!v6) return std::nullopt;
  return Before{std::move(*v4), std::move(*v6)};
}

void SetHookFacts(const FamilySnapshot& v4, const FamilySnapshot& v6, compile::NodeFacts& facts) {
  facts.docker_user_ipv4 = v4.forward_jumps_to_docker_user || !v4.docker_chains;
  facts.forward_ipv4 = !v4.forward_jumps_to_docker_user && v4.docker_chains;
  facts.docker_user_ipv6 = v6.forward_jumps_to_docker_user || !v6.docker_chains;
  facts.forward_ipv6 = !v6.forward_jumps_to_docker_user;
}

}  // namespace swarmwall::apply
