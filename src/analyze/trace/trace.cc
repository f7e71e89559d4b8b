#include "analyze/trace/trace.h"

#include <algorithm>
#include <climits>
#include <cstring>

#include <fmt/format.h>

#include "analyze/trace/native_tables.h"
#include "netfilter/modules.h"

namespace swarmwall::analyze {

using netfilter::Cidr;
using netfilter::Family;
using netfilter::IpAddress;
using netfilter::Part;
using netfilter::TargetKind;

const char* FateName(Fate f) {
  switch (f) {
    case Fate::kLocal: return "delivered locally";
    case Fate::kForward: return "forwarded";
    case Fate::kSent: return "sent";
    case Fate::kDrop: return "dropped";
    case Fate::kReject: return "rejected";
    case Fate::kQueue: return "queued to userspace";
    case Fate::kNoRoute: return "no route";
    case Fate::kMartian: return "dropped by the kernel (martian)";
    case Fate::kNotForwarded: return "not forwarded (ip_forward is off)";
  }
  return "?";
}

int CompiledTable::Find(std::string_view chain) const {
  for (size_t i = 0; i < chains.size(); ++i)
    if (chains[i].name == chain) return static_cast<int>(i);
  return -1;
}

namespace {

bool ParsePortRange(std::string_view text, uint16_t& lo, uint16_t& hi) {
  auto num = [](std::string_view t, uint16_t& out) {
    unsigned v = 0;
    if (t.empty()) return false;
    for (char c : t) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + static_cast<unsigned>(c - '0');
      if (v > 65535) return false;
    }
    out = static_cast<uint16_t>(v);
    return true;
  };
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) {
    if (!num(text, lo)) return false;
    hi = lo;
    return true;
  }
  return num(text.substr(0, dash), lo) && num(text.substr(dash + 1), hi);
}

// "a[-b][:p[-q]]", "[v6]:p", "v6" (no port), ":p".
void ParseNatRange(std::string_view text, Family family, Action& a) {
  std::string_view addrs = text, ports;
  if (family == Family::kIPv6) {
    if (!text.empty() && text[0] == '[') {
      size_t close = text.find(']');
      addrs = text.substr(1, close - 1);
      if (close + 1 < text.size() && text[close + 1] == ':') ports = text.substr(close + 2);
    }
  } else {
    size_t colon = text.find(':');
    if (colon != std::string_view::npos) {
      addrs = text.substr(0, colon);
      ports = text.substr(colon + 1);
    }
  }
  if (!addrs.empty()) {
    size_t dash = addrs.find('-');
    auto lo = IpAddress::Parse(addrs.substr(0, dash), family);
    auto hi = dash == std::string_view::npos ? lo : IpAddress::Parse(addrs.substr(dash + 1), family);
    if (lo && hi) {
      a.has_addr = true;
      a.addr_lo = *lo;
      a.addr_hi = *hi;
    }
  }
  if (!ports.empty()) ParsePortRange(ports, a.port_lo, a.port_hi);
}

bool NonTerminal(std::string_view target) {
  static constexpr std::string_view kNames[] = {
      "LOG", "NFLOG", "ULOG", "TRACE", "TCPMSS", "SET", "CHECKSUM", "CLASSIFY", "DSCP", "TOS",
      "TTL", "HL", "SECMARK", "CONNSECMARK", "AUDIT", "IDLETIMER", "LED", "RATEEST", "TEE",
      "ECN", "TCPOPTSTRIP", "HMARK", "NFLOG", "IPV4OPTSSTRIP", "CLUSTERIP"};
  for (auto n : kNames)
    if (n == target) return true;
  return false;
}

Action CompileAction(const netfilter::Rule& r, const netfilter::Table& table, Family family) {
  Action a;
  switch (r.target_kind) {
    case TargetKind::kNone: return a;
    case TargetKind::kAccept: a.kind = Action::kAccept; return a;
    case TargetKind::kDrop: a.kind = Action::kDrop; return a;
    case TargetKind::kReturn: a.kind = Action::kReturn; return a;
    case TargetKind::kQueue: a.kind = Action::kQueue; return a;
    case TargetKind::kChain: {
      a.kind = r.is_goto ? Action::kGoto : Action::kJump;
      // By the table's chain index (a scan per rule is quadratic on
      // kube-proxy-sized rulesets).
      if (const netfilter::Chain* ch = table.FindChain(r.target.view()))
        a.chain = static_cast<int>(ch - table.chains.data());
      if (a.chain < 0) a.kind = Action::kUnknown;
      return a;
    }
    case TargetKind::kExtension:
      if (r.target_unreadable) {   // --lenient: its options could not be read
        a.kind = Action::kUnknown;
        return a;
      }
      break;
  }
  std::string_view t = r.target;
  auto option = [&](std::string_view name) -> const Part* {
    for (const Part& p : r.parts)
      if (p.kind == Part::Kind::kTargetOption && netfilter::OptionById(p.id).name == name)
        return &p;
    return nullptr;
  };
  if (t == "REJECT") a.kind = Action::kReject;
  else if (t == "DNAT" || t == "SNAT") {
    a.kind = t == "DNAT" ? Action::kDnat : Action::kSnat;
    if (const Part* p = option(t == "DNAT" ? "to-destination" : "to-source"))
      ParseNatRange(p->text, family, a);
  } else if (t == "MASQUERADE" || t == "REDIRECT") {
    a.kind = t == "MASQUERADE" ? Action::kMasquerade : Action::kRedirect;
    if (const Part* p = option("to-ports")) ParsePortRange(p->text, a.port_lo, a.port_hi);
  } else if (t == "NETMAP") {
    a.kind = Action::kNetmap;
    if (const Part* p = option("to")) a.netmap = p->value.cidr();
    else a.kind = Action::kUnknown;
  } else if (t == "MARK") {
    a.kind = Action::kMark;
    if (const Part* p = option("set-xmark")) {
      a.value = static_cast<uint32_t>(p->value.lo);
      a.mask = static_cast<uint32_t>(p->value.hi);
    }
  } else if (t == "CONNMARK") {
    a.kind = Action::kConnmark;
    if (const Part* p = option("set-xmark")) {
      a.value = static_cast<uint32_t>(p->value.lo);
      a.mask = static_cast<uint32_t>(p->value.hi);
    } else if (option("save-mark")) {
      a.mode = 1;
    } else if (option("restore-mark")) {
      a.mode = 2;
    }
    if (const Part* p = option("mask")) a.nfmask = a.ctmask = static_cast<uint32_t>(p->value.lo);
    if (const Part* p = option("nfmask")) a.nfmask = static_cast<uint32_t>(p->value.lo);
    if (const Part* p = option("ctmask")) a.ctmask = static_cast<uint32_t>(p->value.lo);
  } else if (t == "NOTRACK" || (t == "CT" && option("notrack"))) {
    a.kind = Action::kNotrack;
  } else if (t == "CT" || NonTerminal(t)) {
    a.kind = Action::kNone;
  } else if (t == "NFQUEUE") {
    a.kind = Action::kQueue;
  } else {
    a.kind = Action::kUnknown;
  }
  return a;
}

