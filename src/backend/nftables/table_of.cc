#include "backend/nftables/table_of.h"

#include <algorithm>

#include <fmt/format.h>

#include "backend/nftables/expr.h"
#include "netfilter/codecs.h"
#include "netfilter/modules.h"
#include "netfilter/parser.h"

namespace swarmwall::backend::nft {
namespace {

using netfilter::Family;
using netfilter::Part;

// ct state bits as iptables' conntrack match numbers them.
constexpr uint64_t kIptInvalid = 1, kIptNew = 2, kIptRelated = 4, kIptEstablished = 8,
                   kIptUntracked = 16, kIptSnat = 32, kIptDnat = 64;

std::string_view OptionName(const Part& p) { return netfilter::OptionById(p.id).name; }

// One rule's translation; Fail() records why it cannot be.
class RuleTranslator {
 public:
  RuleTranslator(const compile::FamilyState& state, const netfilter::Rule& rule)
      : state_(state), rule_(rule), v4_(state.family == Family::kIPv4) {}

  bool Run(Rule& out) {
    if (rule_.fragment) return Fail("-f");
    if (!rule_.source.IsAny() && !Address(rule_.source, rule_.source_negated, "saddr")) return false;
    if (!rule_.destination.IsAny() && !Address(rule_.destination, rule_.destination_negated, "daddr"))
      return false;
    if (!Interface(rule_.in_interface, rule_.in_negated, "iifname")) return false;
    if (!Interface(rule_.out_interface, rule_.out_negated, "oifname")) return false;
    if (rule_.protocol_negated) return Fail("! -p");
    // A port or ICMP type match implies the protocol (nft adds and hides
    // that dependency); a protocol alone is meta l4proto.
    size_t protocol_at = expr_.size();
    bool implied = false;
    for (size_t i = 0; i < rule_.parts.size();) {
      Part::Kind kind = rule_.parts[i].kind;
      if (kind == Part::Kind::kTargetOption || kind == Part::Kind::kTargetOpaque) {
        ++i;   // the target's (Target())
        continue;
      }
      if (kind != Part::Kind::kMatch) return Fail("an option without its module");
      size_t end = i + 1;
      while (end < rule_.parts.size() && (rule_.parts[end].kind == Part::Kind::kOption ||
                                          rule_.parts[end].kind == Part::Kind::kOpaque))
        ++end;
      if (!Module(rule_.parts[i].text, i + 1, end, implied)) return false;
      i = end;
    }
    if (rule_.protocol && !implied)
      expr_.insert(expr_.begin() + static_cast<long>(protocol_at),
                   Match(Meta("l4proto"), uint64_t{rule_.protocol}));
    if (!Target()) return false;
    out.expr = NormalizedExpr(expr_);
    out.comment = comment_;
    return true;
  }

  const std::string& why() const { return why_; }

 private:
  bool Fail(std::string what) {
    why_ = fmt::format("{} has no nftables translation here", what);
    return false;
  }

  bool Address(const netfilter::Cidr& cidr, bool negated, std::string_view field) {
    if (negated) return Fail(field == "saddr" ? "! -s" : "! -d");
    if (cidr.PrefixLength() < 0) return Fail("a non-contiguous mask");
    expr_.push_back(Match(Payload(v4_ ? "ip" : "ip6", field), AddressValue(cidr)));
    return true;
  }

  bool Interface(std::string_view name, bool negated, std::string_view key) {
    if (name.empty()) return true;
    if (negated) return Fail(key == "iifname" ? "! -i" : "! -o");
    if (name.find('*') != std::string_view::npos) return Fail(fmt::format("interface {}", name));
    std::string nft(name);
    if (nft.ends_with('+')) nft.back() = '*';   // iptables' wildcard, nft's
    expr_.push_back(Match(Meta(key), nft));
    return true;
  }

  std::string_view PortProtocol() const {
    switch (rule_.protocol) {
      case 6: return "tcp";
      case 17: return "udp";
      case 132: return "sctp";
      default: return "";
    }
  }

