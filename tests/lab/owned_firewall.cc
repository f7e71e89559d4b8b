#include "lab/owned_firewall.h"

#include <sstream>

namespace swarmwall::lab {

namespace {

// `ip` or `ip6`: swarmwall's table of the family of SET (named -v4 / -v6).
std::string SetTable(const std::string& set) {
  return set.ends_with("-v6") ? "ip6 swarmwall" : "ip swarmwall";
}

// A shell snippet that prints the handle of the rule of base chain `input`
// whose listing ends with RULE ("" when there is none).
std::string HandleOf(const std::string& rule) {
  return "$(nft -a list chain ip swarmwall input | sed -n 's/^[[:space:]]*" + rule +
         " # handle \\([0-9]*\\)$/\\1/p')";
}

// Leaves out of `nft list ruleset` swarmwall's tables and iptables-nft's
// (those are saved by iptables-save: nft cannot read back their xtables
// matches).
constexpr const char* kSkipTables =
    "awk '/^table (ip|ip6) (swarmwall|filter|nat|mangle|raw|security) \\{/{skip=1} !skip{print} "
    "skip && /^\\}/{skip=0}'";

}  // namespace

bool NftablesBackend(DockerVersion v) { return DockerUsesNftables(v); }

std::string FlushInputChain(DockerVersion v) {
  return NftablesBackend(v) ? "nft flush chain ip swarmwall SWARMWALL-INPUT" : "iptables -F SWARMWALL-INPUT";
}

std::string DeleteInputJump(DockerVersion v) {
  return NftablesBackend(v) ? "nft delete rule ip swarmwall input handle " + HandleOf("jump SWARMWALL-INPUT")
                            : "iptables -D INPUT -j SWARMWALL-INPUT";
}

std::string InsertBeforeJump(DockerVersion v) {
  return NftablesBackend(v) ? "nft insert rule ip swarmwall input ip saddr 192.0.2.1 accept"
                            : "iptables -I INPUT 1 -s 192.0.2.1 -j ACCEPT";
}

std::string RemoveInserted(DockerVersion v) {
  if (!NftablesBackend(v)) return "iptables -D INPUT -s 192.0.2.1 -j ACCEPT 2>/dev/null; true";
  return "h=" + HandleOf("ip saddr 192.0.2.1 accept") +
         "; [ -z \"$h\" ] || nft delete rule ip swarmwall input handle $h";
}

std::string FlushSet(DockerVersion v, const std::string& set) {
  return NftablesBackend(v) ? "nft flush set " + SetTable(set) + " " + set : "ipset flush " + set;
}

std::string SaveWithoutSwarmwall(DockerVersion v, const std::string& file) {
  if (!NftablesBackend(v)) return "iptables-save -t filter | grep -v SWARMWALL > " + file;
  return "{ echo 'flush ruleset'; nft list ruleset | " + std::string(kSkipTables) + "; } > " + file +
         " && iptables-save > " + file + ".v4 && ip6tables-save > " + file + ".v6";
}

std::string RestoreSaved(DockerVersion v, const std::string& file) {
  if (!NftablesBackend(v)) return "iptables-restore < " + file;
  return "nft -f " + file + " && iptables-restore < " + file + ".v4 && ip6tables-restore < " + file + ".v6";
}

bool InputJumpFirst(Host& host, DockerVersion v) {
  if (!NftablesBackend(v)) return host.Sh("iptables -S INPUT | sed -n 2p").out == "-A INPUT -j SWARMWALL-INPUT\n";
  // The base chain's rules: the lines after its `type filter hook input`.
  std::istringstream in(host.Exec({"nft", "list", "chain", "ip", "swarmwall", "input"}).out);
  bool rules = false;
  for (std::string line; std::getline(in, line);) {
    auto start = line.find_first_not_of(" \t");
    if (start == std::string::npos) continue;
    line = line.substr(start);
    if (!rules) {
      rules = line.starts_with("type filter hook input");
      continue;
    }
    return line == "jump SWARMWALL-INPUT";
  }
  return false;
}

std::string OwnedChain(Host& host, DockerVersion v, const std::string& chain) {
  if (NftablesBackend(v)) return host.Exec({"nft", "list", "chain", "ip", "swarmwall", chain}).out;
  return host.Exec({"iptables", "-S", chain}).out;
}

std::string SourceSetMatch(DockerVersion v, const std::string& set) {
  return NftablesBackend(v) ? "saddr @" + set : "--match-set " + set + " src";
}

std::string AcceptVerdict(DockerVersion v) { return NftablesBackend(v) ? "accept" : "-j ACCEPT"; }

bool SetExists(Host& host, DockerVersion v, const std::string& set) {
  if (NftablesBackend(v)) return host.Sh("nft list set " + SetTable(set) + " " + set + " >/dev/null 2>&1").ok();
  return host.Sh("ipset list -n " + set + " >/dev/null 2>&1").ok();
}

bool SetHas(Host& host, DockerVersion v, const std::string& set, const std::string& addr) {
  // nft get element answers for an address inside an interval too (the
  // set's entries are merged); an ipset lists each entry on a line.
  if (NftablesBackend(v))
    return host.Sh("nft get element " + SetTable(set) + " " + set + " '{ " + addr + " }' >/dev/null 2>&1").ok();
  return host.Sh("ipset list " + set + " | grep -qx '" + addr + "'").ok();
}

std::string ListSet(Host& host, DockerVersion v, const std::string& set) {
  if (NftablesBackend(v)) return host.Sh("nft list set " + SetTable(set) + " " + set).out;
  return host.Sh("ipset list " + set).out;
}

}  // namespace swarmwall::lab