bool IsLoopback(const IpAddress& a) {
  if (a.family == Family::kIPv4) return a.bytes[0] == 127;
  for (int i = 0; i < 15; ++i)
    if (a.bytes[i]) return false;
  return a.bytes[15] == 1;
}

IpAddress LoopbackOf(Family f) {
  IpAddress a{};
  a.family = f;
  if (f == Family::kIPv4) {
    a.bytes[0] = 127;
    a.bytes[3] = 1;
  } else {
    a.bytes[15] = 1;
  }
  return a;
}

std::string AddrPort(const IpAddress& a, uint16_t port, bool ports) {
  std::string s = a.ToString();
  if (!ports) return s;
  if (a.family == Family::kIPv6) return fmt::format("[{}]:{}", s, port);
  return fmt::format("{}:{}", s, port);
}

uint16_t PickPort(uint16_t port, uint16_t lo, uint16_t hi) {
  if (lo == 0 && hi == 0) return port;
  return port >= lo && port <= hi ? port : lo;
}

}  // namespace

namespace {
// PREROUTING INPUT FORWARD OUTPUT POSTROUTING -> 0..4
int HookSlot(std::string_view chain) {
  switch (chain[0]) {
    case 'P': return chain[1] == 'R' ? 0 : 4;
    case 'I': return 1;
    case 'F': return 2;
    default: return 3;
  }
}
}  // namespace

// ---- the rule index ----------------------------------------------------------

uint64_t RuleIndex::Key(Field f, const Packet& p) {
  if (f == kPort) return (uint64_t{p.protocol} << 16) | (p.HasPorts() ? p.dport : 0);
  const IpAddress& a = f == kDestination ? p.dst : p.src;
  uint64_t lo, hi;
  std::memcpy(&lo, a.bytes.data(), 8);
  std::memcpy(&hi, a.bytes.data() + 8, 8);
  return (lo * 0x9e3779b97f4a7c15ull) ^ (hi + 0x632be59bd9b4e019ull + (lo >> 17));
}

void RuleIndex::Build(const std::unordered_map<uint64_t, std::vector<uint32_t>>& by_key) {
  size_t n = 16;
  while (n < by_key.size() * 2) n *= 2;
  slots.assign(n, Slot{});
  buckets = by_key.size();
  for (const auto& [key, rules] : by_key) {
    size_t i = (key * 0x9e3779b97f4a7c15ull) >> 17 & (n - 1);
    while (slots[i].end != 0) i = (i + 1) & (n - 1);
    slots[i].key = key;
    slots[i].begin = static_cast<uint32_t>(lists.size());
    lists.insert(lists.end(), rules.begin(), rules.end());
    slots[i].end = static_cast<uint32_t>(lists.size());
  }
}

RuleIndex::Span RuleIndex::Find(uint64_t key) const {
  size_t mask = slots.size() - 1;
  for (size_t i = (key * 0x9e3779b97f4a7c15ull) >> 17 & mask;; i = (i + 1) & mask) {
    const Slot& s = slots[i];
    if (s.end == 0) return {};
    if (s.key == key) return {lists.data() + s.begin, lists.data() + s.end};
  }
}

size_t RuleIndex::Next(Span bucket, size_t from, size_t end) const {
  size_t best = end;
  auto first_at = [&](const uint32_t* b, const uint32_t* e) {
    // Buckets are short: a linear look is faster than a binary search.
    if (e - b > 8) b = std::lower_bound(b, e, static_cast<uint32_t>(from));
    while (b != e && *b < from) ++b;
    if (b != e && *b < best) best = *b;
  };
  first_at(wild.data(), wild.data() + wild.size());
  first_at(bucket.begin, bucket.end);
  return best;
}

