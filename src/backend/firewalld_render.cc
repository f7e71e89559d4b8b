#include "backend/firewalld_render.h"

#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "backend/render_text.h"
#include "compile/compiler.h"

namespace swarmwall::backend {
namespace {

using netfilter::Cidr;
using netfilter::Family;
using policy::Action;
using policy::AddressMatch;
using policy::Protocol;
using policy::Rule;
using policy::Section;
using policy::Traffic;

// Entries per firewall-cmd call: a long command line is fine, one process per
// entry is not (each call loads the whole configuration).
constexpr size_t kEntriesPerCall = 1000;
// firewalld's (and ipset's) default maxelem.
constexpr size_t kDefaultMaxElem = 65536;

// Rich rule priorities. firewalld runs a zone's or policy's rules with a
// negative priority first (ascending), then deny, then allow, then positive
// priorities, then the target.
constexpr int kSwarmAcceptPriority = -2;  // policy: from swarm.from ...
constexpr int kSwarmDropPriority = -1;    // ... before the drops from elsewhere
constexpr int kIcmpPriority = -1;         // zone: ICMP before the host's deny rules
constexpr int kLogPriority = 32767;       // zone: log what the target drops
// The swarm policy runs before every zone's own rules.
constexpr int kSwarmPolicyPriority = -100;

const char* Ipv(Family f) { return f == Family::kIPv4 ? "ipv4" : "ipv6"; }

bool SafeShellChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-' || c == '.' || c == '/' || c == ':' || c == ',' || c == '+' ||
         c == '=' || c == '@' || c == '%';
}

// A CIDR that contains B (prefix masks only).
bool Covers(const Cidr& a, const Cidr& b) {
  int la = a.PrefixLength(), lb = b.PrefixLength();
  return la >= 0 && lb >= 0 && la <= lb && a.family() == b.family() && a.Contains(b.address);
}

// firewalld refuses entries of a hash:net set that overlap one already in
// it (it warns and skips them), whatever the order. Keep only the widest:
// the set matches the same addresses. Prefixes either nest or are disjoint,
// so in address order (wider first on a tie) an entry can only be covered
// by the last one kept.
std::vector<Cidr> WithoutCovered(std::vector<Cidr> entries) {
  std::sort(entries.begin(), entries.end());
  std::vector<Cidr> out;
  for (auto& c : entries)
    if (out.empty() || !Covers(out.back(), c)) out.push_back(std::move(c));
  return out;
}

// One rich rule in firewalld's canonical text (Rich_Rule.__str__).
struct Rich {
  int priority = 0;
  std::string family;   // "ipv4", "ipv6" or ""
  std::string source;   // 'source address="…"', 'source ipset="…"' or ""
  std::string element;  // 'port …', 'protocol …', 'icmp-type …' or ""
  std::string log;      // 'log prefix="…" limit value="…"' or ""
  std::string action;   // "accept", "drop", 'accept limit value="…"' or ""

  std::string Text() const {
    std::string s = "rule";
    if (priority) s += fmt::format(" priority=\"{}\"", priority);
    if (!family.empty()) s += fmt::format(" family=\"{}\"", family);
    for (const std::string* part : {&source, &element, &log, &action})
      if (!part->empty()) s += " " + *part;
    return s;
  }
};

class RuleList {
 public:
  void Add(const Rich& r) {
    std::string text = r.Text();
    if (seen_.insert(text).second) rules_.push_back(std::move(text));
  }
  std::vector<std::string> Take() { return std::move(rules_); }

 private:
  std::vector<std::string> rules_;
  std::set<std::string> seen_;
};

std::string LimitText(const policy::RateLimit& limit) {
  static const char* kUnits[] = {"s", "m", "h", "d"};
  return fmt::format("limit value=\"{}/{}\"", limit.count, kUnits[static_cast<int>(limit.unit)]);
}

// Logging as the iptables backend does it: 5/min, prefix "swarmwall WHAT: ".
std::string LogText(std::string_view what) {
  return fmt::format("log prefix=\"swarmwall {}: \" limit value=\"5/m\"", what);
}

class RichCompiler {
 public:
  RichCompiler(const policy::Policy& p, const policy::Node& n, const compile::DesiredState& s)
      : policy_(p), node_(n), state_(s) {}

