#include "analyze/audit/policy_proof.h"

#include <algorithm>
#include <map>
#include <memory>
#include <set>

#include <fmt/format.h>

#include "analyze/audit/audit_classes.h"
#include "analyze/audit/audit_report.h"
#include "analyze/model/docker_layout.h"
#include "analyze/model/match.h"
#include "analyze/trace/trace_report.h"

namespace swarmwall::analyze {

using netfilter::Cidr;
using netfilter::Family;
using netfilter::IpAddress;

namespace {

bool ProtoIs(policy::Protocol p, uint16_t n) {
  return (p == policy::Protocol::kTcp && n == 6) || (p == policy::Protocol::kUdp && n == 17) ||
         (p == policy::Protocol::kSctp && n == 132);
}

bool TrafficMatches(const policy::Traffic& t, uint16_t protocol, uint16_t port) {
  if (t.Any()) return true;
  for (const auto& pp : t.protocols) {
    if (!ProtoIs(pp.protocol, protocol)) continue;
    if (pp.ports.empty()) return true;
    for (const auto& r : pp.ports)
      if (r.first <= port && port <= r.last) return true;
  }
  return false;
}

bool PatternMatches(const std::string& p, std::string_view name) {
  bool prefix = !p.empty() && p.back() == '+';
  return InterfaceMatches(prefix ? std::string_view(p).substr(0, p.size() - 1) : std::string_view(p), prefix, name);
}

const char* ProtoName(uint16_t p) { return p == 6 ? "tcp" : p == 17 ? "udp" : "sctp"; }

void AddOnce(std::vector<std::string>& list, std::string item) {
  if (std::find(list.begin(), list.end(), item) == list.end()) list.push_back(std::move(item));
}

}  // namespace

PolicyIntent::PolicyIntent(const policy::Policy& policy, const policy::Node& node) : policy_(policy), node_(node) {}

IfaceClass PolicyIntent::Classify(std::string_view iface) const {
  const auto& ifs = policy_.InterfacesOf(node_);
  for (const auto& p : ifs.public_)
    if (PatternMatches(p, iface)) return IfaceClass::kPublic;
  for (const auto& p : ifs.cluster)
    if (PatternMatches(p, iface)) return IfaceClass::kCluster;
  return IfaceClass::kOther;
}

bool PolicyIntent::From(const policy::AddressMatch& m, const IpAddress& a) const {
  if (m.Any()) return true;
  // Resolved once per match and family: Resolve sorts the set's entries,
  // and a proof asks once per packet class (a 500-entry set behind 1,000
  // port rules took minutes).
  auto key = std::pair{&m, a.family};
  auto it = resolved_.find(key);
  if (it == resolved_.end()) it = resolved_.emplace(key, policy_.Resolve(m, a.family)).first;
  for (const auto& c : it->second)
    if (c.Contains(a)) return true;
  return false;
}

Intent PolicyIntent::Host(const IpAddress& src, std::string_view iface, uint16_t protocol, uint16_t port) const {
  Intent in;
  IfaceClass cls = Classify(iface);
  if (cls == IfaceClass::kOther) return in;
  if (src.family == Family::kIPv6 && !policy_.ipv6) return in;
  in.governed = true;
  auto rules = policy_.RulesFor(policy::Section::kHost, node_);
  if (cls == IfaceClass::kPublic)
    for (const auto* r : rules)
      if (r->action == policy::Action::kDrop && From(r->from, src) && TrafficMatches(r->traffic, protocol, port)) {
        in.why = r->Describe();
        return in;
      }
  if (policy_.swarm.enabled) {
    if (From(policy_.swarm.from, src) &&
        TrafficMatches(policy::SwarmTraffic(policy_.swarm, node_.role), protocol, port)) {
      in.accept = true;
      in.why = "swarm ports from swarm.from";
      return in;
    }
    if (TrafficMatches(policy::SwarmPortsToClose(policy_.swarm), protocol, port)) {
      in.why = "swarm port from outside swarm.from";
      return in;
    }
  }
  if (cls == IfaceClass::kCluster) {
    in.accept = policy_.host.cluster == policy::ClusterMode::kAccept;
    in.why = in.accept ? "host.cluster: accept" : "host.cluster: swarm-only";
    return in;
  }
  for (const auto* r : rules)
    if (r->action == policy::Action::kAccept && From(r->from, src) && TrafficMatches(r->traffic, protocol, port)) {
      in.accept = true;
      in.why = r->Describe();
      return in;
    }
  in.why = "host: everything else on a public interface is dropped";
  return in;
}

Intent PolicyIntent::Container(const IpAddress& src, std::string_view iface, uint16_t protocol,
                               uint16_t port) const {
  Intent in;
  if (Classify(iface) != IfaceClass::kPublic) return in;
  if (src.family == Family::kIPv6 && !policy_.ipv6) return in;
  in.governed = true;
  for (const auto* r : policy_.RulesFor(policy::Section::kContainers, node_))
    if (!r->Unresolved() && From(r->from, src) && TrafficMatches(r->traffic, protocol, port)) {
      in.accept = r->action == policy::Action::kAccept;
      in.why = r->Describe();
      return in;
    }
  in.accept = policy_.containers.default_action == policy::Action::kAccept;
  in.why = in.accept ? "containers default: accept" : "containers default: drop";
  return in;
}

std::vector<Cidr> PolicyIntent::Cidrs(Family family) const {
  std::vector<Cidr> out;
  for (const auto& s : policy_.sets)
    for (const auto& c : s.Entries(family)) out.push_back(c);
  for (const auto& n : policy_.nodes)
    for (const auto& a : n.addresses)
      if (a.family == family) out.push_back(Cidr::Prefix(a, a.Bits()));
  for (auto section : {policy::Section::kHost, policy::Section::kContainers})
    for (const auto& r : policy_.Rules(section))
      for (const auto& t : r.from.terms)
        if (t.kind == policy::AddressTerm::Kind::kCidr && t.cidr.family() == family) out.push_back(t.cidr);
  for (const auto& t : policy_.swarm.from.terms)
    if (t.kind == policy::AddressTerm::Kind::kCidr && t.cidr.family() == family) out.push_back(t.cidr);
  return out;
}

std::vector<std::pair<uint16_t, uint16_t>> PolicyIntent::Ports() const {
  std::vector<std::pair<uint16_t, uint16_t>> out;
  auto add = [&](const policy::Traffic& t) {
    for (const auto& pp : t.protocols)
      for (const auto& r : pp.ports) out.push_back({r.first, r.last});
  };
  for (auto section : {policy::Section::kHost, policy::Section::kContainers})
    for (const auto& r : policy_.Rules(section)) add(r.traffic);
  if (policy_.swarm.enabled) add(policy::SwarmPortsToClose(policy_.swarm));
  return out;
}

bool PolicyIntent::UsesSctp() const {
  for (auto section : {policy::Section::kHost, policy::Section::kContainers})
    for (const auto& r : policy_.Rules(section))
      for (const auto& pp : r.traffic.protocols)
        if (pp.protocol == policy::Protocol::kSctp) return true;
  return false;
}

namespace {

struct Cell {
  bool expected, actual, undecided;
  std::string why;
};

std::set<std::pair<uint16_t, uint16_t>> Published(const DockerExplanation& d, Family f) {
  std::set<std::pair<uint16_t, uint16_t>> out;   // (protocol, port)
  int fam = f == Family::kIPv4 ? 4 : 6;
  for (const auto& p : d.ports) {
    if (p.family != fam || p.loopback_only) continue;
    uint16_t proto = p.protocol == "udp" ? 17 : p.protocol == "sctp" ? 132 : 6;
    int lo = std::atoi(p.host_ports.c_str());
    auto sep = p.host_ports.find_first_of(":-");
    int hi = sep == std::string::npos ? lo : std::atoi(p.host_ports.c_str() + sep + 1);
    for (int x = lo; x > 0 && x <= hi && x <= 65535; ++x) out.insert({proto, static_cast<uint16_t>(x)});
  }
  return out;
}

std::optional<RuleRef> DeciderRef(const netfilter::Ruleset& rs, const std::string& file, const std::string& where) {
  auto a = where.find(' ');
  if (a == std::string::npos) return std::nullopt;
  auto b = where.find(' ', a + 1);
  if (b == std::string::npos) return std::nullopt;
  std::string table = where.substr(0, a), chain = where.substr(a + 1, b - a - 1), rest = where.substr(b + 1);
  if (!rs.FindChain(table, chain)) return std::nullopt;
  int n = rest.rfind("rule ", 0) == 0 ? std::atoi(rest.c_str() + 5) : 0;
  return MakeRuleRef(rs, file, table, chain, n);
}

// D's example packet: the trace R of SRC -> DST:PORT arriving in IFACE (D's
// protocol), its fate, and the rule of RS that decided it.
void SetExample(PolicyDifference& d, Family fam, const IpAddress& src, const IpAddress& dst, uint16_t port,
                const std::string& iface, const TraceResult& r, const netfilter::Ruleset& rs,
                const std::string& file) {
  d.example.family = fam;
  d.example.src = src.ToString();
  d.example.dst = dst.ToString();
  d.example.proto = d.proto;
  d.example.dport = port;
  d.example.in = iface;
  d.example.fate = VerdictText(r) + ": " + DescribeOutcome(r.outcome);
  d.example.decided_by = DecidedBy(r);
  if (auto ref = DeciderRef(rs, file, d.example.decided_by)) d.rules.push_back(*ref);
}

void ProveFamily(const PolicyIntent& intent, const netfilter::Ruleset& rs, const std::string& file,
                 const host::HostNetwork& host, const std::vector<std::string>& ifaces, PolicyProof& proof) {
  Family fam = rs.family;
  TraceModel model(rs, host);
  ClassBuilder b(fam);
  b.AddRuleset(rs);
  b.AddHost(host);
  for (const auto& c : intent.Cidrs(fam)) b.AddCidr(c);
  for (auto [lo, hi] : intent.Ports()) b.AddPorts(lo, hi);
  netfilter::Ruleset empty;
  // Published ports: Docker's iptables rules, or (Docker 29 in nftables
  // mode) its native tables.
  const netfilter::NftRuleset* nft = host.nftables_known ? &host.nftables : nullptr;
  auto docker = fam == Family::kIPv4 ? ExplainDocker(rs, nullptr, nft) : ExplainDocker(empty, &rs, nft);
  auto published = Published(docker, fam);
  for (auto [proto, port] : published) b.AddPorts(port, port);
  auto sources = b.Addresses(&host);
  auto ports = b.Ports();
  std::vector<uint16_t> protos = {6, 17};
  if (intent.UsesSctp()) protos.push_back(132);

  struct Raw {
    PolicyDifference d;
    IpAddress first, last;
  };
  std::vector<Raw> raw;
  for (const auto& iface : ifaces) {
    auto dsts = TargetAddresses(host, iface, fam);
    if (dsts.empty()) continue;
    const IpAddress& dst = dsts[0];
    for (uint16_t proto : protos)
      for (const auto& src : sources) {
        // Walk the port classes, merging neighbours that differ the same way.
        std::optional<PolicyDifference> open;
        auto flush = [&] {
          if (open) raw.push_back({std::move(*open), src.first, src.last});
          open.reset();
        };
        for (const auto& pc : ports) {
          uint16_t port = pc.first;
          bool is_published = published.count({proto, port}) > 0;
          Intent want = is_published ? intent.Container(src.representative, iface, proto, port)
                                     : intent.Host(src.representative, iface, proto, port);
          if (!want.governed) {
            flush();
            continue;
          }
          auto r = TraceNew(model, src.representative, dst, proto, port, iface);
          ++proof.classes_checked;
          auto ok = [&](Fate f) { return is_published ? f == Fate::kForward : f == Fate::kLocal; };
          bool first = ok(r.outcome.fate), all = first, any = first;
          for (const auto& o : r.alternatives) {
            all &= ok(o.fate);
            any |= ok(o.fate);
          }
          bool undecided = all != any || r.truncated;
          if (undecided) {
            std::string prefix = fam == Family::kIPv6 ? "[IPv6] " : "";
            for (const auto& u : r.unknowns)
              AddOnce(proof.undecidable,
                      fmt::format("{}{} {} rule {}: {}: {}", prefix, u.table, u.chain, u.rule_number, u.what, u.why));
            if (r.truncated)
              AddOnce(proof.undecidable, prefix + "a trace with more paths than the tracer follows (its outcomes partial)");
          }
          if (!undecided && first == want.accept) {
            flush();
            continue;
          }
          std::string kind = is_published ? "container" : "host";
          if (open && open->kind == kind && open->policy_accepts == want.accept && open->ruleset_accepts == first &&
              open->undecided == undecided && open->policy_why == want.why) {
            // extend the port range
            auto dash = open->ports.find('-');
            std::string lo = dash == std::string::npos ? open->ports : open->ports.substr(0, dash);
            open->ports = lo + "-" + std::to_string(pc.last);
            continue;
          }
          flush();
          PolicyDifference d;
          d.kind = kind;
          d.iface = iface;
          d.proto = ProtoName(proto);
          d.sources = src.Text();
          d.ports = pc.Text();
          d.policy_accepts = want.accept;
          d.ruleset_accepts = first;
          d.undecided = undecided;
          d.policy_why = want.why;
          SetExample(d, fam, src.representative, dst, port, iface, r, rs, file);
          open = std::move(d);
        }
        flush();
        if (raw.size() > 20000) {
          AddOnce(proof.blind_spots, "more than 20000 differences: the rest were not looked for");
          break;
        }
      }
  }
  // One difference for the source classes that differ alike (same interface,
  // protocol, ports, verdicts, reasons and deciding rule); neighbouring
  // classes become one range. This family's differences are merged apart
  // from the proof's (which may hold the other family's already: indexes
  // into RANGES are this family's only) and appended at the end.
  std::map<std::string, size_t> index;
  std::vector<PolicyDifference> diffs;
  std::vector<std::vector<std::pair<IpAddress, IpAddress>>> ranges;
  for (auto& r : raw) {
    std::string key = fmt::format("{}|{}|{}|{}|{}{}{}|{}|{}", r.d.iface, r.d.proto, r.d.kind, r.d.ports,
                                  r.d.policy_accepts, r.d.ruleset_accepts, r.d.undecided, r.d.policy_why,
                                  r.d.example.decided_by);
    auto [it, fresh] = index.try_emplace(key, diffs.size());
    if (fresh) {
      diffs.push_back(std::move(r.d));
      ranges.push_back({{r.first, r.last}});
      continue;
    }
    auto& list = ranges[it->second];
    auto next = NextAddress(list.back().second);
    if (next && *next == r.first) list.back().second = r.last;
    else list.push_back({r.first, r.last});
  }
  for (size_t i = 0; i < ranges.size(); ++i) {
    std::string text;
    size_t n = 0;
    for (const auto& [a, b] : ranges[i]) {
      if (n == 8) {
        text += fmt::format(" and {} more", ranges[i].size() - 8);
        break;
      }
      AddressClass c;
      c.first = a;
      c.last = b;
      text += (n++ ? ", " : "") + c.Text();
    }
    diffs[i].sources = text;
  }
  for (auto& d : diffs) proof.differences.push_back(std::move(d));
}

}  // namespace

PolicyProof ProvePolicy(const policy::Policy& policy, const policy::Node& node, const AuditInput& input) {
  PolicyProof proof;
  proof.node = node.name;
  proof.intent.emplace(policy, node);
  proof.blind_spots = input.blind_spots;
  const PolicyIntent& intent = *proof.intent;
  if (!input.host) {
    proof.blind_spots.push_back("no host facts (addresses, routes): nothing was traced");
    return proof;
  }
  std::vector<std::string> ifaces;
  for (const auto& i : input.host->interfaces) {
    IfaceClass c = intent.Classify(i.name);
    if (c == IfaceClass::kPublic) proof.public_ifaces.push_back(i.name);
    if (c == IfaceClass::kCluster) proof.cluster_ifaces.push_back(i.name);
    if (c != IfaceClass::kOther) ifaces.push_back(i.name);
  }
  if (proof.public_ifaces.empty())
    proof.blind_spots.push_back(
        "none of the host's interfaces is one of the policy's public interfaces: nothing from the public was traced");
  // A family is checked when the policy speaks of it; without its ruleset,
  // or without one route of it (where a DNATed packet goes), it is not seen.
  for (Family fam : {Family::kIPv4, Family::kIPv6}) {
    bool v4 = fam == Family::kIPv4;
    if (!v4 && !policy.ipv6) continue;
    const netfilter::Ruleset* rs = v4 ? input.v4 : input.v6;
    std::string name = v4 ? "IPv4" : "IPv6";
    if (!rs) {
      proof.blind_spots.push_back(fmt::format("no {} ruleset: {} was not checked", name, name));
      continue;
    }
    bool routes = std::any_of(input.host->routes.begin(), input.host->routes.end(),
                              [&](const host::Route& r) { return r.destination.family() == fam; });
    if (!routes)
      proof.blind_spots.push_back(fmt::format("no {} route in the host's facts ({}): where {} packets go is not known",
                                              name, v4 ? "--route" : "--route6", name));
    ProveFamily(intent, *rs, v4 ? input.file4 : input.file6, *input.host, ifaces, proof);
  }
  return proof;
}

std::vector<PolicyDifference> CheckAllows(const policy::Policy& policy, const policy::Node& node,
                                          const AuditInput& input) {
  std::vector<PolicyDifference> out;
  if (!input.host) return out;
  PolicyIntent intent(policy, node);
  std::vector<std::string> ifaces;
  for (const auto& i : input.host->interfaces)
    if (intent.Classify(i.name) == IfaceClass::kPublic) ifaces.push_back(i.name);
  for (Family fam : {Family::kIPv4, Family::kIPv6}) {
    bool v4 = fam == Family::kIPv4;
    const netfilter::Ruleset* rs = v4 ? input.v4 : input.v6;
    if (!rs || (!v4 && !policy.ipv6)) continue;
    TraceModel model(*rs, *input.host);
    netfilter::Ruleset empty;
    const netfilter::NftRuleset* nft = input.host->nftables_known ? &input.host->nftables : nullptr;
    auto published = Published(v4 ? ExplainDocker(*rs, nullptr, nft) : ExplainDocker(empty, rs, nft), fam);
    // The source a rule names first (a stranger for "any"), never one of
    // the host's own addresses (the kernel drops those from outside: this
    // node in `swarm.from: nodes`).
    auto local = [&](const IpAddress& a) {
      for (const auto& i : input.host->interfaces)
        for (const auto& x : i.addresses)
          if (x.address == a) return true;
      return false;
    };
    auto source = [&](const policy::AddressMatch& from) -> std::optional<IpAddress> {
      if (from.Any()) return IpAddress::Parse(v4 ? "203.0.113.254" : "2001:db8:ffff::fe");
      for (const auto& c : policy.Resolve(from, fam))
        if (!local(c.address)) return c.address;
      return std::nullopt;
    };
    struct Probe {
      bool container;
      const policy::AddressMatch* from;
      const policy::Traffic* traffic;
    };
    std::vector<Probe> probes;
    for (const auto* r : policy.RulesFor(policy::Section::kHost, node))
      if (r->action == policy::Action::kAccept) probes.push_back({false, &r->from, &r->traffic});
    policy::Traffic swarm;
    if (policy.swarm.enabled) {
      swarm = policy::SwarmTraffic(policy.swarm, node.role);
      probes.push_back({false, &policy.swarm.from, &swarm});
    }
    for (const auto* r : policy.RulesFor(policy::Section::kContainers, node))
      if (r->action == policy::Action::kAccept && !r->Unresolved()) probes.push_back({true, &r->from, &r->traffic});
    for (const auto& iface : ifaces) {
      auto dsts = TargetAddresses(*input.host, iface, fam);
      if (dsts.empty()) continue;
      for (const auto& probe : probes) {
        auto src = source(*probe.from);
        if (!src) continue;
        for (const auto& pp : probe.traffic->protocols) {
          uint16_t proto = pp.protocol == policy::Protocol::kUdp ? 17 : pp.protocol == policy::Protocol::kSctp ? 132 : 6;
          // The first port of the rule; a container rule's first published one.
          std::optional<uint16_t> port;
          for (const auto& range : pp.ports) {
            if (!probe.container) {
              port = range.first;
              break;
            }
            auto it = published.lower_bound({proto, range.first});
            if (it != published.end() && it->first == proto && it->second <= range.last) {
              port = it->second;
              break;
            }
          }
          if (!port) continue;
          Intent want = probe.container ? intent.Container(*src, iface, proto, *port) : intent.Host(*src, iface, proto, *port);
          if (!want.governed || !want.accept) continue;
          auto r = TraceNew(model, *src, dsts[0], proto, *port, iface);
          auto ok = [&](Fate f) { return probe.container ? f == Fate::kForward : f == Fate::kLocal; };
          bool first = ok(r.outcome.fate), all = first, any = first;
          for (const auto& o : r.alternatives) {
            all &= ok(o.fate);
            any |= ok(o.fate);
          }
          if (first || all != any || r.truncated) continue;   // delivered, or undecided
          // Only a rule or a chain's policy: not the routing of this host's
          // facts (no route back to the probe's source, a martian).
          if (r.outcome.fate != Fate::kDrop && r.outcome.fate != Fate::kReject) continue;
          PolicyDifference d;
          d.kind = probe.container ? "container" : "host";
          d.iface = iface;
          d.proto = ProtoName(proto);
          d.sources = src->ToString();
          d.ports = std::to_string(*port);
          d.policy_accepts = true;
          d.policy_why = want.why;
          SetExample(d, fam, *src, dsts[0], *port, iface, r, *rs, v4 ? input.file4 : input.file6);
          out.push_back(std::move(d));
        }
      }
    }
  }
  return out;
}

ProofVerdict Verdict(const PolicyProof& p) {
  bool undecided = false;
  for (const auto& d : p.differences) {
    if (!d.undecided) return ProofVerdict::kDiffers;
    undecided = true;
  }
  if (undecided || !p.blind_spots.empty() || !p.undecidable.empty()) return ProofVerdict::kCannotProve;
  return ProofVerdict::kImplements;
}

const char* ProofVerdictName(ProofVerdict v) {
  switch (v) {
    case ProofVerdict::kImplements: return "implements";
    case ProofVerdict::kDiffers: return "differs";
    case ProofVerdict::kCannotProve: return "cannot-prove";
  }
  return "";
}

void DowngradeIntended(const PolicyProof& proof, std::vector<AuditFinding>& findings) {
  if (!proof.intent) return;
  for (auto& f : findings) {
    bool container = f.code == "published-port-public";
    if (!(container || f.code == "swarm-port-public" || f.code == "docker-api-public")) continue;
    if (f.examples.empty()) continue;
    bool all = true;
    for (const auto& e : f.examples) {
      auto src = IpAddress::Parse(e.src);
      uint16_t proto = e.proto == "udp" ? 17 : e.proto == "sctp" ? 132 : 6;
      if (!src) {
        all = false;
        break;
      }
      Intent in = container ? proof.intent->Container(*src, e.in, proto, static_cast<uint16_t>(e.dport))
                            : proof.intent->Host(*src, e.in, proto, static_cast<uint16_t>(e.dport));
      all &= in.governed && in.accept;
    }
    if (all) {
      f.severity = AuditSeverity::kInfo;
      f.title = "(as the policy says) " + f.title;
    }
  }
}

nlohmann::json ProofJson(const PolicyProof& p) {
  ProofVerdict v = Verdict(p);
  nlohmann::json j = {{"node", p.node},
                      {"verdict", ProofVerdictName(v)},
                      {"equal", v == ProofVerdict::kImplements},
                      {"packets_traced", p.classes_checked},
                      {"incomplete", !p.blind_spots.empty() || !p.undecidable.empty()},
                      {"blind_spots", p.blind_spots},
                      {"undecidable", p.undecidable},
                      {"public_interfaces", p.public_ifaces},
                      {"cluster_interfaces", p.cluster_ifaces},
                      {"differences", nlohmann::json::array()}};
  for (const auto& d : p.differences) {
    nlohmann::json x = {{"kind", d.kind},
                        {"in", d.iface},
                        {"proto", d.proto},
                        {"sources", d.sources},
                        {"ports", d.ports},
                        {"policy", d.policy_accepts ? "accept" : "drop"},
                        {"policy_why", d.policy_why},
                        {"ruleset", d.undecided ? "undecided" : d.ruleset_accepts ? "accept" : "drop"},
                        {"example", ExampleJson(d.example)},
                        {"rules", nlohmann::json::array()}};
    for (const auto& r : d.rules) x["rules"].push_back(RuleRefJson(r));
    if (std::string fix = OtherOwnerFix(d); !fix.empty()) x["fix"] = fix;
    j["differences"].push_back(x);
  }
  return j;
}

// A difference the policy allows but another owner's rule drops: swarmwall
// cannot fix it from its own rules (with nftables, an accept in
// swarmwall's table never overrides a drop in another table). The fix, in
// words; "" for any other difference.
std::string OtherOwnerFix(const PolicyDifference& d) {
  if (!d.policy_accepts || d.ruleset_accepts || d.undecided) return "";
  const std::string& by = d.example.decided_by;
  if (by.empty() || by.starts_with("routing") || by.find("swarmwall") != std::string::npos ||
      by.find("SWARMWALL") != std::string::npos)
    return "";
  return fmt::format("the policy allows it but {} drops it, a rule swarmwall does not own: an accept in "
                     "swarmwall's rules cannot override it; allow {}/{} there too, or remove that rule",
                     by, d.ports, d.proto);
}

std::string ProofText(const PolicyProof& p) {
  std::string out = fmt::format("policy for node {}: ", p.node);
  switch (Verdict(p)) {
    case ProofVerdict::kImplements:
      out += fmt::format("the ruleset implements it ({} packet classes traced)\n", p.classes_checked);
      break;
    case ProofVerdict::kDiffers:
      out += fmt::format("{} difference(s) ({} packet classes traced)\n", p.differences.size(), p.classes_checked);
      break;
    case ProofVerdict::kCannotProve:
      out += fmt::format("cannot prove it: {} not seen, {} undecidable ({} packet classes traced)\n",
                         p.blind_spots.size(), p.undecidable.size(), p.classes_checked);
      break;
  }
  for (const auto& d : p.differences) {
    out += fmt::format("  {} {}/{} from {} in {}: policy {} ({}), ruleset {}\n", d.kind, d.ports, d.proto, d.sources,
                       d.iface, d.policy_accepts ? "accepts" : "drops", d.policy_why,
                       d.undecided ? "undecided" : d.ruleset_accepts ? "accepts" : "drops");
    out += fmt::format("    example: {}\n", d.example.Text());
    for (const auto& r : d.rules) out += fmt::format("    decided by {}: {}\n", r.Where(), r.text);
    if (std::string fix = OtherOwnerFix(d); !fix.empty()) out += "    fix: " + fix + "\n";
  }
  for (const auto& b : p.blind_spots) out += "  not seen: " + b + "\n";
  for (const auto& u : p.undecidable) out += "  undecidable: " + u + "\n";
  return out;
}

}  // namespace swarmwall::analyze
