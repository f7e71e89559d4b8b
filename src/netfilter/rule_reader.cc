#include "netfilter/rule_reader.h"

#include <algorithm>
#include <charconv>

#include <fmt/format.h>

#include "netfilter/canonical.h"
#include "netfilter/codecs.h"

namespace swarmwall::netfilter {

namespace {

// Verdicts are stored length-prefixed (see Name), so that a rule's target
// can point at them.
constexpr Name kAcceptName = Name::FromPrefixed("\x06" "ACCEPT");
constexpr Name kDropName = Name::FromPrefixed("\x04" "DROP");
constexpr Name kReturnName = Name::FromPrefixed("\x06" "RETURN");
constexpr Name kQueueName = Name::FromPrefixed("\x05QUEUE");

// The Name of a chain of a table this parser built: every such chain's
// name is stored as a Name (the built-ins' static names included).
Name ChainName(const Chain& c) { return Name::FromPrefixed(c.name.data() - 1); }

std::string Negation(bool neg) { return neg ? std::string(" !") : std::string(); }

// A counter as sscanf("%llu") reads it, but the whole word.
bool ParseDecimal(std::string_view text, unsigned long long& out) {
  if (text.empty()) return false;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc() && end == text.data() + text.size();
}

// An option stored as another (SPEC.prints_as), as iptables-save prints it:
// --syn as --tcp-flags, MARK's and CONNMARK's --set-mark and the like as
// --set-xmark value/mask. PART holds SPEC's value; returns the id to store.
uint16_t StoreAs(const OptionSpec& spec, uint16_t id, Part& part, Interner& interner) {
  const ModuleSpec& m = ModuleOfOption(id);
  id = FindOptionId(m.name, spec.prints_as);
  if (spec.name == "syn") {
    part.value.kind = Value::Kind::kBits;
    part.value.hi = 0x17;
    part.value.lo = 0x02;
    part.text = interner.Intern("FIN,SYN,RST,ACK SYN");
    return id;
  }
  // MARK/CONNMARK: everything becomes --set-xmark value/mask
  uint64_t val = part.value.lo, mask = part.value.hi;
  if (spec.name == "set-mark") mask = mask | val;
  else if (spec.name == "and-mark") { mask = ~val & 0xffffffffu; val = 0; }
  else if (spec.name == "or-mark") mask = val;
  else if (spec.name == "xor-mark") mask = 0;
  part.value.lo = val;
  part.value.hi = mask;
  part.text = interner.Intern(val == 0 ? fmt::format("0x0/{:#x}", mask)
                                       : fmt::format("{:#x}/{:#x}", val, mask));
  return id;
}

}  // namespace

bool RuleReader::ValueAt(size_t& i, const Token& opt, std::string_view& out) {
  auto& toks = *toks_;
  if (i + 1 < toks.size() && toks[i + 1].IsBang()) {  // old form: -s ! x
    if (negate_) return ctx_.Fail(line_, toks[i + 1].column, "double negation");
    negate_ = true;
    negate_col_ = toks[i + 1].column;
    ++i;
  }
  if (i + 1 >= toks.size())
    return ctx_.Fail(line_, opt.column, fmt::format("option {} needs a value", opt.text));
  out = toks[++i].text;
  return true;
}

// The tokens of an opaque module or target, up to the next base option.
std::string_view RuleReader::CollectOpaque(size_t& i) {
  auto& toks = *toks_;
  std::string& text = opaque_;
  text.clear();
  while (i + 1 < toks.size()) {
    const std::string_view next = toks[i + 1].text;
    // (the attached spellings "-ptcp", "--jump=X" only when not quoted: an
    // opaque option's value may well start with a dash)
    auto base = [&](const Token& t) {
      return IsBaseOption(t.text) || (!t.quoted && StartsBaseOption(t.text));
    };
    if (base(toks[i + 1])) break;
    if (toks[i + 1].IsBang() && i + 2 < toks.size() && base(toks[i + 2])) break;
    ++i;
    text += ' ';
    // Printed so that it reads back as the same token.
    bool plain = !next.empty() && !HasAny(next, kOpaqueSpecial) &&
                 !(toks[i].quoted && (next == "!" || StartsBaseOption(next)));
    if (plain) text += next;
    else text += QuoteText(next, /*force=*/true);
  }
  return text;
}

void RuleReader::LoadModule(const ModuleSpec* spec, std::string_view name) {
  Part p;
  p.kind = Part::Kind::kMatch;
  p.id = spec ? ModuleId(*spec) : 0;
  p.text = spec ? ModuleName(*spec) : ctx_.Intern(name);
  loaded_.push_back({spec, parts_.size()});
  parts_.push_back(p);
  group_of_.push_back(static_cast<int>(loaded_.size()) - 1);
}

// An opaque part (KIND kOpaque or kTargetOpaque) of the module GROUP.
void RuleReader::AddPart(Part::Kind kind, std::string_view text, int group) {
  Part p;
  p.kind = kind;
  p.text = ctx_.Intern(text);
  parts_.push_back(p);
  group_of_.push_back(group);
}

// A value that cannot be read: the error, or with ParseOptions::lenient a
// match of its own that holds TEXT (" -s <private_ip>") and a warning.
bool RuleReader::Unreadable(int column, const std::string& text, const std::string& why) {
  if (!ctx_.options.lenient) return ctx_.Fail(line_, column, why);
  ctx_.Warn(line_, column, why + ": read as a match the analysis cannot decide (--lenient)");
  LoadModule(nullptr, kUnreadableModule);
  AddPart(Part::Kind::kOpaque, text, static_cast<int>(loaded_.size()) - 1);
  return true;
}

bool RuleReader::ReadAddresses(const Token& opt, std::string_view v, std::vector<Cidr>& into,
                               bool neg) {
  const Family family = ctx_.family();
  size_t start = 0;
  while (start <= v.size()) {
    size_t comma = v.find(',', start);
    std::string_view item = v.substr(start, comma - start);
    auto c = Cidr::Parse(item, family);
    if (!c) {
      into.clear();
      return Unreadable(opt.column,
                        fmt::format("{} {} {}", Negation(neg), opt.text, QuoteText(v, false)),
                        fmt::format("bad {} address '{}'",
                                    family == Family::kIPv4 ? "IPv4" : "IPv6", item));
    }
    into.push_back(*c);
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return true;
}

bool RuleReader::ReadInterface(size_t& i, const Token& t) {
  std::string_view v;
  if (!ValueAt(i, t, v)) return false;
  bool in = BaseOptionOf(t.text) == BaseOption::kIn;
  bool neg = TakeNegation();
  if (v.empty() || v.size() > 15 || !PrintableName(v))
    return Unreadable((*toks_)[i].column,
                      fmt::format("{} {} {}", Negation(neg), t.text, QuoteText(v, false)),
                      fmt::format("bad interface name '{}'", v));
  if (v == "+" && !neg) v = {};   // "+" alone matches any interface
  Name n = ctx_.Intern(v);
  if (in) {
    rule_.in_interface = n;
    rule_.in_negated = neg;
  } else {
    rule_.out_interface = n;
    rule_.out_negated = neg;
  }
  return true;
}

bool RuleReader::ReadProtocol(size_t& i, const Token& t) {
  std::string_view v;
  if (!ValueAt(i, t, v)) return false;
  if (protocol_seen_) return ctx_.Fail(line_, t.column, "multiple -p flags not allowed");
  protocol_seen_ = true;
  if (!ParseProtocol(v, rule_.protocol)) {
    rule_.protocol = 0;
    std::string text =
        fmt::format("{} {} {}", Negation(TakeNegation()), t.text, QuoteText(v, false));
    return Unreadable((*toks_)[i].column, text, fmt::format("unknown protocol '{}'", v));
  }
  rule_.protocol_negated = TakeNegation();
  if (rule_.protocol == 0 && rule_.protocol_negated)
    return ctx_.Fail(line_, t.column, "rule would never match protocol");
  return true;
}

// "-c PKTS BYTES" or "-c PKTS,BYTES"
bool RuleReader::ReadCounters(size_t& i, const Token& t) {
  auto& toks = *toks_;
  unsigned long long p = 0, b = 0;
  std::string_view pkts, bytes;
  if (i + 1 < toks.size()) pkts = toks[i + 1].text;
  size_t comma = pkts.find(',');
  size_t used = 1;
  if (comma != std::string_view::npos) {
    bytes = pkts.substr(comma + 1);
    pkts = pkts.substr(0, comma);
  } else if (i + 2 < toks.size() && !toks[i + 2].text.starts_with('-') &&
             !toks[i + 2].text.starts_with('!')) {
    bytes = toks[i + 2].text;
    used = 2;
  } else {
    return ctx_.Fail(line_, t.column, "-c needs packet and byte counts");
  }
  if (!ParseDecimal(pkts, p) || !ParseDecimal(bytes, b))
    return ctx_.Fail(line_, t.column, fmt::format("-c: bad counters '{} {}'", pkts, bytes));
  rule_.counters = {p, b};
  rule_.has_counters = true;
  i += used;
  return true;
}

bool RuleReader::ReadMatch(size_t& i, const Token& t) {
  auto& toks = *toks_;
  if (i + 1 >= toks.size()) return ctx_.Fail(line_, t.column, "-m needs a module name");
  if (negate_) return ctx_.Fail(line_, negate_col_, "'!' cannot negate -m");
  const Token& name = toks[++i];
  if (!ValidExtensionName(name.text))
    return ctx_.Fail(line_, name.column, fmt::format("bad match name '{}'", name.text));
  const ModuleSpec* spec = FindModule(name.text, false, ctx_.family());
  LoadModule(spec, name.text);
  if (!spec) {
    std::string_view text = CollectOpaque(i);
    if (!text.empty())
      AddPart(Part::Kind::kOpaque, text, static_cast<int>(loaded_.size()) - 1);
  }
  return true;
}

bool RuleReader::ReadTarget(size_t& i, const Token& t) {
  auto& toks = *toks_;
  const std::string_view s = t.text;
  if (i + 1 >= toks.size()) return ctx_.Fail(line_, t.column, fmt::format("{} needs a target", s));
  if (target_seen_) return ctx_.Fail(line_, t.column, "multiple -j or -g flags not allowed");
  if (negate_) return ctx_.Fail(line_, negate_col_, "'!' cannot negate a target");
  target_seen_ = true;
  const Token& name = toks[++i];
  Rule& rule = rule_;
  rule.is_goto = BaseOptionOf(s) == BaseOption::kGoto;
  const std::string_view n = name.text;
  const Chain* target_chain = nullptr;
  if (n == "ACCEPT") {
    rule.target_kind = TargetKind::kAccept;
    rule.target = kAcceptName;
  } else if (n == "DROP") {
    rule.target_kind = TargetKind::kDrop;
    rule.target = kDropName;
  } else if (n == "RETURN") {
    rule.target_kind = TargetKind::kReturn;
    rule.target = kReturnName;
  } else if (n == "QUEUE") {
    rule.target_kind = TargetKind::kQueue;
    rule.target = kQueueName;
  } else if ((target_chain = ctx_.FindChain(n)) != nullptr || rule.is_goto) {
    rule.target_kind = TargetKind::kChain;
    ctx_.unresolved_goto |= target_chain == nullptr;
  } else {
    if (!ValidExtensionName(n))
      return ctx_.Fail(line_, name.column, fmt::format("bad target name '{}'", n));
    rule.target_kind = TargetKind::kExtension;
    target_spec_ = FindModule(n, true, ctx_.family());
    if (target_spec_) {
      rule.target_id = ModuleId(*target_spec_);
    } else {
      std::string_view text = CollectOpaque(i);
      if (!text.empty()) AddPart(Part::Kind::kTargetOpaque, text, -1);
    }
  }
  if (rule.is_goto && rule.target_kind != TargetKind::kChain)
    return ctx_.Fail(line_, name.column, fmt::format("goto needs a user chain, not '{}'", n));
  if (n.size() > 28) return ctx_.Fail(line_, name.column, "target name too long");
  if (target_chain) rule.target = ChainName(*target_chain);
  else if (rule.target.empty()) rule.target = ctx_.Intern(n);
  return true;
}

const OptionSpec* RuleReader::FindOption(std::string_view name, const ModuleSpec*& owner,
                                         bool& for_target, int& group) {
  const OptionSpec* spec = nullptr;
  if (target_spec_) {
    spec = FindModuleOption(*target_spec_, name);
    for_target = spec != nullptr;
    if (spec) owner = target_spec_;
  }
  for (size_t k = loaded_.size(); !spec && k-- > 0;)
    if (loaded_[k].spec && (spec = FindModuleOption(*loaded_[k].spec, name)) != nullptr) {
      group = static_cast<int>(k);
      owner = loaded_[k].spec;
    }
  if (!spec && rule_.protocol && !rule_.protocol_negated) {
    const ModuleSpec* m = ImplicitModuleSpec(rule_.protocol, ctx_.family());
    if (m && (spec = FindModuleOption(*m, name)) != nullptr) {
      owner = m;
      bool have = std::any_of(loaded_.begin(), loaded_.end(),
                              [&](const LoadedModule& l) { return l.spec == m; });
      if (!have) LoadModule(m, m->name);
      for (size_t k = 0; k < loaded_.size(); ++k)
        if (loaded_[k].spec == m) group = static_cast<int>(k);
    }
  }
  return spec;
}

// SPEC's value from the tokens after I, stored as the option of OWNER (the
// target's when FOR_TARGET, else of the loaded module GROUP).
bool RuleReader::ReadModuleOption(size_t& i, const Token& t, const OptionSpec* spec,
                                  const ModuleSpec* owner, bool for_target, int group) {
  auto& toks = *toks_;
  const std::string_view s = t.text;
  // old form: --dport ! 80
  if (CodecArity(spec->codec) > 0 && i + 1 < toks.size() && toks[i + 1].IsBang()) {
    if (negate_) return ctx_.Fail(line_, toks[i + 1].column, "double negation");
    negate_ = true;
    negate_col_ = toks[i + 1].column;
    ++i;
  }
  bool neg = TakeNegation();
  if (neg && !spec->negatable)
    return ctx_.Fail(line_, negate_col_, fmt::format("option '{}' cannot be negated", s));
  std::string_view args[2];
  size_t n_args = 0;
  for (size_t k = i + 1; k < toks.size() && k <= i + 2; ++k) args[n_args++] = toks[k].text;
  Part part;
  part.kind = for_target ? Part::Kind::kTargetOption : Part::Kind::kOption;
  part.negated = neg;
  uint16_t id = OptionId(*owner, static_cast<size_t>(spec - owner->options.data()));
  int used;
  if (spec->codec == Codec::kText && n_args > 0 && (!spec->max || args[0].size() <= spec->max)) {
    // free text (a comment): what DecodeOption does, without the detour
    part.value.kind = Value::Kind::kText;
    part.text = ctx_.Intern(args[0]);
    used = 1;
  } else {
    std::string error;
    DecodeContext dc{&ctx_.ruleset, ctx_.family(), rule_.protocol, &ctx_.interner, &canon_};
    used = DecodeOption(*spec, std::span<const std::string_view>(args, n_args), dc, part, error);
    if (used < 0) {
      if (!ctx_.options.lenient) return ctx_.Fail(line_, t.column, error);
      std::string text = Negation(neg) + " " + std::string(s);
      text += CollectOpaque(i);
      if (!for_target) return Unreadable(t.column, text, error);
      // The target's options: the whole target is unknown to the analysis.
      ctx_.Warn(line_, t.column,
                error + ": the target is read as one the analysis does not know (--lenient)");
      rule_.target_unreadable = true;
      rule_.target_id = 0;
      target_spec_ = nullptr;
      AddPart(Part::Kind::kTargetOpaque, text, -1);
      return true;
    }
  }
  if (!spec->prints_as.empty()) id = StoreAs(*spec, id, part, ctx_.interner);
  part.id = id;
  i += static_cast<size_t>(used);
  parts_.push_back(part);
  group_of_.push_back(for_target ? -1 : group);
  return true;
}

bool RuleReader::Read(Tokens& toks, size_t first, int lineno, const Chain& chain) {
  Rule& rule = rule_;
  rule = Rule{};
  rule.line = static_cast<uint32_t>(lineno);
  toks_ = &toks;
  line_ = lineno;
  chain_ = &chain;
  negate_ = false;
  negate_col_ = 0;
  target_seen_ = false;
  protocol_seen_ = false;
  target_spec_ = nullptr;
  sources_.clear();
  destinations_.clear();
  parts_.clear();
  group_of_.clear();
  loaded_.clear();
  int rule_col = first < toks.size() ? toks[first].column : 1;

  for (size_t i = first; i < toks.size(); ++i) {
    SplitAttachedValue(toks, i);
    const Token& t = toks[i];
    const std::string_view s = t.text;
    if (t.IsBang()) {
      if (negate_) return ctx_.Fail(lineno, t.column, "double negation");
      negate_ = true;
      negate_col_ = t.column;
      continue;
    }
    std::string_view v;
    switch (BaseOptionOf(s)) {
      case BaseOption::kSource:
        if (!ValueAt(i, t, v)) return false;
        rule.source_negated = TakeNegation();
        if (!sources_.empty()) return ctx_.Fail(lineno, t.column, "multiple -s flags not allowed");
        if (!ReadAddresses(t, v, sources_, rule.source_negated)) return false;
        if (sources_.empty()) rule.source_negated = false;   // --lenient: unreadable
        break;
      case BaseOption::kDestination:
        if (!ValueAt(i, t, v)) return false;
        rule.destination_negated = TakeNegation();
        if (!destinations_.empty())
          return ctx_.Fail(lineno, t.column, "multiple -d flags not allowed");
        if (!ReadAddresses(t, v, destinations_, rule.destination_negated)) return false;
        if (destinations_.empty()) rule.destination_negated = false;
        break;
      case BaseOption::kIn:
      case BaseOption::kOut:
        if (!ReadInterface(i, t)) return false;
        break;
      case BaseOption::kProtocol:
        if (!ReadProtocol(i, t)) return false;
        break;
      case BaseOption::kFragment:
        if (ctx_.family() == Family::kIPv6)
          return ctx_.Fail(lineno, t.column, "-f is not allowed in ip6tables; use the frag match");
        rule.fragment = TakeNegation() ? -1 : 1;
        break;
      case BaseOption::kCounters:
        if (!ReadCounters(i, t)) return false;
        break;
      case BaseOption::kMatch:
        if (!ReadMatch(i, t)) return false;
        break;
      case BaseOption::kJump:
      case BaseOption::kGoto:
        if (!ReadTarget(i, t)) return false;
        break;
      case BaseOption::kNone: {
        if (!s.starts_with("--") || s.size() <= 2) {
          if (!Unreadable(t.column, Negation(TakeNegation()) + " " + QuoteText(s, false),
                          fmt::format("unexpected '{}'", s)))
            return false;
          break;
        }
        std::string_view name = s.substr(2);
        const ModuleSpec* owner = nullptr;
        bool for_target = false;
        int group = -1;
        const OptionSpec* spec = FindOption(name, owner, for_target, group);
        if (!spec) {
          // getopt-style unambiguous prefixes (old dumps abbreviate).
          PrefixMatch m = MatchOptionPrefix(name, loaded_, target_spec_);
          if (m.matches > 1)
            return ctx_.Fail(lineno, t.column, fmt::format("option '{}' is ambiguous", s));
          if (!m.base.empty()) {
            toks[i].text = m.base;
            --i;   // read it again as the base option
            continue;
          }
          spec = m.option;
          owner = m.owner;
          for_target = m.for_target;
          group = m.group;
        }
        if (!spec) {
          std::string text = Negation(TakeNegation()) + " " + std::string(s);
          text += CollectOpaque(i);
          if (!Unreadable(t.column, text, fmt::format("unknown option '{}'", s))) return false;
          break;
        }
        if (!ReadModuleOption(i, t, spec, owner, for_target, group)) return false;
        break;
      }
    }
  }
  if (negate_) return ctx_.Fail(lineno, negate_col_, "'!' at the end of the rule");
  return Finish(rule_col);
}

bool RuleReader::Finish(int column) {
  Rule& rule = rule_;
  const Chain& chain = *chain_;
  CanonicalContext canonical{ctx_, rule, chain, line_, column};
  // Group options under their module, in the module's print order, as
  // iptables-save prints them whatever order they were written in.
  final_.clear();
  for (size_t k = 0; k < loaded_.size(); ++k) {
    const ModuleSpec* spec = loaded_[k].spec;
    const size_t match_at = final_.size();
    final_.push_back(parts_[loaded_[k].part_index]);
    for (size_t i = 0; i < parts_.size(); ++i)
      if (group_of_[i] == static_cast<int>(k) && parts_[i].kind != Part::Kind::kMatch)
        final_.push_back(parts_[i]);
    if (!spec) continue;
    // --lenient: a module whose options were unreadable is kept alone.
    if (ctx_.options.lenient && final_.size() == match_at + 1) continue;
    // Most modules come with one option that needs nothing done (a comment,
    // a port): what CanonicalizeMatch would check, quickly.
    size_t count = final_.size() - match_at - 1;
    bool simple = count <= 1 && !spec->canonicalize && (count == 1 || !spec->needs_option) &&
                  (spec->protocol.empty() ||
                   (rule.protocol == ModuleProtocol(*spec) && !rule.protocol_negated));
    if (simple) continue;
    opts_.assign(final_.begin() + static_cast<long>(match_at) + 1, final_.end());
    if (!CanonicalizeMatch(*spec, opts_, canonical)) return false;
    final_.resize(match_at + 1);
    final_.insert(final_.end(), opts_.begin(), opts_.end());
  }
  // Target defaults and checks.
  const size_t target_at = final_.size();
  for (size_t i = 0; i < parts_.size(); ++i)
    if (group_of_[i] < 0 && parts_[i].kind != Part::Kind::kMatch) final_.push_back(parts_[i]);
  if (rule.target_kind == TargetKind::kExtension && rule.target_id) {
    target_.assign(final_.begin() + static_cast<long>(target_at), final_.end());
    if (!CanonicalizeTarget(ModuleById(rule.target_id), target_, canonical)) return false;
    final_.resize(target_at);
    final_.insert(final_.end(), target_.begin(), target_.end());
  }
  // Interfaces that cannot exist at this hook (iptables refuses them).
  if (chain.builtin) {
    std::string_view c = chain.name;
    if (!rule.out_interface.empty() && (c == "INPUT" || c == "PREROUTING"))
      return ctx_.Fail(line_, column, fmt::format("can't use -o with {}", c));
    if (!rule.in_interface.empty() && (c == "OUTPUT" || c == "POSTROUTING"))
      return ctx_.Fail(line_, column, fmt::format("can't use -i with {}", c));
  }
  rule.parts = PartList(ctx_.ruleset.StoreArray(std::span<const Part>(final_)), final_.size());
  return true;
}

}  // namespace swarmwall::netfilter
