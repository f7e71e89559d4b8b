#include "cli/commands.h"

#include <iostream>

#include <fmt/format.h>

#include "base/input_file.h"

namespace swarmwall::cli {

bool ReadInput(const std::string& file, std::string& text, size_t limit) {
  std::string error;
  if (ReadInputFile(file, limit, text, error)) return true;
  std::cerr << "swarmwall: cannot read " << (file == "-" ? "standard input" : file) << ": " << error << "\n";
  return false;
}

void NoteToStderr(const std::string& line) { std::cerr << line << "\n"; }

std::string FirewallLabel(const std::string& variant) {
  return variant == "nftables" ? "nftables" : variant + " iptables";
}

void AddBackendOption(CLI::App* cmd, std::string& backend) {
  cmd->add_option("--backend", backend,
                  "Which firewall holds the rules: auto (nftables where Docker runs its nftables backend, "
                  "else iptables), iptables or nftables (default: the policy's backend:, else auto)")
      ->check(CLI::IsMember({"auto", "iptables", "nftables"}));
}

void PrintDiffs(const std::vector<backend::FamilyDiff>& diffs) {
  for (const auto& d : diffs) {
    if (d.empty()) continue;
    std::cout << (d.family == netfilter::Family::kIPv4 ? "IPv4:\n" : "IPv6:\n");
    for (const auto& l : d.lines) std::cout << "  " << l << "\n";
  }
}

nlohmann::json DiffsJson(const std::vector<backend::FamilyDiff>& diffs) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& d : diffs)
    j.push_back({{"family", d.family == netfilter::Family::kIPv4 ? 4 : 6}, {"changes", d.lines}});
  return j;
}

void RegisterCommands(CLI::App& app, GlobalOptions& global) {
  RegisterNormalize(app, global);
  RegisterExplain(app, global);
  RegisterCheck(app, global);
  RegisterRender(app, global);
  RegisterDoctor(app, global);
  RegisterTrace(app, global);
  RegisterAgent(app, global);
  RegisterExposure(app, global);
  RegisterAudit(app, global);
  RegisterVerify(app, global);
  RegisterHealth(app, global);
  RegisterPlan(app, global);
  RegisterApply(app, global);
  RegisterStatus(app, global);
  RegisterRemove(app, global);
  RegisterReference(app, global);
  // Last: it adds a hidden subcommand, and CLI11 hides what follows it.
  RegisterConfirm(app, global);
}

std::optional<netfilter::Ruleset> ParseRulesetText(const std::string& text, const std::string& name,
                                                   std::optional<netfilter::Family> family,
                                                   bool lenient) {
  netfilter::ParseOptions options;
  options.file_name = name;
  options.family = family;
  options.lenient = lenient;
  auto result = netfilter::ParseRuleset(text, options);
  for (const auto& w : result.warnings) std::cerr << w.ToString() << " (warning)\n";
  if (!result.ruleset) {
    std::cerr << result.error->ToString() << "\n";
    return std::nullopt;
  }
  return std::move(result.ruleset);
}

std::optional<LiveRulesets> ReadLiveRulesets(bool want_v4, bool want_v6) {
  LiveRulesets live;
  live.variant = host::DetectVariant();
  for (auto family : {netfilter::Family::kIPv4, netfilter::Family::kIPv6}) {
    bool v4 = family == netfilter::Family::kIPv4;
    if (!(v4 ? want_v4 : want_v6)) continue;
    auto saved = host::SaveLive(live.variant.chosen, family);
    if (!saved.ok) {
      if (!v4) {   // no ip6tables here: IPv4 only
        live.v6_error = saved.error;
        continue;
      }
      std::cerr << "swarmwall: " << saved.error << "\n";
      return std::nullopt;
    }
    auto rs = ParseRulesetText(saved.text, live.variant.chosen.SaveCommand(family), family);
    if (!rs) return std::nullopt;
    (v4 ? live.v4 : live.v6) = std::move(rs);
  }
  return live;
}

void PrintOtherOwnerDrops(std::ostream& out, const std::vector<apply::OtherOwnerDrop>& drops) {
  if (drops.empty()) return;
  out << "allowed by the policy but dropped by another owner's rule (swarmwall's rules cannot open these):\n";
  for (const auto& d : drops) out << "  " << d.what << "\n    fix: " << d.fix << "\n";
}

nlohmann::json OtherOwnerDropsJson(const std::vector<apply::OtherOwnerDrop>& drops) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& d : drops) list.push_back({{"what", d.what}, {"fix", d.fix}});
  return list;
}

void PrintSelectors(std::ostream& out, const std::vector<compile::SelectorMatch>& selectors) {
  if (selectors.empty()) return;
  out << "selectors (published on this node):\n";
  for (const auto& m : selectors) {
    std::string owners;
    for (const auto& o : m.owners) owners += (owners.empty() ? "" : ", ") + o;
    out << fmt::format("  {} {}: {}\n", m.rule, m.selector,
                       m.traffic.Any() ? std::string("nothing published here (matches nothing)")
                                       : m.traffic.ToString() + " (" + owners + ")");
  }
}

nlohmann::json SelectorsJson(const std::vector<compile::SelectorMatch>& selectors) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& m : selectors)
    list.push_back({{"rule", m.rule},
                    {"selector", m.selector},
                    {"where", m.where.ToString()},
                    {"ports", m.traffic.Any() ? std::string() : m.traffic.ToString()},  // "" nothing
                    {"owners", m.owners}});
  return list;
}

}  // namespace swarmwall::cli