namespace {

// The exact value FIELD of a rule requires, if it requires one.
std::optional<uint64_t> ExactKey(RuleIndex::Field f, const Match* ms, uint32_t n) {
  uint16_t proto = 0;
  for (uint32_t i = 0; i < n; ++i)
    if (ms[i].kind == MatchKind::kProtocol && !ms[i].negated) proto = static_cast<uint16_t>(ms[i].a);
  for (uint32_t i = 0; i < n; ++i) {
    const Match& m = ms[i];
    if (m.negated) continue;
    if (m.kind == MatchKind::kNft) {
      // a native match of one exact value (or one verdict-map element)
      const auto& c = *static_cast<const NftCondition*>(m.ptr);
      const netfilter::NftElement* e = c.element;
      if (!e && c.op == netfilter::NftStatement::kEq && c.values && c.values->size() == 1) e = &(*c.values)[0];
      if (!e || c.key.size() != 1 || e->key.size() != 1 || c.key[0].mask != ~uint64_t{0}) continue;
      const netfilter::NftSelector& k = c.key[0];
      const netfilter::NftPart& part = e->key[0];
      Packet p;
      if (f == RuleIndex::kPort && k.kind == netfilter::NftSelector::kDport && (k.protocol == 6 || k.protocol == 17) &&
          part.lo == part.hi) {
        p.protocol = k.protocol;
        p.dport = static_cast<uint16_t>(part.lo);
        return RuleIndex::Key(f, p);
      }
      bool dst = k.kind == netfilter::NftSelector::kIpDaddr || k.kind == netfilter::NftSelector::kIp6Daddr;
      bool src = k.kind == netfilter::NftSelector::kIpSaddr || k.kind == netfilter::NftSelector::kIp6Saddr;
      if (((f == RuleIndex::kDestination && dst) || (f == RuleIndex::kSource && src)) && part.addr_lo == part.addr_hi) {
        p.dst = p.src = part.addr_lo;
        return RuleIndex::Key(f, p);
      }
      continue;
    }
    if (f == RuleIndex::kPort && m.kind == MatchKind::kDstPort && m.a == m.b &&
        (proto == 6 || proto == 17)) {
      Packet p;
      p.protocol = proto;
      p.dport = static_cast<uint16_t>(m.a);
      return RuleIndex::Key(f, p);
    }
    if ((f == RuleIndex::kDestination && m.kind == MatchKind::kDestination) ||
        (f == RuleIndex::kSource && m.kind == MatchKind::kSource)) {
      if (m.cidr.PrefixLength() != m.cidr.address.Bits()) continue;
      Packet p;
      p.dst = p.src = m.cidr.address;
      return RuleIndex::Key(f, p);
    }
  }
  return std::nullopt;
}

std::unique_ptr<RuleIndex> BuildIndex(const CompiledChain& c) {
  if (c.rules.size() < 16) return nullptr;
  std::unique_ptr<RuleIndex> best;
  double best_cost = static_cast<double>(c.rules.size()) * 0.5;   // must beat half a scan
  for (auto f : {RuleIndex::kDestination, RuleIndex::kSource, RuleIndex::kPort}) {
    auto idx = std::make_unique<RuleIndex>();
    idx->field = f;
    std::unordered_map<uint64_t, std::vector<uint32_t>> by_key;
    for (size_t r = 0; r < c.rules.size(); ++r) {
      const CompiledRule& cr = c.rules[r];
      auto key = ExactKey(f, c.matches.data() + cr.first_match, cr.match_count);
      if (key) by_key[*key].push_back(static_cast<uint32_t>(r));
      else idx->wild.push_back(static_cast<uint32_t>(r));
    }
    idx->Build(by_key);
    size_t exact = c.rules.size() - idx->wild.size();
    double cost = static_cast<double>(idx->wild.size()) +
                  (by_key.empty() ? 0.0 : static_cast<double>(exact) / by_key.size());
    if (cost < best_cost) {
      best_cost = cost;
      best = std::move(idx);
    }
  }
  return best;
}

}  // namespace

// ---- the model ------------------------------------------------------------

int XtablesPriority(std::string_view table, int slot) {
  if (table == "raw") return -300;
  if (table == "mangle") return -150;
  if (table == "nat") return slot == 0 || slot == 3 ? -100 : 100;
  if (table == "security") return 50;
  return 0;   // filter
}

namespace {

// The NAT hook's priority at SLOT (NF_IP_PRI_NAT_DST / _SRC).
int NatPriority(int slot) { return slot == 0 || slot == 3 ? -100 : 100; }

// The nft handle (+1) of iptables-nft's table NAME of FAMILY, 0 when unknown.
uint64_t XtablesHandle(const host::HostNetwork& host, std::string_view name, netfilter::Family family) {
  if (!host.nftables_known) return 0;
  auto want = family == netfilter::Family::kIPv4 ? netfilter::NftFamily::kIp : netfilter::NftFamily::kIp6;
  for (const auto& t : host.nftables.tables)
    if (t.family == want && t.name == name) return t.handle + 1;
  return 0;
}

int NativeHookSlot(std::string_view hook) {
  if (hook == "prerouting") return 0;
  if (hook == "input") return 1;
  if (hook == "forward") return 2;
  if (hook == "output") return 3;
  if (hook == "postrouting") return 4;
  return -1;   // ingress, egress: not on the IP path modelled here
}

}  // namespace

