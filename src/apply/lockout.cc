#include "apply/lockout.h"

#include <algorithm>
#include <cstdlib>
#include <sstream>

#include <fmt/format.h>

#include "base/process.h"
#include "host/conntrack.h"
#include "netfilter/modules.h"
#include "netfilter/parser.h"

namespace swarmwall::apply {
namespace {

using netfilter::Part;

bool InterfaceMatches(std::string_view pattern, std::string_view name) {
  if (!pattern.empty() && pattern.back() == '+')
    return name.substr(0, pattern.size() - 1) == pattern.substr(0, pattern.size() - 1);
  return pattern == name;
}

bool InSet(const compile::FamilyState& fs, std::string_view set, const netfilter::IpAddress& a) {
  for (const auto& s : fs.sets)
    if (s.name == set)
      return std::any_of(s.entries->begin(), s.entries->end(),
                         [&](const netfilter::Cidr& c) { return c.Contains(a); });
  return false;
}

// Does one of our own rules match a new TCP connection from CLIENT?
bool Matches(const netfilter::Rule& r, const compile::FamilyState& fs, const SshClient& c) {
  if (!r.in_interface.empty() && !c.interface.empty() &&
      InterfaceMatches(r.in_interface, c.interface) == r.in_negated)
    return false;
  if (!r.in_interface.empty() && c.interface.empty() && !r.in_negated) {
    // Unknown interface: assume it may be this one (the stricter reading
    // for DROP rules, the laxer for ACCEPT; see JudgeNewConnection).
  }
  if (r.source.PrefixLength() != 0 || r.source_negated)
    if (r.source.Contains(c.address) == r.source_negated) return false;
  if (r.protocol != 0 && (r.protocol == 6) == r.protocol_negated) return false;
  std::string_view module;
  for (const Part& p : r.parts) {
    if (p.kind == Part::Kind::kMatch) {
      module = p.text;
      continue;
    }
    if (p.kind != Part::Kind::kOption) continue;
    std::string_view opt = netfilter::OptionById(p.id).name;
    bool m = true;
    if ((module == "tcp" || module == "udp") && opt == "dport") m = p.value.ports().Contains(c.port);
    else if (module == "multiport" && (opt == "dports" || opt == "ports")) {
      m = false;
      for (const auto& range : p.value.list()) m |= range.Contains(c.port);
    } else if ((module == "conntrack" && opt == "ctstate") || (module == "state" && opt == "state"))
      m = (p.value.lo & (1u << 1)) != 0;  // NEW
    else if (module == "set" && opt == "match-set") {
      std::string_view text = p.text;
      std::string_view name = text.substr(0, text.find(' '));
      m = text.substr(text.find(' ') + 1).starts_with("src") && InSet(fs, name, c.address);
    } else if (module == "icmp" || module == "icmp6" || module == "policy") m = false;
    if (m == p.negated) return false;
  }
  return true;
}

}  // namespace

std::vector<SshClient> ParseSshClients(const std::string& ssh_connection,
                                       const std::string& conntrack, uint16_t sshd_port) {
  std::vector<SshClient> out;
  std::istringstream env(ssh_connection);
  std::string client, cport, server, sport;
  if (env >> client >> cport >> server >> sport)
    if (auto a = netfilter::IpAddress::Parse(client)) {
      SshClient c;
      c.address = *a;
      c.port = static_cast<uint16_t>(std::atoi(sport.c_str()));
      c.seen = "SSH_CONNECTION";
      out.push_back(c);
    }
  std::istringstream in(conntrack);
  for (std::string line; std::getline(in, line);) {
    auto field = [&](const std::string& key) -> std::string {
      size_t p = line.find(" " + key + "=");
      if (p == std::string::npos) return "";
      p += key.size() + 2;
      return line.substr(p, line.find(' ', p) - p);
    };
    if (line.find("ESTABLISHED") == std::string::npos) continue;
    std::string dport = field("dport");
    if (dport.empty() || std::atoi(dport.c_str()) != sshd_port) continue;
    auto a = netfilter::IpAddress::Parse(field("src"));
    if (!a) continue;
    bool known = std::any_of(out.begin(), out.end(), [&](const SshClient& c) { return c.address == *a; });
    if (known) continue;
    SshClient c;
    c.address = *a;
    c.port = sshd_port;
    c.seen = "conntrack";
    out.push_back(c);
  }
  return out;
}

std::vector<SshClient> FindSshClients() {
  const char* env = getenv("SSH_CONNECTION");
  std::string ssh = env ? env : "";
  uint16_t port = 22;
  {
    std::istringstream s(ssh);
    std::string a, b, c, d;
    if (s >> a >> b >> c >> d) port = static_cast<uint16_t>(std::atoi(d.c_str()));
  }
  std::string listing, error;
  if (auto dump = host::EstablishedTcpListing(error)) {
    listing = std::move(*dump);
  } else if (ProgramExists("conntrack")) {
    for (const char* fam : {"ipv4", "ipv6"}) {
      auto r = RunProcess({"conntrack", "-L", "-f", fam, "-p", "tcp", "--state", "ESTABLISHED"},
                          {.timeout = std::chrono::seconds(10)});
      listing += r.out;
    }
  }
  auto clients = ParseSshClients(ssh, listing, port);
  for (auto& c : clients) {
    auto r = RunProcess({"ip", "-o", "route", "get", c.address.ToString()},
                        {.timeout = std::chrono::seconds(5)});
    size_t dev = r.out.find(" dev ");
    if (dev != std::string::npos) {
      dev += 5;
      c.interface = r.out.substr(dev, r.out.find(' ', dev) - dev);
    }
  }
  return clients;
}

Verdict JudgeNewConnection(const compile::FamilyState& fs, const SshClient& client) {
  const compile::OwnedChain* input = nullptr;
  for (const auto& c : fs.chains)
    if (c.name == "SWARMWALL-INPUT") input = &c;
  if (!input) return Verdict::kNotDecided;
  std::string text = "*filter\n:SWARMWALL-INPUT - [0:0]\n";
  for (const auto& r : input->rules) text += "-A SWARMWALL-INPUT " + r + "\n";
  text += "COMMIT\n";
  netfilter::ParseOptions o;
  o.family = fs.family;
  auto parsed = netfilter::ParseRuleset(text, o);
  if (!parsed.ruleset) return Verdict::kNotDecided;
  for (const auto& r : parsed.ruleset->FindChain("filter", "SWARMWALL-INPUT")->rules) {
    if (!Matches(r, fs, client)) continue;
    if (r.target == "ACCEPT") return Verdict::kAccepted;
    if (r.target == "DROP" || r.target == "REJECT") return Verdict::kDropped;
    if (r.target == "RETURN") return Verdict::kNotDecided;
  }
  return Verdict::kNotDecided;
}

std::vector<std::string> LockedOut(const compile::DesiredState& desired,
                                   const std::vector<SshClient>& clients) {
  std::vector<std::string> out;
  for (const auto& c : clients) {
    const auto& fs = desired.Of(c.address.family);
    if (JudgeNewConnection(fs, c) == Verdict::kDropped)
      out.push_back(fmt::format("the SSH client {} (seen in {}) could no longer connect to port {}{}",
                                c.address.ToString(), c.seen, c.port,
                                c.interface.empty() ? "" : " on " + c.interface));
  }
  return out;
}

}  // namespace swarmwall::apply
