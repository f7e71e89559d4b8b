// swarmwall doctor: the known traps of a Docker / Swarm host, each with its
// fix. Two halves: GatherDoctorFacts reads the live host (its setup through
// host/setup.h, the kernel's rules through the iptables variant that holds
// Docker's chains) into plain DoctorFacts, and Diagnose is a pure function
// from DoctorFacts to findings, so every check is unit-tested from
// fabricated facts.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "host/network.h"
#include "host/setup.h"
#include "netfilter/address.h"
#include "netfilter/ruleset.h"

namespace swarmwall::analyze {

// What the filter table (and nat, for published ports) of one family says.
struct FilterFacts {
  bool read = false;                   // false: the rules could not be read
  std::string error;                   // why, when !read
  bool docker_chains = false;          // any DOCKER* chain in filter
  bool docker_user_exists = false;
  bool forward_jumps_to_docker_user = false;
  // DOCKER-USER exists, nothing reaches it, and that matters: the verdict
  // DockerUserHook::NotHooked (model/filter_owners.h), as audit and status say it.
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

// A published container port that a stranger (an address no rule or fact
// names) reaches on a public interface, as the exposure engine finds it.
struct OpenPublishedPort {
  netfilter::Family family = netfilter::Family::kIPv4;
  std::string port;        // as published: "8080/tcp", "8000-8010/udp"
  std::string container;   // where it goes: "172.17.0.2:80"
  std::string iface;       // the public interface it arrives on
  bool certain = true;     // false: only under some answers of undecidable matches
};

// What doctor knows of a host: its setup (files, firewalld, sysctls,
// sockets, nftables.service) and what the kernel's rules say.
struct DoctorFacts : host::HostSetup {
  std::string gather_error;            // non-empty: the host could not be read
  // Variant report (host::DetectVariant).
  std::string system_variant;          // what plain `iptables` is: "nft"/"legacy"/""
  bool docker_in_nft = false, docker_in_legacy = false;
  std::string chosen_variant;

  FilterFacts v4, v6;

  // The Docker daemon (Engine API; docker/daemon_info.h).
  bool docker_reachable = false;
  std::string docker_firewall;        // FirewallBackend.Driver ("iptables" before Docker 29)
  bool docker_ipv6_networks = false;  // a network with EnableIPv6
  // swarmwall's state directory holds an applied record: its iptables
  // rules (the one backend until issue 15) are in place. Set by the caller
  // (the record is the apply layer's).
  bool swarmwall_applied = false;
  // Published ports a stranger reaches (WorldPublishedPorts); nullopt: not
  // computed (no host facts), and the approximate check stands in.
  std::optional<std::vector<OpenPublishedPort>> world_published;
};

// Docker filters with its own nftables tables: GET /info says so, or (the
// daemon not reachable) the table `ip docker-bridges` exists.
bool DockerNftablesMode(const DoctorFacts& facts);

enum class Severity { kError, kWarning, kInfo };
std::string SeverityName(Severity s);

struct Finding {
  Severity severity = Severity::kWarning;
  std::string code;      // stable kebab-case id, e.g. "variant-mismatch"
  std::string message;   // what is wrong, for people
  std::string fix;       // what to do
};

// Every check over FACTS; no I/O. Errors first, then warnings, then info.
std::vector<Finding> Diagnose(const DoctorFacts& facts);

// The checks status makes too (same facts, same words): Docker's nftables
// mode beside iptables rules (FORWARD policy DROP, a DOCKER-USER nothing
// reaches), swarmwall's iptables rules applied there, published ports open
// to the world. They read only docker_*, nft_tables, v4, v6,
// swarmwall_applied and world_published. Unsorted; Diagnose includes them.
std::vector<Finding> DiagnoseDockerFirewall(const DoctorFacts& facts);

// The ports doctor looks for in /proc/net: 2375 (Docker API without TLS),
// 2377 (Swarm management), 7946 (Swarm gossip), 4789 (VXLAN).
const std::vector<int>& DoctorPorts();
bool DoctorPort(int port);

// FilterFacts from iptables-save / ip6tables-save text (all tables).
FilterFacts FilterFactsFromSave(const std::string& save_text, netfilter::Family family);

// The published ports a stranger reaches on the public interfaces
// (GuessPublicInterfaces) of HOST through RS and HOST's own tables: the
// exposure engine's container targets for a source no rule names, at the
// interface's own addresses.
std::vector<OpenPublishedPort> WorldPublishedPorts(const netfilter::Ruleset& rs, const host::HostNetwork& host);

// Reads the Docker daemon's firewall backend and IPv6 networks into FACTS
// (docker_reachable false when the API does not answer).
void GatherDockerFacts(DoctorFacts& facts);

struct DoctorOptions {
  std::string root = "/";          // prefix of /etc files
  std::string proc = "/proc";      // where /proc is
  std::string daemon_json;         // "" = ROOT/etc/docker/daemon.json
  bool read_kernel = true;         // run DetectVariant and iptables-save
};

// Reads the live host. gather_error is set only when the kernel's rules
// cannot be read at all (neither family); a missing file is a fact, not an error.
DoctorFacts GatherDoctorFacts(const DoctorOptions& options);

}  // namespace swarmwall::analyze
