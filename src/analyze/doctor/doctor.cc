#include "analyze/doctor/doctor.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>


namespace swarmwall::analyze {
namespace {

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

std::string Join(const std::vector<std::string>& items, const std::string& sep = ", ") {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

// The first line of FILES that runs `flush ruleset` ("/etc/nftables.conf:3"), "" if none.
std::string FlushRulesetLine(const std::vector<host::ConfigFile>& files) {
  for (const auto& f : files) {
    std::istringstream in(f.text);
    int n = 0;
    for (std::string line; std::getline(in, line);) {
      ++n;
      line = Trim(line.substr(0, line.find('#')));
      std::istringstream words(line);
      std::string a, b;
      if (words >> a >> b && a == "flush" && (b == "ruleset" || b == "ruleset;")) return f.path + ":" + std::to_string(n);
    }
  }
  return "";
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

std::string SeverityName(Severity s) {
  switch (s) {
    case Severity::kError: return "error";
    case Severity::kWarning: return "warning";
    case Severity::kInfo: return "info";
  }
  return "";
}

const std::vector<int>& DoctorPorts() {
  static const std::vector<int> ports = {2375, 2377, 7946, 4789};
  return ports;
}

bool DoctorPort(int port) {
  return std::find(DoctorPorts().begin(), DoctorPorts().end(), port) != DoctorPorts().end();
}

std::vector<Finding> Diagnose(const DoctorFacts& h) {
  std::vector<Finding> out;
  auto add = [&](Severity s, std::string code, std::string message, std::string fix) {
    out.push_back({s, std::move(code), std::move(message), std::move(fix)});
  };
  bool docker = h.docker_in_nft || h.docker_in_legacy || h.v4.docker_chains || h.v6.docker_chains;
  // Docker's rules in nftables: its own tables, or iptables-nft's.
  bool nft_mode = DockerNftablesMode(h);
  bool docker_any = docker || nft_mode;

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
    // reaches matters with or without Docker's chains (model/filter_owners.h).
    // In nftables mode nothing ever jumps to DOCKER-USER: DiagnoseDockerFirewall says what that means.
    if (f->docker_user_not_hooked && !nft_mode)
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
    // The exposure engine's answer, when there is one, replaces this approximation.
    if (!h.world_published && !f->published_ports.empty() && !f->docker_user_filters && !f->swarmwall_user_hooked)
      add(Severity::kWarning, "published-ports-open",
          fam + ": published container ports are reachable from every address and INPUT rules "
                "do not protect them (they go through FORWARD): " + Join(f->published_ports) +
                "; DOCKER-USER filters nothing",
          "restrict them in DOCKER-USER: `swarmwall apply` of a policy with `containers: { "
          "default: drop, allow: [...] }`, or publish on 127.0.0.1 only (-p 127.0.0.1:PORT:PORT)");
  }

  // Sockets on Swarm's ports and the Docker API.
  // swarmwall's nftables backend: its own table's input chain runs before
  // iptables' INPUT (priority filter - 10) and drops for it.
  auto nft_owned = [&](const char* table) {
    return h.nft_tables && std::find(h.nft_tables->begin(), h.nft_tables->end(), table) != h.nft_tables->end();
  };
  auto closed = [&](const FilterFacts& f) {
    bool nft = nft_owned(&f == &h.v4 ? "ip swarmwall" : "ip6 swarmwall");
    return nft || (f.read && (f.swarmwall_input_first || f.input_drops_public || f.input_policy == "DROP"));
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

  // nftables.service loads /etc/nftables.conf at each start and reload: a
  // `flush ruleset` there deletes every table, Docker's (native or
  // iptables-nft) included; Docker does not notice.
  if (std::string line = FlushRulesetLine(h.nftables_conf);
      !line.empty() && h.nftables_service_enabled && (nft_mode || h.docker_in_nft))
    add(Severity::kWarning, "nftables-service-flushes",
        "nftables.service is enabled and " + line +
            " runs `flush ruleset`: each `systemctl restart` or `reload` of nftables (and a boot "
            "where it starts after docker) deletes every nftables table, Docker's " +
            (nft_mode ? std::string("(ip docker-bridges, ...)") : std::string("iptables-nft chains")) +
            " and swarmwall's included, until docker restarts: containers are cut off and nothing "
            "filters what is published",
        "flush only your own tables: replace `flush ruleset` by `table inet NAME` followed by "
        "`delete table inet NAME` before each of your tables is declared (or `flush table inet "
        "NAME`); or `systemctl disable nftables` if nothing of yours is in it; restart docker "
        "after any nftables restart until then");

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
  std::string nft_note = nft_mode ? "; Docker in nftables mode does not turn it on itself (in iptables mode it "
                                    "does at start): it must be on before docker starts"
                                  : "";
  if (docker_any && h.ip_forward && *h.ip_forward == "0")
    add(Severity::kError, "ip-forward-off",
        "net.ipv4.ip_forward is 0: containers cannot reach the outside and published ports do "
        "not answer",
        "`sysctl -w net.ipv4.ip_forward=1` and persist it in /etc/sysctl.d/ (check that no "
        "sysctl.conf sets it back to 0)" + nft_note);
  bool docker_ipv6 = h.docker_ipv6_networks;
  if (h.daemon_json) {
    auto j = nlohmann::json::parse(*h.daemon_json, nullptr, false);
    docker_ipv6 |= j.is_object() && j.contains("ipv6") && j["ipv6"] == true;
  }
  if (docker_any && docker_ipv6 && h.ip6_forward && *h.ip6_forward == "0")
    add(Severity::kError, "ip6-forward-off",
        "Docker has IPv6 networks but net.ipv6.conf.all.forwarding is 0: containers' IPv6 traffic "
        "is not forwarded (no IPv6 to or from them, published ports do not answer over IPv6)",
        "`sysctl -w net.ipv6.conf.all.forwarding=1` and persist it in /etc/sysctl.d/ (an uplink "
        "configured by router advertisements then needs net.ipv6.conf.IFACE.accept_ra=2)" + nft_note);
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

  for (auto& f : DiagnoseDockerFirewall(h)) out.push_back(std::move(f));

  std::stable_sort(out.begin(), out.end(),
                   [](const Finding& a, const Finding& b) { return a.severity < b.severity; });
  return out;
}

}  // namespace swarmwall::analyze