TraceModel::TraceModel(const netfilter::Ruleset& ruleset, const host::HostNetwork& host)
    : host_(host), family_(ruleset.family), native_(std::make_unique<NativeStore>()) {
  std::vector<std::string_view> xtables;
  for (const auto& t : ruleset.tables) {
    xtables.push_back(t.name);
    CompiledTable ct;
    ct.name = t.name;
    for (const auto& c : t.chains) {
      CompiledChain cc;
      cc.name = c.name;
      cc.builtin = c.builtin;
      cc.policy = c.policy == "DROP" ? Action::kDrop : Action::kAccept;
      for (const auto& r : c.rules) {
        CompiledRule cr;
        cr.rule = &r;
        cr.number = static_cast<int>(cc.rules.size()) + 1;
        cr.first_match = static_cast<uint32_t>(cc.matches.size());
        CompileMatches(r, family_, host_, cc.matches);
        cr.match_count = static_cast<uint32_t>(cc.matches.size()) - cr.first_match;
        cr.action = CompileAction(r, t, family_);
        cc.rules.push_back(cr);
      }
      cc.index = BuildIndex(cc);
      if (cc.builtin) {
        for (std::string_view h : {"PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"})
          if (cc.name == h) {
            int slot = HookSlot(h);
            ct.hooks[slot] = static_cast<int>(ct.chains.size());
            cc.priority = XtablesPriority(t.name, slot);
            cc.nat = t.name == "nat";
          }
      }
      ct.chains.push_back(std::move(cc));
    }
    tables_.push_back(std::move(ct));
  }
  size_t first_native = tables_.size();
  if (host_.nftables_known) {
    CompileNativeTables(host_.nftables, family_, xtables, tables_, *native_);
    unmodelled_ = UnmodelledNativeChains(host_.nftables);
  }
  for (size_t i = first_native; i < tables_.size(); ++i) {
    CompiledTable& t = tables_[i];
    for (size_t c = 0; c < t.chains.size(); ++c) t.chains[c].index = BuildIndex(t.chains[c]);
  }
  // The schedule of every hook: (priority, creation order).
  struct Key {
    int priority;
    int sub;            // nat chains: their own priority among the nat chains
    uint64_t table_order, chain_order;
  };
  for (int slot = 0; slot < 5; ++slot) {
    std::vector<std::pair<Key, HookEntry>> entries;
    for (size_t ti = 0; ti < tables_.size(); ++ti) {
      const CompiledTable& t = tables_[ti];
      // Creation order: native tables by handle; iptables tables as the
      // oldest (legacy ones are registered when their module loads; an
      // iptables-nft table's handle is in the nft listing when it was read).
      uint64_t table_order = t.native ? t.handle + 1 : XtablesHandle(host_, t.name, family_);
      for (size_t ci = 0; ci < t.chains.size(); ++ci) {
        const CompiledChain& c = t.chains[ci];
        if (!c.builtin) continue;
        int cslot = t.native ? NativeHookSlot(c.hook) : (t.hooks[slot] == static_cast<int>(ci) ? slot : -1);
        if (cslot != slot) continue;
        HookEntry e;
        e.table = static_cast<int>(ti);
        e.chain = static_cast<int>(ci);
        e.nat = c.nat;
        e.priority = c.nat ? NatPriority(slot) : c.priority;
        entries.push_back({Key{e.priority, c.nat ? c.priority : 0, table_order, c.handle}, e});
      }
    }
    std::stable_sort(entries.begin(), entries.end(), [](const auto& a, const auto& b) {
      const Key& x = a.first;
      const Key& y = b.first;
      if (x.priority != y.priority) return x.priority < y.priority;
      if (a.second.nat != b.second.nat) return !a.second.nat;   // see HookEntry
      if (x.sub != y.sub) return x.sub < y.sub;
      // equal priorities: the kernel inserts a new hook before the ones of
      // its priority (nf_hook_entries_grow), so the newest runs first
      if (x.table_order != y.table_order) return x.table_order > y.table_order;
      return x.chain_order > y.chain_order;
    });
    for (auto& [k, e] : entries) schedule_[slot].push_back(e);
  }
}

TraceModel::~TraceModel() = default;

const CompiledTable* TraceModel::table(std::string_view name) const {
  // (iptables tables by name; native ones are named "FAMILY NAME")
  for (const auto& t : tables_)
    if (t.name == name) return &t;
  return nullptr;
}

// ---- one run through the hooks ---------------------------------------------

class Tracer {
 public:
  Tracer(const TraceModel& model, bool record, const std::vector<uint8_t>* prefix)
      : m_(model), host_(model.host_), record_(record), prefix_(prefix) {}

  Outcome Run(const TraceInput& in);

  std::vector<TraceStep> steps;
  std::vector<UnknownMatch> unknowns;
  std::vector<std::string> rewrites;
  std::vector<uint8_t> taken, options;   // decisions made and how many there were

 private:
  struct HookVerdict {
    Action::Kind kind = Action::kAccept;
    std::string_view table, chain;
    int rule_number = 0;   // 0: the policy
  };

  uint8_t Decide(uint8_t n) {
    size_t i = taken.size();
    uint8_t c = prefix_ && i < prefix_->size() ? (*prefix_)[i] : 0;
    taken.push_back(c);
    options.push_back(n);
    return c;
  }

  void Event(std::string note) {
    if (!record_) return;
    TraceStep s;
    s.kind = TraceStep::kEvent;
    s.note = std::move(note);
    steps.push_back(std::move(s));
  }

  // Runs the base chains of hook SLOT whose priority is in [LO, HI), in
  // order, until one does not accept. DST_MANIP: the hook's NAT rewrites
  // the destination; RUN_NAT: its nat chains run (not for looped-back packets).
  HookVerdict Stage(int slot, int lo, int hi, PacketState& s, bool dst_manip, bool run_nat = true);
  // Runs base chain BASE of table TABLE.
  HookVerdict Hook(int table, int base, PacketState& s, bool nat_pre);
  // Applies a NAT action; false when the packet cannot be translated.
  bool ApplyNat(const Action& a, PacketState& s, bool pre, std::string& note);
  Outcome Finish(Fate f, const PacketState& s, const HookVerdict* v, std::string_view where = {});
  bool Accepts(const HookVerdict& v) const { return v.kind == Action::kAccept; }
  Outcome Dropped(const HookVerdict& v, const PacketState& s) {
    Fate f = v.kind == Action::kReject ? Fate::kReject
             : v.kind == Action::kQueue ? Fate::kQueue : Fate::kDrop;
    return Finish(f, s, &v);
  }
  Outcome InputPath(PacketState& s, bool loopback);
  Outcome ForwardPath(PacketState& s, const host::Route* route);
  bool PostRouting(PacketState& s, HookVerdict& v);
  bool RunsNat(const PacketState& s) const {
    return !(s.conn.state & (kCtUntracked | kCtInvalid)) && nat_conn_;
  }

