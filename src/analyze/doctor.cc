#include "analyze/doctor.h"

#include <dirent.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <tuple>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "analyze/docker_layout.h"
#include "analyze/docker_user_hook.h"
#include "analyze/input_file.h"
#include "backend/iptables/kernel_state.h"
#include "backend/iptables_variant.h"
#include "base/process.h"
#include "netfilter/parser.h"

namespace swarmwall::analyze {
namespace {

using netfilter::Family;

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
}

// The value of KEY in a shell-style KEY=value file ("" when absent), quotes removed.
std::string ShellValue(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string value;
  for (std::string line; std::getline(in, line);) {
    line = Trim(line);
    if (line.empty() || line[0] == '#' || !line.starts_with(key + "=")) continue;
    value = Trim(line.substr(key.size() + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front())
      value = value.substr(1, value.size() - 2);
  }
  return value;
}

bool Truthy(const std::string& v) {
  std::string l = v;
  std::transform(l.begin(), l.end(), l.begin(), [](unsigned char c) { return std::tolower(c); });
  return l == "1" || l == "yes" || l == "true";
}

// Saved iptables-save text that holds Docker's chains or jumps to them.
bool HoldsDockerRules(const std::optional<std::string>& text) {
  if (!text) return false;
  std::istringstream in(*text);
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with(":DOCKER")) return true;
    if (line.starts_with("-A ") && (line.find(" DOCKER") != std::string::npos ||
                                    line.find("docker0") != std::string::npos ||
                                    line.find("docker_gwbridge") != std::string::npos))
      return true;
  }
  return false;
}

// A rule that applies to everything (an interface condition allowed): no
// source or destination, protocol, match module (a comment aside).
bool Unconditional(const netfilter::Rule& r) {
  if (r.source.PrefixLength() != 0 || r.source_negated || r.destination.PrefixLength() != 0 ||
      r.destination_negated || r.protocol != 0 || r.in_negated)
    return false;
  for (const auto& p : r.parts)
    if (p.kind == netfilter::Part::Kind::kMatch && p.text != "comment") return false;
    else if (p.kind == netfilter::Part::Kind::kOpaque) return false;
  return true;
}

bool IsDropOrReject(const netfilter::Rule& r) {
  return r.target_kind == netfilter::TargetKind::kDrop || r.target == "REJECT";
}

std::string Join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

// A config or /proc file, bounded (a FIFO or device in its place is taken
// as absent rather than waited on or read forever).
std::optional<std::string> ReadFile(const std::string& path) {
  std::string text, error;
  if (!ReadInputFile(path, kFactsLimit, text, error)) return std::nullopt;
  return text;
}

std::string Under(const std::string& root, const std::string& path) {
  if (root.empty() || root == "/") return path;
  return (root.ends_with("/") ? root.substr(0, root.size() - 1) : root) + path;
}

std::string PortName(int port) {
  switch (port) {
    case 2375: return "the Docker Engine API without TLS";
    case 2377: return "Swarm cluster management";
    case 7946: return "Swarm node discovery (gossip)";
    case 4789: return "Swarm overlay traffic (VXLAN)";
  }
  return "";
}

}  // namespace

bool ListeningSocket::loopback() const {
  return address.starts_with("127.") || address == "::1" || address.starts_with("::ffff:127.");
}

std::string SeverityName(Severity s) {
  switch (s) {
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kInfo: return "info";
  }
  return "";
}

bool DoctorPort(int port) { return port == 2375 || port == 2377 || port == 7946 || port == 4789; }

