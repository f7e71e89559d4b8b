// swarmwall trace: follows one packet through a host's netfilter hooks and
// tells every rule it meets and where it ends (docs/trace.md).
#include <iostream>

#include "analyze/model/chain_loops.h"
#include "analyze/model/host_network_files.h"
#include "host/network.h"
#include "analyze/trace/trace.h"
#include "analyze/trace/trace_report.h"
#include "base/json_text.h"
#include "cli/commands.h"
#include "netfilter/modules.h"
#include "netfilter/parser.h"

namespace swarmwall::cli {
namespace {

struct TraceArgs {
  std::string file, file6, addr, route, route6, ipsets, nft;
  bool live = false, local = false, lenient = false;
  std::string in, src, dst, proto = "tcp", state = "new";
  int sport = 40000, dport = -1, icmp_type = 8, icmp_code = 0;
  std::string mark;
};

bool Fail(GlobalOptions& global, const std::string& message) {
  std::cerr << "swarmwall trace: " << message << "\n";
  global.exit_code = kError;
  return false;
}

bool ReadFacts(const TraceArgs& a, host::HostNetwork& net, GlobalOptions& global) {
  std::string error;
  if (a.live && !host::LoadLiveHostNetwork(net, error)) return Fail(global, error);
  if (!analyze::ReadHostNetworkFiles({a.addr, a.route, a.route6, a.ipsets, a.nft}, net, error)) return Fail(global, error);
  return true;
}

void RunTrace(const TraceArgs& a, GlobalOptions& global) {
  if (a.live ? !a.file.empty() : a.file.empty() && a.nft.empty()) {
    Fail(global, "give a FILE (or -), --nft FILE, or --live");
    return;
  }
  auto src = netfilter::IpAddress::Parse(a.src);
  auto dst = netfilter::IpAddress::Parse(a.dst);
  if (!src || !dst || src->family != dst->family) {
    Fail(global, "--src and --dst need two addresses of the same family");
    return;
  }
  if (a.in.empty() && !a.local) {
    Fail(global, "give --in IFACE (where the packet arrives) or --local (sent by the host)");
    return;
  }
  netfilter::Family family = src->family;
  analyze::TraceInput input;
  analyze::Packet& p = input.packet;
  p.family = family;
  p.src = *src;
  p.dst = *dst;
  std::string proto = a.proto;
  if (proto == "icmpv6" || proto == "icmp6") proto = "ipv6-icmp";
  if (!netfilter::ParseProtocol(proto, p.protocol)) {
    Fail(global, "unknown protocol " + a.proto);
    return;
  }
  if (p.HasPorts()) {
    if (a.dport < 0 || a.dport > 65535 || a.sport < 0 || a.sport > 65535) {
      Fail(global, "--dport (and --sport) 0..65535 are needed for " + a.proto);
      return;
    }
    p.sport = static_cast<uint16_t>(a.sport);
    p.dport = static_cast<uint16_t>(a.dport);
  }
  p.icmp_type = static_cast<uint8_t>(a.icmp_type);
  p.icmp_code = static_cast<uint8_t>(a.icmp_code);
  if (family == netfilter::Family::kIPv6 && a.icmp_type == 8 && p.protocol == 58)
    p.icmp_type = 128;   // echo request
  if (!a.mark.empty()) p.mark = static_cast<uint32_t>(std::stoul(a.mark, nullptr, 0));
  input.local_origin = a.local;
  if (!a.local) p.in = a.in;
  if (a.state == "new") input.state = analyze::kCtNew;
  else if (a.state == "established") input.state = analyze::kCtEstablished;
  else if (a.state == "related") input.state = analyze::kCtRelated;
  else if (a.state == "invalid") input.state = analyze::kCtInvalid;
  else {
    Fail(global, "--state is new, established, related or invalid");
    return;
  }
  p.tcp_flags = input.state == analyze::kCtNew ? analyze::kTcpSyn : analyze::kTcpAck;

  std::optional<netfilter::Ruleset> ruleset;
  if (a.live) {
    bool v4 = family == netfilter::Family::kIPv4;
    auto live = ReadLiveRulesets(v4, !v4);
    if (!live) {
      global.exit_code = kError;
      return;
    }
    if (!v4 && !live->v6) {
      Fail(global, live->v6_error);
      return;
    }
    ruleset = std::move(v4 ? live->v4 : live->v6);
  } else if (a.file.empty()) {
    ruleset = netfilter::Ruleset{};   // only native tables (--nft)
    ruleset->family = family;
  } else {
    std::string file = family == netfilter::Family::kIPv6 && !a.file6.empty() ? a.file6 : a.file;
    std::string text;
    if (!ReadInput(file, text)) {
      global.exit_code = kError;
      return;
    }
    ruleset = ParseRulesetText(text, file == "-" ? "<stdin>" : file, std::nullopt, a.lenient);
    if (ruleset && ruleset->family != family) {
      Fail(global, file + " holds " + (ruleset->family == netfilter::Family::kIPv4 ? "IPv4" : "IPv6") +
                       " rules but the packet is " +
                       (family == netfilter::Family::kIPv4 ? "IPv4" : "IPv6 (give --ip6 FILE6)"));
      return;
    }
  }
  if (!ruleset) {
    global.exit_code = kError;
    return;
  }
  if (auto loop = analyze::FindChainLoop(*ruleset)) {
    Fail(global, loop->Text());
    return;
  }
  host::HostNetwork net;
  if (!ReadFacts(a, net, global)) return;
  analyze::TraceModel model(*ruleset, net);
  auto result = model.Trace(input);
  if (global.json())
    std::cout << JsonText(analyze::TraceJson(result, input, family), 2) << "\n";
  else
    std::cout << analyze::TraceText(result, input, family);
  bool all_accepted = analyze::Accepted(result.outcome.fate) && !result.truncated;
  for (const auto& o : result.alternatives) all_accepted &= analyze::Accepted(o.fate);
  global.exit_code = all_accepted ? kOk : kPending;
}

}  // namespace

void RegisterTrace(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<TraceArgs>();
  auto* cmd = app.add_subcommand(
      "trace", "Follow one packet through the host's netfilter hooks: every rule it meets, NAT, verdict");
  cmd->add_option("file", args->file, "iptables-save output, or - for standard input");
  cmd->add_option("--ip6", args->file6, "ip6tables-save output (for IPv6 packets)");
  cmd->add_flag("--live", args->live,
                "Read the running kernel's rules, addresses, routes and ipsets");
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
  cmd->add_option("--in", args->in, "Interface the packet arrives on");
  cmd->add_flag("--local", args->local, "The host itself sends the packet (OUTPUT path)");
  cmd->add_option("--src", args->src, "Source address")->required();
  cmd->add_option("--dst", args->dst, "Destination address")->required();
  cmd->add_option("--proto", args->proto, "tcp, udp, icmp, icmpv6 or a protocol number");
  cmd->add_option("--sport", args->sport, "Source port (default 40000)");
  cmd->add_option("--dport", args->dport, "Destination port");
  cmd->add_option("--icmp-type", args->icmp_type, "ICMP type (default echo request)");
  cmd->add_option("--icmp-code", args->icmp_code, "ICMP code (default 0)");
  cmd->add_option("--state", args->state, "Connection state: new (default), established, related, invalid");
  cmd->add_option("--mark", args->mark, "The packet's mark when it arrives (default 0)");
  cmd->callback([args, &global] { RunTrace(*args, global); });
}

}  // namespace swarmwall::cli
