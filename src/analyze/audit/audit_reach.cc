// The reachability checks of audit: a stranger's packets followed by the
// tracer over the host's facts: Swarm ports and the Docker API on public
// interfaces, published ports that bypass INPUT, IPv6 open where IPv4 is
// closed.
#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "analyze/audit/audit.h"
#include "analyze/audit/audit_classes.h"
#include "analyze/model/chain_loops.h"
#include "analyze/model/docker_layout.h"
#include "analyze/model/match.h"
#include "analyze/trace/trace_report.h"
#include "netfilter/modules.h"

namespace swarmwall::analyze {
namespace {

using netfilter::Family;
using netfilter::IpAddress;
using netfilter::Ruleset;

struct SwarmPort {
  uint16_t port;
  uint16_t protocol;
  AuditSeverity severity;
  const char* what;
};

constexpr SwarmPort kSwarmPorts[] = {
    {2375, 6, AuditSeverity::kCritical, "the Docker Engine API without TLS (root on the host for anyone who reaches it)"},
    {4789, 17, AuditSeverity::kCritical, "Swarm's overlay network (VXLAN: anyone can inject packets into overlay networks)"},
    {2377, 6, AuditSeverity::kHigh, "Swarm cluster management (managers)"},
    {2376, 6, AuditSeverity::kHigh, "the Docker Engine API with TLS (docker-machine)"},
    {7946, 6, AuditSeverity::kHigh, "Swarm node discovery (gossip)"},
    {7946, 17, AuditSeverity::kHigh, "Swarm node discovery (gossip)"},
};

const char* ProtoName(uint16_t p) { return p == 6 ? "tcp" : p == 17 ? "udp" : p == 132 ? "sctp" : "?"; }

AuditSeverity Lower(AuditSeverity s) {
  return s == AuditSeverity::kInfo ? s : static_cast<AuditSeverity>(static_cast<int>(s) + 1);
}

// Whether the trace reached something: definitely, possibly (unknowns), or not.
enum class Seen { kNo, kMaybe, kYes };

Seen Reached(const TraceResult& r, bool forward_only = false) {
  auto ok = [&](Fate f) { return forward_only ? f == Fate::kForward : Accepted(f); };
  bool first = ok(r.outcome.fate);
  bool any = first, all = first;
  for (const auto& o : r.alternatives) {
    any |= ok(o.fate);
    all &= ok(o.fate);
  }
  if (r.truncated) all = false;
  return all ? Seen::kYes : any ? Seen::kMaybe : Seen::kNo;
}

ExamplePacket Example(const TraceResult& r, const IpAddress& src, const IpAddress& dst, uint16_t proto,
                      uint16_t port, const std::string& in) {
  ExamplePacket e;
  e.family = src.family;
  e.src = src.ToString();
  e.dst = dst.ToString();
  e.proto = ProtoName(proto);
  e.dport = port;
  e.in = in;
  e.fate = VerdictText(r) + ": " + DescribeOutcome(r.outcome);
  e.decided_by = DecidedBy(r);
  return e;
}

// The rule that decided, as a RuleRef ("filter INPUT rule 3" / "filter INPUT policy").
std::optional<RuleRef> Decider(const Ruleset& rs, const std::string& file, const std::string& where) {
  // "<table> <chain> rule <n>" or "<table> <chain> policy"
  auto a = where.find(' ');
  if (a == std::string::npos) return std::nullopt;
  auto b = where.find(' ', a + 1);
  if (b == std::string::npos) return std::nullopt;
  std::string table = where.substr(0, a), chain = where.substr(a + 1, b - a - 1), rest = where.substr(b + 1);
  if (!rs.FindChain(table, chain)) return std::nullopt;
  int n = 0;
  if (rest.rfind("rule ", 0) == 0) n = std::atoi(rest.c_str() + 5);
  return MakeRuleRef(rs, file, table, chain, n);
}

void AddDecider(AuditFinding& f, const Ruleset& rs, const std::string& file, const std::string& where) {
  auto ref = Decider(rs, file, where);
  if (!ref) return;
  for (const auto& r : f.rules)
    if (r.table == ref->table && r.chain == ref->chain && r.number == ref->number) return;
  if (f.rules.size() < 8) f.rules.push_back(*ref);
}

struct FamilyView {
  const Ruleset* rs = nullptr;
  std::string file;
  std::unique_ptr<TraceModel> model;
  std::optional<IpAddress> stranger;
};

}  // namespace

std::vector<std::string> PublicInterfaceNames(const AuditInput& in) {
  std::vector<std::string> patterns =
      in.public_interfaces.empty() ? GuessPublicInterfaces(*in.host) : in.public_interfaces;
  std::vector<std::string> names;
  for (const auto& i : in.host->interfaces)
    for (const auto& p : patterns) {
      bool prefix = !p.empty() && p.back() == '+';
      if (InterfaceMatches(prefix ? std::string_view(p).substr(0, p.size() - 1) : std::string_view(p), prefix,
                           i.name)) {
        names.push_back(i.name);
        break;
      }
    }
  return names;
}

namespace {

void SwarmPorts(FamilyView& v, const std::vector<std::string>& ifaces, const host::HostNetwork& host,
                std::vector<AuditFinding>& out) {
  for (const SwarmPort& sp : kSwarmPorts) {
    AuditFinding f;
    Seen worst = Seen::kNo;
    for (const auto& name : ifaces)
      for (const auto& dst : TargetAddresses(host, name, v.rs->family)) {
        auto r = TraceNew(*v.model, *v.stranger, dst, sp.protocol, sp.port, name);
        Seen reach = Reached(r);
        if (reach == Seen::kNo) continue;
        worst = std::max(worst, reach);
        if (f.examples.size() < 4) f.examples.push_back(Example(r, *v.stranger, dst, sp.protocol, sp.port, name));
        AddDecider(f, *v.rs, v.file, DecidedBy(r));
      }
    if (worst == Seen::kNo) continue;
    f.severity = worst == Seen::kYes ? sp.severity : Lower(sp.severity);
    f.code = sp.port == 2375 || sp.port == 2376 ? "docker-api-public" : "swarm-port-public";
    f.title = fmt::format("{}{}/{} ({}) is reachable from public interfaces by a stranger (IPv{})",
                          worst == Seen::kMaybe ? "maybe: " : "", sp.port, ProtoName(sp.protocol), sp.what,
                          v.rs->family == Family::kIPv4 ? 4 : 6);
    f.meaning = fmt::format("A host that is not a node of the cluster ({}) gets to {}/{} when something listens "
                            "there. {}",
                            v.stranger->ToString(), sp.port, ProtoName(sp.protocol),
                            worst == Seen::kMaybe ? "Whether it does depends on matches the analyzer cannot decide."
                                                   : "");
    f.fix = sp.port == 2375 ? "Never publish the unencrypted API: remove -H tcp://... from dockerd, or drop 2375 "
                              "on public interfaces (swarmwall closes it unless the policy allows the `docker` service)."
                            : "Accept the Swarm ports only from the nodes: a `swarm: {from: nodes}` section in the "
                              "policy, applied by swarmwall.";
    out.push_back(std::move(f));
  }
}

std::vector<std::pair<uint16_t, uint16_t>> HostPorts(const std::string& text) {
  std::vector<std::pair<uint16_t, uint16_t>> out;
  auto colon = text.find_first_of(":-");
  int lo = std::atoi(text.c_str());
  int hi = colon == std::string::npos ? lo : std::atoi(text.c_str() + colon + 1);
  if (lo > 0 && hi >= lo && hi <= 65535) out.push_back({static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)});
  return out;
}

// A port nothing names: its fate tells whether INPUT is closed to strangers.
uint16_t UnnamedPort(const Ruleset& rs) {
  ClassBuilder b(rs.family);
  b.AddRuleset(rs);
  auto ports = b.Ports();
  // The widest class above 1024.
  PortClass best{0, 0};
  for (const auto& p : ports)
    if (p.first > 1024 && p.last - p.first >= best.last - best.first) best = p;
  return best.first ? best.first : 1;
}

void PublishedPorts(FamilyView& v, const std::vector<std::string>& ifaces, const host::HostNetwork& host,
                    const DockerExplanation& docker, std::vector<AuditFinding>& out) {
  int fam = v.rs->family == Family::kIPv4 ? 4 : 6;
  uint16_t probe = UnnamedPort(*v.rs);
  for (const auto& p : docker.ports) {
    if (p.family != fam || p.loopback_only) continue;
    uint16_t proto = p.protocol == "udp" ? 17 : p.protocol == "sctp" ? 132 : 6;
    for (auto [lo, hi] : HostPorts(p.host_ports)) {
      AuditFinding f;
      Seen worst = Seen::kNo;
      bool input_closed = true;
      for (const auto& name : ifaces)
        for (const auto& dst : TargetAddresses(host, name, v.rs->family)) {
          if (!p.host_address.empty() && p.host_address != "0.0.0.0" && p.host_address != "::" &&
              p.host_address != dst.ToString())
            continue;
          auto r = TraceNew(*v.model, *v.stranger, dst, proto, lo, name);
          Seen reach = Reached(r, true);
          if (reach == Seen::kNo) continue;
          worst = std::max(worst, reach);
          auto closed = TraceNew(*v.model, *v.stranger, dst, proto, probe, name);
          if (Accepted(closed.outcome.fate)) input_closed = false;
          if (f.examples.size() < 4) f.examples.push_back(Example(r, *v.stranger, dst, proto, lo, name));
          AddDecider(f, *v.rs, v.file, DecidedBy(r));
        }
      if (worst == Seen::kNo) continue;
      std::string ports = lo == hi ? std::to_string(lo) : fmt::format("{}-{}", lo, hi);
      f.severity = input_closed ? AuditSeverity::kHigh : AuditSeverity::kMedium;
      if (worst == Seen::kMaybe) f.severity = Lower(f.severity);
      f.code = "published-port-public";
      f.title = fmt::format("{}published port {}/{} (container {}) is open to the world{} (IPv{})",
                            worst == Seen::kMaybe ? "maybe: " : "", ports, p.protocol, p.container,
                            input_closed ? " although INPUT is closed" : "", fam);
      f.meaning = input_closed
                      ? "INPUT drops a stranger's packets to the host, but this port is DNATed in nat PREROUTING "
                        "and forwarded to the container: INPUT never sees it (seed 002). The host looks "
                        "closed; the container is not."
                      : "Anyone who reaches the host reaches this container port.";
      f.fix = "Filter published ports in DOCKER-USER (swarmwall's `containers:` section), or publish on "
              "127.0.0.1 / a private address only (-p 127.0.0.1:PORT:PORT).";
      out.push_back(std::move(f));
    }
  }
}

void Ipv6Open(FamilyView& v4, FamilyView& v6, const std::vector<std::string>& ifaces, const host::HostNetwork& host,
              std::vector<AuditFinding>& out) {
  ClassBuilder b4(Family::kIPv4), b6(Family::kIPv6);
  b4.AddRuleset(*v4.rs);
  b4.AddRuleset(*v6.rs);   // ports only matter: merge both
  for (const auto& sp : kSwarmPorts) b4.AddPorts(sp.port, sp.port);
  for (uint16_t p : {22, 80, 443}) b4.AddPorts(p, p);
  auto ports = b4.Ports();
  for (const auto& name : ifaces) {
    auto d4 = TargetAddresses(host, name, Family::kIPv4);
    auto d6 = TargetAddresses(host, name, Family::kIPv6);
    if (d4.empty() || d6.empty()) continue;
    AuditFinding f;
    std::vector<std::string> open;
    for (uint16_t proto : {6, 17})
      for (const auto& pc : ports) {
        auto r4 = TraceNew(*v4.model, *v4.stranger, d4[0], proto, pc.first, name);
        if (Reached(r4) != Seen::kNo) continue;
        auto r6 = TraceNew(*v6.model, *v6.stranger, d6[0], proto, pc.first, name);
        if (Reached(r6) != Seen::kYes) continue;
        open.push_back(pc.Text() + "/" + ProtoName(proto));
        if (f.examples.size() < 3) f.examples.push_back(Example(r6, *v6.stranger, d6[0], proto, pc.first, name));
        AddDecider(f, *v6.rs, v6.file, DecidedBy(r6));
        AddDecider(f, *v4.rs, v4.file, DecidedBy(r4));
      }
    if (open.empty()) continue;
    f.severity = AuditSeverity::kHigh;
    f.code = "ipv6-open";
    std::string list;
    for (size_t i = 0; i < open.size() && i < 12; ++i) list += (i ? ", " : "") + open[i];
    if (open.size() > 12) list += fmt::format(" and {} more", open.size() - 12);
    f.title = fmt::format("{}: IPv6 lets a stranger reach what IPv4 closes: {}", name, list);
    f.meaning = "The IPv4 rules drop these ports but the IPv6 rules accept them; anyone who reaches the "
                "host over IPv6 (its link-local address is enough on the same link) gets in.";
    f.fix = "Write the same filtering in ip6tables (swarmwall does with `ipv6: true`), or disable IPv6 on "
            "the interface.";
    out.push_back(std::move(f));
  }
}

}  // namespace

