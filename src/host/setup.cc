#include "host/setup.h"

#include <dirent.h>
#include <glob.h>
#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <sstream>
#include <tuple>

#include <fmt/format.h>

#include "base/input_file.h"
#include "base/process.h"
#include "host/nftables.h"
#include "netfilter/address.h"
#include "netfilter/nft_json.h"

namespace swarmwall::host {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  return s.substr(i);
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

// /etc/nftables.conf and what it includes, depth first, each file once
// (bounded: a loop of includes or a glob of thousands stops there).
void ReadNftablesConf(const std::string& root, const std::string& path, std::vector<ConfigFile>& out, int depth) {
  if (depth > 8 || out.size() >= 64) return;
  for (const auto& f : out)
    if (f.path == path) return;
  auto text = ReadFile(Under(root, path));
  if (!text) return;
  out.push_back({path, *text});
  for (const auto& inc : NftIncludes(*text)) {
    glob_t g{};
    std::string pattern = Under(root, inc);
    if (glob(pattern.c_str(), 0, nullptr, &g) == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) {
        std::string found = g.gl_pathv[i];
        std::string prefix = Under(root, "");
        ReadNftablesConf(root, prefix.empty() ? found : found.substr(prefix.size()), out, depth + 1);
      }
    globfree(&g);
  }
}

bool LinkExists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

}  // namespace

std::vector<std::string> NftIncludes(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    line = Trim(line);
    if (!line.starts_with("include")) continue;
    auto a = line.find('"');
    auto b = a == std::string::npos ? a : line.find('"', a + 1);
    if (b == std::string::npos || Trim(line.substr(7, a - 7)) != "") continue;
    std::string path = line.substr(a + 1, b - a - 1);
    if (path.empty()) continue;
    out.push_back(path[0] == '/' ? path : "/etc/" + path);
  }
  return out;
}

std::vector<std::string> NftTableNames(const netfilter::NftRuleset& ruleset) {
  std::vector<std::string> out;
  for (const auto& t : ruleset.tables)
    out.push_back(std::string(netfilter::NftFamilyName(t.family)) + " " + t.name);
  return out;
}

std::optional<std::vector<std::string>> ListNftTables() {
  std::string error;
  auto json = ListNftRulesetJson(error);
  if (!json) return std::nullopt;
  auto r = netfilter::ParseNftJson(*json, "nft list ruleset");
  if (!r.ruleset) return std::nullopt;
  return NftTableNames(*r.ruleset);
}

bool ListeningSocket::loopback() const {
  return address.starts_with("127.") || address == "::1" || address.starts_with("::ffff:127.");
}

std::vector<ListeningSocket> ParseProcNet(const std::string& text, const std::string& protocol,
                                          int family, const std::vector<int>& ports) {
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
    if (std::find(ports.begin(), ports.end(), port) == ports.end()) continue;
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
        s.address = netfilter::IpAddress{a, netfilter::Family::kIPv6}.ToString();
      }
    }
    out.push_back(std::move(s));
  }
  return out;
}

HostSetup ReadHostSetup(const SetupOptions& o) {
  HostSetup h;
  h.netfilter_persistent_default = ReadFile(Under(o.root, "/etc/default/netfilter-persistent"));
  h.rules_v4 = ReadFile(Under(o.root, "/etc/iptables/rules.v4"));
  h.rules_v6 = ReadFile(Under(o.root, "/etc/iptables/rules.v6"));
  h.sysconfig_iptables = ReadFile(Under(o.root, "/etc/sysconfig/iptables"));
  h.sysconfig_ip6tables = ReadFile(Under(o.root, "/etc/sysconfig/ip6tables"));
  h.sysconfig_iptables_config = ReadFile(Under(o.root, "/etc/sysconfig/iptables-config"));
  h.daemon_json_path = o.daemon_json.empty() ? Under(o.root, "/etc/docker/daemon.json") : o.daemon_json;
  h.daemon_json = ReadFile(h.daemon_json_path);

  // nftables.service: Debian's is WantedBy=sysinit.target, others' multi-user.target.
  for (const char* wants : {"sysinit.target.wants", "multi-user.target.wants"})
    h.nftables_service_enabled |= LinkExists(Under(o.root, std::string("/etc/systemd/system/") + wants + "/nftables.service"));
  if (!h.nftables_service_enabled && o.run_tools && (o.root.empty() || o.root == "/") && ProgramExists("systemctl")) {
    auto r = RunProcess({"systemctl", "is-enabled", "nftables.service"}, {.timeout = std::chrono::seconds(10)});
    h.nftables_service_enabled = Trim(r.out) == "enabled";
  }
  ReadNftablesConf(o.root, "/etc/nftables.conf", h.nftables_conf, 0);
  if (o.run_tools) h.nft_tables = ListNftTables();

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
    if (!h.firewalld_docker_zone && o.run_tools && ProgramExists("firewall-cmd")) {
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
      auto socks = ParseProcNet(*text, proto, fam, o.ports);
      h.sockets.insert(h.sockets.end(), socks.begin(), socks.end());
    }
  }
  return h;
}

}  // namespace swarmwall::host
