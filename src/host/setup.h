// The host's setup as doctor reads it: the files that restore or flush
// rules at boot (netfilter-persistent, iptables.service), firewalld,
// forwarding and br_netfilter, Docker's daemon.json, and the sockets
// listening on chosen ports. Plain data read from the live host (or a copy
// of its /etc and /proc); analyze/doctor judges it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "netfilter/nft_ruleset.h"

namespace swarmwall::host {

struct ListeningSocket {
  std::string protocol;   // "tcp" or "udp"
  int family = 4;         // 4: /proc/net/tcp|udp, 6: tcp6|udp6
  std::string address;    // bound address, "0.0.0.0" / "::" for any
  int port = 0;
  bool loopback() const;
};

// Parses /proc/net/tcp|tcp6|udp|udp6 text: listening TCP sockets and bound
// UDP sockets on one of PORTS.
std::vector<ListeningSocket> ParseProcNet(const std::string& text, const std::string& protocol,
                                          int family, const std::vector<int>& ports);

// A configuration file as read ("/etc/nftables.conf" and what it includes).
struct ConfigFile {
  std::string path;       // as on the host (without SetupOptions::root)
  std::string text;
};

// The files `include "..."` lines of nftables TEXT name (quoted paths; a
// relative one against /etc, nft's default include path; globs kept).
std::vector<std::string> NftIncludes(const std::string& text);

// The tables of an nftables ruleset: "ip docker-bridges", "inet firewalld", ...
std::vector<std::string> NftTableNames(const netfilter::NftRuleset& ruleset);
// The running host's, read through libnftables like every other nftables
// read (nullopt when it cannot be listed or does not validate).
std::optional<std::vector<std::string>> ListNftTables();

struct HostSetup {
  // Files; nullopt when absent.
  std::optional<std::string> netfilter_persistent_default;  // /etc/default/netfilter-persistent
  std::optional<std::string> rules_v4, rules_v6;             // /etc/iptables/rules.v4|v6
  std::optional<std::string> sysconfig_iptables, sysconfig_ip6tables;
  std::optional<std::string> sysconfig_iptables_config;      // /etc/sysconfig/iptables-config

  // nftables.service: enabled (systemctl is-enabled, or its link in a
  // systemd .wants folder under root); /etc/nftables.conf and every file
  // it includes (empty when absent).
  bool nftables_service_enabled = false;
  std::vector<ConfigFile> nftables_conf;
  // `nft list tables`; nullopt when nft was not run or failed.
  std::optional<std::vector<std::string>> nft_tables;

  bool firewalld_running = false;      // a process named firewalld
  bool firewalld_docker_zone = false;  // firewalld knows Docker (a "docker" zone)

  std::optional<std::string> ip_forward;       // /proc/sys/net/ipv4/ip_forward, trimmed
  std::optional<std::string> ip6_forward;      // /proc/sys/net/ipv6/conf/all/forwarding
  bool br_netfilter = false;                   // /proc/sys/net/bridge/bridge-nf-call-iptables exists
  std::optional<std::string> bridge_nf_call_iptables;  // its value, trimmed

  std::string daemon_json_path;
  std::optional<std::string> daemon_json;      // the file's text
  std::vector<ListeningSocket> sockets;        // on SetupOptions::ports
};

struct SetupOptions {
  std::string root = "/";          // prefix of /etc files
  std::string proc = "/proc";      // where /proc is
  std::string daemon_json;         // "" = ROOT/etc/docker/daemon.json
  std::vector<int> ports;          // the sockets worth reading
  bool run_tools = true;           // may ask firewall-cmd, systemctl and nft
};

// Reads the host; a missing file is a fact, not an error. Each file is
// read bounded (a FIFO or device in its place is taken as absent).
HostSetup ReadHostSetup(const SetupOptions& options);

}  // namespace swarmwall::host
