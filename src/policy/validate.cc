// The checks that look at the policy as a whole: names that must exist
// (sets, nodes, labels, roles, services), duplicates, selectors that select
// nothing, rules that can never decide anything, and risky choices (warnings).
// Also completes the model: the `nodes` set, services resolved into traffic,
// set entries sorted.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <set>

#include "policy/internal.h"
#include "policy/policy.h"
#include "policy/services.h"

namespace swarmwall::policy {
namespace {

constexpr size_t kMaxShadowRules = 2000;  // per section; beyond, shadowing is not checked

std::string At(const SourceLocation& where) {
  return fmt::format("{}:{}", where.line, where.column);
}

void SortUnique(std::vector<Cidr>& v) {
  if (!std::is_sorted(v.begin(), v.end())) std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
}

// Whether MATCH resolves to at least one address of FAMILY (what
// !policy.Resolve(match, family).empty() says, without building the list).
bool HasFamily(const Policy& p, const AddressMatch& match, Family family) {
  for (const auto& t : match.terms) {
    if (t.kind == AddressTerm::Kind::kCidr) {
      if (t.cidr.family() == family) return true;
    } else if (const AddressSet* s = p.FindSet(t.set)) {
      if (!s->Entries(family).empty()) return true;
    }
  }
  return false;
}

class Validator {
 public:
  Validator(Policy& p, Diagnostics& d) : p_(p), d_(d) {}
  void Run();

 private:
  void Error(const SourceLocation& at, std::string m) { d_.Error(at, std::move(m)); }
  void Warn(const SourceLocation& at, std::string m) { d_.Warn(at, std::move(m)); }

  void FillNodesSet();
  void CheckNodes();
  void CheckSets();
  void CheckAddresses(const AddressMatch& m, std::string_view what);
  void CheckSwarmReach();
  void CheckSelector(const Selector& s);
  void CheckRule(Rule& r, Action default_action, bool section_has_allow);
  void CheckShadowing(const std::vector<Rule>& rules);

