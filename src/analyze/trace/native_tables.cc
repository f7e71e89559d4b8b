#include "analyze/trace/native_tables.h"

#include <algorithm>

#include <fmt/format.h>

namespace swarmwall::analyze {

using netfilter::Family;
using netfilter::NftFamily;
using netfilter::NftRule;
using netfilter::NftStatement;
using netfilter::NftVerdict;

namespace {

bool BelongsTo(NftFamily f, Family family) {
  return f == NftFamily::kInet || (f == NftFamily::kIp && family == Family::kIPv4) ||
         (f == NftFamily::kIp6 && family == Family::kIPv6);
}

Action VerdictAction(const NftVerdict& v) {
  Action a;
  switch (v.kind) {
    case NftVerdict::kAccept: a.kind = Action::kAccept; break;
    case NftVerdict::kDrop: a.kind = Action::kDrop; break;
    case NftVerdict::kReturn: a.kind = Action::kReturn; break;
    case NftVerdict::kQueue: a.kind = Action::kQueue; break;
    case NftVerdict::kJump:
    case NftVerdict::kGoto:
      a.kind = v.kind == NftVerdict::kJump ? Action::kJump : Action::kGoto;
      a.chain = v.chain_index;
      break;
    case NftVerdict::kContinue:
    case NftVerdict::kNone:
      a.kind = Action::kNone;
      break;
  }
  return a;
}

class RuleCompiler {
 public:
  RuleCompiler(const netfilter::NftTable& table, NativeStore& store, CompiledChain& chain, Family family)
      : table_(table), store_(store), chain_(chain), family_(family == Family::kIPv4 ? 4 : 6) {}

  void Compile(const NftRule& rule, int number) {
    rule_ = &rule;
    number_ = number;
    pending_.clear();
    after_ = -1;
    bool emitted = false;
    for (const NftStatement& s : rule.statements) {
      switch (s.kind) {
        case NftStatement::kMatch:
          pending_.push_back(Condition(s, nullptr));
          break;
        case NftStatement::kLimit: {
          Match m;
          if (s.negated) {
            m.kind = MatchKind::kUnknown;
            m.module = "nft";
            m.text = s.text;
            m.why = "a rate limit (over): depends on the traffic before this packet";
          } else {
            m.kind = MatchKind::kAlways;   // as iptables' limit: taken as matching
            m.text = s.text;
          }
          pending_.push_back(m);
          break;
        }
        case NftStatement::kNoEffect:
          break;
        case NftStatement::kUnknown:
          if (s.text.starts_with("{\"match\"")) {
            Match m;
            m.kind = MatchKind::kUnknown;
            m.module = "nft";
            m.text = s.text;
            m.why = "an nftables expression the analyzer does not model";
            pending_.push_back(m);
          } else {
            Action a;
            a.kind = Action::kUnknown;
            Emit(a, &s);
            emitted = true;
          }
          break;
        case NftStatement::kVerdict:
          Emit(VerdictAction(s.verdict), nullptr);
          return;
        case NftStatement::kVmap: {
          // one compiled rule per element; at most one of them matches
          std::vector<Match> prefix = pending_;
          const auto& elements = s.set >= 0 ? table_.sets[s.set].elements : s.values;
          bool known = s.set < 0 || !table_.sets[s.set].key_types.empty();
          if (!known) {
            Action a;
            a.kind = Action::kUnknown;
            Emit(a, &s);
            return;
          }
          int after = after_;
          for (const auto& el : elements) {
            pending_ = prefix;
            pending_.push_back(Condition(s, &el));
            after_ = after;
            Emit(VerdictAction(el.verdict), nullptr);
          }
          if (elements.empty()) {
            pending_ = prefix;
            Match never;
            never.kind = MatchKind::kProtocol;
            never.a = 256;   // no protocol: an empty map matches nothing
            never.text = s.text;
            pending_.push_back(never);
            Emit(Action{}, nullptr);
          }
          return;
        }
        case NftStatement::kReject: {
          if (s.only_family && s.only_family != family_) return;   // its hidden nfproto match fails
          if (s.tcp_only) {
            Match tcp;
            tcp.kind = MatchKind::kProtocol;
            tcp.a = 6;
            tcp.text = "meta l4proto tcp";
            pending_.push_back(tcp);
          }
          Action a;
          a.kind = Action::kReject;
          Emit(a, nullptr);
          return;
        }
        case NftStatement::kDnat:
        case NftStatement::kSnat:
        case NftStatement::kMasquerade:
        case NftStatement::kRedirect: {
          if (s.only_family && s.only_family != family_) break;   // the other family's packets: no effect
          Action a;
          a.kind = s.kind == NftStatement::kDnat ? Action::kDnat
                   : s.kind == NftStatement::kSnat ? Action::kSnat
                   : s.kind == NftStatement::kMasquerade ? Action::kMasquerade : Action::kRedirect;
          a.has_addr = s.has_addr;
          a.addr_lo = s.addr_lo;
          a.addr_hi = s.addr_hi;
          a.port_lo = s.port_lo;
          a.port_hi = s.port_hi;
          Emit(a, nullptr);
          return;   // a NAT statement ends the rule (NF_ACCEPT)
        }
        case NftStatement::kSetMark:
        case NftStatement::kSetCtMark: {
          Action a;
          if (s.from_other) {
            a.kind = Action::kConnmark;
            a.mode = s.kind == NftStatement::kSetMark ? 2 : 1;   // restore / save
          } else if (s.kind == NftStatement::kSetMark) {
            a.kind = Action::kMark;
            a.mask = 0xffffffff;
            a.value = static_cast<uint32_t>(s.value);
          } else {
            a.kind = Action::kConnmark;
            a.mode = 0;
            a.mask = 0xffffffff;
            a.value = static_cast<uint32_t>(s.value);
          }
          Emit(a, nullptr);
          emitted = true;
          break;
        }
        case NftStatement::kNotrack: {
          Action a;
          a.kind = Action::kNotrack;
          Emit(a, nullptr);
          emitted = true;
          break;
        }
      }
    }
    // No verdict: the rule continues to the next one (matches alone, or
    // matches after the last side effect, change nothing).
    if (!emitted || !pending_.empty()) Emit(Action{}, nullptr);
  }

