// swarmwall doctor: the known traps of a Docker / Swarm host, each with its
// fix. Two halves: GatherHostFacts reads the live host (files under an
// overridable root, /proc, the kernel's rules through the iptables variant
// that holds Docker's chains) into plain HostFacts, and Diagnose is a pure
// function from HostFacts to findings, so every check is unit-tested from
// fabricated facts.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "netfilter/address.h"

namespace swarmwall::analyze {

// What the filter table (and nat, for published ports) of one family says.
struct FilterFacts {
  bool read = false;                   // false: the rules could not be read
  std::string error;                   // why, when !read
  bool docker_chains = false;          // any DOCKER* chain in filter
  bool docker_user_exists = false;
  bool forward_jumps_to_docker_user = false;
  // DOCKER-USER exists, nothing reaches it, and that matters: the verdict
  // of JudgeDockerUserHook (model/filter_owners.h), as audit and status say it.
  bool docker_user_not_hooked = false;
  // DOCKER-USER holds something besides a final "-j RETURN" (the user's or
  // swarmwall's own filtering of published ports).
  bool docker_user_filters = false;
  bool swarmwall_user_hooked = false;  // SWARMWALL-USER hooked (DOCKER-USER or FORWARD)
  bool swarmwall_input_first = false;  // INPUT's first rule jumps to SWARMWALL-INPUT
  std::string input_policy, forward_policy;  // "ACCEPT"/"DROP"; "" unknown
  // INPUT (or a chain it jumps to) drops or rejects traffic without any
  // source, protocol or port condition: approximate "closed to the public".
  bool input_drops_public = false;
  // Published container ports reachable from outside ("8080/tcp -> 172.17.0.2:80").
  std::vector<std::string> published_ports;
};

struct ListeningSocket {
  std::string protocol;   // "tcp" or "udp"
  int family = 4;         // 4: /proc/net/tcp|udp, 6: tcp6|udp6
  std::string address;    // bound address, "0.0.0.0" / "::" for any
  int port = 0;
  bool loopback() const;
};

struct HostFacts {
  std::string gather_error;            // non-empty: the host could not be read
  // Variant report (host::DetectVariant).
  std::string system_variant;          // what plain `iptables` is: "nft"/"legacy"/""
  bool docker_in_nft = false, docker_in_legacy = false;
  std::string chosen_variant;

  FilterFacts v4, v6;

  // Files; nullopt when absent.
  std::optional<std::string> netfilter_persistent_default;  // /etc/default/netfilter-persistent
  std::optional<std::string> rules_v4, rules_v6;             // /etc/iptables/rules.v4|v6
  std::optional<std::string> sysconfig_iptables, sysconfig_ip6tables;
  std::optional<std::string> sysconfig_iptables_config;      // /etc/sysconfig/iptables-config

  bool firewalld_running = false;      // a process named firewalld
  bool firewalld_docker_zone = false;  // firewalld knows Docker (a "docker" zone)

  std::optional<std::string> ip_forward;       // /proc/sys/net/ipv4/ip_forward, trimmed
  std::optional<std::string> ip6_forward;      // /proc/sys/net/ipv6/conf/all/forwarding
  bool br_netfilter = false;                   // /proc/sys/net/bridge/bridge-nf-call-iptables exists
  std::optional<std::string> bridge_nf_call_iptables;  // its value, trimmed

  std::string daemon_json_path;
  std::optional<std::string> daemon_json;      // the file's text
  std::vector<ListeningSocket> sockets;        // on the ports doctor cares about
};

enum class Severity { kError, kWarning, kInfo };
std::string SeverityName(Severity s);

struct Finding {
  Severity severity = Severity::kWarning;
  std::string code;      // stable kebab-case id, e.g. "variant-mismatch"
  std::string message;   // what is wrong, for people
  std::string fix;       // what to do
};

// Every check over FACTS; no I/O. Errors first, then warnings, then info.
std::vector<Finding> Diagnose(const HostFacts& facts);

// The ports doctor looks for in /proc/net: 2375 (Docker API without TLS),
// 2377 (Swarm management), 7946 (Swarm gossip), 4789 (VXLAN).
bool DoctorPort(int port);

// Parses /proc/net/tcp|tcp6|udp|udp6 text: listening TCP sockets and bound
// UDP sockets on DoctorPort ports.
std::vector<ListeningSocket> ParseProcNet(const std::string& text, const std::string& protocol,
                                          int family);

// FilterFacts from iptables-save / ip6tables-save text (all tables).
FilterFacts FilterFactsFromSave(const std::string& save_text, netfilter::Family family);

struct DoctorOptions {
  std::string root = "/";          // prefix of /etc files
  std::string proc = "/proc";      // where /proc is
  std::string daemon_json;         // "" = ROOT/etc/docker/daemon.json
  bool read_kernel = true;         // run DetectVariant and iptables-save
};

// Reads the live host. gather_error is set only when the kernel's rules
// cannot be read at all (neither family); a missing file is a fact, not an error.
HostFacts GatherHostFacts(const DoctorOptions& options);

}  // namespace swarmwall::analyze