  Policy& p_;
  Diagnostics& d_;
  std::set<std::string> used_sets_;
};

// 0.0.0.0/0 or ::/0 as its two /1 halves: ipset's hash:net takes prefixes
// of 1 bit and more, and the halves match the same addresses.
void SplitWholeFamily(std::vector<Cidr>& entries) {
  auto any = std::find_if(entries.begin(), entries.end(), [](const Cidr& c) { return c.IsAny(); });
  if (any == entries.end()) return;
  IpAddress low = any->address, high = low;
  high.bytes[0] = 0x80;
  *any = Cidr::Prefix(low, 1);
  entries.push_back(Cidr::Prefix(high, 1));
  SortUnique(entries);
}

// The share of FAMILY's addresses CIDRS (sorted, prefixes) cover together.
double Coverage(const std::vector<Cidr>& cidrs) {
  double share = 0;
  const Cidr* last = nullptr;  // the last one counted: prefixes nest or are disjoint,
                               // and sorted, a covered one follows what covers it
  for (const auto& c : cidrs) {
    if (c.PrefixLength() < 0 || (last && CidrContains(*last, c))) continue;
    share += std::ldexp(1.0, -c.PrefixLength());
    last = &c;
  }
  return share;
}

void Validator::Run() {
  FillNodesSet();
  for (auto& s : p_.sets) {
    SortUnique(s.ipv4);
    SortUnique(s.ipv6);
    SplitWholeFamily(s.ipv4);
    SplitWholeFamily(s.ipv6);
  }
  if (p_.interfaces.public_.empty() && !d_.HasErrors())
    Error({p_.file, 1, 1}, "no public interface: name the interfaces filtering applies to");
  CheckNodes();
  if (p_.swarm.enabled) {
    if (p_.nodes.empty() && !p_.auto_nodes)
      Error(p_.swarm.where,
            "swarm needs the cluster's nodes: list them under nodes, or write 'nodes: auto'");
    CheckAddresses(p_.swarm.from, "swarm.from");
    if (p_.swarm.from.Any())
      Warn(p_.swarm.where,
           "swarm.from is any: the Swarm's ports (2377, 7946, 4789) are open to everyone");
    else
      CheckSwarmReach();
  }
  struct SectionRef {
    std::vector<Rule>* rules;
    Action default_action;
  };
  SectionRef sections[] = {{&p_.host.rules, Action::kDrop},
                           {&p_.containers.rules, p_.containers.default_action},
                           {&p_.egress.rules, p_.egress.default_action}};
  for (auto& s : sections) {
    bool has_allow = std::any_of(s.rules->begin(), s.rules->end(),
                                 [](const Rule& r) { return r.action == Action::kAccept; });
    for (auto& r : *s.rules) CheckRule(r, s.default_action, has_allow);
    CheckShadowing(*s.rules);
  }
  CheckSets();
}

void Validator::FillNodesSet() {
  auto it =
      std::find_if(p_.sets.begin(), p_.sets.end(), [](const AddressSet& s) { return s.builtin; });
  if (it == p_.sets.end()) {
    AddressSet s;
    s.name = "nodes";
    s.builtin = true;
    p_.sets.insert(p_.sets.begin(), std::move(s));
    it = p_.sets.begin();
  } else if (it != p_.sets.begin()) {
    std::rotate(p_.sets.begin(), it, it + 1);
    it = p_.sets.begin();
  }
  it->ipv4.clear();
  it->ipv6.clear();
  for (const auto& n : p_.nodes)
    for (const auto& a : n.addresses)
      (a.family == Family::kIPv4 ? it->ipv4 : it->ipv6).push_back(Cidr::Prefix(a, a.Bits()));
  SortUnique(it->ipv4);
  SortUnique(it->ipv6);
}

void Validator::CheckNodes() {
  std::map<std::string, const Node*> names;
  std::map<IpAddress, std::pair<const Node*, SourceLocation>> addresses;
  for (const auto& n : p_.nodes) {
    bool from_yaml = n.where.line > 0;
    if (n.name.empty()) {
      if (!from_yaml) Error(n.where, "node without a name");
    } else if (auto [it, fresh] = names.emplace(n.name, &n); !fresh) {
      Error(n.where,
            fmt::format("duplicate node name '{}' (first at {})", n.name, At(it->second->where)));
    }
    if (n.addresses.empty() && !from_yaml)
      Error(n.where, fmt::format("node '{}' has no address", n.name));
    bool v4 = false;
    for (size_t i = 0; i < n.addresses.size(); ++i) {
      const auto& a = n.addresses[i];
      v4 |= a.family == Family::kIPv4;
      SourceLocation at = i < n.address_where.size() ? n.address_where[i] : n.where;
      auto [it, fresh] = addresses.emplace(a, std::make_pair(&n, at));
      if (!fresh)
        Error(at, fmt::format("duplicate node address {}: {} has it too (at {})", a.ToString(),
                              it->second.first == &n ? "this node"
                                                     : "node '" + it->second.first->name + "'",
                              At(it->second.second)));
    }
    if (!p_.ipv6 && !v4 && !n.addresses.empty())
      Warn(n.where, fmt::format("node '{}' has only IPv6 addresses and ipv6 is false", n.name));
  }
}

void Validator::CheckSets() {
  std::map<std::string, const AddressSet*> names;
  for (auto& s : p_.sets) {
    if (auto [it, fresh] = names.emplace(s.name, &s); !fresh) {
      Error(s.where,
            fmt::format("duplicate set name '{}' (first at {})", s.name, At(it->second->where)));
      continue;
    }
    for (Family family : {Family::kIPv4, Family::kIPv6}) {
      size_t n = s.Entries(family).size();
      if (n > kMaxSetEntries)
        Error(s.where,
              fmt::format("set '{}' has {} {} entries{}: the ipset it becomes holds at most {} "
                          "(split it into several sets, or merge addresses into wider CIDRs)",
                          s.name, n, family == Family::kIPv4 ? "IPv4" : "IPv6",
                          s.file.empty() ? "" : fmt::format(" (with {})", s.file), kMaxSetEntries));
    }
    if (s.builtin) continue;
    // An empty set is worth a word only when no error (a bad entry, an
    // unreadable file) explains it.
    if (s.Empty() && !d_.HasErrors())
      Warn(s.where, fmt::format("set '{}' is empty: rules using it match nothing", s.name));
    else if (!p_.ipv6 && s.ipv4.empty())
      Warn(s.where, fmt::format("set '{}' has only IPv6 entries and ipv6 is false", s.name));
    if (!used_sets_.count(s.name) && !d_.HasErrors())
      Warn(s.where, fmt::format("set '{}' is never used", s.name));
  }
}

// swarm.from spelt as addresses rather than `any` may still reach the
// world: a set holding 0.0.0.0/0, a 0.0.0.0/1 ... Warned beyond 1/128 of a
// family's addresses: more than every private range together (10/8,
// 172.16/12, 192.168/16; fc00::/7), never what a cluster's nodes need.
void Validator::CheckSwarmReach() {
  constexpr double kLargeShare = 1.0 / 128;
  for (Family family : {Family::kIPv4, Family::kIPv6}) {
    if (family == Family::kIPv6 && !p_.ipv6) continue;
    double share = Coverage(p_.Resolve(p_.swarm.from, family));
    if (share <= kLargeShare) continue;
    // Pointed at the term that reaches furthest.
    const AddressTerm* widest = nullptr;
    double most = -1;
    for (const auto& t : p_.swarm.from.terms) {
      AddressMatch one;
      one.terms.push_back(t);
      double s = Coverage(p_.Resolve(one, family));
      if (s > most) {
        most = s;
        widest = &t;
      }
    }
    std::string v = family == Family::kIPv4 ? "IPv4" : "IPv6";
    std::string how = share >= 1 ? fmt::format("every {} address", v)
                                 : fmt::format("{:.3g}% of all {} addresses", share * 100, v);
    Warn(widest ? widest->where : p_.swarm.where,
         fmt::format("swarm.from reaches {}{}: the Swarm's ports (2377, 7946, 4789) are open to "
                     "{}",
                     how, widest ? fmt::format(" ('{}' here)", widest->ToString()) : "",
                     share >= 1 ? "everyone" : "a large part of the internet"));
  }
}

void Validator::CheckAddresses(const AddressMatch& m, std::string_view what) {
  for (const auto& t : m.terms) {
    if (t.kind != AddressTerm::Kind::kSet) continue;
    const AddressSet* s = p_.FindSet(t.set);
    if (!s) {
      std::vector<std::string> known;
      for (const auto& k : p_.sets) known.push_back(k.name);
      known.push_back("any");
      Error(t.where,
            fmt::format("unknown set '{}' in {}{}", t.set, what, DidYouMean(t.set, known)));
      continue;
    }
    used_sets_.insert(s->name);
    if (s->builtin && p_.nodes.empty() && !p_.auto_nodes)
      Error(t.where,
            fmt::format("'nodes' in {} stands for no address: the policy lists no nodes", what));
  }
}

void Validator::CheckSelector(const Selector& s) {
  for (const auto& t : s.terms) {
    Selector one;
    one.terms.push_back(t);
    if (std::any_of(p_.nodes.begin(), p_.nodes.end(),
                    [&](const Node& n) { return Selects(one, n); }))
      continue;
    std::vector<std::string> names{"manager", "worker"}, labels;
    for (const auto& n : p_.nodes) {
      names.push_back(n.name);
      labels.insert(labels.end(), n.labels.begin(), n.labels.end());
    }
    switch (t.kind) {
      case SelectorTerm::Kind::kName:
        if (p_.auto_nodes)
          Warn(t.where,
               fmt::format("node '{}' is not listed; it must come from the Swarm (nodes: auto)",
                           t.value));
        else
          Error(t.where, fmt::format("unknown node '{}' in on: selects no node{}", t.value,
                                     DidYouMean(t.value, names)));
        break;
      case SelectorTerm::Kind::kLabel:
        if (!p_.auto_nodes)
          Error(t.where, fmt::format("label:{} selects no node: no node has label '{}'{}", t.value,
                                     t.value, DidYouMean(t.value, labels)));
        break;
      case SelectorTerm::Kind::kRole:
        if (!p_.auto_nodes)
          Error(t.where, fmt::format("{} selects no node: no node has role {}", RoleName(t.role),
                                     RoleName(t.role)));
        break;
    }
  }
}

void Validator::CheckRule(Rule& r, Action default_action, bool section_has_allow) {
  // In `containers:` a name that is not a named service is a Swarm service
  // (`service: web`): its published ports, resolved on the node.
  if (r.section == Section::kContainers && !r.services.empty()) {
    std::vector<NameRef> named;
    std::vector<WorkloadRef> swarm;
    for (const auto& ref : r.services) {
      if (ServiceTraffic(ref.name)) {
        named.push_back(ref);
        continue;
      }
      std::vector<std::string_view> known;
      for (const auto& s : Services()) known.push_back(s.name);
      if (std::string hint = DidYouMean(ref.name, known); !hint.empty())
        Warn(ref.where, fmt::format("'{}' is not a named service: it selects the Swarm service {}{}",
                                    ref.name, ref.name, hint));
      swarm.push_back({WorkloadRef::Kind::kService, ref.name, std::nullopt, ref.where});
    }
    if (!named.empty() && (!swarm.empty() || !r.workloads.empty()))
      Error(named.front().where,
            fmt::format("'{}' is a named service (ports) and the rule also names a Swarm service, "
                        "container or label; write two rules",
                        named.front().name));
    r.services = std::move(named);
    r.workloads.insert(r.workloads.begin(), swarm.begin(), swarm.end());
  }
  if (!r.services.empty()) {
    Traffic t;
    bool first = true;
    for (const auto& ref : r.services) {
      auto st = ServiceTraffic(ref.name);
      if (!st) {
        std::vector<std::string_view> known;
        for (const auto& s : Services()) known.push_back(s.name);
        Error(ref.where,
              fmt::format("unknown service '{}'{}", ref.name, DidYouMean(ref.name, known)));
        continue;
      }
      t = first ? *st : MergeTraffic(t, *st);
      first = false;
      if (ref.name == "docker" && r.action == Action::kAccept)
        Warn(
            ref.where,
            "service docker is the Docker API without TLS: whoever reaches it is root on the node");
    }
    r.traffic = t;
  }
  std::string section(SectionName(r.section));
  CheckAddresses(r.from, section + " rule's from");
  CheckAddresses(r.to, section + " rule's to");
  CheckSelector(r.on);
  if (r.action == Action::kAccept && default_action == Action::kAccept)
    Warn(r.where, fmt::format("allow rule does nothing: {}.default is accept", section));
  if (r.action == Action::kDrop && default_action == Action::kDrop && !section_has_allow &&
      r.section != Section::kHost)
    Warn(r.where,
         fmt::format("deny rule does nothing: {}.default is drop and there is no allow rule",
                     section));
  if (r.action == Action::kAccept && r.section != Section::kEgress && r.from.Any() &&
      r.traffic.Any() && r.workloads.empty())
    Warn(r.where,
         fmt::format("rule allows everything from anywhere{}", r.on.All() ? " on every node" : ""));
  if (!p_.ipv6) {
    const AddressMatch& m = r.section == Section::kEgress ? r.to : r.from;
    if (!m.Any() && !HasFamily(p_, m, Family::kIPv4) && HasFamily(p_, m, Family::kIPv6))
      Warn(r.where, "rule matches only IPv6 addresses and ipv6 is false: it does nothing");
  }
}

// ---------------------------------------------------------------- shadowing

// An address list rules resolve to, shared by every rule whose terms are
// the same: resolved, sorted and measured once, however many rules use it.
struct ResolvedList {
  int id = 0;
  const std::vector<Cidr>* cidrs = nullptr;  // `own`, or a set's (sorted) entries
  std::vector<Cidr> own;
  std::vector<int> lengths;  // prefix lengths present, ascending
};

// What one rule stands for, expanded once.
struct Expanded {
  int nodes = 0;                             // id of the listed nodes selected
  const ResolvedList *from[2], *to[2];       // [0] IPv4, [1] IPv6
};

bool CidrsCover(const std::vector<Cidr>& outer, const std::vector<int>& lengths,
                const std::vector<Cidr>& inner) {
  for (const auto& c : inner) {
    int len = c.PrefixLength();
    bool in = false;
    for (int q : lengths) {
      if (q > len) break;
      if (std::binary_search(outer.begin(), outer.end(), Cidr::Prefix(c.address, q))) {
        in = true;
        break;
      }
    }
    if (!in) return false;
  }
  return true;
}

// A rule's traffic in a few numbers, to rule out most pairs before
// Traffic::Covers looks at them: false only when E cannot cover L.
struct TrafficSummary {
  bool any = false;
  uint32_t protocols = 0, all_ports = 0;  // bits by protocol
  uint32_t lo = 65536, hi = 0;            // span of the listed port ranges
  explicit TrafficSummary(const Traffic& t) : any(t.Any()) {
    for (const auto& p : t.protocols) {
      uint32_t bit = 1u << static_cast<unsigned>(p.protocol);
      protocols |= bit;
      if (p.ports.empty()) all_ports |= bit;
      for (const auto& r : p.ports) {
        lo = std::min<uint32_t>(lo, r.first);
        hi = std::max<uint32_t>(hi, r.last);
      }
    }
  }
};

bool MayCover(const TrafficSummary& e, const TrafficSummary& l) {
  if (e.any) return true;
  if (l.any || (l.protocols & ~e.protocols) || (l.all_ports & ~e.all_ports)) return false;
  return e.all_ports != 0 || l.lo > l.hi || (e.lo <= l.lo && l.hi <= e.hi);
}

bool UsesNodesSet(const AddressMatch& m) {
  return std::any_of(m.terms.begin(), m.terms.end(), [](const AddressTerm& t) {
    return t.kind == AddressTerm::Kind::kSet && t.set == "nodes";
  });
}

// Resolves address matches, each distinct one once, and answers "does list
// E cover list L" once per pair of lists.
class ResolvedLists {
 public:
  explicit ResolvedLists(const Policy& p) : p_(p) {}

