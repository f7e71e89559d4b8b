// swarmwall verify: a live check from where it runs. Scans one node's
// address with nmap (every TCP port; UDP 4789, 7946 and the policy's UDP
// ports) and compares what answers with what the policy lets this vantage
// point (its source address toward the target) reach (docs/audit.md).
#include <unistd.h>

#include <iostream>

#include <nlohmann/json.hpp>

#include "analyze/audit/scan_comparison.h"
#include "analyze/audit/policy_proof.h"
#include "base/json_text.h"
#include "base/process.h"
#include "cli/commands.h"
#include "policy/policy.h"

namespace swarmwall::cli {
namespace {

struct VerifyArgs {
  std::string policy, node, target, label, via = "public", source;
  bool no_udp = false;
};

void Fail(GlobalOptions& global, const std::string& message) {
  std::cerr << "swarmwall verify: " << message << "\n";
  global.exit_code = kError;
}

// The source address the kernel picks toward TARGET (`ip -j route get`).
std::string SourceToward(const std::string& target, std::string& error) {
  auto r = RunProcess({"ip", "-j", "route", "get", target}, {.timeout = std::chrono::seconds(10)});
  if (!r.ok()) {
    error = "ip route get " + target + ": " + r.err;
    return "";
  }
  try {
    auto j = nlohmann::json::parse(r.out);
    if (j.is_array() && !j.empty() && j[0].contains("prefsrc")) return j[0]["prefsrc"].get<std::string>();
  } catch (const std::exception& e) {
    error = std::string("ip route get: ") + e.what();
    return "";
  }
  error = "no source address toward " + target;
  return "";
}

bool Scan(const std::vector<std::string>& args, analyze::ScanResult& scan, std::string& error) {
  auto r = RunProcess(args, {.timeout = std::chrono::minutes(10)});
  if (!r.ok()) {
    error = "nmap failed: " + r.err;
    return false;
  }
  return analyze::ParseNmapXml(r.out, scan, error);
}

void RunVerify(const VerifyArgs& a, GlobalOptions& global) {
  if (a.via != "public" && a.via != "cluster") return Fail(global, "--via is public or cluster");
  auto target = netfilter::IpAddress::Parse(a.target);
  if (!target) return Fail(global, "--target needs an address");
  auto loaded = policy::LoadPolicyFile(a.policy);
  for (const auto& d : loaded.errors) std::cerr << d.ToString() << "\n";
  if (!loaded.ok()) {
    global.exit_code = kError;
    return;
  }
  const policy::Policy& pol = *loaded.policy;
  const policy::Node* node = pol.FindNode(a.node);
  if (!node) return Fail(global, "the policy has no node " + a.node);
  std::string error;
  std::string src_text = a.source.empty() ? SourceToward(a.target, error) : a.source;
  auto source = netfilter::IpAddress::Parse(src_text);
  if (!source) return Fail(global, error.empty() ? "bad --source " + src_text : error);
  if (!ProgramExists("nmap")) return Fail(global, "nmap is not installed (apt-get install nmap)");
  analyze::PolicyIntent intent(pol, *node);

  bool root = geteuid() == 0;
  std::vector<std::string> common = {"nmap", "-n", "-Pn", "-oX", "-"};
  if (target->family == netfilter::Family::kIPv6) common.push_back("-6");
  // The lab's timing (tests/lab/README.md): a dropping host in ~13 s, an open one in ~4 s.
  std::vector<std::string> tcp = common;
  for (const char* o : {"-p1-65535", "-T5", "--min-parallelism", "2048", "--initial-rtt-timeout", "40ms",
                        "--max-rtt-timeout", "200ms", "--max-retries", "1"})
    tcp.push_back(o);
  tcp.push_back(root ? "-sS" : "-sT");
  tcp.push_back(a.target);
  analyze::ScanResult scan;
  if (!Scan(tcp, scan, error)) return Fail(global, error);
  if (!a.no_udp) {
    if (!root) {
      std::cerr << "swarmwall verify: not root: UDP is not scanned (nmap -sU needs raw sockets)\n";
    } else {
      std::string list;
      for (uint16_t p : analyze::UdpPortsToScan(intent)) list += (list.empty() ? "" : ",") + std::to_string(p);
      std::vector<std::string> udp = common;
      for (const char* o : {"-sU", "-T4", "--max-retries", "2"}) udp.push_back(o);
      udp.push_back("-p" + list);
      udp.push_back(a.target);
      if (!Scan(udp, scan, error)) return Fail(global, error);
    }
  }
  auto result = analyze::CompareScan(intent, *source, a.via, scan);
  result.target = a.target;
  result.label = a.label;
  if (global.json())
    std::cout << JsonText(analyze::ScanComparisonJson(result), 2) << "\n";
  else
    std::cout << analyze::ScanComparisonText(result);
  global.exit_code = result.differences.empty() ? kOk : kPending;
}

}  // namespace

void RegisterVerify(CLI::App& app, GlobalOptions& global) {
  auto args = std::make_shared<VerifyArgs>();
  auto* cmd = app.add_subcommand(
      "verify", "Scan a node from here with nmap and compare with what the policy lets this place reach");
  cmd->add_option("policy", args->policy, "The cluster policy (YAML)")->required();
  cmd->add_option("--node", args->node, "The policy's node being scanned")->required();
  cmd->add_option("--target", args->target, "The node's address to scan")->required();
  cmd->add_option("--from-label", args->label, "A name for this vantage point in the report (office, stranger)");
  cmd->add_option("--via", args->via, "Which of the node's interfaces the scan arrives on: public (default) or cluster");
  cmd->add_option("--source", args->source, "This place's source address (default: from ip route get TARGET)");
  cmd->add_flag("--no-udp", args->no_udp, "Scan TCP only");
  cmd->callback([args, &global] { RunVerify(*args, global); });
}

}  // namespace swarmwall::cli
