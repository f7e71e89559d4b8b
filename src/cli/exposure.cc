// swarmwall exposure: what a host's ruleset lets in, over every packet:
// per family, arrival interface and source class, which protocols and ports
// reach the host and which reach which container through which published
// port (docs/exposure.md).
#include <fstream>
#include <iostream>

#include "analyze/audit/reach_matrix.h"
#include "analyze/model/chain_loops.h"
#include "analyze/exposure/exposure.h"
#include "analyze/exposure/exposure_report.h"
#include "analyze/model/host_network_files.h"
#include "host/network.h"
#include "base/input_file.h"
#include "analyze/model/ipassmt.h"
#include "analyze/audit/report_html.h"
#include "analyze/trace/trace.h"
#include "base/json_text.h"
#include "cli/commands.h"
#include "netfilter/modules.h"
#include "netfilter/parser.h"

namespace swarmwall::cli {
namespace {

struct ExposureArgs {
  std::string file, file6, addr, route, route6, ipsets, nft, ipassmt;
  bool live = false, matrix = false, fffuu_lo = false, lenient = false, cidrs = false;
  std::vector<std::string> in;
  std::string from, proto, dport, sport, chain, html;
};

bool Fail(GlobalOptions& global, const std::string& message) {
  std::cerr << "swarmwall exposure: " << message << "\n";
  global.exit_code = kError;
  return false;
}

bool ReadFacts(const ExposureArgs& a, host::HostNetwork& net, GlobalOptions& global) {
  std::string error;
  if (a.live && !host::LoadLiveHostNetwork(net, error)) return Fail(global, error);
  if (!analyze::ReadHostNetworkFiles({a.addr, a.route, a.route6, a.ipsets, a.nft}, net, error)) return Fail(global, error);
  return true;
}

// "22", "22,80", "8000-8100", "8000:8100".
bool ParsePorts(const std::string& text, std::vector<analyze::PortSpan>& out) {
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t dash = item.find_first_of("-:");
    try {
      size_t used = 0;
      unsigned long lo = std::stoul(item.substr(0, dash), &used);
      if (used != item.substr(0, dash).size()) return false;
      unsigned long hi = lo;
      if (dash != std::string::npos) {
        hi = std::stoul(item.substr(dash + 1), &used);
        if (used != item.substr(dash + 1).size()) return false;
      }
      if (lo > hi || hi > 65535) return false;
      out.push_back({static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)});
    } catch (...) {
      return false;
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return !out.empty();
}

// --from: CIDRs (comma-separated) or the name of one of the host's ipsets.
bool ParseFrom(const std::string& text, const host::HostNetwork& net, netfilter::Family family,
               std::vector<netfilter::Cidr>& out, bool& empty_for_family) {
  empty_for_family = false;
  if (const host::IpSet* set = net.FindSet(text)) {
    if (set->family != family) {
      empty_for_family = true;
      return true;
    }
    for (const auto& e : set->entries)
      if (!e.nomatch && e.net.family() == family) out.push_back(e.net);
    empty_for_family = out.empty();
    return true;
  }
  size_t start = 0;
  bool any = false;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    auto c = netfilter::Cidr::Parse(text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    if (!c) return false;
    any = true;
    if (c->family() == family) out.push_back(*c);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  empty_for_family = any && out.empty();
  return any;
}

void RunExposure(const ExposureArgs& a, GlobalOptions& global) {
  if (a.live ? !a.file.empty() : a.file.empty() && a.nft.empty()) {
    Fail(global, "give a FILE (or -), --nft FILE, or --live");
    return;
  }
  host::HostNetwork net;
  if (!ReadFacts(a, net, global)) return;
  analyze::IpAssignment ipassmt;
  if (!a.ipassmt.empty()) {
    std::string text, error;
    if (!ReadInputFile(a.ipassmt, kFactsLimit, text, error)) {
      Fail(global, "--ipassmt " + a.ipassmt + ": " + error);
      return;
    }
    if (!analyze::ParseIpAssignment(text, ipassmt, error)) {
      Fail(global, a.ipassmt + ": " + error);
      return;
    }
  }
  analyze::ExposureOptions options;
  if (!a.chain.empty()) {
    if (a.chain == "FORWARD") options.scope = analyze::ExposureOptions::Scope::kFilterForward;
    else if (a.chain == "INPUT") options.scope = analyze::ExposureOptions::Scope::kFilterInput;
    else {
      Fail(global, "--chain is FORWARD or INPUT");
      return;
    }
  }
  if (a.chain.empty() && !a.live && net.interfaces.empty()) {
    // Without the host's addresses nothing is known to be local: the
    // arrival path cannot tell INPUT from FORWARD. The INPUT chain alone is
    // what can be said.
    std::cerr << "swarmwall exposure: no --addr: the host's addresses are unknown; showing filter INPUT "
                 "alone (as --chain INPUT). Give --addr and --route for the whole path with NAT.\n";
    options.scope = analyze::ExposureOptions::Scope::kFilterInput;
  }
  options.interfaces = a.in;
  if (!a.ipassmt.empty()) options.ipassmt = &ipassmt;
  if (!a.proto.empty()) {
    std::string proto = a.proto == "icmpv6" || a.proto == "icmp6" ? "ipv6-icmp" : a.proto;
    uint16_t p = 0;
    if (!netfilter::ParseProtocol(proto, p)) {
      Fail(global, "unknown protocol " + a.proto);
      return;
    }
    options.protocol = p;
  }
  if (!a.dport.empty() && !ParsePorts(a.dport, options.dports)) {
    Fail(global, "--dport takes N, N,M or N-M (0..65535)");
    return;
  }
  if (!a.sport.empty() && !ParsePorts(a.sport, options.sports)) {
    Fail(global, "--sport takes N, N,M or N-M (0..65535)");
    return;
  }
  if (a.fffuu_lo && (!a.ipassmt.empty() || options.scope == analyze::ExposureOptions::Scope::kHost)) {
    Fail(global, "--fffuu-lo is for --chain without --ipassmt (fffuu's generic assignment)");
    return;
  }
  if (a.matrix && (options.dports.size() != 1 || options.dports[0].lo != options.dports[0].hi)) {
    Fail(global, "--matrix needs one --dport N (and --proto, default tcp)");
    return;
  }

  // The rulesets: FILE (either family) and --file6, or the live kernel's two.
  std::vector<netfilter::Ruleset> rulesets;
  if (a.live) {
    auto live = ReadLiveRulesets();   // no ip6tables: IPv4 only
    if (!live) {
      global.exit_code = kError;
      return;
    }
    for (auto* r : {&live->v4, &live->v6})
      if (*r) rulesets.push_back(std::move(**r));
  } else {
    for (const std::string& file : {a.file, a.file6}) {
      if (file.empty()) continue;
      std::string text;
      if (!ReadInput(file, text)) {
        global.exit_code = kError;
        return;
      }
      auto r = ParseRulesetText(text, file == "-" ? "<stdin>" : file,
                                &file == &a.file6 ? std::optional(netfilter::Family::kIPv6) : std::nullopt,
                                a.lenient);
      if (!r) {
        global.exit_code = kError;
        return;
      }
      rulesets.push_back(std::move(*r));
    }
    if (a.file.empty()) {
      // only native tables (--nft): no iptables rules in either family
      for (auto f : {netfilter::Family::kIPv4, netfilter::Family::kIPv6}) {
        netfilter::Ruleset empty;
        empty.family = f;
        rulesets.push_back(std::move(empty));
      }
    }
  }

  for (const auto& ruleset : rulesets)
    if (auto loop = analyze::FindChainLoop(ruleset)) {
      Fail(global, loop->Text());
      return;
    }

  std::vector<analyze::FamilyExposure> results;
  std::vector<analyze::ServiceMatrix> matrices;
  for (const auto& ruleset : rulesets) {
    analyze::ExposureOptions o = options;
    if (!a.from.empty()) {
      bool empty = false;
      if (!ParseFrom(a.from, net, ruleset.family, o.from, empty)) {
        Fail(global, "--from takes CIDRs (a,b,...) or the name of an ipset of --ipsets");
        return;
      }
      if (empty) continue;   // no source of this family
    }
    if (a.fffuu_lo) o.ipassmt = &analyze::GenericLoAssignment(ruleset.family);
    analyze::TraceModel model(ruleset, net);
    if (a.matrix)
      matrices.push_back(analyze::ComputeServiceMatrix(model, o.protocol.value_or(6), o.dports[0].lo, o));
    else
      results.push_back(analyze::ComputeExposure(model, o));
  }

  if (a.matrix) {
    if (global.json()) {
      nlohmann::json j = nlohmann::json::array();
      for (const auto& m : matrices) j.push_back(analyze::ServiceMatrixJson(m));
      std::cout << JsonText(j, 2) << "\n";
    } else {
      for (const auto& m : matrices) std::cout << analyze::ServiceMatrixText(m) << "\n";
    }
    global.exit_code = kOk;
    return;
  }
  // Source classes named after the host's ipsets of addresses.
  analyze::SourceNames names;
  names.AddHostSets(net);
  if (!a.html.empty()) {
    // One page: the matrix, and the chain graph of each family's rules.
    std::vector<analyze::MatrixRow> matrix;
    for (const auto& f : results) {
      auto rows = analyze::MatrixFromExposure(f, &names);
      matrix.insert(matrix.end(), rows.begin(), rows.end());
    }
    analyze::HtmlReportInput report;
    report.title = "swarmwall exposure" + (a.live ? std::string(" (live)") : " of " + a.file);
    for (const auto& r : rulesets) (r.family == netfilter::Family::kIPv4 ? report.v4 : report.v6) = &r;
    report.matrix = &matrix;
    std::ofstream out(a.html);
    out << analyze::RenderHtmlReport(report);
    if (!out) {
      Fail(global, "cannot write " + a.html);
      return;
    }
  }
  if (global.json()) std::cout << JsonText(analyze::ExposureJson(results, &names), 2) << "\n";
  else std::cout << analyze::ExposureText(results, &names, a.cidrs);
  bool control = false;
  for (const auto& f : results)
    for (const auto& i : f.interfaces)
      for (const auto& e : i.entries) control |= analyze::ExposedControlPort(e) != 0;
  global.exit_code = control ? kPending : kOk;
}

}  // namespace

void RegisterExposure(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<ExposureArgs>();
  auto* cmd = app.add_subcommand(
      "exposure",
      "What gets in, over every packet: per interface and source class, the ports that reach the "
      "host and the containers (exit 2: a Swarm/Docker API port is open to the world)");
  cmd->add_option("file", args->file, "iptables-save (or ip6tables-save) output, or - for standard input");
  cmd->add_option("--file6", args->file6, "ip6tables-save output (the IPv6 exposure)");
  cmd->add_flag("--live", args->live, "Read the running kernel's rules (both families), addresses, routes and ipsets");
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
  cmd->add_option("--ipassmt", args->ipassmt,
                  "Interface-to-address assignment (fffuu's ipassmt): sources per arrival interface");
  cmd->add_option("--in", args->in, "Only these arrival interfaces (repeatable)");
  cmd->add_option("--from", args->from, "Only these sources: CIDRs (a,b,...) or an ipset's name");
  cmd->add_option("--proto", args->proto, "Only this protocol: tcp, udp, icmp, icmpv6 or a number");
  cmd->add_option("--dport", args->dport, "Only these destination ports: N, N,M or N-M");
  cmd->add_option("--sport", args->sport, "Only these source ports: N, N,M or N-M (fffuu takes 10000)");
  cmd->add_flag("--fffuu-lo", args->fffuu_lo,
                "With --chain and no --ipassmt: fffuu's generic assignment lo = [127.0.0.0/8] "
                "(IPv6 [::1/128]): packets on lo come from loopback addresses only");
  cmd->add_option("--chain", args->chain,
                  "FORWARD or INPUT: that filter chain alone, as fffuu analyses it (no NAT, no routing)");
  cmd->add_option("--html", args->html,
                  "Also write a self-contained HTML report (the matrix and the chain graph) to this file");
  cmd->add_flag("--cidrs", args->cidrs,
                "Print a named source class's addresses beside its name (\"office = 198.51.100.0/24\"; JSON has both)");
  cmd->add_flag("--matrix", args->matrix,
                "fffuu's service matrix for --proto and one --dport: address classes and edges");
  cmd->callback([args, &global] { RunExposure(*args, global); });
}

}  // namespace swarmwall::cli