  const ResolvedList* Get(const AddressMatch& m, Family family) {
    std::vector<std::string> parts;
    for (const auto& t : m.terms)
      parts.push_back(t.kind == AddressTerm::Kind::kSet ? "s " + t.set : "c " + t.cidr.ToString());
    std::sort(parts.begin(), parts.end());
    std::string key = family == Family::kIPv4 ? "4" : "6";
    for (const auto& part : parts) key += "\n" + part;
    auto& slot = lists_[key];
    if (slot) return slot.get();
    slot = std::make_unique<ResolvedList>();
    slot->id = static_cast<int>(lists_.size());
    const AddressSet* only =
        m.terms.size() == 1 && m.terms[0].kind == AddressTerm::Kind::kSet ? p_.FindSet(m.terms[0].set)
                                                                          : nullptr;
    if (only) {
      slot->cidrs = &only->Entries(family);  // sorted and unique already
    } else {
      slot->own = p_.Resolve(m, family);
      slot->cidrs = &slot->own;
    }
    for (const auto& c : *slot->cidrs) {
      int len = c.PrefixLength();
      if (std::find(slot->lengths.begin(), slot->lengths.end(), len) == slot->lengths.end())
        slot->lengths.push_back(len);
    }
    std::sort(slot->lengths.begin(), slot->lengths.end());
    return slot.get();
  }