  const TraceModel& m_;
  const host::HostNetwork& host_;
  bool record_;
  const std::vector<uint8_t>* prefix_;
  bool nat_conn_ = true;   // the nat tables see this packet (first of its connection)
  bool nat_bound_ = false; // a NAT rule set up the mapping (later nat chains skip)
  bool nat_noted_ = false;
  uint8_t in_state_ = kCtNew;
};

Outcome Tracer::Finish(Fate f, const PacketState& s, const HookVerdict* v, std::string_view where) {
  Outcome o;
  o.fate = f;
  o.final_packet = s.packet;
  if (record_) {
    if (v && v->rule_number > 0)
      o.where = fmt::format("{} {} rule {}", v->table, v->chain, v->rule_number);
    else if (v && !v->table.empty())
      o.where = fmt::format("{} {} policy", v->table, v->chain);
    else
      o.where = std::string(where);
  }
  return o;
}

Tracer::HookVerdict Tracer::Stage(int slot, int lo, int hi, PacketState& s, bool dst_manip,
                                  bool run_nat) {
  HookVerdict v;
  bool nat_bound = false;
  for (const HookEntry& e : m_.schedule_[slot]) {
    if (e.priority < lo || e.priority >= hi) continue;
    if (e.nat) {
      if (!run_nat || !RunsNat(s) || nat_bound) continue;
      nat_bound_ = false;
      if (slot == 0 && in_state_ != kCtNew) {
        // The connection's first packet went through the nat chains; its
        // translation applies to this one: trace it as that first packet.
        if (record_ && !nat_noted_) {
          Event("nat: the connection's first packet went through nat PREROUTING; its translation applies");
          nat_noted_ = true;
        }
        uint8_t keep = s.conn.state;
        s.conn.state = static_cast<uint8_t>(kCtNew | (keep & ~0x1f));
        v = Hook(e.table, e.chain, s, dst_manip);
        s.conn.state = static_cast<uint8_t>((keep & 0x1f) | (s.conn.state & ~0x1f));
      } else {
        v = Hook(e.table, e.chain, s, dst_manip);
      }
      nat_bound = nat_bound_;
    } else {
      v = Hook(e.table, e.chain, s, dst_manip);
    }
    if (!Accepts(v)) return v;
  }
  return HookVerdict{};
}