std::vector<std::string> GuessPublicInterfaces(const host::HostNetwork& host) {
  std::vector<std::string> out;
  for (const auto& i : host.interfaces) {
    const std::string& n = i.name;
    if (n == "lo" || !i.master.empty()) continue;
    if (n.starts_with("docker") || n.starts_with("br-") || n.starts_with("veth") || n.starts_with("vx") ||
        n.starts_with("cni") || n.starts_with("flannel") || n.starts_with("cali") || n.starts_with("tun") ||
        n.starts_with("virbr"))
      continue;
    bool has = false;
    for (const auto& a : i.addresses) has |= !(a.address.family == Family::kIPv6 && a.address.bytes[0] == 0xfe);
    if (has) out.push_back(n);
  }
  return out;
}

void AuditReachability(const AuditInput& in, std::vector<AuditFinding>& out) {
  if (!in.host) {
    AuditFinding f;
    f.severity = AuditSeverity::kInfo;
    f.code = "reachability-skipped";
    f.title = "no host facts: what a stranger reaches was not computed";
    f.meaning = "Without the host's addresses and routes the analyzer cannot tell local delivery from "
                "forwarding.";
    f.fix = "Give --addr and --route (ip -j addr / ip -j route of the host), or run with --live.";
    out.push_back(std::move(f));
    return;
  }
  auto ifaces = PublicInterfaceNames(in);
  // No public interface in the facts (a host seen from inside, a fixture
  // without one): assume one, so that what a stranger reaches is still said.
  host::HostNetwork assumed;
  AuditInput with = in;
  if (ifaces.empty()) {
    assumed = *in.host;
    std::string name = "eth0";
    for (const auto& p : in.public_interfaces)
      if (!p.empty() && p.back() != '+') {
        name = p;
        break;
      }
    if (assumed.FindInterface(name)) name = "swarmwall-pub0";
    host::Interface i;
    i.name = name;
    i.addresses.push_back({*IpAddress::Parse("192.0.2.10"), 24, std::nullopt});
    i.addresses.push_back({*IpAddress::Parse("2001:db8:1::10"), 64, std::nullopt});
    assumed.interfaces.push_back(i);
    host::Route r4, r6;
    r4.destination = *netfilter::Cidr::Parse("192.0.2.0/24");
    r4.device = name;
    r6.destination = *netfilter::Cidr::Parse("2001:db8:1::/64");
    r6.device = name;
    assumed.routes.push_back(r4);
    assumed.routes.push_back(r6);
    with.host = &assumed;
    ifaces = {name};
    AuditFinding f;
    f.severity = AuditSeverity::kInfo;
    f.code = "public-interface-assumed";
    f.title = fmt::format("no public interface among the host's interfaces: assumed {} (192.0.2.10/24, "
                          "2001:db8:1::10/64)", name);
    f.meaning = "What a stranger reaches is computed as if the host had this interface toward the public.";
    f.fix = "Give the host's real facts (--addr, --route, or --live), or name its public interfaces (--public).";
    out.push_back(std::move(f));
  }
  const AuditInput& in2 = with;
  FamilyView views[2];
  const Ruleset* rss[2] = {in2.v4, in2.v6};
  const std::string* files[2] = {&in2.file4, &in2.file6};
  for (int k = 0; k < 2; ++k) {
    if (!rss[k]) continue;
    views[k].rs = rss[k];
    views[k].file = *files[k];
    views[k].model = std::make_unique<TraceModel>(*rss[k], *in2.host);
    views[k].stranger = PickStranger(rss[k]->family, rss[k], in2.host, in2.trusted);
  }
  Ruleset empty;
  DockerExplanation docker = ExplainDocker(in2.v4 ? *in2.v4 : empty, in2.v6);
  for (auto& v : views) {
    if (!v.rs || !v.stranger) continue;
    SwarmPorts(v, ifaces, *in2.host, out);
    PublishedPorts(v, ifaces, *in2.host, docker, out);
  }
  if (views[0].rs && views[1].rs && views[0].stranger && views[1].stranger)
    Ipv6Open(views[0], views[1], ifaces, *in2.host, out);
}