  FirewalldRichRules Run() {
    RuleList zone, swarm;
    for (Family f : Families()) {
      family_ = f;
      if (policy_.swarm.enabled) SwarmRules(swarm);
      IcmpRules(zone);
    }
    for (const Rule* rule : policy_.RulesFor(Section::kHost, node_))
      for (Family f : Families()) {
        family_ = f;
        auto from = Sources(rule->from);
        for (const auto& element : Elements(rule->traffic))
          for (const auto& source : from)
            zone.Add({0, Ipv(f), source, element, "",
                      rule->action == Action::kAccept ? "accept" : "drop"});
      }
    if (policy_.log_drops) zone.Add({kLogPriority, "", "", "", LogText("input"), ""});
    return {zone.Take(), swarm.Take()};
  }

  // The families the node's state has rules for (IPv6 only with ipv6: true).
  std::vector<Family> Families() const {
    std::vector<Family> out;
    for (Family f : {Family::kIPv4, Family::kIPv6})
      if (!state_.Of(f).empty()) out.push_back(f);
    return out;
  }

 private:
  // As the compiler's Alternatives: a rule applies to a family only through
  // the terms that name something of that family.
  std::vector<std::string> Sources(const AddressMatch& match) const {
    if (match.Any()) return {""};
    std::vector<std::string> out;
    for (const auto& term : match.terms) {
      if (term.kind == policy::AddressTerm::Kind::kCidr) {
        if (term.cidr.family() == family_)
          out.push_back(fmt::format("source address=\"{}\"", term.cidr.ToString()));
        continue;
      }
      const policy::AddressSet* set = policy_.FindSet(term.set);
      if (!set || set->Entries(family_).empty()) continue;
      out.push_back(fmt::format("source ipset=\"{}\"", compile::SetName(set->name, family_)));
    }
    return out;
  }

  // A rich rule takes one port (or range) of one protocol.
  static std::vector<std::string> Elements(const Traffic& traffic) {
    if (traffic.Any()) return {""};
    std::vector<std::string> out;
    for (const auto& pp : traffic.protocols) {
      std::string_view proto = policy::ProtocolName(pp.protocol);
      if (pp.ports.empty()) out.push_back(fmt::format("protocol value=\"{}\"", proto));
      for (const auto& r : pp.ports)
        out.push_back(fmt::format("port port=\"{}\" protocol=\"{}\"", r.ToString(), proto));
    }
    return out;
  }

  void SwarmRules(RuleList& out) {
    const auto& swarm = policy_.swarm;
    auto from = Sources(swarm.from);
    for (const auto& element : Elements(policy::SwarmTraffic(swarm, node_.role)))
      for (const auto& source : from)
        out.Add({kSwarmAcceptPriority, Ipv(family_), source, element, "", "accept"});
    Traffic all = policy::SwarmPortsToClose(swarm);
    if (swarm.encrypted_overlay) {
      // ESP, and 4789/udp: firewalld cannot match IPsec, the direct chain
      // SWARMWALL-INPUT drops 4789/udp that is not IPsec-protected.
      for (const auto& source : from) {
        out.Add({kSwarmAcceptPriority, Ipv(family_), source, "protocol value=\"esp\"", "", "accept"});
        out.Add({kSwarmAcceptPriority, Ipv(family_), source,
                 "port port=\"4789\" protocol=\"udp\"", "", "accept"});
      }
    }
    for (const auto& element : Elements(all))
      out.Add({kSwarmDropPriority, Ipv(family_), "", element,
               policy_.log_drops ? LogText("swarm") : "", "drop"});
  }