Tracer::HookVerdict Tracer::Hook(int table, int base, PacketState& s, bool nat_pre) {
  HookVerdict v;
  const CompiledTable& t = m_.tables_[table];
  v.table = t.name;
  v.chain = t.chains[base].name;
  // Notrack works only before conntrack has seen the packet.
  bool can_untrack = t.chains[base].priority < kConntrackPriority;
  struct Frame {
    int chain, pos;
    size_t gotos;
    int hit;
  };
  Frame stack[64];
  int depth = 0;
  // Gotos taken since the current frame began: without a loop they follow
  // a path of distinct chains, so more than the table has is a loop (the
  // kernel refuses such a table; FindChainLoop tells the caller first).
  size_t gotos = 0;
  int cur = base;
  size_t pos = 0;
  int hit = -1;   // the last rule of this frame that hit (CompiledRule::after)
  const CompiledChain* indexed = nullptr;      // the chain `bucket` belongs to
  RuleIndex::Span bucket;
  while (true) {
    const CompiledChain& c = t.chains[cur];
    if (c.index && !record_) {
      // The fast path skips rules that cannot match (see RuleIndex).
      if (indexed != &c) {
        indexed = &c;
        bucket = c.index->Find(RuleIndex::Key(c.index->field, s.packet));
      }
      pos = c.index->Next(bucket, pos, c.rules.size());
    }
    if (pos >= c.rules.size()) {
      if (depth == 0) {
        // The end of the base chain, or of a chain it reached by goto (or
        // RETURN there): the base chain's policy.
        const CompiledChain& b = t.chains[base];
        v.kind = b.policy;
        v.chain = b.name;
        v.rule_number = 0;
        if (record_) {
          TraceStep st;
          st.kind = TraceStep::kPolicy;
          st.table = t.name;
          st.chain = b.name;
          st.note = b.policy == Action::kDrop ? "policy DROP" : "policy ACCEPT";
          steps.push_back(std::move(st));
        }
        return v;
      }
      --depth;
      cur = stack[depth].chain;
      pos = static_cast<size_t>(stack[depth].pos);
      gotos = stack[depth].gotos;
      hit = stack[depth].hit;
      continue;
    }
    const CompiledRule& r = c.rules[pos];
    // A native rule's parts (native_tables.h) show as one step.
    bool last_part = !r.nft_rule || pos + 1 >= c.rules.size() || c.rules[pos + 1].nft_rule != r.nft_rule;
    if (r.after >= 0 && r.after != hit) {   // the part of its nft rule before it did not hit
      if (record_ && last_part && !(steps.size() && steps.back().kind == TraceStep::kRule &&
                                    steps.back().nft_text.data() == r.nft_rule->text.data() &&
                                    steps.back().rule_number == r.number)) {
        TraceStep st;
        st.table = t.name;
        st.chain = c.name;
        st.rule_number = r.number;
        st.nft_text = r.nft_rule->text;
        st.depth = depth;
        steps.push_back(std::move(st));
      }
      ++pos;
      continue;
    }
    Tri matched = Tri::kTrue;
    const Match* ms = c.matches.data() + r.first_match;
    for (uint32_t i = 0; i < r.match_count; ++i) {
      Tri t1 = Evaluate(ms[i], s, host_);
      if (t1 == Tri::kFalse) {
        matched = Tri::kFalse;
        break;
      }
      if (t1 == Tri::kUnknown) matched = Tri::kUnknown;
    }
    bool assumed = false;
    if (matched == Tri::kUnknown) {
      assumed = Decide(2) == 1;
      if (record_) {
        for (uint32_t i = 0; i < r.match_count; ++i)
          if (Evaluate(ms[i], s, host_) == Tri::kUnknown) {
            UnknownMatch u;
            u.table = t.name;
            u.chain = c.name;
            u.rule_number = r.number;
            u.rule = r.rule;
            if (r.nft_rule) u.nft_text = r.nft_rule->text;
            u.what = DescribeMatch(ms[i]);
            u.why = std::string(ms[i].why);
            unknowns.push_back(std::move(u));
          }
      }
    }
    bool hit_now = matched == Tri::kTrue || (matched == Tri::kUnknown && assumed);
    TraceStep* step = nullptr;
    if (record_ && (hit_now || last_part)) {
      TraceStep st;
      st.table = t.name;
      st.chain = c.name;
      st.rule_number = r.number;
      st.rule = r.rule;
      if (r.nft_rule) st.nft_text = r.nft_rule->text;
      st.matched = matched;
      st.assumed = assumed;
      st.depth = depth;
      steps.push_back(std::move(st));
      step = &steps.back();
    }
    if (!hit_now) {
      ++pos;
      continue;
    }
    hit = static_cast<int>(pos);
    const Action& a = r.action;
    Action::Kind kind = a.kind;
    if (kind == Action::kUnknown) {
      uint8_t d = Decide(3);
      kind = d == 0 ? Action::kNone : d == 1 ? Action::kAccept : Action::kDrop;
      std::string target = r.rule ? std::string(r.rule->target.view()) : std::string(r.unknown_action);
      if (step)
        step->note = fmt::format("unknown {} {}: taken as {}", r.rule ? "target" : "statement", target,
                                 d == 0 ? "continue" : d == 1 ? "ACCEPT" : "DROP");
      if (record_) {
        UnknownMatch u;
        u.table = t.name;
        u.chain = c.name;
        u.rule_number = r.number;
        u.rule = r.rule;
        if (r.nft_rule) u.nft_text = r.nft_rule->text;
        u.what = r.rule ? fmt::format("-j {}", target) : target;
        u.why = !r.rule ? "an nftables statement the analyzer does not model (continue, ACCEPT or DROP)"
                : r.rule->target_unreadable
                    ? "a target whose options the --lenient reading could not read (continue, ACCEPT or DROP)"
                    : "a target the analyzer does not know (continue, ACCEPT or DROP)";
        unknowns.push_back(std::move(u));
      }
    }
    auto verdict = [&](Action::Kind k) {
      v.kind = k;
      v.chain = c.name;
      v.rule_number = r.number;
      return v;
    };
    switch (kind) {
      case Action::kNone:
        ++pos;
        break;
      case Action::kAccept:
      case Action::kDrop:
      case Action::kReject:
      case Action::kQueue:
        if (step && step->note.empty())
          step->note = kind == Action::kAccept ? "ACCEPT" : kind == Action::kDrop ? "DROP"
                       : kind == Action::kReject ? "REJECT" : "QUEUE";
        return verdict(kind);
      case Action::kReturn:
        if (step) step->note = "RETURN";
        if (depth == 0) {
          pos = c.rules.size();   // the base chain's policy
        } else {
          --depth;
          cur = stack[depth].chain;
          pos = static_cast<size_t>(stack[depth].pos);
          gotos = stack[depth].gotos;
          hit = stack[depth].hit;
        }
        break;
      case Action::kJump:
      case Action::kGoto:
        if (step)
          step->note = fmt::format("{} {}", kind == Action::kJump ? "jump" : "goto",
                                   t.chains[a.chain].name);
        if (kind == Action::kJump) {
          if (depth >= 63) return verdict(Action::kDrop);   // the kernel refuses loops
          stack[depth++] = {cur, static_cast<int>(pos) + 1, gotos, hit};
          gotos = 0;
        } else if (++gotos > t.chains.size()) {
          if (step) step->note += " (a loop of gotos: the kernel refuses such a table)";
          return verdict(Action::kDrop);
        }
        cur = a.chain;
        pos = 0;
        hit = -1;
        break;
      case Action::kDnat:
      case Action::kSnat:
      case Action::kMasquerade:
      case Action::kRedirect:
      case Action::kNetmap: {
        std::string note;
        if (!ApplyNat(a, s, nat_pre, note)) {
          if (step) step->note = note;
          return verdict(Action::kDrop);
        }
        if (step) step->note = note;
        return verdict(Action::kAccept);
      }
      case Action::kMark: {
        uint32_t before = s.packet.mark;
        s.packet.mark = (s.packet.mark & ~a.mask) ^ a.value;
        if (step) step->note = fmt::format("mark {:#x} -> {:#x}", before, s.packet.mark);
        ++pos;
        break;
      }
      case Action::kConnmark: {
        if (a.mode == 0) s.conn.ctmark = (s.conn.ctmark & ~a.mask) ^ a.value;
        else if (a.mode == 1)
          s.conn.ctmark = (s.conn.ctmark & ~a.ctmask) | (s.packet.mark & a.nfmask);
        else
          s.packet.mark = (s.packet.mark & ~a.nfmask) | (s.conn.ctmark & a.ctmask);
        if (step)
          step->note = fmt::format("connmark {:#x}, mark {:#x}", s.conn.ctmark, s.packet.mark);
        ++pos;
        break;
      }
      case Action::kNotrack:
        if (can_untrack) s.conn.state = kCtUntracked;
        if (step) step->note = can_untrack ? "not tracked" : "notrack after conntrack: no effect";
        ++pos;
        break;
      case Action::kUnknown:
        ++pos;
        break;
    }
  }
}