 private:
  Match Condition(const NftStatement& s, const netfilter::NftElement* element) {
    NftCondition& c = store_.conditions.emplace_back();
    c.key = s.key;
    c.op = s.op;
    c.element = element;
    if (s.set >= 0) {
      c.values = &table_.sets[s.set].elements;
      c.has_values = !table_.sets[s.set].key_types.empty();
    } else {
      c.values = &s.values;
    }
    c.text = s.text;
    if (element) {
      std::vector<std::string> parts;
      for (size_t i = 0; i < element->key.size(); ++i) {
        const auto& p = element->key[i];
        auto type = i < s.key.size() ? netfilter::ValueTypeOf(s.key[i].kind) : netfilter::NftValueType::kNumber;
        if (type == netfilter::NftValueType::kName) parts.push_back("\"" + p.name + (p.wildcard ? "*\"" : "\""));
        else if (type == netfilter::NftValueType::kAddress)
          parts.push_back(p.addr_lo == p.addr_hi ? p.addr_lo.ToString()
                                                 : p.addr_lo.ToString() + "-" + p.addr_hi.ToString());
        else parts.push_back(p.lo == p.hi ? std::to_string(p.lo) : fmt::format("{}-{}", p.lo, p.hi));
      }
      std::vector<std::string> keys;
      for (const auto& k : s.key) keys.push_back(k.text);
      c.text = fmt::format("{} {}", fmt::join(keys, " . "), fmt::join(parts, " . "));
    }
    Match m;
    m.kind = MatchKind::kNft;
    m.ptr = &c;
    m.text = c.text;
    return m;
  }

  void Emit(const Action& a, const NftStatement* unknown) {
    CompiledRule r;
    r.nft_rule = rule_;
    r.number = number_;
    r.after = after_;
    r.first_match = static_cast<uint32_t>(chain_.matches.size());
    for (const auto& m : pending_) chain_.matches.push_back(m);
    r.match_count = static_cast<uint32_t>(pending_.size());
    r.action = a;
    if (unknown) r.unknown_action = unknown->text;
    pending_.clear();
    after_ = static_cast<int>(chain_.rules.size());
    chain_.rules.push_back(r);
  }

  const netfilter::NftTable& table_;
  NativeStore& store_;
  CompiledChain& chain_;
  const NftRule* rule_ = nullptr;
  int number_ = 0;
  std::vector<Match> pending_;
  int after_ = -1;
  uint8_t family_;
};

}  // namespace

std::vector<std::string> UnmodelledNativeChains(const netfilter::NftRuleset& ruleset) {
  std::vector<std::string> out;
  for (const auto& t : ruleset.tables) {
    bool ip = t.family == NftFamily::kIp || t.family == NftFamily::kIp6 || t.family == NftFamily::kInet;
    for (const auto& c : t.chains)
      if (c.base && (!ip || (c.hook != "prerouting" && c.hook != "input" && c.hook != "forward" &&
                             c.hook != "output" && c.hook != "postrouting")))
        out.push_back(fmt::format("nftables {} {} chain {} (hook {}): not on the IP path the analyzer models",
                                  netfilter::NftFamilyName(t.family), t.name, c.name, c.hook));
  }
  return out;
}

void CompileNativeTables(const netfilter::NftRuleset& ruleset, Family family,
                         const std::vector<std::string_view>& xtables, std::vector<CompiledTable>& tables,
                         NativeStore& store) {
  for (const auto& t : ruleset.tables) {
    if (!BelongsTo(t.family, family)) continue;
    if (netfilter::IsXtablesTable(t) &&
        std::find(xtables.begin(), xtables.end(), std::string_view(t.name)) != xtables.end())
      continue;
    CompiledTable ct;
    ct.name = store.names.emplace_back(fmt::format("{} {}", netfilter::NftFamilyName(t.family), t.name));
    ct.native = true;
    ct.handle = t.handle;
    for (const auto& c : t.chains) {
      CompiledChain cc;
      cc.name = c.name;
      cc.builtin = c.base;
      cc.policy = c.policy == NftVerdict::kDrop ? Action::kDrop : Action::kAccept;
      cc.priority = c.priority;
      cc.nat = c.base && c.type == "nat";
      cc.hook = c.hook;
      cc.handle = c.handle;
      ct.chains.push_back(std::move(cc));
    }
    for (size_t i = 0; i < t.chains.size(); ++i) {
      RuleCompiler rc(t, store, ct.chains[i], family);
      int n = 0;
      for (const auto& r : t.chains[i].rules) rc.Compile(r, ++n);
    }
    tables.push_back(std::move(ct));
  }
}

}  // namespace swarmwall::analyze
