// swarmwall audit: findings in a ruleset (each with severity, the rules, what
// it means and the fix), and with --policy the proof that the ruleset does
// what the policy says for one node (docs/audit.md).
#include <fstream>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <iostream>

#include "analyze/trace/native_tables.h"
#include "analyze/audit/audit.h"
#include "analyze/audit/reach_matrix.h"
#include "analyze/audit/audit_report.h"
#include "analyze/model/chain_loops.h"
#include "analyze/model/host_network_files.h"
#include "host/network.h"
#include "analyze/audit/policy_proof.h"
#include "analyze/audit/report_html.h"
#include "base/json_text.h"
#include "cli/commands.h"
#include "policy/policy.h"

namespace swarmwall::cli {
namespace {

struct AuditArgs {
  std::string file, file6, addr, route, route6, ipsets, nft, policy, node, html;
  std::vector<std::string> public_ifaces, from;
  bool live = false, lenient = false;
};

void Fail(GlobalOptions& global, const std::string& message) {
  std::cerr << "swarmwall audit: " << message << "\n";
  global.exit_code = kError;
}

bool ReadFacts(const AuditArgs& a, host::HostNetwork& net, GlobalOptions& global) {
  std::string error;
  if ((a.live && !host::LoadLiveHostNetwork(net, error)) ||
      !analyze::ReadHostNetworkFiles({a.addr, a.route, a.route6, a.ipsets, a.nft}, net, error)) {
    Fail(global, error);
    return false;
  }
  return true;
}

// FILE may hold either family; the result goes where its family says.
bool ReadRulesetFile(const std::string& file, std::optional<netfilter::Ruleset>& v4,
                     std::optional<netfilter::Ruleset>& v6, std::string& name4, std::string& name6,
                     std::optional<netfilter::Family> family, bool lenient, GlobalOptions& global) {
  std::string text;
  if (!ReadInput(file, text)) {
    global.exit_code = kError;
    return false;
  }
  std::string name = file == "-" ? "<stdin>" : file;
  auto rs = ParseRulesetText(text, name, family, lenient);
  if (!rs) {
    global.exit_code = kError;
    return false;
  }
  if (rs->family == netfilter::Family::kIPv4) {
    v4 = std::move(rs);
    name4 = name;
  } else {
    v6 = std::move(rs);
    name6 = name;
  }
  return true;
}

void RunAudit(const AuditArgs& a, GlobalOptions& global) {
  if (a.live == !a.file.empty()) return Fail(global, "give a FILE (or -) or --live");
  if (a.policy.empty() != a.node.empty()) return Fail(global, "--policy and --node go together");
  std::optional<netfilter::Ruleset> v4, v6;
  std::string name4, name6;
  std::string v6_error;   // live: why there is no IPv6 ruleset
  if (a.live) {
    auto live = ReadLiveRulesets();   // no IPv6 tables: audit IPv4 only
    if (!live) {
      global.exit_code = kError;
      return;
    }
    v4 = std::move(live->v4);
    v6 = std::move(live->v6);
    v6_error = live->v6_error;
  } else {
    if (!ReadRulesetFile(a.file, v4, v6, name4, name6, std::nullopt, a.lenient, global)) return;
    if (!a.file6.empty() &&
        !ReadRulesetFile(a.file6, v4, v6, name4, name6, netfilter::Family::kIPv6, a.lenient, global))
      return;
  }
  bool have_facts = a.live || !a.addr.empty();
  host::HostNetwork net;
  if (!ReadFacts(a, net, global)) return;

  std::optional<policy::Policy> pol;
  const policy::Node* node = nullptr;
  if (!a.policy.empty()) {
    auto loaded = policy::LoadPolicyFile(a.policy);
    for (const auto& d : loaded.errors) std::cerr << d.ToString() << "\n";
    if (!loaded.ok()) {
      global.exit_code = kError;
      return;
    }
    pol = std::move(*loaded.policy);
    node = pol->FindNode(a.node);
    if (!node) return Fail(global, "the policy has no node " + a.node);
    if (!have_facts) return Fail(global, "--policy needs the host's facts: --addr and --route, or --live");
  }

  analyze::AuditInput input;
  input.v4 = v4 ? &*v4 : nullptr;
  input.v6 = v6 ? &*v6 : nullptr;
  input.file4 = name4;
  input.file6 = name6;
  input.host = have_facts ? &net : nullptr;
  input.public_interfaces = a.public_ifaces;
  // What could not be seen, for the policy proof (it names each).
  if (pol && pol->ipv6 && !v6_error.empty()) input.blind_spots.push_back("IPv6 rules not read: " + v6_error);
  if (pol && !net.nftables_known)
    input.blind_spots.push_back(
        a.live ? "the live nftables ruleset could not be read (libnftables): native tables not seen"
               : "the host's native nftables tables were not given (--nft FILE, `nft -j list ruleset`): "
                 "a table of Docker 29, firewalld or an administrator may drop or forward beside these rules");
  if (pol)
    for (auto& s : analyze::UnmodelledNativeChains(net.nftables)) input.blind_spots.push_back(std::move(s));
  if (pol) {
    if (input.public_interfaces.empty()) input.public_interfaces = pol->InterfacesOf(*node).public_;
    for (const auto& n : pol->nodes)
      for (const auto& addr : n.addresses) input.trusted.push_back(netfilter::Cidr::Prefix(addr, addr.Bits()));
    for (const auto& set : pol->sets) {
      if (set.name == "nodes") continue;  // named already, from `trusted`
      std::vector<netfilter::Cidr> cidrs = set.ipv4;
      cidrs.insert(cidrs.end(), set.ipv6.begin(), set.ipv6.end());
      input.named_sets.emplace_back(set.name, std::move(cidrs));
    }
  }
  auto findings = analyze::Audit(input);
  // A family whose chains loop got its chain-loop finding and nothing more:
  // no proof, matrix or reach walks it.
  for (auto [rs, name] : {std::pair{&input.v4, "IPv4"}, std::pair{&input.v6, "IPv6"}})
    if (*rs && analyze::FindChainLoop(**rs)) {
      if (pol && (rs == &input.v4 || pol->ipv6))
        input.blind_spots.push_back(std::string(name) + " rules: a loop of chains (the chain-loop finding): not traced");
      *rs = nullptr;
    }

  std::optional<analyze::PolicyProof> proof;
  if (pol) {
    proof.emplace(analyze::ProvePolicy(*pol, *node, input));
    analyze::DowngradeIntended(*proof, findings);
  }

  if (!a.html.empty()) {
    analyze::HtmlReportInput report;
    report.title = "swarmwall audit" + (a.live ? std::string(" (live)") : " of " + a.file);
    report.v4 = input.v4;
    report.v6 = input.v6;
    report.findings = &findings;
    std::vector<analyze::MatrixRow> matrix;
    if (input.host) {
      matrix = analyze::ExposureMatrix(input);
      report.matrix = &matrix;
    }
    report.proof = proof ? &*proof : nullptr;
    std::ofstream out(a.html);
    out << analyze::RenderHtmlReport(report);
    if (!out) return Fail(global, "cannot write " + a.html);
  }

  std::vector<analyze::MatrixRow> reach;
  if (!a.from.empty()) {
    if (!input.host) return Fail(global, "--from needs the host's facts: --addr and --route, or --live");
    std::vector<netfilter::IpAddress> from;
    for (const auto& f : a.from) {
      auto addr = netfilter::IpAddress::Parse(f);
      if (!addr) return Fail(global, "--from needs addresses: " + f);
      from.push_back(*addr);
    }
    reach = analyze::ExposureMatrix(input, from);
  }
  if (global.json()) {
    nlohmann::json j = {{"findings", analyze::FindingsJson(findings)},
                        {"worst", analyze::AuditSeverityName(analyze::WorstSeverity(findings))}};
    if (!a.from.empty()) j["reach"] = analyze::MatrixJson(reach);
    if (proof) j["policy"] = analyze::ProofJson(*proof);
    std::cout << JsonText(j, 2) << "\n";
  } else {
    if (findings.empty()) std::cout << "no findings\n";
    std::cout << analyze::FindingsText(findings);
    if (proof) std::cout << analyze::ProofText(*proof);
    if (!a.from.empty()) std::cout << "what " << fmt::format("{}", fmt::join(a.from, ", ")) << " reaches:\n"
                                   << analyze::MatrixText(reach);
  }
  // With --policy: exit 2 unless proven, "cannot prove" included: the
  // report is whole (1 is for a command that could not report at all).
  bool bad = proof ? analyze::Verdict(*proof) != analyze::ProofVerdict::kImplements
                   : analyze::WorstSeverity(findings) != analyze::AuditSeverity::kInfo;
  global.exit_code = bad ? kPending : kOk;
}

}  // namespace

void RegisterAudit(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<AuditArgs>();
  auto* cmd = app.add_subcommand(
      "audit", "Findings in a ruleset (severity, rules, meaning, fix); with --policy, prove it implements the policy");
  cmd->add_option("file", args->file, "iptables-save (or ip6tables-save) output, or - for standard input");
  cmd->add_option("--file6,--ip6", args->file6, "ip6tables-save output");
  cmd->add_flag("--live", args->live, "Read the running kernel's rules (both families), addresses, routes, ipsets");
  cmd->add_flag("--lenient", args->lenient,
                "Read shared (anonymised) dumps: an unreadable value becomes a match the analysis "
                "cannot decide, with a FILE:LINE:COL warning");
  cmd->add_option("--addr", args->addr, "`ip -j addr` output of the host");
  cmd->add_option("--route", args->route, "`ip -j route` output of the host");
  cmd->add_option("--route6", args->route6, "`ip -6 -j route` output of the host");
  cmd->add_option("--ipsets", args->ipsets, "`ipset save` output of the host");
  cmd->add_option("--nft", args->nft,
                  "The host's nftables ruleset: `nft -j list ruleset` JSON, or nftables text (loaded by "
                  "libnftables in a throwaway network namespace)");
  cmd->add_option("--public", args->public_ifaces, "Public interfaces (default: the policy's, else guessed)");
  cmd->add_option("--policy", args->policy, "Prove the ruleset implements this policy (with --node)");
  cmd->add_option("--node", args->node, "The policy's node this ruleset belongs to");
  cmd->add_option("--from", args->from, "Also list what these source addresses reach (on the public interfaces)");
  cmd->add_option("--html", args->html, "Also write a self-contained HTML report to this file");
  cmd->callback([args, &global] { RunAudit(*args, global); });
}

}  // namespace swarmwall::cli