bool Tracer::ApplyNat(const Action& a, PacketState& s, bool pre, std::string& note) {
  Packet& p = s.packet;
  bool ports = p.HasPorts();
  std::string before;
  if (record_) before = AddrPort(pre ? p.dst : p.src, pre ? p.dport : p.sport, ports);
  std::string_view what;
  switch (a.kind) {
    case Action::kDnat:
      what = "DNAT";
      if (a.has_addr) p.dst = a.addr_lo;
      if (ports) p.dport = PickPort(p.dport, a.port_lo, a.port_hi);
      break;
    case Action::kRedirect: {
      what = "REDIRECT";
      std::optional<IpAddress> to;
      if (s.local_origin) to = LoopbackOf(p.family);
      else to = host_.PrimaryAddress(p.in, p.family);
      if (!to) {
        note = fmt::format("REDIRECT: {} has no address, the kernel drops the packet", p.in);
        return false;
      }
      p.dst = *to;
      if (ports) p.dport = PickPort(p.dport, a.port_lo, a.port_hi);
      break;
    }
    case Action::kSnat:
      what = "SNAT";
      if (a.has_addr) p.src = a.addr_lo;
      if (ports) p.sport = PickPort(p.sport, a.port_lo, a.port_hi);
      break;
    case Action::kMasquerade: {
      what = "MASQUERADE";
      const host::Route* route = host_.Lookup(p.dst);
      auto src = host_.SourceFor(p.out, p.dst, route && route->device == p.out ? route : nullptr);
      if (!src) {
        note = fmt::format("MASQUERADE: {} has no address, the kernel drops the packet", p.out);
        return false;
      }
      p.src = *src;
      if (ports) p.sport = PickPort(p.sport, a.port_lo, a.port_hi);
      break;
    }
    case Action::kNetmap: {
      what = "NETMAP";
      IpAddress& x = pre ? p.dst : p.src;
      IpAddress mask = a.netmap.Mask();
      for (int i = 0; i < 16; ++i)
        x.bytes[i] = static_cast<uint8_t>((x.bytes[i] & ~mask.bytes[i]) |
                                          (a.netmap.address.bytes[i] & mask.bytes[i]));
      break;
    }
    default:
      break;
  }
  nat_bound_ = true;
  bool changed;
  if (pre) {
    changed = p.dst != s.conn.orig_dst || (ports && p.dport != s.conn.orig_dport);
    if (changed) {
      s.conn.state |= kCtDnat;
      s.conn.repl_src = p.dst;
      s.conn.repl_sport = p.dport;
    }
  } else {
    changed = p.src != s.conn.orig_src || (ports && p.sport != s.conn.orig_sport);
    if (changed) {
      s.conn.state |= kCtSnat;
      s.conn.repl_dst = p.src;
      s.conn.repl_dport = p.sport;
    }
  }
  if (!record_) return true;
  std::string after = AddrPort(pre ? p.dst : p.src, pre ? p.dport : p.sport, ports);
  note = fmt::format("{} {} {} -> {}", what, pre ? "destination" : "source", before, after);
  rewrites.push_back(note);
  if (a.kind == Action::kDnat && a.has_addr && a.addr_lo != a.addr_hi && record_)
    rewrites.push_back(fmt::format("(the kernel picks one address of {}-{}; traced with the first)",
                                   a.addr_lo.ToString(), a.addr_hi.ToString()));
  return true;
}

bool Tracer::PostRouting(PacketState& s, HookVerdict& v) {
  v = Stage(4, INT_MIN, INT_MAX, s, false);
  return Accepts(v);
}

Outcome Tracer::InputPath(PacketState& s, bool loopback) {
  s.packet.out = {};
  HookVerdict v;
  if (loopback) {
    if (record_) Event("looped back: arrives on lo (PREROUTING without nat; its NAT was done in OUTPUT)");
    s.packet.in = "lo";
    v = Stage(0, INT_MIN, INT_MAX, s, true, false);
    if (!Accepts(v)) return Dropped(v, s);
  }
  v = Stage(1, INT_MIN, INT_MAX, s, false, !loopback);
  if (!Accepts(v)) return Dropped(v, s);
  return Finish(Fate::kLocal, s, nullptr, "INPUT");
}

Outcome Tracer::ForwardPath(PacketState& s, const host::Route* route) {
  s.packet.out = route->device;
  if (record_)
    Event(fmt::format("routing: forward out of {}{}", route->device,
                    route->gateway ? " via " + route->gateway->ToString() : std::string()));
  HookVerdict v = Stage(2, INT_MIN, INT_MAX, s, false);
  if (!Accepts(v)) return Dropped(v, s);
  if (!PostRouting(s, v)) return Dropped(v, s);
  return Finish(Fate::kForward, s, nullptr, route->device);
}