  void IcmpRules(RuleList& out) {
    const auto& icmp = policy_.host.icmp;
    // firewalld's icmptype names. ICMPv6 143 (MLDv2 report), which the
    // iptables backend accepts, has none: see docs/backends.md.
    static const char* kV4[] = {"destination-unreachable", "time-exceeded"};
    static const char* kV6[] = {"destination-unreachable", "packet-too-big", "time-exceeded",
                                "parameter-problem",       "router-solicitation",
                                "router-advertisement",    "neighbour-solicitation",
                                "neighbour-advertisement"};
    auto add = [&](const char* type, std::string action) {
      out.Add({kIcmpPriority, Ipv(family_), "", fmt::format("icmp-type name=\"{}\"", type), "",
               std::move(action)});
    };
    if (family_ == Family::kIPv4)
      for (const char* t : kV4) add(t, "accept");
    else
      for (const char* t : kV6) add(t, "accept");
    if (icmp.echo)
      add("echo-request", icmp.echo_limit ? "accept " + LimitText(*icmp.echo_limit) : "accept");
  }

  const policy::Policy& policy_;
  const policy::Node& node_;
  const compile::DesiredState& state_;
  Family family_ = Family::kIPv4;
};

// The script, line by line.
class Script {
 public:
  void Line(std::string_view text = "") {
    out_ += text;
    out_ += '\n';
  }
  // One line whatever TEXT holds (a policy path with a newline must not
  // start a command).
  void Comment(std::string_view text) { Line(fmt::format("# {}", OneLine(text))); }
  // `fw ARGS...` on one line; with FIXED > 0 and more than one argument
  // after the first FIXED ones, those one a line.
  void Fw(const std::vector<std::string>& args, size_t fixed = 0) {
    std::string line = "fw";
    bool split = fixed > 0 && args.size() > fixed + 1;
    for (size_t i = 0; i < args.size(); ++i) {
      line += split && i >= fixed ? " \\\n  " : " ";
      line += ShellQuote(args[i]);
    }
    Line(line);
  }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

constexpr const char* kCleanup = R"SH(# 1. Remove what an earlier run made: the jumps to SWARMWALL-* chains, those
#    chains, a DOCKER-USER declaration left empty, then swarmwall-* policies,
#    zones and ipsets.
fw --direct --get-all-rules | while read -r ipv table chain priority args; do
  case "$args" in
    "-j SWARMWALL-"*) fw --direct --remove-rule "$ipv" "$table" "$chain" "$priority" $args ;;
  esac
done
fw --direct --get-all-chains | while read -r ipv table chain; do
  case "$chain" in
    SWARMWALL-*)
      fw --direct --remove-rules "$ipv" "$table" "$chain"
      fw --direct --remove-chain "$ipv" "$table" "$chain" ;;
    DOCKER-USER)
      fw --direct --get-all-rules | grep -q "^$ipv $table DOCKER-USER " ||
        fw --direct --remove-chain "$ipv" "$table" "$chain" ;;
  esac
done
for name in $(fw --get-policies); do
  case "$name" in swarmwall-*) fw --delete-policy="$name" ;; esac
done
for name in $(fw --get-zones); do
  case "$name" in swarmwall-*) fw --delete-zone="$name" ;; esac
done
for name in $(fw --get-ipsets); do
  case "$name" in swarmwall-*) fw --delete-ipset="$name" ;; esac
done
)SH";

}  // namespace

std::vector<std::string> SplitRuleSpec(std::string_view spec) {
  std::vector<std::string> args;
  size_t i = 0;
  while (i < spec.size()) {
    while (i < spec.size() && spec[i] == ' ') ++i;
    if (i == spec.size()) break;
    std::string word;
    if (spec[i] == '"') {
      ++i;
      while (i < spec.size() && spec[i] != '"') {
        if (spec[i] == '\\' && i + 1 < spec.size()) ++i;
        word += spec[i++];
      }
      if (i < spec.size()) ++i;  // the closing quote
    } else {
      while (i < spec.size() && spec[i] != ' ') word += spec[i++];
    }
    args.push_back(std::move(word));
  }
  return args;
}