  bool Covers(const ResolvedList& e, const ResolvedList& l) {
    if (e.id == l.id) return true;
    auto [it, fresh] = covers_.emplace(std::pair{e.id, l.id}, false);
    if (fresh) it->second = CidrsCover(*e.cidrs, e.lengths, *l.cidrs);
    return it->second;
  }

 private:
  const Policy& p_;
  std::map<std::string, std::unique_ptr<ResolvedList>> lists_;
  std::map<std::pair<int, int>, bool> covers_;
};

void Validator::CheckShadowing(const std::vector<Rule>& rules) {
  if (rules.size() > kMaxShadowRules) {
    Warn(rules[kMaxShadowRules].where,
         fmt::format("more than {} rules in {}: shadowed rules are not looked for", kMaxShadowRules,
                     SectionName(rules[0].section)));
    return;
  }
  // Sets are sorted here already (Run), so a one-set list is the set itself.
  ResolvedLists lists(p_);
  std::map<std::vector<bool>, int> node_ids;  // the listed nodes a rule selects
  std::vector<const std::vector<bool>*> node_lists;
  std::vector<Expanded> ex(rules.size());
  std::vector<TrafficSummary> traffic;
  for (size_t i = 0; i < rules.size(); ++i) {
    const Rule& r = rules[i];
    traffic.emplace_back(r.traffic);
    std::vector<bool> selected;
    for (const auto& n : p_.nodes) selected.push_back(Selects(r.on, n));
    auto [it, fresh] = node_ids.emplace(std::move(selected), static_cast<int>(node_ids.size()));
    if (fresh) node_lists.push_back(&it->first);
    ex[i].nodes = it->second;
    for (int f = 0; f < 2; ++f) {
      Family family = f == 0 ? Family::kIPv4 : Family::kIPv6;
      ex[i].from[f] = lists.Get(r.from, family);
      ex[i].to[f] = lists.Get(r.to, family);
    }
  }
  // Whether the nodes of one id include those of another, once per pair.
  std::map<std::pair<int, int>, bool> nodes_include;
  auto listed_nodes_cover = [&](int e, int l) {
    if (e == l) return true;
    auto [it, fresh] = nodes_include.emplace(std::pair{e, l}, true);
    if (fresh) {
      const auto &ne = *node_lists[static_cast<size_t>(e)], &nl = *node_lists[static_cast<size_t>(l)];
      for (size_t k = 0; k < ne.size(); ++k)
        if (nl[k] && !ne[k]) {
          it->second = false;
          break;
        }
    }
    return it->second;
  };
  auto nodes_cover = [&](size_t e, size_t l) {
    const Selector &se = rules[e].on, &sl = rules[l].on;
    if (se.All()) return true;
    if (!p_.auto_nodes) return listed_nodes_cover(ex[e].nodes, ex[l].nodes);
    if (sl.All()) return false;
    for (const auto& t : sl.terms) {
      bool same = std::any_of(se.terms.begin(), se.terms.end(), [&](const SelectorTerm& o) {
        return o.kind == t.kind && o.role == t.role && o.value == t.value;
      });
      const Node* n = t.kind == SelectorTerm::Kind::kName ? p_.FindNode(t.value) : nullptr;
      if (!same && !(n && Selects(se, *n))) return false;
    }
    return true;
  };
  auto addresses_cover = [&](const AddressMatch& me, const AddressMatch& ml,
                             const ResolvedList* const* ce, const ResolvedList* const* cl) {
    if (me.Any()) return true;
    if (ml.Any()) return false;
    if (p_.auto_nodes && UsesNodesSet(ml) && !UsesNodesSet(me)) return false;
    return lists.Covers(*ce[0], *cl[0]) && lists.Covers(*ce[1], *cl[1]);
  };
  auto covers = [&](size_t e, size_t l) {
    // Ports known only on the node: neither shadows nor is shadowed here.
    if (!rules[e].workloads.empty() || !rules[l].workloads.empty()) return false;
    return MayCover(traffic[e], traffic[l]) && rules[e].traffic.Covers(rules[l].traffic) &&
           nodes_cover(e, l) &&
           addresses_cover(rules[e].from, rules[l].from, ex[e].from, ex[l].from) &&
           addresses_cover(rules[e].to, rules[l].to, ex[e].to, ex[l].to);
  };
  for (size_t l = 0; l < rules.size(); ++l) {
    for (size_t e = 0; e < l; ++e) {
      if (!covers(e, l)) continue;
      if (rules[e].action == rules[l].action)
        Warn(
            rules[l].where,
            fmt::format("rule is shadowed by the {} rule at {}, which matches everything "
                        "it does: it never decides anything",
                        rules[e].action == Action::kAccept ? "allow" : "deny", At(rules[e].where)));
      else
        Warn(rules[l].where,
             fmt::format("rule never matches: the deny rule at {} drops everything it allows",
                         At(rules[e].where)));
      break;
    }
  }
}

}  // namespace

void ValidateInto(Policy& policy, Diagnostics& diagnostics) {
  Validator(policy, diagnostics).Run();
}

LoadResult Validate(Policy policy) {
  Diagnostics d;
  ValidateInto(policy, d);
  std::string file = policy.file;
  return d.Finish(std::move(policy), file);
}

}  // namespace swarmwall::policy
