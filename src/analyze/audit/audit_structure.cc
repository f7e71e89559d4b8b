// The structural checks of audit: what the rules say by themselves, without
// a packet: shadowed rules, rules after a catch-all, chains never jumped to,
// DOCKER-USER and swarmwall's hooks, RELATED/ESTABLISHED and INVALID.
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "analyze/audit/audit.h"
#include "analyze/model/filter_owners.h"
#include "netfilter/modules.h"
#include "netfilter/printer.h"

namespace swarmwall::analyze {
namespace {

using netfilter::Chain;
using netfilter::Part;
using netfilter::Rule;
using netfilter::Ruleset;
using netfilter::Table;
using netfilter::TargetKind;

bool CidrCovers(const netfilter::Cidr& a, const netfilter::Cidr& b) {
  if (a.IsAny()) return true;
  int pa = a.PrefixLength(), pb = b.PrefixLength();
  if (pa < 0 || pb < 0) return a == b;
  return pb >= pa && a.Contains(b.address);
}

// Address A (negated AN) covers B (negated BN).
bool AddressCovers(const netfilter::Cidr& a, bool an, const netfilter::Cidr& b, bool bn) {
  if (!an && a.IsAny()) return true;
  if (an != bn) return false;
  return an ? CidrCovers(b, a) : CidrCovers(a, b);
}

bool NameCovers(std::string_view a, bool an, std::string_view b, bool bn) {
  if (a.empty() && !an) return true;
  if (b.empty()) return false;
  if (an != bn) return false;
  auto covers = [](std::string_view x, std::string_view y) {   // x's names include y's
    if (x == y) return true;
    if (!x.empty() && x.back() == '+') return y.substr(0, x.size() - 1) == x.substr(0, x.size() - 1);
    return false;
  };
  return an ? covers(b, a) : covers(a, b);
}

std::string_view ModuleOf(const Part& p) {
  if (p.kind == Part::Kind::kMatch) return p.text;
  if (p.kind == Part::Kind::kOption) return netfilter::ModuleOfOption(p.id).name;
  return {};
}

bool IsConditionPart(const Part& p) {
  return p.kind == Part::Kind::kOption || p.kind == Part::Kind::kOpaque;
}

// Modules whose match depends on more than the packet: a rule with them
// never covers another.
bool Stateful(std::string_view module) {
  static const std::set<std::string_view> kModules = {
      "limit", "hashlimit", "statistic", "recent", "connlimit", "quota", "time", "nth",
      "connbytes", "u32", "bpf"};
  return kModules.count(module) > 0;
}

bool PortListCovers(const Part& a, const Part& b) {
  auto in = [&](uint16_t lo, uint16_t hi) {
    if (a.value.kind == netfilter::Value::Kind::kPorts) return a.value.ports().lo <= lo && hi <= a.value.ports().hi;
    for (const auto& r : a.value.list())
      if (r.lo <= lo && hi <= r.hi) return true;
    return false;
  };
  if (b.value.kind == netfilter::Value::Kind::kPorts) return in(b.value.ports().lo, b.value.ports().hi);
  if (b.value.kind == netfilter::Value::Kind::kPortList) {
    for (const auto& r : b.value.list())
      if (!in(r.lo, r.hi)) return false;
    return true;
  }
  return false;
}

// One condition of A is implied by B's conditions.
bool ConditionImplied(const Part& a, const Rule& b) {
  if (a.kind == Part::Kind::kOpaque) {
    for (const Part& p : b.parts)
      if (p.kind == Part::Kind::kOpaque && p.text == a.text) return true;
    return false;
  }
  std::string_view name = netfilter::OptionById(a.id).name;
  std::string_view module = ModuleOf(a);
  for (const Part& p : b.parts) {
    if (p.kind != Part::Kind::kOption) continue;
    if (p.id == a.id && p.negated == a.negated && p.text == a.text) return true;
    if (a.negated || p.negated) continue;
    std::string_view pname = netfilter::OptionById(p.id).name;
    // Ports: tcp/udp --dport, multiport --dports / --ports.
    bool a_dport = name == "dport" || name == "dports" || (name == "destination-ports");
    bool p_dport = pname == "dport" || pname == "dports" || pname == "destination-ports";
    bool a_sport = name == "sport" || name == "sports" || name == "source-ports";
    bool p_sport = pname == "sport" || pname == "sports" || pname == "source-ports";
    if ((a_dport && p_dport) || (a_sport && p_sport)) {
      if (PortListCovers(a, p)) return true;
      continue;
    }
    // Connection states: A's set holds B's.
    bool a_state = name == "ctstate" || (module == "state" && name == "state");
    bool p_state = pname == "ctstate" || (ModuleOf(p) == "state" && pname == "state");
    if (a_state && p_state) {
      if ((a.value.lo & p.value.lo) == p.value.lo) return true;
      continue;
    }
  }
  return false;
}

bool IsCommentOrNoop(std::string_view module) { return module == "comment"; }

}  // namespace

bool RuleCovers(const Rule& a, const Rule& b) {
  if (!AddressCovers(a.source, a.source_negated, b.source, b.source_negated)) return false;
  if (!AddressCovers(a.destination, a.destination_negated, b.destination, b.destination_negated))
    return false;
  if (!NameCovers(a.in_interface, a.in_negated, b.in_interface, b.in_negated)) return false;
  if (!NameCovers(a.out_interface, a.out_negated, b.out_interface, b.out_negated)) return false;
  if (a.protocol != 0 || a.protocol_negated) {
    if (a.protocol != b.protocol || a.protocol_negated != b.protocol_negated) return false;
  }
  if (a.fragment != 0 && a.fragment != b.fragment) return false;
  for (const Part& p : a.parts) {
    if (p.kind == Part::Kind::kMatch) {
      if (Stateful(p.text)) return false;
      continue;
    }
    if (!IsConditionPart(p)) continue;
    if (p.kind == Part::Kind::kOption && IsCommentOrNoop(ModuleOf(p))) continue;
    if (!ConditionImplied(p, b)) return false;
  }
  return true;
}

namespace {

// The rule decides the packet's fate in this chain: nothing after it in
// the chain sees a packet it matched.
bool Terminal(const Rule& r, std::string_view table) {
  if (r.is_goto) return true;
  switch (r.target_kind) {
    case TargetKind::kAccept:
    case TargetKind::kDrop:
    case TargetKind::kReturn:
    case TargetKind::kQueue:
      return true;
    case TargetKind::kExtension: {
      std::string_view t = r.target;
      if (t == "REJECT" || t == "NFQUEUE") return true;
      if (table == "nat" && (t == "DNAT" || t == "SNAT" || t == "MASQUERADE" || t == "REDIRECT" ||
                             t == "NETMAP"))
        return true;
      return false;
    }
    default:
      return false;
  }
}

// No condition at all (comments aside).
bool Unconditional(const Rule& r) {
  if (!r.source.IsAny() || r.source_negated || !r.destination.IsAny() || r.destination_negated)
    return false;
  if (!r.in_interface.empty() || !r.out_interface.empty() || r.protocol != 0 || r.fragment != 0)
    return false;
  for (const Part& p : r.parts) {
    if (p.kind == Part::Kind::kOpaque) return false;
    if (p.kind == Part::Kind::kMatch && p.text != "comment") return false;
    if (p.kind == Part::Kind::kOption && ModuleOf(p) != "comment") return false;
  }
  return true;
}

std::string Verdict(const Rule& r) {
  if (r.is_goto) return "goto " + std::string(r.target);
  if (r.target.empty()) return "count";
  return std::string(r.target);
}

bool AcceptLike(const Rule& r) {
  return r.target_kind == TargetKind::kAccept || r.target_kind == TargetKind::kReturn;
}
bool DropLike(const Rule& r) {
  return r.target_kind == TargetKind::kDrop || r.target == "REJECT";
}

bool HasState(const Rule& r, uint64_t bit, bool* negated = nullptr) {
  for (const Part& p : r.parts) {
    if (p.kind != Part::Kind::kOption) continue;
    std::string_view name = netfilter::OptionById(p.id).name;
    if (name == "ctstate" || (name == "state" && ModuleOf(p) == "state")) {
      if (p.value.lo & bit) {
        if (negated) *negated = p.negated;
        return true;
      }
    }
  }
  return false;
}

constexpr uint64_t kInvalidBit = 1, kEstablishedBit = 8;

struct Flat {
  const Rule* rule;
  std::string chain;
  int number;
};

// The chain with every unconditional jump at its place inlined (depth 4):
// the order in which a packet meets the rules when no condition stops it.
// At most kMaxFlat rules: unconditional jumps fanning out (a chain jumping
// to B a thousand times, B to C as often) must not take memory without end.
constexpr size_t kMaxFlat = 100'000;
void Flatten(const Table& t, const Chain& c, int depth, std::vector<Flat>& out) {
  int n = 0;
  for (const Rule& r : c.rules) {
    if (out.size() >= kMaxFlat) return;
    ++n;
    if (r.target_kind == TargetKind::kChain && Unconditional(r) && depth < 4) {
      if (const Chain* sub = t.FindChain(r.target)) {
        Flatten(t, *sub, depth + 1, out);
        if (r.is_goto) return;
        continue;
      }
    }
    out.push_back({&r, std::string(c.name), n});
  }
}

void Shadowed(const Ruleset& rs, const std::string& file, const Table& t, const Chain& c,
              std::vector<AuditFinding>& out) {
  const size_t n = c.rules.size();
  // After a catch-all.
  size_t catch_all = n;
  for (size_t i = 0; i < n; ++i)
    if (Terminal(c.rules[i], t.name) && Unconditional(c.rules[i])) {
      catch_all = i;
      break;
    }
  if (catch_all + 1 < n) {
    AuditFinding f;
    bool docker_user = c.name == "DOCKER-USER" && c.rules[catch_all].target_kind == TargetKind::kReturn;
    f.severity = docker_user ? AuditSeverity::kHigh : AuditSeverity::kMedium;
    f.code = "after-catch-all";
    f.title = fmt::format("{} {}: rules {}-{} come after rule {} ({} everything) and never run",
                          t.name, c.name, catch_all + 2, n, catch_all + 1, Verdict(c.rules[catch_all]));
    f.meaning = docker_user
                    ? "Rules appended to DOCKER-USER after its final RETURN never see a packet: the "
                      "filtering of published container ports they were meant to do is not done."
                    : "Every packet that reaches this chain is decided by the catch-all rule; the rules "
                      "after it are dead text, and whatever they were meant to do does not happen.";
    f.fix = docker_user ? "Insert the rules before the RETURN (iptables -I DOCKER-USER N ...), or let "
                          "swarmwall own them (containers: section of the policy)."
                        : "Move the rules above the catch-all rule, or delete them.";
    f.rules.push_back(MakeRuleRef(rs, file, t.name, c.name, static_cast<int>(catch_all + 1)));
    for (size_t j = catch_all + 1; j < n && f.rules.size() < 6; ++j)
      f.rules.push_back(MakeRuleRef(rs, file, t.name, c.name, static_cast<int>(j + 1)));
    out.push_back(std::move(f));
  }
  // Shadowed by an earlier terminal rule (long chains: the 400 rules before).
  const size_t limit = std::min(n, catch_all + 1);
  for (size_t j = 1; j < limit; ++j) {
    const Rule& b = c.rules[j];
    for (size_t i = j > 400 ? j - 400 : 0; i < j; ++i) {
      const Rule& a = c.rules[i];
      if (!Terminal(a, t.name) || !RuleCovers(a, b)) continue;
      bool same = Verdict(a) == Verdict(b) || (AcceptLike(a) && AcceptLike(b) && t.name == "filter" &&
                                               a.target_kind == b.target_kind);
      AuditFinding f;
      f.severity = same ? AuditSeverity::kLow : AuditSeverity::kMedium;
      f.code = "shadowed-rule";
      f.title = fmt::format("{} {}: rule {} ({}) can never match: rule {} ({}) takes all its packets first",
                            t.name, c.name, j + 1, Verdict(b), i + 1, Verdict(a));
      f.meaning = same ? "The later rule is redundant: it would do what the earlier one already does."
                       : "The later rule's verdict is never applied: the earlier rule decides every packet "
                         "it would have matched, with a different verdict.";
      f.fix = same ? "Delete the later rule." : "Move the later rule above the earlier one if its verdict is meant, "
                                                "or delete it.";
      f.rules.push_back(MakeRuleRef(rs, file, t.name, c.name, static_cast<int>(j + 1)));
      f.rules.push_back(MakeRuleRef(rs, file, t.name, c.name, static_cast<int>(i + 1)));
      out.push_back(std::move(f));
      break;
    }
  }
}

bool IsDockerChain(std::string_view name) {
  return name.starts_with("DOCKER") ;
}

void Unreachable(const Ruleset& rs, const std::string& file, const Table& t, std::vector<AuditFinding>& out) {
  std::set<std::string_view> reached;
  std::vector<const Chain*> todo;
  for (const Chain& c : t.chains)
    if (c.builtin) {
      reached.insert(c.name);
      todo.push_back(&c);
    }
  while (!todo.empty()) {
    const Chain* c = todo.back();
    todo.pop_back();
    for (const Rule& r : c->rules)
      if (r.target_kind == TargetKind::kChain && !reached.count(r.target))
        if (const Chain* sub = t.FindChain(r.target)) {
          reached.insert(sub->name);
          todo.push_back(sub);
        }
  }
  for (const Chain& c : t.chains) {
    if (reached.count(c.name)) continue;
    if (t.name == "filter" && c.name == "DOCKER-USER") continue;   // the hook check says it
    AuditFinding f;
    bool docker = IsDockerChain(c.name);
    f.severity = c.rules.empty() || docker ? AuditSeverity::kInfo : AuditSeverity::kLow;
    f.code = "unreachable-chain";
    f.title = fmt::format("{} {}: chain never jumped to from a built-in chain ({} rule(s))", t.name, c.name,
                          c.rules.size());
    f.meaning = c.rules.empty() ? "An empty chain nothing uses." :
                docker ? "A chain Docker made but does not use in this layout; harmless."
                       : "No packet ever reaches this chain: its rules do nothing. If it was meant to "
                         "filter, its jump is missing (a reload or a restore without it).";
    f.fix = c.rules.empty() || docker ? "Nothing to do (or delete the chain)."
                                      : fmt::format("Add the jump where it belongs (iptables -t {} -I INPUT -j {}), "
                                                    "or delete the chain.", t.name, c.name);
    f.rules.push_back(MakeRuleRef(rs, file, t.name, c.name, 0));
    out.push_back(std::move(f));
  }
}

// Position (1-based) of the first rule of CHAIN that jumps to TARGET, 0 if none.
int JumpPosition(const Chain* chain, std::string_view target) {
  if (!chain) return 0;
  for (size_t i = 0; i < chain->rules.size(); ++i)
    if (chain->rules[i].target_kind == TargetKind::kChain && chain->rules[i].target == target)
      return static_cast<int>(i + 1);
  return 0;
}

void Hooks(const Ruleset& rs, const std::string& file, std::vector<AuditFinding>& out) {
  const Table* filter = rs.FindTable("filter");
  if (!filter) return;
  bool docker = filter->FindChain("DOCKER") || filter->FindChain("DOCKER-FORWARD") ||
                filter->FindChain("DOCKER-ISOLATION-STAGE-1");
  const Chain* forward = filter->FindChain("FORWARD");
  const Chain* user = filter->FindChain("DOCKER-USER");
  if (docker && !user) {
    AuditFinding f;
    f.severity = AuditSeverity::kHigh;
    f.code = "docker-user-missing";
    f.title = "filter: Docker's chains are here but DOCKER-USER is not";
    f.meaning = "DOCKER-USER is the only place where rules filter traffic to published container ports "
                "before Docker accepts it; without it nothing filters them (published ports are open "
                "to everyone who reaches the host).";
    f.fix = "Restart dockerd so that it recreates DOCKER-USER, then apply swarmwall (or your rules) again.";
    f.rules.push_back(MakeRuleRef(rs, file, "filter", "FORWARD", 0));
    out.push_back(std::move(f));
  } else if (user && forward) {
    // One judgement with doctor and status (model/filter_owners.h).
    DockerUserHook hook = JudgeDockerUserHook(rs);
    int pos = hook.jump;
    bool filters = hook.filters;
    if (hook.NotHooked()) {
      AuditFinding f;
      f.severity = filters ? AuditSeverity::kCritical : AuditSeverity::kHigh;
      f.code = "docker-user-not-hooked";
      f.title = "filter FORWARD does not jump to DOCKER-USER";
      f.meaning = std::string("Forwarded traffic never enters DOCKER-USER (moby#48560: after a firewall reload "
                              "Docker 28 can lose the jump, failing open). ") +
                  (filters ? "Its rules filter nothing: published container ports are open to everyone."
                           : "Nothing filters published container ports.");
      f.fix = "iptables -I FORWARD 1 -j DOCKER-USER (or restart dockerd), then re-apply swarmwall; "
              "`swarmwall agent` repairs this by itself.";
      f.rules.push_back(MakeRuleRef(rs, file, "filter", "FORWARD", 0));
      f.rules.push_back(MakeRuleRef(rs, file, "filter", "DOCKER-USER", 0));
      out.push_back(std::move(f));
    } else if (pos > 1) {
      // Rules before the jump that decide packets.
      bool decides = false;
      for (int i = 0; i < pos - 1; ++i)
        decides |= Terminal(forward->rules[i], "filter");
      if (decides) {
        AuditFinding f;
        f.severity = AuditSeverity::kMedium;
        f.code = "docker-user-not-first";
        f.title = fmt::format("filter FORWARD jumps to DOCKER-USER at rule {}, after rules that decide", pos);
        f.meaning = "Packets the rules before the jump accept or drop never reach DOCKER-USER's filtering.";
        f.fix = "Make the jump FORWARD's first rule (iptables -D FORWARD N; iptables -I FORWARD 1 -j DOCKER-USER).";
        for (int i = 1; i <= pos; ++i) f.rules.push_back(MakeRuleRef(rs, file, "filter", "FORWARD", i));
        out.push_back(std::move(f));
      }
    }
  }
  // swarmwall's own chains.
  struct Own { const char* chain; const char* from; const char* alt; };
  for (Own own : {Own{"SWARMWALL-INPUT", "INPUT", nullptr}, Own{"SWARMWALL-USER", "DOCKER-USER", "FORWARD"}}) {
    if (!filter->FindChain(own.chain)) continue;
    int pos = JumpPosition(filter->FindChain(own.from), own.chain);
    if (pos == 0 && own.alt) pos = JumpPosition(filter->FindChain(own.alt), own.chain);
    if (pos == 1) continue;
    AuditFinding f;
    f.severity = AuditSeverity::kHigh;
    f.code = "swarmwall-not-hooked";
    f.title = pos == 0 ? fmt::format("filter {} exists but {} does not jump to it", own.chain, own.from)
                       : fmt::format("filter {} jumps to {} at rule {}, not first", own.from, own.chain, pos);
    f.meaning = "swarmwall's policy is in the chain but packets do not (all) go through it: the policy "
                "is not (fully) enforced.";
    f.fix = "swarmwall apply POLICY (or run `swarmwall agent`, which repairs hooks).";
    f.rules.push_back(MakeRuleRef(rs, file, "filter", own.from, pos));
    out.push_back(std::move(f));
  }
}

// INPUT closed by default: a DROP policy, or an unconditional drop/reject at the end.
bool Closed(const Table& filter, const Chain& c, const std::vector<Flat>& flat) {
  if (c.policy == "DROP") return true;
  (void)filter;
  for (const Flat& f : flat)
    if (Unconditional(*f.rule) && DropLike(*f.rule)) return true;
  // A drop of everything on some interface (swarmwall's "-i eth0 -j DROP").
  for (const Flat& f : flat) {
    const Rule& r = *f.rule;
    if (DropLike(r) && !r.in_interface.empty() && !r.in_negated && r.source.IsAny() && r.protocol == 0 &&
        r.destination.IsAny() && r.parts.empty())
      return true;
  }
  return false;
}

void ConnectionStates(const Ruleset& rs, const std::string& file, std::vector<AuditFinding>& out) {
  const Table* filter = rs.FindTable("filter");
  if (!filter) return;
  const Chain* input = filter->FindChain("INPUT");
  if (!input) return;
  std::vector<Flat> flat;
  Flatten(*filter, *input, 0, flat);
  if (!Closed(*filter, *input, flat)) return;
  int est = -1, invalid = -1;
  for (size_t i = 0; i < flat.size(); ++i) {
    const Rule& r = *flat[i].rule;
    bool neg = false;
    if (est < 0 && r.target_kind == TargetKind::kAccept && HasState(r, kEstablishedBit, &neg) && !neg &&
        r.source.IsAny() && r.in_interface.empty() && r.protocol == 0)
      est = static_cast<int>(i);
    if (invalid < 0 && DropLike(r) && HasState(r, kInvalidBit, &neg) && !neg) invalid = static_cast<int>(i);
  }
  if (est < 0) {
    AuditFinding f;
    f.severity = AuditSeverity::kMedium;
    f.code = "established-missing";
    f.title = "filter INPUT drops by default but never accepts RELATED,ESTABLISHED";
    f.meaning = "Replies to connections the host opens itself (DNS, package mirrors, the Swarm's own "
                "connections to other managers) are dropped unless a port rule happens to match them.";
    f.fix = "iptables -I INPUT 1 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT";
    f.rules.push_back(MakeRuleRef(rs, file, "filter", "INPUT", 0));
    out.push_back(std::move(f));
  } else {
    // Rules before it that decide (other than loopback accepts and INVALID drops).
    std::vector<int> before;
    for (int i = 0; i < est; ++i) {
      const Rule& r = *flat[i].rule;
      if (!Terminal(r, "filter")) continue;
      if (r.in_interface == "lo" && !r.in_negated && AcceptLike(r)) continue;
      if (HasState(r, kInvalidBit) && DropLike(r)) continue;
      before.push_back(i);
    }
    if (!before.empty()) {
      AuditFinding f;
      f.severity = AuditSeverity::kLow;
      f.code = "established-not-first";
      f.title = fmt::format("filter {}: the RELATED,ESTABLISHED accept (rule {}) comes after {} rule(s) that decide",
                            flat[est].chain, flat[est].number, before.size());
      f.meaning = "Every packet of every open connection walks the rules before it; a drop among them "
                  "cuts connections that are already established.";
      f.fix = "Put the RELATED,ESTABLISHED accept first (after the loopback accept).";
      f.rules.push_back(MakeRuleRef(rs, file, "filter", flat[est].chain, flat[est].number));
      for (int i : before) {
        if (f.rules.size() >= 6) break;
        f.rules.push_back(MakeRuleRef(rs, file, "filter", flat[i].chain, flat[i].number));
      }
      out.push_back(std::move(f));
    }
  }
  if (invalid < 0) {
    AuditFinding f;
    f.severity = AuditSeverity::kLow;
    f.code = "invalid-not-dropped";
    f.title = "filter INPUT does not drop conntrack INVALID packets";
    f.meaning = "Packets that belong to no connection (stray ACKs, out-of-window segments) are judged by "
                "the port rules as if they opened one; scanners use them to map the host.";
    f.fix = "iptables -I INPUT 2 -m conntrack --ctstate INVALID -j DROP (after the RELATED,ESTABLISHED accept)";
    f.rules.push_back(MakeRuleRef(rs, file, "filter", "INPUT", 0));
    out.push_back(std::move(f));
  }
}

}  // namespace

const char* AuditSeverityName(AuditSeverity s) {
  switch (s) {
    case AuditSeverity::kCritical: return "critical";
    case AuditSeverity::kHigh: return "high";
    case AuditSeverity::kMedium: return "medium";
    case AuditSeverity::kLow: return "low";
    case AuditSeverity::kInfo: return "info";
  }
  return "?";
}

std::string RuleRef::Where() const {
  std::string s = table + " " + chain;
  if (number > 0) s += fmt::format(" rule {}", number);
  else s += " (policy)";
  if (!file.empty() && line > 0) s += fmt::format(" ({}:{})", file, line);
  return s;
}

RuleRef MakeRuleRef(const Ruleset& rs, const std::string& file, std::string_view table, std::string_view chain,
                    int number) {
  RuleRef r;
  r.family = rs.family;
  r.table = std::string(table);
  r.chain = std::string(chain);
  r.number = number;
  r.file = file;
  const Chain* c = rs.FindChain(table, chain);
  if (c && number > 0 && static_cast<size_t>(number) <= c->rules.size()) {
    const Rule& rule = c->rules[number - 1];
    r.line = static_cast<int>(rule.line);
    netfilter::PrintRule(rule, c->name, rs.family, r.text);
    while (!r.text.empty() && r.text.back() == '\n') r.text.pop_back();
  } else if (c) {
    r.text = c->builtin ? fmt::format(":{} {}", c->name, c->policy) : fmt::format(":{} -", c->name);
  }
  return r;
}

void AuditStructure(const Ruleset& rs, const std::string& file, std::vector<AuditFinding>& out) {
  for (const Table& t : rs.tables) {
    for (const Chain& c : t.chains) Shadowed(rs, file, t, c, out);
    Unreachable(rs, file, t, out);
  }
  Hooks(rs, file, out);
  ConnectionStates(rs, file, out);
}

AuditSeverity WorstSeverity(const std::vector<AuditFinding>& findings) {
  AuditSeverity worst = AuditSeverity::kInfo;
  for (const auto& f : findings) worst = std::min(worst, f.severity);
  return worst;
}

}  // namespace swarmwall::analyze
