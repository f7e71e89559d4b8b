#include "compile/compiler.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "compile/workloads.h"
#include "netfilter/codecs.h"

namespace swarmwall::compile {
namespace {

using policy::AddressMatch;
using policy::Action;
using policy::Protocol;
using policy::ProtocolPorts;
using policy::Rule;
using policy::Section;
using policy::Traffic;

uint64_t Fnv(std::string_view s, uint64_t h = 1469598103934665603ull) {
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

// One rule spec in the order iptables-save prints it.
struct Spec {
  std::string source, destination, in, out, protocol;
  std::vector<std::string> matches;   // " -m ..." pieces, in order
  std::string target;                 // "ACCEPT", "DROP", "RETURN", "LOG --log-prefix ..."

  std::string Text() const {
    std::string s;
    if (!source.empty()) s += " -s " + source;
    if (!destination.empty()) s += " -d " + destination;
    if (!in.empty()) s += " -i " + in;
    if (!out.empty()) s += " -o " + out;
    if (!protocol.empty()) s += " -p " + protocol;
    for (const auto& m : matches) s += m;
    s += " -j " + target;
    return s.substr(1);
  }
};

std::string PortText(const policy::PortRange& r) {
  return r.first == r.last ? std::to_string(r.first) : fmt::format("{}:{}", r.first, r.last);
}

std::string Comment(std::string_view text) {
  return " -m comment --comment " + netfilter::QuoteText(CommentText(text));
}

// LABEL ("swarmwall: host allow #2"), then the policy item's own comment.
std::string RuleComment(std::string label, const std::string& own) {
  if (!own.empty()) label += ": " + own;
  return label;
}

// Where a packet may come from (or go to): "" for anywhere, "-s X" pieces or
// a set match, one alternative per returned element.
struct AddressAlt {
  std::string cidr;    // for -s / -d
  std::string set;     // for -m set --match-set SET src|dst
};

class NodeCompiler {
 public:
  NodeCompiler(const policy::Policy& p, const policy::Node& n, const NodeFacts& f, SetCache& c,
               const WorkloadResolution& w)
      : policy_(p), node_(n), facts_(f), cache_(c), workloads_(w) {}

  DesiredState Run() {
    DesiredState state;
    state.node = node_.name;
    state.policy_file = policy_.file;
    state.ipv4 = Family(Family::kIPv4);
    if (policy_.ipv6)
      state.ipv6 = Family(Family::kIPv6);
    else
      state.ipv6.family = Family::kIPv6;   // nothing of ours, but still IPv6: it
                                           // is compared with the kernel's IPv6
    return state;
  }

 private:
  FamilyState Family(netfilter::Family family) {
    family_ = family;
    used_sets_.clear();
    FamilyState fs;
    fs.family = family;
    OwnedChain input{"filter", kInputChain, InputRules()};
    OwnedChain user{"filter", kUserChain, UserRules()};
    fs.chains.push_back(std::move(input));
    fs.chains.push_back(std::move(user));
    if (egress_needed_) fs.chains.push_back({"filter", kEgressChain, EgressRules()});
    fs.hooks.push_back({"filter", "INPUT", kInputChain, false});
    bool v4 = family == Family::kIPv4;
    bool forward = v4 ? facts_.forward_ipv4 : facts_.forward_ipv6;
    if ((v4 ? facts_.docker_user_ipv4 : facts_.docker_user_ipv6) && !(forward && facts_.docker_running))
      fs.hooks.push_back({"filter", "DOCKER-USER", kUserChain, true});
    if (forward) fs.hooks.push_back({"filter", "FORWARD", kUserChain, false});
    for (const auto& [name, set] : used_sets_) {
      IpSet s;
      s.name = SetName(name, family);
      s.policy_name = name;
      s.family = family;
      s.entries = cache_.Entries(*set, family);
      fs.sets.push_back(std::move(s));
    }
    std::sort(fs.sets.begin(), fs.sets.end(),
              [](const IpSet& a, const IpSet& b) { return a.name < b.name; });
    return fs;
  }

  bool v4() const { return family_ == Family::kIPv4; }

  // The alternatives of an address match for this family; empty when the
  // match names nothing of this family (the rule then does not apply).
  std::vector<AddressAlt> Alternatives(const AddressMatch& match) {
    if (match.Any()) return {AddressAlt{}};
    std::vector<AddressAlt> alts;
    for (const auto& term : match.terms) {
      if (term.kind == policy::AddressTerm::Kind::kCidr) {
        if (term.cidr.family() == family_) alts.push_back({term.cidr.ToString(), ""});
        continue;
      }
      const policy::AddressSet* set = policy_.FindSet(term.set);
      if (!set || set->Entries(family_).empty()) continue;
      used_sets_[set->name] = set;
      alts.push_back({"", SetName(set->name, family_)});
    }
    return alts;
  }

  // -p and the port match for each protocol of TRAFFIC; {""} for any.
  struct ProtoAlt {
    std::string protocol;
    std::string match;   // " -m tcp --dport 22" or " -m multiport --dports ..."
  };
  std::vector<ProtoAlt> Protocols(const Traffic& traffic) {
    if (traffic.Any()) return {ProtoAlt{}};
    std::vector<ProtoAlt> out;
    for (const ProtocolPorts& pp : traffic.protocols) {
      std::string proto(policy::ProtocolName(pp.protocol));
      if (pp.ports.empty()) {
        out.push_back({proto, ""});
      } else if (pp.ports.size() == 1) {
        out.push_back({proto, fmt::format(" -m {} --dport {}", proto, PortText(pp.ports[0]))});
      } else {
        // multiport takes 15 ports, a range counting as two.
        std::string list;
        int weight = 0;
        for (const auto& r : pp.ports) {
          int w = r.first == r.last ? 1 : 2;
          if (weight + w > 15) {
            out.push_back({proto, " -m multiport --dports " + list});
            list.clear();
            weight = 0;
          }
          if (!list.empty()) list += ',';
          list += PortText(r);
          weight += w;
        }
        out.push_back({proto, " -m multiport --dports " + list});
      }
    }
    return out;
  }

  // Each port range of TRAFFIC matched on the original destination port, as
  // DNAT left it in conntrack (Docker's published ports, Swarm's ingress).
  std::vector<ProtoAlt> OriginalPorts(const Traffic& traffic) {
    if (traffic.Any()) return {ProtoAlt{"", " -m conntrack --ctstate DNAT"}};
    std::vector<ProtoAlt> out;
    for (const ProtocolPorts& pp : traffic.protocols) {
      std::string proto(policy::ProtocolName(pp.protocol));
      if (pp.ports.empty()) out.push_back({proto, " -m conntrack --ctstate DNAT"});
      for (const auto& r : pp.ports)
        out.push_back({proto, " -m conntrack --ctstate DNAT --ctorigdstport " + PortText(r)});
    }
    return out;
  }

  void AddRules(std::vector<std::string>& rules, const Spec& base,
                const std::vector<ProtoAlt>& protos, const std::vector<AddressAlt>& addrs,
                bool source, const std::string& comment) {
    for (const auto& pa : protos)
      for (const auto& aa : addrs) {
        Spec s = base;
        s.protocol = pa.protocol;
        if (!pa.match.empty()) s.matches.push_back(pa.match);
        if (!aa.cidr.empty()) (source ? s.source : s.destination) = aa.cidr;
        if (!aa.set.empty())
          s.matches.push_back(fmt::format(" -m set --match-set {} {}", aa.set, source ? "src" : "dst"));
        if (!comment.empty()) s.matches.push_back(Comment(comment));
        rules.push_back(s.Text());
      }
  }

  std::string LogTarget(std::string_view what) {
    return fmt::format("LOG --log-prefix {}", netfilter::QuoteText(fmt::format("swarmwall {}: ", what)));
  }

  void Drop(std::vector<std::string>& rules, Spec s, std::string_view what) {
    if (policy_.log_drops) {
      Spec log = s;
      log.matches.push_back(" -m limit --limit 5/min");
      log.target = LogTarget(what);
      rules.push_back(log.Text());
    }
    s.target = "DROP";
    rules.push_back(s.Text());
  }

  std::vector<std::string> InputRules() {
    std::vector<std::string> r;
    const auto& ifaces = policy_.InterfacesOf(node_);
    r.push_back("-i lo -j ACCEPT");
    r.push_back("-m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT");
    r.push_back("-m conntrack --ctstate INVALID -j DROP");
    // Deny rules come before everything the policy opens (docs/policy.md).
    HostRules(r, policy::Action::kDrop);
    // Swarm's ports: from swarm.from only, whatever the interface.
    if (policy_.swarm.enabled) {
      auto from = Alternatives(policy_.swarm.from);
      Traffic mine = policy::SwarmTraffic(policy_.swarm, node_.role);
      Spec accept;
      accept.target = "ACCEPT";
      AddRules(r, accept, Protocols(mine), from, true, "swarmwall: swarm");
      if (policy_.swarm.encrypted_overlay) {
        Spec esp;
        esp.target = "ACCEPT";
        AddRules(r, esp, {{"esp", ""}}, from, true, "swarmwall: swarm encrypted overlay");
        AddRules(r, esp, {{"udp", " -m udp --dport 4789 -m policy --dir in --pol ipsec"}}, from,
                 true, "swarmwall: swarm encrypted overlay");
      }
      // 4789/udp is dropped unless IPsec-protected (accepted above).
      Traffic all = policy::SwarmPortsToClose(policy_.swarm);
      for (const auto& pa : Protocols(all)) {
        Spec drop;
        drop.protocol = pa.protocol;
        drop.matches.push_back(pa.match);
        drop.matches.push_back(Comment("swarmwall: swarm port from elsewhere"));
        Drop(r, drop, "swarm");
      }
    }
    for (const auto& c : ifaces.cluster) {
      Spec s;
      s.in = c;
      s.target = policy_.host.cluster == policy::ClusterMode::kAccept ? "ACCEPT" : "DROP";
      r.push_back(s.Text());
    }
    // ICMP: errors always, echo as the policy says.
    const auto& icmp = policy_.host.icmp;
    std::string limit;
    if (icmp.echo_limit) {
      static const char* kUnits[] = {"sec", "min", "hour", "day"};
      // As iptables-save prints it back (60/min is "1/sec"): else every
      // read of the kernel would look like drift.
      limit = " -m limit --limit " +
              netfilter::CanonicalLimitRate(fmt::format("{}/{}", icmp.echo_limit->count,
                                                        kUnits[static_cast<int>(icmp.echo_limit->unit)]));
    }
    if (v4()) {
      for (int type : {3, 11})
        r.push_back(fmt::format("-p icmp -m icmp --icmp-type {} -j ACCEPT", type));
      if (icmp.echo) r.push_back("-p icmp -m icmp --icmp-type 8" + limit + " -j ACCEPT");
    } else {
      for (int type : {1, 2, 3, 4, 133, 134, 135, 136, 143})
        r.push_back(fmt::format("-p ipv6-icmp -m icmp6 --icmpv6-type {} -j ACCEPT", type));
      if (icmp.echo) r.push_back("-p ipv6-icmp -m icmp6 --icmpv6-type 128" + limit + " -j ACCEPT");
    }
    HostRules(r, policy::Action::kAccept);
    for (const auto& p : ifaces.public_) {
      Spec s;
      s.in = p;
      Drop(r, s, "input");
    }
    return r;
  }

  // The host's own services (rules of ACTION), on public interfaces.
  void HostRules(std::vector<std::string>& r, policy::Action action) {
    const auto& ifaces = policy_.InterfacesOf(node_);
    for (const Rule* rule : policy_.RulesFor(Section::kHost, node_)) {
      if (rule->action != action) continue;
      auto from = Alternatives(rule->from);
      if (from.empty()) continue;
      for (const auto& p : ifaces.public_) {
        Spec s;
        s.in = p;
        s.target = action == Action::kAccept ? "ACCEPT" : "DROP";
        AddRules(r, s, Protocols(rule->traffic), from, true,
                 RuleComment(fmt::format("swarmwall: host {} #{}",
                                         action == Action::kAccept ? "allow" : "deny", rule->index + 1),
                             rule->comment));
      }
    }
  }

  std::vector<std::string> UserRules() {
    std::vector<std::string> r;
    const auto& ifaces = policy_.InterfacesOf(node_);
    for (const auto& p : ifaces.public_) {
      Spec est;
      est.in = p;
      est.matches.push_back(" -m conntrack --ctstate RELATED,ESTABLISHED");
      est.target = "RETURN";
      r.push_back(est.Text());
      for (const Rule* rule : policy_.RulesFor(Section::kContainers, node_)) {
        // A rule naming workloads: their ports here; none, never "every port".
        const Traffic* traffic = rule->Unresolved() ? workloads_.TrafficOf(*rule) : &rule->traffic;
        if (!traffic || (rule->Unresolved() && traffic->Any())) continue;
        auto from = Alternatives(rule->from);
        if (from.empty()) continue;
        Spec s;
        s.in = p;
        s.target = rule->action == Action::kAccept ? "RETURN" : "DROP";
        AddRules(r, s, OriginalPorts(*traffic), from, true,
                 RuleComment(fmt::format("swarmwall: containers {} #{}",
                                         rule->action == Action::kAccept ? "allow" : "deny", rule->index + 1),
                             rule->comment));
      }
      if (policy_.containers.default_action == Action::kDrop) {
        Spec s;
        s.in = p;
        Drop(r, s, "containers");
      }
    }
    egress_needed_ = policy_.egress.default_action == Action::kDrop ||
                     !policy_.RulesFor(Section::kEgress, node_).empty();
    if (egress_needed_)
      for (const auto& b : facts_.docker_bridges)
        for (const auto& p : ifaces.public_) {
          Spec s;
          s.in = b;
          s.out = p;
          s.target = kEgressChain;
          r.push_back(s.Text());
        }
    return r;
  }

  std::vector<std::string> EgressRules() {
    std::vector<std::string> r;
    r.push_back("-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN");
    for (const Rule* rule : policy_.RulesFor(Section::kEgress, node_)) {
      auto to = Alternatives(rule->to);
      if (to.empty()) continue;
      Spec s;
      s.target = rule->action == Action::kAccept ? "RETURN" : "DROP";
      AddRules(r, s, Protocols(rule->traffic), to, false,
               RuleComment(fmt::format("swarmwall: egress {} #{}",
                                       rule->action == Action::kAccept ? "allow" : "deny", rule->index + 1),
                           rule->comment));
    }
    if (policy_.egress.default_action == Action::kDrop) Drop(r, Spec{}, "egress");
    return r;
  }

  const policy::Policy& policy_;
  const policy::Node& node_;
  const NodeFacts& facts_;
  SetCache& cache_;
  const WorkloadResolution& workloads_;   // the ports of rules naming workloads
  netfilter::Family family_ = Family::kIPv4;
  bool egress_needed_ = false;
  std::map<std::string, const policy::AddressSet*> used_sets_;
};

}  // namespace

std::string CommentText(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    // The length of a well-formed UTF-8 sequence starting here, or 0.
    size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 && c >= 0xC2 ? 2 : (c & 0xF0) == 0xE0 ? 3
             : (c & 0xF8) == 0xF0 && c <= 0xF4 ? 4 : 0;
    for (size_t k = 1; n && k < n; ++k)
      if (i + k >= text.size() || (static_cast<unsigned char>(text[i + k]) & 0xC0) != 0x80) n = 0;
    if (n == 3 || n == 4) {  // overlong forms, surrogates, beyond U+10FFFF
      auto d = static_cast<unsigned char>(text[i + 1]);
      if ((c == 0xE0 && d < 0xA0) || (c == 0xED && d >= 0xA0) || (c == 0xF0 && d < 0x90) ||
          (c == 0xF4 && d >= 0x90))
        n = 0;
    }
    if (n == 0) {
      out += '?';
      ++i;
    } else if (n == 1 && (c < 0x20 || c == 0x7F)) {
      out += ' ';   // a newline would end the restore line, a tab split the word
      ++i;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  if (out.size() > kMaxCommentBytes) {
    size_t cut = kMaxCommentBytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

std::string SetName(std::string_view policy_set, netfilter::Family family) {
  std::string suffix = family == Family::kIPv4 ? "-v4" : "-v6";
  std::string name = std::string(kSetPrefix) + std::string(policy_set) + suffix;
  if (name.size() <= 31) return name;
  // Too long for the kernel: keep a readable head and a digest.
  std::string digest = fmt::format("{:08x}", static_cast<uint32_t>(Fnv(policy_set)));
  size_t head = 31 - kSetPrefix.size() - suffix.size() - digest.size() - 1;
  return std::string(kSetPrefix) + std::string(policy_set.substr(0, head)) + "-" + digest + suffix;
}

std::shared_ptr<const std::vector<Cidr>> SetCache::Entries(const policy::AddressSet& set,
                                                          netfilter::Family family) {
  std::string key = set.name + (family == Family::kIPv4 ? "/4" : "/6");
  for (const auto& [k, v] : cache_)
    if (k == key) return v;
  auto entries = std::make_shared<const std::vector<Cidr>>(set.Entries(family));
  cache_.emplace_back(key, entries);
  return entries;
}

std::string DesiredState::Digest() const {
  uint64_t h = Fnv(node);
  for (const FamilyState* fs : {&ipv4, &ipv6}) {
    h = Fnv(fs->family == Family::kIPv4 ? "4" : "6", h);
    for (const auto& c : fs->chains) {
      h = Fnv(c.table + "/" + c.name, h);
      for (const auto& r : c.rules) h = Fnv(r + "\n", h);
    }
    for (const auto& k : fs->hooks) h = Fnv(k.table + "/" + k.chain + "/" + k.target, h);
    std::string text;   // one buffer: 100,000 entries, no allocation each
    for (const auto& s : fs->sets) {
      h = Fnv(s.name, h);
      for (const auto& e : *s.entries) {
        text.clear();
        e.AppendTo(text);
        h = Fnv(text, h);
      }
    }
  }
  return fmt::format("{:016x}", h);
}

DesiredState Compile(const policy::Policy& policy, const policy::Node& node,
                     const NodeFacts& facts, SetCache* cache) {
  SetCache local;
  // Rules naming services, containers or labels: their ports as published here.
  WorkloadResolution workloads;
  if (policy.HasWorkloadRules()) workloads = ResolveWorkloads(policy, facts.published);
  return NodeCompiler(policy, node, facts, cache ? *cache : local, workloads).Run();
}

}  // namespace swarmwall::compile