std::string ShellQuote(std::string_view word) {
  bool plain = !word.empty() && std::all_of(word.begin(), word.end(), SafeShellChar);
  if (plain) return std::string(word);
  std::string out = "'";
  for (char c : word) {
    if (c == '\'') out += "'\\''";
    else out += c;
  }
  out += '\'';
  return out;
}

FirewalldRichRules FirewalldRules(const policy::Policy& policy, const policy::Node& node,
                                  const compile::DesiredState& state) {
  return RichCompiler(policy, node, state).Run();
}

std::string RenderFirewalld(const policy::Policy& policy, const policy::Node& node,
                            const compile::DesiredState& state) {
  RichCompiler rich(policy, node, state);
  FirewalldRichRules rules = rich.Run();
  std::vector<Family> families = rich.Families();
  const auto& ifaces = policy.InterfacesOf(node);
  Script s;

  s.Line("#!/bin/sh");
  s.Comment(fmt::format("swarmwall: firewalld configuration of node {} ({}) from {}", node.name,
                        policy::RoleName(node.role), state.policy_file));
  s.Comment(fmt::format("DesiredState digest {} (the state the iptables backend renders).",
                        state.Digest()));
  s.Comment("Generated; do not edit. It writes firewalld's permanent configuration:");
  s.Comment("  firewalld stopped:  sh SCRIPT");
  s.Comment("  firewalld running:  FIREWALL_CMD='firewall-cmd --permanent' sh SCRIPT && firewall-cmd --reload");
  s.Comment("Everything it makes is named swarmwall-* (zones, policy, ipsets) or SWARMWALL-*");
  s.Comment("(direct chains). See docs/backends.md.");
  s.Line("set -eu");
  s.Line("fw() { ${FIREWALL_CMD:-firewall-offline-cmd} \"$@\"; }");
  s.Line();
  s.Line(kCleanup);

  s.Comment("2. ipsets (hash:net), as the compiled state names them.");
  bool any_set = false;
  for (Family f : families)
    for (const auto& set : state.Of(f).sets) {
      any_set = true;
      std::vector<Cidr> entries = set.entries ? WithoutCovered(*set.entries) : std::vector<Cidr>{};
      std::vector<std::string> args = {"--new-ipset=" + set.name, "--type=hash:net",
                                       f == Family::kIPv4 ? "--option=family=inet"
                                                          : "--option=family=inet6"};
      if (entries.size() > kDefaultMaxElem)
        args.push_back(fmt::format("--option=maxelem={}", entries.size()));
      s.Fw(args);
      for (size_t i = 0; i < entries.size(); i += kEntriesPerCall) {
        std::vector<std::string> add = {"--ipset=" + set.name};
        for (size_t j = i; j < entries.size() && j < i + kEntriesPerCall; ++j)
          add.push_back("--add-entry=" + entries[j].ToString());
        s.Fw(add, 1);
      }
    }
  if (!any_set) s.Comment("(none)");
  s.Line();

  s.Comment(fmt::format("3. Zone {}: the public interfaces. Anything not accepted is dropped.",
                        kFirewalldPublicZone));
  std::string zone_arg = fmt::format("--zone={}", kFirewalldPublicZone);
  s.Fw({fmt::format("--new-zone={}", kFirewalldPublicZone)});
  s.Fw({zone_arg, "--set-target=DROP"});
  for (const auto& i : ifaces.public_) s.Fw({zone_arg, "--change-interface=" + i});
  if (!rules.public_zone.empty()) {
    std::vector<std::string> args = {zone_arg};
    for (const auto& r : rules.public_zone) args.push_back("--add-rich-rule=" + r);
    s.Fw(args, 1);
  }
  s.Line();

  if (!ifaces.cluster.empty()) {
    bool accept = policy.host.cluster == policy::ClusterMode::kAccept;
    s.Comment(fmt::format("4. Zone {}: the cluster interfaces, {}.", kFirewalldClusterZone,
                          accept ? "trusted (host.cluster: accept)"
                                 : "Swarm ports only (host.cluster: swarm-only)"));
    std::string arg = fmt::format("--zone={}", kFirewalldClusterZone);
    s.Fw({fmt::format("--new-zone={}", kFirewalldClusterZone)});
    s.Fw({arg, accept ? "--set-target=ACCEPT" : "--set-target=DROP"});
    for (const auto& i : ifaces.cluster) s.Fw({arg, "--change-interface=" + i});
  } else {
    s.Comment("4. No cluster interfaces.");
  }
  s.Line();

  if (policy.swarm.enabled) {
    s.Comment(fmt::format("5. Policy {}: the Swarm ports from swarm.from only, on every interface",
                          kFirewalldSwarmPolicy));
    s.Comment("   (ANY -> HOST, run before every zone's own rules).");
    std::string arg = fmt::format("--policy={}", kFirewalldSwarmPolicy);
    s.Fw({fmt::format("--new-policy={}", kFirewalldSwarmPolicy)});
    s.Fw({arg, fmt::format("--set-priority={}", kSwarmPolicyPriority)});
    s.Fw({arg, "--add-ingress-zone=ANY"});
    s.Fw({arg, "--add-egress-zone=HOST"});
    std::vector<std::string> args = {arg};
    for (const auto& r : rules.swarm_policy) args.push_back("--add-rich-rule=" + r);
    if (args.size() > 1) s.Fw(args, 1);
  } else {
    s.Comment("5. No swarm section: no Swarm policy.");
  }
  s.Line();

  s.Comment("6. Direct rules: the compiled DOCKER-USER part, chain by chain, then the hooks.");
  for (Family f : families) {
    const compile::FamilyState& fs = state.Of(f);
    const char* ipv = Ipv(f);
    auto direct = [&](std::vector<std::string> args) {
      args.insert(args.begin(), "--direct");
      s.Fw(args);
    };
    struct Jump {
      std::string table, chain, target;
    };
    std::vector<Jump> hooks;
    if (policy.swarm.enabled && policy.swarm.encrypted_overlay) {
      direct({"--add-chain", ipv, "filter", compile::kInputChain});
      direct({"--add-rule", ipv, "filter", compile::kInputChain, "0", "-p", "udp", "-m", "udp",
              "--dport", "4789", "-m", "policy", "--dir", "in", "--pol", "none", "-m", "comment",
              "--comment", "swarmwall: swarm encrypted overlay", "-j", "DROP"});
      hooks.push_back({"filter", "INPUT", compile::kInputChain});
    }
    for (const auto& chain : fs.chains) {
      if (chain.name == compile::kInputChain) continue;  // the zones and policy above
      direct({"--add-chain", ipv, chain.table, chain.name});
      for (const auto& rule : chain.rules) {
        std::vector<std::string> args = {"--add-rule", ipv, chain.table, chain.name, "0"};
        for (auto& a : SplitRuleSpec(rule)) args.push_back(std::move(a));
        direct(std::move(args));
      }
    }
    for (const auto& hook : fs.hooks) {
      if (hook.target == compile::kInputChain) continue;
      if (hook.create_chain)
        s.Line(fmt::format("fw --direct --query-chain {0} {1} {2} >/dev/null || "
                           "fw --direct --add-chain {0} {1} {2}",
                           ipv, hook.table, ShellQuote(hook.chain)));
      hooks.push_back({hook.table, hook.chain, hook.target});
    }
    for (const auto& j : hooks) direct({"--add-rule", ipv, j.table, j.chain, "0", "-j", j.target});
  }
  return s.Take();
}

}  // namespace swarmwall::backend