std::vector<ListeningSocket> ParseProcNet(const std::string& text, const std::string& protocol,
                                          int family) {
  std::vector<ListeningSocket> out;
  std::istringstream in(text);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string slot, local, remote, state;
    if (!(ls >> slot >> local >> remote >> state)) continue;
    auto colon = local.find(':');
    if (colon == std::string::npos) continue;
    std::string addr_hex = local.substr(0, colon);
    int port = 0;
    try {
      port = std::stoi(local.substr(colon + 1), nullptr, 16);
    } catch (...) {
      continue;
    }
    if (!DoctorPort(port)) continue;
    if (protocol == "tcp" && state != "0A") continue;  // TCP_LISTEN
    ListeningSocket s;
    s.protocol = protocol;
    s.family = family;
    s.port = port;
    // The kernel prints each 32-bit word of the address in host (little-endian) order.
    std::vector<uint8_t> bytes;
    if (addr_hex.size() != 8 && addr_hex.size() != 32) continue;
    for (size_t w = 0; w < addr_hex.size(); w += 8) {
      uint32_t word = static_cast<uint32_t>(std::stoul(addr_hex.substr(w, 8), nullptr, 16));
      for (int b = 0; b < 4; ++b) bytes.push_back(static_cast<uint8_t>(word >> (8 * b)));
    }
    if (bytes.size() == 4) {
      s.address = fmt::format("{}.{}.{}.{}", bytes[0], bytes[1], bytes[2], bytes[3]);
    } else {
      bool v4mapped = std::all_of(bytes.begin(), bytes.begin() + 10, [](uint8_t b) { return b == 0; }) &&
                      bytes[10] == 0xff && bytes[11] == 0xff;
      if (v4mapped) {
        s.address = fmt::format("::ffff:{}.{}.{}.{}", bytes[12], bytes[13], bytes[14], bytes[15]);
      } else {
        std::array<uint8_t, 16> a{};
        std::copy(bytes.begin(), bytes.end(), a.begin());
        s.address = netfilter::IpAddress{a, Family::kIPv6}.ToString();
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

FilterFacts FilterFactsFromSave(const std::string& save_text, Family family) {
  FilterFacts f;
  std::string error;
  auto snap = backend::SnapshotFromText(save_text, "", family, error);
  netfilter::ParseOptions options;
  options.family = family;
  options.file_name = family == Family::kIPv4 ? "iptables-save" : "ip6tables-save";
  auto parsed = netfilter::ParseRuleset(save_text, options);
  if (!snap || !parsed.ruleset) {
    f.error = error.empty() && parsed.error ? parsed.error->ToString() : error;
    return f;
  }
  f.read = true;
  f.docker_chains = snap->docker_chains;
  f.docker_user_exists = snap->kernel.HasChain("DOCKER-USER");
  f.forward_jumps_to_docker_user = snap->forward_jumps_to_docker_user;
  f.docker_user_not_hooked = JudgeDockerUserHook(*parsed.ruleset).NotHooked();
  for (const auto& [key, first] : snap->hook_first) {
    if (key.second == "SWARMWALL-USER" && (key.first == "DOCKER-USER" || key.first == "FORWARD"))
      f.swarmwall_user_hooked = true;
    if (key.first == "INPUT" && key.second == "SWARMWALL-INPUT" && first) f.swarmwall_input_first = true;
  }
  const netfilter::Ruleset& rs = *parsed.ruleset;
  if (const auto* input = rs.FindChain("filter", "INPUT")) {
    f.input_policy = std::string(input->policy);
    for (const auto& r : input->rules) {
      if (IsDropOrReject(r) && Unconditional(r)) f.input_drops_public = true;
      // One level down: a chain INPUT sends everything (or one interface) to.
      if (r.target_kind == netfilter::TargetKind::kChain && Unconditional(r))
        if (const auto* sub = rs.FindChain("filter", r.target))
          for (const auto& sr : sub->rules)
            if (IsDropOrReject(sr) && Unconditional(sr)) f.input_drops_public = true;
    }
  }
  if (const auto* forward = rs.FindChain("filter", "FORWARD")) f.forward_policy = std::string(forward->policy);
  if (const auto* user = rs.FindChain("filter", "DOCKER-USER")) {
    for (size_t i = 0; i < user->rules.size(); ++i) {
      const auto& r = user->rules[i];
      bool final_return = i + 1 == user->rules.size() &&
                          r.target_kind == netfilter::TargetKind::kReturn && Unconditional(r);
      if (!final_return) f.docker_user_filters = true;
    }
  }
  DockerExplanation ex = family == Family::kIPv4 ? ExplainDocker(rs) : ExplainDocker(netfilter::Ruleset(), &rs);
  for (const auto& p : ex.ports) {
    if (p.loopback_only || p.family != (family == Family::kIPv4 ? 4 : 6)) continue;
    f.published_ports.push_back(fmt::format("{}/{} -> {}{}", p.host_ports, p.protocol, p.container,
                                            p.swarm_ingress ? " (Swarm routing mesh)" : ""));
  }
  return f;
}

std::vector<Finding> Diagnose(const HostFacts& h) {
  std::vector<Finding> out;
  auto add = [&](Severity s, std::string code, std::string message, std::string fix) {
    out.push_back({s, std::move(code), std::move(message), std::move(fix)});
  };
  bool docker = h.docker_in_nft || h.docker_in_legacy || h.v4.docker_chains || h.v6.docker_chains;

  // Variants.
  if (h.docker_in_nft && h.docker_in_legacy) {
    add(Severity::kWarning, "variant-both",
        "both iptables variants (nf_tables and legacy) hold Docker's chains: a leftover of a "
        "switch between them; both rulesets filter packets, and tools editing one miss the other",
        "flush the variant the system does not use (e.g. `iptables-legacy -F; iptables-legacy -X` "
        "and the same for -t nat and ip6tables-legacy), then restart docker");
  } else if (!h.system_variant.empty() && (h.docker_in_nft || h.docker_in_legacy)) {
    std::string docker_variant = h.docker_in_nft ? "nft" : "legacy";
    if (docker_variant != h.system_variant)
      add(Severity::kError, "variant-mismatch",
          fmt::format("Docker's chains are in the {} iptables variant but plain `iptables` on this "
                      "system is {}: rules added with `iptables` (by you, iptables.service, "
                      "netfilter-persistent, ufw) land in another ruleset and do not filter what "
                      "Docker forwards",
                      docker_variant, h.system_variant),
          fmt::format("make both use one variant: `update-alternatives --set iptables "
                      "/usr/sbin/iptables-{0}` and `update-alternatives --set ip6tables "
                      "/usr/sbin/ip6tables-{0}` (or switch the system's and restart docker); "
                      "swarmwall itself always edits the variant that holds Docker's chains",
                      docker_variant));
  }

  // Per-family rules.
  for (const FilterFacts* f : {&h.v4, &h.v6}) {
    std::string fam = f == &h.v4 ? "IPv4" : "IPv6";
    std::string tool = f == &h.v4 ? "iptables" : "ip6tables";
    if (!f->read) {
      if (!f->error.empty())
        add(Severity::kWarning, "rules-unreadable",
            fam + " rules could not be read (" + f->error + "); the checks on them were skipped",
            "run doctor as root with " + tool + "-save of the variant Docker uses installed");
      continue;
    }
    // Before the Docker-only checks: a DOCKER-USER whose rules nothing
    // reaches matters with or without Docker's chains (docker_user_hook.h).
    if (f->docker_user_not_hooked)
      add(Severity::kError, "docker-user-not-hooked",
          fam + ": FORWARD does not jump to DOCKER-USER: rules in DOCKER-USER (yours or "
                "swarmwall's) are never consulted and published ports are open to everyone "
                "(moby#48560: something flushed or rebuilt FORWARD after Docker started)",
          "restart docker (it re-inserts the jump), or `" + tool +
              " -I FORWARD -j DOCKER-USER`; find what rewrites FORWARD (iptables.service, "
              "netfilter-persistent, a script)");
    if (!f->docker_chains) continue;
    // An ACCEPT policy matters only when the family forwards at all.
    const auto& forwarding = f == &h.v4 ? h.ip_forward : h.ip6_forward;
    if (f->forward_policy == "ACCEPT" && (!forwarding || *forwarding != "0"))
      add(Severity::kWarning, "forward-policy-accept",
          fam + ": the FORWARD chain's policy is ACCEPT: traffic routed through this host that "
                "Docker's rules do not handle (other interfaces, other bridges, VPNs) is forwarded "
                "unfiltered",
          "`" + tool + " -P FORWARD DROP` and persist it (Docker sets DROP itself when it enables "
                       "forwarding; something reset it)");
    if (!f->published_ports.empty() && !f->docker_user_filters && !f->swarmwall_user_hooked)
      add(Severity::kWarning, "published-ports-open",
          fam + ": published container ports are reachable from every address and INPUT rules "
                "do not protect them (they go through FORWARD): " + Join(f->published_ports) +
                "; DOCKER-USER filters nothing",
          "restrict them in DOCKER-USER: `swarmwall apply` of a policy with `containers: { "
          "default: drop, allow: [...] }`, or publish on 127.0.0.1 only (-p 127.0.0.1:PORT:PORT)");
  }

  // Sockets on Swarm's ports and the Docker API.
  auto closed = [&](const FilterFacts& f) {
    return f.read && (f.swarmwall_input_first || f.input_drops_public || f.input_policy == "DROP");
  };
  std::set<std::string> seen;
  for (const auto& s : h.sockets) {
    if (s.loopback()) continue;
    bool any = s.address == "0.0.0.0" || s.address == "::";
    bool is_closed = s.family == 4 ? closed(h.v4)
                                   : closed(h.v6) && (s.address != "::" || closed(h.v4));
    if (is_closed) continue;
    std::string key = fmt::format("{}/{}", s.port, s.protocol);
    if (!seen.insert(key).second) continue;
    std::string where = any ? "every address" : s.address;
    if (s.port == 2375)
      add(Severity::kError, "docker-api-exposed",
          fmt::format("{} ({}) listens on {} and INPUT does not close it (approximate: a DROP for "
                      "all traffic, INPUT's policy or swarmwall's INPUT chain first counts as "
                      "closed): anyone who reaches it is root on this host",
                      key, PortName(s.port), where),
          "remove `-H tcp://...:2375` from dockerd (or \"hosts\" in daemon.json); use TLS on 2376 "
          "(--tlsverify) or ssh://, or bind it to 127.0.0.1");
    else
      add(Severity::kWarning, "swarm-port-exposed",
          fmt::format("{} ({}) listens on {} and INPUT does not close it to the public "
                      "(approximate: a DROP for all traffic, INPUT's policy or swarmwall's INPUT "
                      "chain first counts as closed; which interface is public is not known here)",
                      key, PortName(s.port), where),
          "allow Swarm's ports only from the cluster's nodes: `swarmwall apply` of a policy with "
          "`swarm: { from: nodes }`, or INPUT rules accepting 2377/tcp, 7946/tcp+udp, 4789/udp "
          "from the nodes and dropping them otherwise");
  }

  // Saved rulesets restored at boot.
  if (HoldsDockerRules(h.rules_v4) || HoldsDockerRules(h.rules_v6))
    add(Severity::kError, "persistent-saved-docker-rules",
        "/etc/iptables/rules.v4 or rules.v6 holds Docker's chains or rules (saved with "
        "`netfilter-persistent save` while Docker ran): restored at boot they clash with what "
        "Docker creates (stale DNAT to old container addresses, duplicate or missing jumps)",
        "keep only your own rules in those files (delete every DOCKER chain and rule, and jumps "
        "to them), e.g. write them with `swarmwall render --backend persistent`; then restart docker");
  if (h.netfilter_persistent_default &&
      Truthy(ShellValue(*h.netfilter_persistent_default, "FLUSH_ON_STOP")))
    add(Severity::kWarning, "persistent-flush-on-stop",
        "/etc/default/netfilter-persistent sets FLUSH_ON_STOP=1: stopping or restarting "
        "netfilter-persistent flushes every rule, Docker's included",
        "set FLUSH_ON_STOP=0 in /etc/default/netfilter-persistent");
  if (HoldsDockerRules(h.sysconfig_iptables) || HoldsDockerRules(h.sysconfig_ip6tables))
    add(Severity::kError, "iptables-services-saved-docker-rules",
        "/etc/sysconfig/iptables or ip6tables holds Docker's chains or rules (saved with "
        "`iptables.init save` / `service iptables save` while Docker ran): iptables.service "
        "restores them at start, clashing with Docker's own",
        "keep only your own rules in /etc/sysconfig/iptables (delete every DOCKER chain and rule), "
        "then restart iptables.service and docker");
  if (h.sysconfig_iptables_config) {
    for (const char* key : {"IPTABLES_SAVE_ON_STOP", "IPTABLES_SAVE_ON_RESTART"})
      if (Truthy(ShellValue(*h.sysconfig_iptables_config, key)))
        add(Severity::kWarning, "iptables-services-save-on-stop",
            fmt::format("/etc/sysconfig/iptables-config sets {}=\"yes\": iptables.service saves "
                        "the live rules, Docker's included, into /etc/sysconfig/iptables",
                        key),
            fmt::format("set {}=\"no\" in /etc/sysconfig/iptables-config", key));
  }
  if (h.sysconfig_iptables && docker)
    add(Severity::kWarning, "iptables-services-flushes",
        "iptables.service is set up (/etc/sysconfig/iptables exists): each start or restart "
        "flushes the tables and restores that file, removing Docker's chains until docker restarts",
        "restart docker after every iptables.service restart (order docker.service "
        "After=iptables.service), never `iptables --flush`; keep your rules where a restart "
        "does not remove Docker's (swarmwall apply)");

  // firewalld.
  if (h.firewalld_running && !h.firewalld_docker_zone)
    add(Severity::kError, "firewalld-without-docker",
        "firewalld runs but has no \"docker\" zone: Docker was started before firewalld (or "
        "firewalld was reloaded), so a firewalld reload removes Docker's rules",
        "restart docker now that firewalld runs (Docker then puts its bridges in firewalld's "
        "docker zone); manage ports with `swarmwall render --backend firewalld`");
  else if (h.firewalld_running)
    add(Severity::kInfo, "firewalld-running",
        "firewalld runs beside Docker (Docker knows: there is a \"docker\" zone); rules added with "
        "plain iptables are lost at every `firewall-cmd --reload`",
        "make changes through firewall-cmd (`swarmwall render --backend firewalld`), not iptables");

  // Kernel settings.
  if (docker && h.ip_forward && *h.ip_forward == "0")
    add(Severity::kError, "ip-forward-off",
        "net.ipv4.ip_forward is 0: containers cannot reach the outside and published ports do "
        "not answer",
        "`sysctl -w net.ipv4.ip_forward=1` and persist it in /etc/sysctl.d/ (check that no "
        "sysctl.conf sets it back to 0)");
  if (docker && !h.br_netfilter)
    add(Severity::kWarning, "br-netfilter-missing",
        "br_netfilter is not loaded (/proc/sys/net/bridge/bridge-nf-call-iptables is missing): "
        "traffic between containers on one bridge bypasses iptables (icc=false and DOCKER-USER "
        "rules between containers do nothing)",
        "`modprobe br_netfilter` and list it in /etc/modules-load.d/br_netfilter.conf");
  else if (docker && h.bridge_nf_call_iptables && *h.bridge_nf_call_iptables == "0")
    add(Severity::kWarning, "br-netfilter-off",
        "net.bridge.bridge-nf-call-iptables is 0: traffic between containers on one bridge "
        "bypasses iptables",
        "`sysctl -w net.bridge.bridge-nf-call-iptables=1` and persist it in /etc/sysctl.d/");

  // daemon.json.
  if (h.daemon_json) {
    auto j = nlohmann::json::parse(*h.daemon_json, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      add(Severity::kWarning, "daemon-json-invalid",
          h.daemon_json_path + " is not a JSON object: dockerd refuses to start with it",
          "fix its syntax (`python3 -m json.tool " + h.daemon_json_path + "`)");
    } else {
      if (j.contains("iptables") && j["iptables"] == false)
        add(Severity::kError, "docker-iptables-disabled",
            h.daemon_json_path + " sets \"iptables\": false: Docker makes no rules, so published "
                                 "ports are not forwarded the usual way, containers are not "
                                 "masqueraded and DOCKER-USER does not exist; whatever is "
                                 "published is firewalled only by what you write by hand",
            "remove \"iptables\": false and restart docker; restrict access in DOCKER-USER "
            "(swarmwall apply) instead");
      if (j.contains("ip6tables") && j["ip6tables"] == false && j.value("ipv6", false))
        add(Severity::kWarning, "docker-ip6tables-disabled",
            h.daemon_json_path + " enables IPv6 but sets \"ip6tables\": false: Docker makes no "
                                 "IPv6 rules, so containers' IPv6 traffic is not filtered by Docker",
            "remove \"ip6tables\": false and restart docker");
    }
  }

  std::stable_sort(out.begin(), out.end(),
                   [](const Finding& a, const Finding& b) { return a.severity < b.severity; });
  return out;
}

HostFacts GatherHostFacts(const DoctorOptions& o) {
  HostFacts h;
  if (o.read_kernel) {
    auto variant = backend::DetectVariant();
    h.system_variant = variant.system_default;
    h.docker_in_nft = variant.docker_in_nft;
    h.docker_in_legacy = variant.docker_in_legacy;
    h.chosen_variant = variant.chosen.name;
    for (Family family : {Family::kIPv4, Family::kIPv6}) {
      FilterFacts& f = family == Family::kIPv4 ? h.v4 : h.v6;
      auto save = backend::SaveLive(variant.chosen, family);
      if (!save.ok) {
        f.error = save.error;
        continue;
      }
      f = FilterFactsFromSave(save.text, family);
    }
    if (!h.v4.read && !h.v6.read)
      h.gather_error = "cannot read the kernel's rules: " + h.v4.error;
  }
  h.netfilter_persistent_default = ReadFile(Under(o.root, "/etc/default/netfilter-persistent"));
  h.rules_v4 = ReadFile(Under(o.root, "/etc/iptables/rules.v4"));
  h.rules_v6 = ReadFile(Under(o.root, "/etc/iptables/rules.v6"));
  h.sysconfig_iptables = ReadFile(Under(o.root, "/etc/sysconfig/iptables"));
  h.sysconfig_ip6tables = ReadFile(Under(o.root, "/etc/sysconfig/ip6tables"));
  h.sysconfig_iptables_config = ReadFile(Under(o.root, "/etc/sysconfig/iptables-config"));
  h.daemon_json_path = o.daemon_json.empty() ? Under(o.root, "/etc/docker/daemon.json") : o.daemon_json;
  h.daemon_json = ReadFile(h.daemon_json_path);

  // A process named firewalld.
  if (DIR* d = opendir(o.proc.c_str())) {
    while (dirent* e = readdir(d)) {
      std::string name = e->d_name;
      if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
      auto comm = ReadFile(o.proc + "/" + name + "/comm");
      if (comm && Trim(*comm) == "firewalld") h.firewalld_running = true;
      // firewalld is a Python program: comm may be "python3"; look at its command line.
      if (!h.firewalld_running && comm && Trim(*comm).starts_with("python")) {
        auto cmdline = ReadFile(o.proc + "/" + name + "/cmdline");
        if (cmdline && cmdline->find("firewalld") != std::string::npos &&
            cmdline->find("firewall-cmd") == std::string::npos)
          h.firewalld_running = true;
      }
    }
    closedir(d);
  }
  if (h.firewalld_running) {
    h.firewalld_docker_zone = ReadFile(Under(o.root, "/etc/firewalld/zones/docker.xml")).has_value();
    if (!h.firewalld_docker_zone && o.read_kernel && ProgramExists("firewall-cmd")) {
      auto r = RunProcess({"firewall-cmd", "--get-zones"}, {.timeout = std::chrono::seconds(10)});
      std::istringstream zs(r.out);
      for (std::string z; zs >> z;) h.firewalld_docker_zone |= z == "docker";
    }
  }

  if (auto v = ReadFile(o.proc + "/sys/net/ipv4/ip_forward")) h.ip_forward = Trim(*v);
  if (auto v = ReadFile(o.proc + "/sys/net/ipv6/conf/all/forwarding")) h.ip6_forward = Trim(*v);
  if (auto v = ReadFile(o.proc + "/sys/net/bridge/bridge-nf-call-iptables")) {
    h.br_netfilter = true;
    h.bridge_nf_call_iptables = Trim(*v);
  }
  for (auto [file, proto, fam] : {std::tuple{"tcp", "tcp", 4}, std::tuple{"tcp6", "tcp", 6},
                                  std::tuple{"udp", "udp", 4}, std::tuple{"udp6", "udp", 6}}) {
    if (auto text = ReadFile(o.proc + "/net/" + file)) {
      auto socks = ParseProcNet(*text, proto, fam);
      h.sockets.insert(h.sockets.end(), socks.begin(), socks.end());
    }
  }
  return h;
}

}  // namespace swarmwall::analyze
