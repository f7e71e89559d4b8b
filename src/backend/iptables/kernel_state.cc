#include "backend/iptables/kernel_state.h"

#include <algorithm>
#include <map>
#include <memory>
#include <sstream>

#include "analyze/model/filter_owners.h"
#include "backend/iptables/ipset_read.h"
#include "base/process.h"
#include "netfilter/parser.h"
#include "netfilter/printer.h"

namespace swarmwall::backend {

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
  // What Docker and swarmwall have in filter, read as status, doctor,
  // explain and audit read it.
  analyze::FilterOwners owners = analyze::ReadFilterOwners(*parsed.ruleset);
  FamilySnapshot snap;
  snap.owned.family = family;
  snap.kernel.existing_chains = std::move(owners.chains);
  for (const netfilter::Chain* chain : owners.owned) {
    compile::OwnedChain oc{"filter", std::string(chain->name), {}};
    oc.rules.reserve(chain->rules.size());
    for (const auto& r : chain->rules) oc.rules.push_back(netfilter::RuleSpec(r, family));
    snap.owned.chains.push_back(std::move(oc));
  }
  for (const auto& hook : owners.hooks) {
    snap.hook_first[{hook.chain, hook.target}] = hook.first;
    snap.owned.hooks.push_back({"filter", hook.chain, hook.target, false});
  }
  snap.kernel.jumps = std::move(owners.owned_jumps);
  snap.foreign_rules = owners.foreign_rules;
  snap.docker_chains = owners.docker_chains;
  snap.forward_jumps_to_docker_user = owners.ForwardJumpsToDockerUser();
  snap.docker_user_referenced = owners.docker_user_referenced;
  snap.docker_user_foreign_rules = owners.docker_user_foreign_rules;
  snap.docker_user_removable = owners.docker_user.exists && !owners.docker_user_foreign_rules &&
                               !owners.docker_user_referenced && !owners.docker_chains;
  SetOwnedSets(ipset_save, snap);
  return snap;
}

void SetOwnedSets(const std::string& ipset_save, FamilySnapshot& snap) {
  if (snap.owned.family == Family::kIPv4) {
    FamilySnapshot other;
    other.owned.family = Family::kIPv6;
    SetOwnedSets(ipset_save, snap, other);
  } else {
    FamilySnapshot other;
    SetOwnedSets(ipset_save, other, snap);
  }
}

void SetOwnedSets(std::string_view text, FamilySnapshot& v4, FamilySnapshot& v6) {
  // One pass over `ipset save` (100,000 entries are 4 MB): words split in
  // place, only swarmwall's sets (not their temporary twins) kept.
  std::map<std::string, std::vector<netfilter::Cidr>, std::less<>> sets[2];
  std::map<std::string, int, std::less<>> family_of;  // 0 v4, 1 v6
  v4.twins.clear();
  v6.twins.clear();
  auto word = [](std::string_view& line) {
    size_t start = line.find_first_not_of(' ');
    if (start == std::string_view::npos) return std::string_view();
    line.remove_prefix(start);
    size_t end = line.find(' ');
    std::string_view w = line.substr(0, end);
    line.remove_prefix(end == std::string_view::npos ? line.size() : end);
    return w;
  };
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    std::string_view verb = word(line), name = word(line);
    if (!name.starts_with(compile::kSetPrefix)) continue;
    if (name.ends_with("~")) {
      if (verb == "create") (line.find(" family inet6") != std::string_view::npos ? v6 : v4).twins.emplace_back(name);
      continue;
    }
    if (verb == "create") {
      int f = line.find(" family inet6") != std::string_view::npos ? 1
              : line.find(" family inet ") != std::string_view::npos ||
                      line.ends_with(" family inet")
                  ? 0
                  : -1;
      family_of[std::string(name)] = f;
      if (f >= 0) sets[f][std::string(name)];
    } else if (verb == "add") {
      auto it = family_of.find(name);
      if (it == family_of.end() || it->second < 0) continue;
      std::string_view entry = word(line);
      Family family = it->second == 0 ? Family::kIPv4 : Family::kIPv6;
      if (auto c = netfilter::Cidr::Parse(entry, family)) sets[it->second][it->first].push_back(*c);
    }
  }
  for (int f = 0; f < 2; ++f) {
    FamilySnapshot& snap = f == 0 ? v4 : v6;
    snap.owned.sets.clear();
    for (auto& [name, entries] : sets[f]) {
      std::sort(entries.begin(), entries.end());
      compile::IpSet s;
      s.name = name;
      s.family = f == 0 ? Family::kIPv4 : Family::kIPv6;
      s.entries = std::make_shared<const std::vector<netfilter::Cidr>>(std::move(entries));
      snap.owned.sets.push_back(std::move(s));
    }
  }
}

std::string SaveIpsets() {
  if (!ProgramExists("ipset")) return "";
  auto r = RunProcess({"ipset", "save"}, {.timeout = std::chrono::seconds(60)});
  return r.ok() ? r.out : "";
}

namespace {

std::optional<FamilySnapshot> Read(const host::IptablesVariant& variant, Family family,
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

std::optional<FamilySnapshot> ReadKernel(const host::IptablesVariant& variant, Family family,
                                         std::string& error) {
  return Read(variant, family, SaveIpsets(), error);
}

std::optional<Before> ReadBefore(const host::IptablesVariant& variant, std::string& error,
                                 bool with_sets) {
  auto v4 = Read(variant, Family::kIPv4, "", error);
  if (!v4) return std::nullopt;
  auto v6 = Read(variant, Family::kIPv6, "", error);
  if (!v6) return std::nullopt;
  if (with_sets) ReadOwnedSets(*v4, *v6);
  return Before{std::move(*v4), std::move(*v6)};
}

void SetHookFacts(const FamilySnapshot& v4, const FamilySnapshot& v6, compile::NodeFacts& facts) {
  facts.docker_user_ipv4 = v4.forward_jumps_to_docker_user || !v4.docker_chains;
  facts.forward_ipv4 = !v4.forward_jumps_to_docker_user && v4.docker_chains;
  facts.docker_user_ipv6 = v6.forward_jumps_to_docker_user || !v6.docker_chains;
  facts.forward_ipv6 = !v6.forward_jumps_to_docker_user;
  facts.docker_running = v4.docker_chains || v6.docker_chains;
}

}  // namespace swarmwall::backend