Outcome Tracer::Run(const TraceInput& in) {
  PacketState s;
  s.packet = in.packet;
  s.local_origin = in.local_origin;
  in_state_ = in.state;
  if (!in.local_origin) {
    s.packet.out = {};
    // Before conntrack (raw PREROUTING): no connection yet (INVALID).
    s.conn = NewConnection(s.packet, kCtInvalid);
    HookVerdict v = Stage(0, INT_MIN, kConntrackPriority, s, true);
    if (!Accepts(v)) return Dropped(v, s);
    bool untracked = s.conn.state == kCtUntracked;
    s.conn = NewConnection(s.packet, untracked ? uint8_t{kCtUntracked} : in.state);
    if (in.state != kCtNew && !untracked) s.conn.ctmark_known = false;
    // RELATED connections (ICMP errors, expectations) take their NAT from
    // their master connection: the nat chains do not see them.
    nat_conn_ = in.state == kCtNew || in.state == kCtEstablished;
    if (record_)
      Event(untracked ? "conntrack: not tracked"
                      : fmt::format("conntrack: state {}", in.state == kCtNew ? "NEW"
                                    : in.state == kCtEstablished ? "ESTABLISHED"
                                    : in.state == kCtRelated ? "RELATED" : "INVALID"));
    v = Stage(0, kConntrackPriority, INT_MAX, s, true);
    if (!Accepts(v)) return Dropped(v, s);
    // The routing decision.
    const Packet& p = s.packet;
    bool lo_in = p.in == "lo";
    if (!lo_in && (IsLoopback(p.dst) || IsLoopback(p.src)))
      return Finish(Fate::kMartian, s, nullptr,
                    "routing: a loopback address on a non-loopback interface");
    // (IPv4's fib_validate_source; IPv6 has no such check)
    if (!lo_in && p.family == Family::kIPv4 && host_.IsLocal(p.src))
      return Finish(Fate::kMartian, s, nullptr, "routing: a local source address from outside");
    if (host_.IsLocal(p.dst) || host_.IsBroadcast(p.dst)) {
      if (record_)
        Event(fmt::format("routing: {} is local: INPUT", p.dst.ToString()));
      return InputPath(s, false);
    }
    const host::Route* route = host_.Lookup(p.dst);
    if (!route || route->type != "unicast" || route->device.empty())
      return Finish(Fate::kNoRoute, s, nullptr,
                    route ? "routing: " + route->type + " route" : "routing: no route");
    if (!host_.forwarding) return Finish(Fate::kNotForwarded, s, nullptr, "routing: ip_forward=0");
    return ForwardPath(s, route);
  }

  // Generated by the host: route first (OUTPUT knows -o), then OUTPUT.
  s.packet.in = {};
  auto route_out = [&](const Packet& p, const host::Route*& route) -> bool {
    route = nullptr;
    if (host_.IsLocal(p.dst)) {
      s.packet.out = "lo";
      return true;
    }
    route = host_.Lookup(p.dst);
    if (!route || route->type != "unicast" || route->device.empty()) return false;
    s.packet.out = route->device;
    return true;
  };
  const host::Route* route = nullptr;
  if (!route_out(s.packet, route)) return Finish(Fate::kNoRoute, s, nullptr, "routing: no route");
  s.conn = NewConnection(s.packet, kCtInvalid);
  HookVerdict v = Stage(3, INT_MIN, kConntrackPriority, s, true);
  if (!Accepts(v)) return Dropped(v, s);
  bool untracked = s.conn.state == kCtUntracked;
  s.conn = NewConnection(s.packet, untracked ? uint8_t{kCtUntracked} : in.state);
  nat_conn_ = in.state == kCtNew || in.state == kCtEstablished;
  // Up to the NAT hook, then the NAT hook itself (re-routing after DNAT).
  v = Stage(3, kConntrackPriority, -100, s, true);
  if (!Accepts(v)) return Dropped(v, s);
  std::string_view rerouted = s.packet.out;
  IpAddress before = s.packet.dst;
  v = Stage(3, -100, -99, s, true);
  if (!Accepts(v)) return Dropped(v, s);
  if (s.packet.dst != before) {
    // Re-routed at once, but the OUTPUT hook keeps the interface it was
    // called with: -o in OUTPUT still sees the first route's.
    std::string_view first = s.packet.out;
    if (!route_out(s.packet, route))
      return Finish(Fate::kNoRoute, s, nullptr, "routing: no route after DNAT");
    rerouted = s.packet.out;
    s.packet.out = first;
    if (record_ && rerouted != first)
      Event(fmt::format("routing: re-routed out of {} (OUTPUT still sees -o {})", rerouted, first));
  }
  v = Stage(3, -99, INT_MAX, s, false);
  if (!Accepts(v)) return Dropped(v, s);
  s.packet.out = rerouted;
  if (!PostRouting(s, v)) return Dropped(v, s);
  if (s.packet.out == "lo") return InputPath(s, true);
  return Finish(Fate::kSent, s, nullptr, s.packet.out);
}

TraceResult TraceModel::Trace(const TraceInput& input) const {
  TraceResult result;
  Tracer first(*this, true, nullptr);
  result.outcome = first.Run(input);
  result.steps = std::move(first.steps);
  result.unknowns = std::move(first.unknowns);
  result.rewrites = std::move(first.rewrites);
  // Every other combination of undecidable matches, depth first.
  std::vector<uint8_t> taken = first.taken, options = first.options;
  constexpr int kMaxPaths = 256;
  int paths = 1;
  while (true) {
    int i = static_cast<int>(taken.size()) - 1;
    while (i >= 0 && taken[i] + 1 >= options[i]) --i;
    if (i < 0) break;
    if (++paths > kMaxPaths) {
      result.truncated = true;
      break;
    }
    std::vector<uint8_t> prefix(taken.begin(), taken.begin() + i);
    prefix.push_back(static_cast<uint8_t>(taken[i] + 1));
    Tracer t(*this, true, &prefix);
    Outcome o = t.Run(input);
    for (auto& u : t.unknowns) {
      bool seen = false;
      for (const auto& k : result.unknowns)
        seen |= k.rule == u.rule && k.what == u.what;
      if (!seen) result.unknowns.push_back(std::move(u));
    }
    bool seen = result.outcome == o;
    for (const auto& k : result.alternatives) seen |= k == o;
    if (!seen) result.alternatives.push_back(o);
    taken = std::move(t.taken);
    options = std::move(t.options);
  }
  return result;
}

Outcome TraceModel::Verdict(const TraceInput& input) const {
  Tracer t(*this, false, nullptr);
  return t.Run(input);
}

}  // namespace swarmwall::analyze