  // The module NAME with options parts_[first, end).
  bool Module(std::string_view name, size_t first, size_t end, bool& implied) {
    std::span<const Part> opts(rule_.parts.data() + first, end - first);
    for (const auto& p : opts)
      if (p.negated) return Fail(fmt::format("a negated option of -m {}", name));
    if (name == "tcp" || name == "udp") {
      if (opts.size() != 1 || OptionName(opts[0]) != "dport") return Fail(fmt::format("-m {} other than --dport", name));
      auto r = opts[0].value.ports();
      expr_.push_back(Match(Payload(name, "dport"), PortValue(r.lo, r.hi)));
      implied = true;
      return true;
    }
    if (name == "sctp") return Sctp(opts, implied);
    if (name == "multiport") {
      if (opts.size() != 1 || OptionName(opts[0]) != "dports" || PortProtocol().empty())
        return Fail("-m multiport other than --dports of tcp, udp or sctp");
      Json set = Json::array();
      for (const auto& r : opts[0].value.list()) set.push_back(PortValue(r.lo, r.hi));
      expr_.push_back(Match(Payload(PortProtocol(), "dport"), Json{{"set", std::move(set)}}));
      implied = true;
      return true;
    }
    if (name == "conntrack") return Conntrack(opts);
    if (name == "set") {
      std::string_view text = opts.size() == 1 ? std::string_view(opts[0].text) : "";
      size_t space = text.find(' ');
      if (opts.size() != 1 || OptionName(opts[0]) != "match-set" || space == std::string_view::npos)
        return Fail("-m set other than --match-set");
      std::string set(text.substr(0, space));
      std::string_view dir = text.substr(space + 1);
      if (dir != "src" && dir != "dst") return Fail(fmt::format("--match-set {} {}", set, dir));
      if (std::none_of(state_.sets.begin(), state_.sets.end(),
                       [&](const compile::IpSet& s) { return s.name == set; }))
        return Fail(fmt::format("--match-set of {}, a set the state does not hold,", set));
      expr_.push_back(Match(Payload(v4_ ? "ip" : "ip6", dir == "src" ? "saddr" : "daddr"), "@" + set));
      return true;
    }
    if (name == "comment") {
      if (opts.size() != 1 || !comment_.empty()) return Fail("a second comment");
      comment_ = NftComment(opts[0].text);
      return true;
    }
    if (name == "limit") return Limit(opts);
    if (name == "icmp" || name == "icmp6") {
      std::string_view type = opts.size() == 1 ? std::string_view(opts[0].text) : "";
      if (type.empty() || !std::all_of(type.begin(), type.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return Fail(fmt::format("-m {} other than one type", name));
      uint64_t number = 0;
      if (!netfilter::ParseNumber(type, 255, number)) return Fail(fmt::format("-m {} type {}", name, type));
      expr_.push_back(Match(Payload(name == "icmp" ? "icmp" : "icmpv6", "type"), number));
      implied = true;
      return true;
    }
    if (name == "policy") {
      bool in = false, ipsec = false;
      for (const auto& p : opts) {
        if (OptionName(p) == "dir") in = p.text == "in";
        else if (OptionName(p) == "pol") ipsec = p.text == "ipsec";
        else return Fail("-m policy other than --dir in --pol ipsec");
      }
      if (!in || !ipsec || opts.size() != 2) return Fail("-m policy other than --dir in --pol ipsec");
      expr_.push_back(Match(Meta("ipsec"), true));
      return true;
    }
    return Fail(fmt::format("-m {}", name));
  }

  // -m sctp is kept as written (the parser does not type it): " --dport N[:M]".
  bool Sctp(std::span<const Part> opts, bool& implied) {
    std::string_view text = opts.size() == 1 && opts[0].kind == Part::Kind::kOpaque
                                ? std::string_view(opts[0].text) : "";
    while (text.starts_with(' ')) text.remove_prefix(1);
    uint64_t lo = 0, hi = 0;
    size_t used = 0;
    if (!text.starts_with("--dport ") || rule_.protocol != 132) return Fail("-m sctp other than --dport");
    text.remove_prefix(8);
    if (!netfilter::ParseNumberPrefix(text, 65535, lo, used)) return Fail("-m sctp --dport");
    hi = lo;
    text.remove_prefix(used);
    if (text.starts_with(':')) {
      text.remove_prefix(1);
      if (!netfilter::ParseNumberPrefix(text, 65535, hi, used) || hi < lo) return Fail("-m sctp --dport");
      text.remove_prefix(used);
    }
    if (!text.empty()) return Fail("-m sctp other than --dport");
    expr_.push_back(Match(Payload("sctp", "dport"),
                          PortValue(static_cast<uint16_t>(lo), static_cast<uint16_t>(hi))));
    implied = true;
    return true;
  }

  bool Conntrack(std::span<const Part> opts) {
    for (const auto& p : opts) {
      if (OptionName(p) == "ctstate") {
        uint64_t bits = p.value.lo;
        uint64_t states = bits & (kIptInvalid | kIptNew | kIptRelated | kIptEstablished | kIptUntracked);
        uint64_t nat = bits & (kIptSnat | kIptDnat);
        if (states && nat) return Fail("--ctstate of states and NAT together");
        Json names = Json::array();
        // In nft's bit order (invalid, established, related, new, untracked).
        if (bits & kIptInvalid) names.push_back("invalid");
        if (bits & kIptEstablished) names.push_back("established");
        if (bits & kIptRelated) names.push_back("related");
        if (bits & kIptNew) names.push_back("new");
        if (bits & kIptUntracked) names.push_back("untracked");
        if (bits & kIptSnat) names.push_back("snat");
        if (bits & kIptDnat) names.push_back("dnat");
        if (names.empty()) return Fail("--ctstate");
        expr_.push_back(Match(Ct(states ? "state" : "status"), names, "in"));
      } else if (OptionName(p) == "ctorigdstport") {
        auto r = p.value.ports();
        expr_.push_back(Match(CtOriginal("proto-dst"), PortValue(r.lo, r.hi)));
      } else {
        return Fail(fmt::format("--{}", OptionName(p)));
      }
    }
    return true;
  }

  bool Limit(std::span<const Part> opts) {
    uint64_t rate = 0, burst = 5;
    std::string per;
    for (const auto& p : opts) {
      if (OptionName(p) == "limit-burst") {
        burst = p.value.lo;
        continue;
      }
      std::string_view text = p.text;
      size_t slash = text.find('/');
      size_t used = 0;
      if (OptionName(p) != "limit" || slash == std::string_view::npos ||
          !netfilter::ParseNumberPrefix(text, 0xffffffffu, rate, used) || used != slash)
        return Fail("-m limit");
      std::string_view unit = text.substr(slash + 1);
      per = unit == "sec" ? "second" : unit == "min" ? "minute" : std::string(unit);
      if (per != "second" && per != "minute" && per != "hour" && per != "day") return Fail("-m limit");
    }
    if (per.empty()) return Fail("-m limit");
    expr_.push_back(Json{{"limit", {{"rate", rate}, {"burst", burst}, {"per", per}}}});
    return true;
  }

  bool Target() {
    using netfilter::TargetKind;
    switch (rule_.target_kind) {
      case TargetKind::kAccept: expr_.push_back(Json{{"accept", nullptr}}); return true;
      case TargetKind::kDrop: expr_.push_back(Json{{"drop", nullptr}}); return true;
      case TargetKind::kReturn: expr_.push_back(Json{{"return", nullptr}}); return true;
      case TargetKind::kChain: {
        std::string_view target = rule_.target;
        if (rule_.is_goto) return Fail("-g");
        if (std::none_of(state_.chains.begin(), state_.chains.end(),
                         [&](const compile::OwnedChain& c) { return c.name == target; }))
          return Fail(fmt::format("-j {} (not an owned chain)", target));
        expr_.push_back(Json{{"jump", {{"target", target}}}});
        return true;
      }
      case TargetKind::kExtension: {
        if (rule_.target != "LOG") return Fail(fmt::format("-j {}", std::string_view(rule_.target)));
        std::optional<std::string> prefix;
        for (const auto& p : rule_.parts) {
          if (p.kind != Part::Kind::kTargetOption) continue;
          if (OptionName(p) != "log-prefix") return Fail(fmt::format("-j LOG --{}", OptionName(p)));
          prefix = std::string(p.text);
          std::replace(prefix->begin(), prefix->end(), '"', '\'');
        }
        // Without a prefix nft lists `log` alone.
        expr_.push_back(prefix ? Json{{"log", {{"prefix", *prefix}}}} : Json{{"log", nullptr}});
        return true;
      }
      default:
        return Fail("a rule without -j ACCEPT, DROP, RETURN, LOG or an owned chain");
    }
  }

  const compile::FamilyState& state_;
  const netfilter::Rule& rule_;
  bool v4_;
  Json expr_ = Json::array();
  std::string comment_;
  std::string why_;
};

}  // namespace

std::string NftComment(std::string_view text) {
  std::string out(text);
  std::replace(out.begin(), out.end(), '"', '\'');
  if (out.size() > kMaxNftCommentBytes) {
    size_t cut = kMaxNftCommentBytes;
    while (cut > 0 && (static_cast<unsigned char>(out[cut]) & 0xC0) == 0x80) --cut;
    out.resize(cut);
  }
  return out;
}

std::optional<OwnedTable> TableOf(const compile::FamilyState& state, std::string& error) {
  OwnedTable table;
  table.family = state.family;
  // Every rule through the iptables-save parser: one text, one parse.
  std::string text = "*filter\n";
  std::vector<std::pair<size_t, size_t>> line_of;   // line - 1 -> (chain, rule)
  line_of.emplace_back(0, SIZE_MAX);
  for (size_t c = 0; c < state.chains.size(); ++c) {
    const auto& chain = state.chains[c];
    if (chain.table != "filter") {
      error = fmt::format("chain {} of table {}: swarmwall's nftables table holds filter chains only",
                          chain.name, chain.table);
      return std::nullopt;
    }
    text += fmt::format(":{} - [0:0]\n", chain.name);
    line_of.emplace_back(c, SIZE_MAX);
  }
  for (size_t c = 0; c < state.chains.size(); ++c)
    for (size_t r = 0; r < state.chains[c].rules.size(); ++r) {
      text += fmt::format("-A {} {}\n", state.chains[c].name, state.chains[c].rules[r]);
      line_of.emplace_back(c, r);
    }
  text += "COMMIT\n";
  netfilter::ParseOptions options;
  options.file_name = "compiled rules";
  options.family = state.family;
  auto parsed = netfilter::ParseRuleset(text, options);
  if (!parsed.ruleset) {
    int line = parsed.error ? parsed.error->line : 0;
    std::string why = parsed.error ? parsed.error->message : "unreadable";
    if (line >= 1 && static_cast<size_t>(line) <= line_of.size() && line_of[line - 1].second != SIZE_MAX) {
      auto [c, r] = line_of[line - 1];
      error = fmt::format("{} rule {} ({}): {}", state.chains[c].name, r + 1, state.chains[c].rules[r], why);
    } else {
      error = fmt::format("the rules do not read: {}", why);
    }
    return std::nullopt;
  }
  const netfilter::Table* filter = parsed.ruleset->FindTable("filter");
  for (const auto& chain : state.chains) {
    const netfilter::Chain* read = filter ? filter->FindChain(chain.name) : nullptr;
    if (!read || read->rules.size() != chain.rules.size()) {
      error = fmt::format("chain {}: its rules do not read one by one", chain.name);
      return std::nullopt;
    }
    Chain out{chain.name, {}};
    out.rules.reserve(chain.rules.size());
    for (size_t r = 0; r < read->rules.size(); ++r) {
      RuleTranslator t(state, read->rules[r]);
      Rule rule;
      if (!t.Run(rule)) {
        error = fmt::format("{} rule {} ({}): {}", chain.name, r + 1, chain.rules[r], t.why());
        return std::nullopt;
      }
      out.rules.push_back(std::move(rule));
    }
    table.chains.push_back(std::move(out));
  }
  // Hooks: jumps from the base chain of their hook, once each.
  for (const auto& hook : state.hooks) {
    std::string base = hook.chain == "INPUT" ? "input"
                       : hook.chain == "FORWARD" || hook.chain == "DOCKER-USER" ? "forward" : "";
    if (hook.table != "filter" || base.empty()) {
      error = fmt::format("hook {} {} -> {}: swarmwall's nftables table hooks INPUT, DOCKER-USER and "
                          "FORWARD only", hook.table, hook.chain, hook.target);
      return std::nullopt;
    }
    if (std::none_of(state.chains.begin(), state.chains.end(),
                     [&](const compile::OwnedChain& c) { return c.name == hook.target; })) {
      error = fmt::format("hook {} -> {}: not an owned chain", hook.chain, hook.target);
      return std::nullopt;
    }
    auto it = std::find_if(table.base_chains.begin(), table.base_chains.end(),
                           [&](const BaseChain& b) { return b.name == base; });
    if (it == table.base_chains.end()) {
      BaseChain b;
      b.name = base;
      b.hook = base;
      table.base_chains.push_back(std::move(b));
      it = table.base_chains.end() - 1;
    }
    if (std::find(it->jumps.begin(), it->jumps.end(), hook.target) == it->jumps.end())
      it->jumps.push_back(hook.target);
  }
  std::stable_sort(table.base_chains.begin(), table.base_chains.end(),
                   [](const BaseChain& a, const BaseChain& b) { return a.name == "input" && b.name != "input"; });
  for (const auto& set : state.sets) {
    if (set.family != state.family) {
      error = fmt::format("set {} is of the other family", set.name);
      return std::nullopt;
    }
    Set out;
    out.name = set.name;
    out.type = AddressType(set.family);
    if (set.entries) {
      auto intervals = netfilter::IntervalsOf(*set.entries);
      if (!intervals) {
        error = fmt::format("set {}: an entry with a non-contiguous mask", set.name);
        return std::nullopt;
      }
      out.elements = std::move(*intervals);
    }
    table.sets.push_back(std::move(out));
  }
  std::sort(table.sets.begin(), table.sets.end(), [](const Set& a, const Set& b) { return a.name < b.name; });
  return table;
}

}  // namespace swarmwall::backend::nft