std::optional<AuditFinding> ChainLoopFinding(const netfilter::Ruleset& rs, const std::string& file) {
  auto loop = FindChainLoop(rs);
  if (!loop) return std::nullopt;
  AuditFinding f;
  f.severity = AuditSeverity::kCritical;
  f.code = "chain-loop";
  f.title = fmt::format("{} {}", rs.family == netfilter::Family::kIPv4 ? "IPv4" : "IPv6", loop->Text());
  f.meaning = "No kernel loads a table whose chains jump or goto in a circle (iptables-restore fails), "
              "so this text is not what any host runs; nothing about packets was computed for it.";
  f.fix = "Break the loop: a chain must not jump or goto, directly or through others, to itself.";
  // The rule that closes the loop.
  f.rules.push_back(MakeRuleRef(rs, file, loop->table, loop->path[loop->path.size() - 2], loop->rules.back()));
  return f;
}

std::vector<AuditFinding> Audit(const AuditInput& in) {
  std::vector<AuditFinding> out;
  AuditInput walkable = in;
  for (auto [rs, file] : {std::pair{&walkable.v4, &in.file4}, std::pair{&walkable.v6, &in.file6}}) {
    if (!*rs) continue;
    if (auto f = ChainLoopFinding(**rs, *file)) {
      out.push_back(std::move(*f));
      *rs = nullptr;   // the walkers would go round it
    } else {
      AuditStructure(**rs, *file, out);
    }
  }
  if (walkable.v4 || walkable.v6 || (!in.v4 && !in.v6)) AuditReachability(walkable, out);
  std::stable_sort(out.begin(), out.end(), [](const AuditFinding& a, const AuditFinding& b) {
    if (a.severity != b.severity) return a.severity < b.severity;
    return a.code < b.code;
  });
  return out;
}

}  // namespace swarmwall::analyze
