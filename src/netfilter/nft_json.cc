// libnftables JSON -> NftRuleset. Two passes: the objects are collected
// first (tables, chains, sets, rules, in any order), then each rule is
// decoded against its table, so jump targets and set references resolve.
#include "netfilter/nft_json.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <nlohmann/json.hpp>

#include <map>
#include <stdexcept>

#include "netfilter/nft_symbols.h"

namespace swarmwall::netfilter {
namespace {

using Json = nlohmann::json;

// An error at the JSON object being read (the position is added by the caller).
struct NftError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void Fail(const std::string& what) { throw NftError(what); }

// Byte offsets of the elements of the top-level "nftables" array, for
// FILE:LINE:COL in messages (nlohmann keeps no positions).
std::vector<size_t> ElementOffsets(std::string_view s) {
  std::vector<size_t> out;
  int depth = 0;
  bool in_string = false, want_element = false, in_array = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (in_string) {
      if (c == '\\') ++i;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == ' ' || c == '\n' || c == '\t' || c == '\r') continue;
    if (want_element && depth == 2 && in_array) {
      out.push_back(i);
      want_element = false;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (depth == 1 && c == '[') {
        in_array = true;
        want_element = true;
      }
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
      if (depth == 1) in_array = false;
    } else if (c == ',' && depth == 2 && in_array) {
      want_element = true;
    }
  }
  return out;
}

void LineColumn(std::string_view s, size_t offset, int& line, int& column) {
  line = 1;
  column = 1;
  for (size_t i = 0; i < offset && i < s.size(); ++i) {
    if (s[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
}

const std::string& Str(const Json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_string()) Fail(fmt::format("\"{}\" must be a string", key));
  return it->get_ref<const std::string&>();
}

uint64_t Uint(const Json& o, const char* key) {
  auto it = o.find(key);
  if (it == o.end() || !it->is_number_unsigned()) Fail(fmt::format("\"{}\" must be a number", key));
  return it->get<uint64_t>();
}

NftFamily FamilyOf(const std::string& f) {
  if (f == "ip") return NftFamily::kIp;
  if (f == "ip6") return NftFamily::kIp6;
  if (f == "inet") return NftFamily::kInet;
  if (f == "arp") return NftFamily::kArp;
  if (f == "bridge") return NftFamily::kBridge;
  if (f == "netdev") return NftFamily::kNetdev;
  Fail(fmt::format("unknown family \"{}\"", f));
}

std::string Compact(const Json& j) {
  std::string s = j.dump();
  if (s.size() > 200) s = s.substr(0, 197) + "...";
  return s;
}

// ---- selectors ---------------------------------------------------------

NftSelector UnknownSelector(const Json& j) {
  NftSelector s;
  s.kind = NftSelector::kUnknown;
  s.text = Compact(j);
  return s;
}

NftSelector Selector(const Json& j) {
  NftSelector s;
  if (!j.is_object() || j.size() != 1) return UnknownSelector(j);
  auto first = j.begin();
  const std::string& name = first.key();
  const Json& body = first.value();
  if (name == "&" && body.is_array() && body.size() == 2) {
    // `selector & mask`: numbers only (a mask of flags is a list of names)
    NftSelector inner = Selector(body[0]);
    if (inner.kind == NftSelector::kUnknown || ValueTypeOf(inner.kind) != NftValueType::kNumber)
      return UnknownSelector(j);
    auto mask = SymbolValue(DomainOf(inner), body[1]);
    if (!mask) return UnknownSelector(j);
    inner.mask = *mask;
    inner.text = fmt::format("{} & {}", inner.text, Compact(body[1]));
    return inner;
  }
  if (name == "payload" && body.is_object() && body.contains("protocol")) {
    std::string proto = body.value("protocol", ""), field = body.value("field", "");
    s.text = proto + " " + field;
    if (proto == "ip") {
      if (field == "saddr") s.kind = NftSelector::kIpSaddr;
      else if (field == "daddr") s.kind = NftSelector::kIpDaddr;
      else if (field == "protocol") s.kind = NftSelector::kIpProtocol;
      else return UnknownSelector(j);
    } else if (proto == "ip6") {
      if (field == "saddr") s.kind = NftSelector::kIp6Saddr;
      else if (field == "daddr") s.kind = NftSelector::kIp6Daddr;
      else if (field == "nexthdr") s.kind = NftSelector::kIp6Nexthdr;
      else return UnknownSelector(j);
    } else if (proto == "tcp" || proto == "udp" || proto == "th") {
      s.protocol = proto == "tcp" ? 6 : proto == "udp" ? 17 : 0;
      if (field == "sport") s.kind = NftSelector::kSport;
      else if (field == "dport") s.kind = NftSelector::kDport;
      else if (field == "flags" && proto == "tcp") s.kind = NftSelector::kTcpFlags;
      else return UnknownSelector(j);
    } else if (proto == "icmp") {
      if (field == "type") s.kind = NftSelector::kIcmpType;
      else if (field == "code") s.kind = NftSelector::kIcmpCode;
      else return UnknownSelector(j);
    } else if (proto == "icmpv6") {
      if (field == "type") s.kind = NftSelector::kIcmpv6Type;
      else if (field == "code") s.kind = NftSelector::kIcmpv6Code;
      else return UnknownSelector(j);
    } else {
      return UnknownSelector(j);
    }
    return s;
  }
  if (name == "meta" && body.is_object()) {
    std::string key = body.value("key", "");
    s.text = "meta " + key;
    if (key == "iifname" || key == "iif") s.kind = NftSelector::kIifname;
    else if (key == "oifname" || key == "oif") s.kind = NftSelector::kOifname;
    else if (key == "l4proto") s.kind = NftSelector::kL4proto;
    else if (key == "nfproto") s.kind = NftSelector::kNfproto;
    else if (key == "mark") s.kind = NftSelector::kMark;
    else if (key == "pkttype") s.kind = NftSelector::kPkttype;
    else if (key == "ipsec" || key == "secpath") s.kind = NftSelector::kIpsec;
    else return UnknownSelector(j);
    if (key == "iifname" || key == "oifname") s.text = key;
    return s;
  }
  if (name == "ct" && body.is_object()) {
    std::string key = body.value("key", ""), dir = body.value("dir", "");
    std::string family = body.value("family", "");
    s.reply = dir == "reply";
    s.text = "ct " + (dir.empty() ? "" : dir + " ") + (family.empty() ? "" : family + " ") + key;
    if (body.contains("family") && family != "ip" && family != "ip6") return UnknownSelector(j);
    // nft 1.0.6 writes "ip daddr" as the key; later ones may give "daddr" with "family"
    if (key.starts_with("ip6 ")) {
      key = key.substr(4);
      family = "ip6";
    } else if (key.starts_with("ip ")) {
      key = key.substr(3);
      family = "ip";
    }
    if (key == "saddr" || key == "daddr") {
      if (family != "ip" && family != "ip6") return UnknownSelector(j);
      s.protocol = family == "ip" ? 4 : 6;   // the address family compared
    }
    if (key == "state") s.kind = NftSelector::kCtState;
    else if (key == "status") s.kind = NftSelector::kCtStatus;
    else if (key == "mark") s.kind = NftSelector::kCtMark;
    else if (key == "direction") s.kind = NftSelector::kCtDirection;
    else if (key == "l3proto") s.kind = NftSelector::kCtL3proto;
    else if (key == "protocol") s.kind = NftSelector::kCtProtocol;
    else if (key == "saddr" && !dir.empty()) s.kind = NftSelector::kCtSaddr;
    else if (key == "daddr" && !dir.empty()) s.kind = NftSelector::kCtDaddr;
    else if (key == "proto-src" && !dir.empty()) s.kind = NftSelector::kCtProtoSrc;
    else if (key == "proto-dst" && !dir.empty()) s.kind = NftSelector::kCtProtoDst;
    else return UnknownSelector(j);
    return s;
  }
  if (name == "fib" && body.is_object()) {
    std::string result = body.value("result", "");
    if (result != "type" || !body.contains("flags")) return UnknownSelector(j);
    std::vector<std::string> flags;
    if (body["flags"].is_string()) flags.push_back(body["flags"].get<std::string>());
    else if (body["flags"].is_array())
      for (const auto& f : body["flags"])
        if (f.is_string()) flags.push_back(f.get<std::string>());
    bool saddr = false, daddr = false;
    for (const auto& f : flags) {
      if (f == "saddr") saddr = true;
      else if (f == "daddr") daddr = true;
      else if (f == "iif") s.fib_iif = true;
      else if (f == "oif") s.fib_oif = true;
      else return UnknownSelector(j);
    }
    if (saddr == daddr) return UnknownSelector(j);
    s.kind = daddr ? NftSelector::kFibDaddrType : NftSelector::kFibSaddrType;
    s.text = fmt::format("fib {}{}{} type", daddr ? "daddr" : "saddr", s.fib_iif ? " . iif" : "",
                         s.fib_oif ? " . oif" : "");
    return s;
  }
  return UnknownSelector(j);
}

// ---- values ------------------------------------------------------------

// One part of a key of DOMAIN from J. Nullopt: J is not such a value.
std::optional<NftPart> Part(Domain d, const Json& j) {
  NftPart p;
  if (j.is_object() && j.contains("elem") && j["elem"].is_object() && j["elem"].contains("val"))
    return Part(d, j["elem"]["val"]);
  if (d == Domain::kName) {
    if (!j.is_string()) return std::nullopt;
    p.name = j.get<std::string>();
    if (p.name.size() > 1 && p.name.ends_with("\\*")) {
      p.name.erase(p.name.size() - 2, 1);   // an escaped star is a star
    } else if (!p.name.empty() && p.name.back() == '*') {
      p.name.pop_back();
      p.wildcard = true;
    }
    if (p.name.size() > 15) return std::nullopt;
    return p;
  }
  if (d == Domain::kAddr4 || d == Domain::kAddr6) {
    Family f = d == Domain::kAddr4 ? Family::kIPv4 : Family::kIPv6;
    if (j.is_string()) {
      auto a = IpAddress::Parse(j.get<std::string>(), f);
      if (!a) return std::nullopt;
      p.addr_lo = p.addr_hi = *a;
      return p;
    }
    if (j.is_object() && j.contains("prefix")) {
      const Json& pr = j["prefix"];
      if (!pr.is_object() || !pr.contains("addr") || !pr["addr"].is_string() || !pr.contains("len") ||
          !pr["len"].is_number_unsigned())
        return std::nullopt;
      auto a = IpAddress::Parse(pr["addr"].get<std::string>(), f);
      uint64_t len = pr["len"].get<uint64_t>();
      if (!a || len > static_cast<uint64_t>(a->Bits())) return std::nullopt;
      Cidr c = Cidr::Prefix(*a, static_cast<int>(len));
      p.addr_lo = c.address;
      p.addr_hi = c.address;
      for (int i = static_cast<int>(len); i < a->Bits(); ++i)
        p.addr_hi.bytes[i / 8] |= static_cast<uint8_t>(0x80 >> (i % 8));
      return p;
    }
    if (j.is_object() && j.contains("range") && j["range"].is_array() && j["range"].size() == 2) {
      auto lo = Part(d, j["range"][0]), hi = Part(d, j["range"][1]);
      if (!lo || !hi || hi->addr_hi < lo->addr_lo) return std::nullopt;
      p.addr_lo = lo->addr_lo;
      p.addr_hi = hi->addr_hi;
      return p;
    }
    return std::nullopt;
  }
  if (j.is_object() && j.contains("range") && j["range"].is_array() && j["range"].size() == 2) {
    auto lo = SymbolValue(d, j["range"][0]), hi = SymbolValue(d, j["range"][1]);
    if (!lo || !hi || *hi < *lo) return std::nullopt;
    p.lo = *lo;
    p.hi = *hi;
    return p;
  }
  auto v = SymbolValue(d, j);
  if (!v) return std::nullopt;
  p.lo = p.hi = *v;
  return p;
}

NftVerdict VerdictOf(const Json& j) {
  NftVerdict v;
  if (!j.is_object() || j.size() != 1) Fail("a verdict must be one of accept, drop, jump ...");
  auto first = j.begin();
  const std::string& name = first.key();
  const Json& body = first.value();
  if (name == "accept") v.kind = NftVerdict::kAccept;
  else if (name == "drop") v.kind = NftVerdict::kDrop;
  else if (name == "continue") v.kind = NftVerdict::kContinue;
  else if (name == "return") v.kind = NftVerdict::kReturn;
  else if (name == "queue") v.kind = NftVerdict::kQueue;
  else if (name == "jump" || name == "goto") {
    v.kind = name == "jump" ? NftVerdict::kJump : NftVerdict::kGoto;
    if (!body.is_object()) Fail(fmt::format("\"{}\" needs a target", name));
    v.chain = Str(body, "target");
  } else {
    Fail(fmt::format("unknown verdict \"{}\"", name));
  }
  return v;
}

std::string VerdictText(const NftVerdict& v) {
  switch (v.kind) {
    case NftVerdict::kAccept: return "accept";
    case NftVerdict::kDrop: return "drop";
    case NftVerdict::kContinue: return "continue";
    case NftVerdict::kReturn: return "return";
    case NftVerdict::kQueue: return "queue";
    case NftVerdict::kJump: return "jump " + v.chain;
    case NftVerdict::kGoto: return "goto " + v.chain;
    case NftVerdict::kNone: break;
  }
  return "";
}

// A key (one part per domain) from J: a value, or {"concat": [...]}.
std::optional<std::vector<NftPart>> Key(const std::vector<Domain>& domains, const Json& j) {
  std::vector<NftPart> key;
  if (domains.size() == 1) {
    auto p = Part(domains[0], j);
    if (!p) return std::nullopt;
    key.push_back(std::move(*p));
    return key;
  }
  const Json* c = &j;
  if (j.is_object() && j.contains("elem") && j["elem"].is_object()) c = &j["elem"]["val"];
  if (!c->is_object() || !c->contains("concat") || !(*c)["concat"].is_array() ||
      (*c)["concat"].size() != domains.size())
    return std::nullopt;
  for (size_t i = 0; i < domains.size(); ++i) {
    auto p = Part(domains[i], (*c)["concat"][i]);
    if (!p) return std::nullopt;
    key.push_back(std::move(*p));
  }
  return key;
}

// ---- objects -----------------------------------------------------------

struct RawRule {
  size_t object = 0;   // index in the nftables array
  int table = -1, chain = -1;
  const Json* body = nullptr;
};

struct Reader {
  NftRuleset rs;
  std::map<std::pair<std::string, std::string>, int> tables;   // (family, name) -> index
  std::vector<RawRule> rules;
  std::vector<Diagnostic> warnings;
  std::string file;

  int TableOf(const Json& o) {
    auto it = tables.find({Str(o, "family"), Str(o, "table")});
    if (it == tables.end())
      Fail(fmt::format("table {} {} is not defined before it is used", Str(o, "family"),
                       Str(o, "table")));
    return it->second;
  }

  void Table(const Json& o) {
    NftTable t;
    t.family = FamilyOf(Str(o, "family"));
    t.name = Str(o, "name");
    t.handle = Uint(o, "handle");
    if (!tables.emplace(std::pair{Str(o, "family"), t.name}, static_cast<int>(rs.tables.size())).second)
      Fail(fmt::format("table {} {} twice", Str(o, "family"), t.name));
    rs.tables.push_back(std::move(t));
  }

  void Chain(const Json& o) {
    NftTable& t = rs.tables[TableOf(o)];
    NftChain c;
    c.name = Str(o, "name");
    c.handle = Uint(o, "handle");
    if (c.name.empty() || c.name.size() > 255) Fail("a chain name must be 1 to 255 characters");
    if (t.FindChain(c.name) >= 0) Fail(fmt::format("chain {} twice in table {}", c.name, t.name));
    if (o.contains("hook")) {
      c.base = true;
      c.hook = Str(o, "hook");
      c.type = o.contains("type") ? Str(o, "type") : "filter";
      static const char* kHooks[] = {"prerouting", "input", "forward", "output", "postrouting",
                                     "ingress", "egress"};
      bool known = false;
      for (const char* h : kHooks) known |= c.hook == h;
      if (!known) Fail(fmt::format("unknown hook \"{}\"", c.hook));
      if (c.type != "filter" && c.type != "nat" && c.type != "route")
        Fail(fmt::format("unknown chain type \"{}\"", c.type));
      auto p = o.find("prio");
      if (p == o.end() || !p->is_number_integer()) Fail("a base chain's \"prio\" must be a number");
      int64_t prio = p->get<int64_t>();
      if (prio < INT32_MIN || prio > INT32_MAX) Fail("priority out of range");
      c.priority = static_cast<int>(prio);
      std::string policy = o.value("policy", "accept");
      if (policy == "accept") c.policy = NftVerdict::kAccept;
      else if (policy == "drop") c.policy = NftVerdict::kDrop;
      else Fail(fmt::format("unknown chain policy \"{}\"", policy));
    }
    t.chains.push_back(std::move(c));
  }

  void Set(const Json& o, bool is_map) {
    NftTable& t = rs.tables[TableOf(o)];
    NftSet s;
    s.name = Str(o, "name");
    s.is_map = is_map;
    if (t.FindSet(s.name) >= 0) Fail(fmt::format("set {} twice in table {}", s.name, t.name));
    std::vector<Domain> domains;
    const Json& type = o.at("type");
    auto add_type = [&](const Json& ty) {
      if (!ty.is_string()) Fail("a set's \"type\" must be a string or a list of strings");
      Domain d = DomainOfType(ty.get<std::string>());
      domains.push_back(d);
      s.key_types.push_back(d == Domain::kAddr4 || d == Domain::kAddr6 ? NftValueType::kAddress
                            : d == Domain::kName ? NftValueType::kName : NftValueType::kNumber);
    };
    if (type.is_array()) {
      for (const auto& ty : type) add_type(ty);
    } else {
      add_type(type);
    }
    if (is_map) s.verdict_map = o.contains("map") && o["map"].is_string() && o["map"] == "verdict";
    bool readable = true;
    for (Domain d : domains) readable &= d != Domain::kUnknown;
    s.empty_known = !o.contains("elem");
    if (auto e = o.find("elem"); e != o.end() && readable) {
      if (!e->is_array()) Fail("\"elem\" must be a list");
      for (const auto& item : *e) {
        NftElement el;
        const Json* k = &item;
        if (is_map) {
          if (!item.is_array() || item.size() != 2) Fail("a map element must be [key, value]");
          k = &item[0];
          if (s.verdict_map) el.verdict = VerdictOf(item[1]);
        }
        auto key = Key(domains, *k);
        if (!key) {
          // not a value we can read (a name, a form we do not know): the set's
          // lookups become undecidable rather than the whole ruleset unread
          warnings.push_back({file, 0, 0, fmt::format("set {}: element {} is not a value the analyzer reads: "
                                                      "its lookups are undecidable", s.name, Compact(*k))});
          s.elements.clear();
          s.key_types.clear();
          break;
        }
        el.key = std::move(*key);
        s.elements.push_back(std::move(el));
      }
    } else if (!readable) {
      s.key_types.clear();   // a set of a type we do not model: lookups are undecidable
    }
    t.sets.push_back(std::move(s));
  }
};

// ---- rules -------------------------------------------------------------

struct RuleDecoder {
  NftTable& table;

  NftStatement Unknown(const Json& j) {
    NftStatement s;
    s.kind = NftStatement::kUnknown;
    s.text = Compact(j);
    return s;
  }

  // The right side of a match or vmap: fills values or set.
  bool Right(NftStatement& s, const std::vector<Domain>& domains, const Json& r, bool verdicts) {
    if (r.is_string() && r.get<std::string>().starts_with("@")) {
      std::string name = r.get<std::string>().substr(1);
      s.set = table.FindSet(name);
      if (s.set < 0) Fail(fmt::format("set @{} is not defined in table {}", name, table.name));
      const NftSet& set = table.sets[s.set];
      if (verdicts != set.verdict_map) Fail(fmt::format("@{} is not a {}", name, verdicts ? "verdict map" : "set"));
      if (set.key_types.size() != domains.size()) return false;   // unknown type: undecidable
      for (size_t i = 0; i < domains.size(); ++i) {
        NftValueType want = domains[i] == Domain::kAddr4 || domains[i] == Domain::kAddr6
                                ? NftValueType::kAddress
                            : domains[i] == Domain::kName ? NftValueType::kName
                                                          : NftValueType::kNumber;
        if (set.key_types[i] != want) Fail(fmt::format("@{}'s type does not match {}", name, s.text));
      }
      return true;
    }
    auto add = [&](const Json& item) {
      NftElement el;
      const Json* k = &item;
      if (verdicts) {
        if (!item.is_array() || item.size() != 2) Fail("a verdict map element must be [key, verdict]");
        k = &item[0];
        el.verdict = VerdictOf(item[1]);
      }
      auto key = Key(domains, *k);
      if (!key) return false;
      el.key = std::move(*key);
      s.values.push_back(std::move(el));
      return true;
    };
    if (r.is_object() && r.contains("set") && r["set"].is_array()) {
      for (const auto& item : r["set"])
        if (!add(item)) return false;
      return true;
    }
    if (verdicts) return false;
    // a bare list of flags: their union (`ct state established,related`)
    if (r.is_array() && domains.size() == 1 && IsFlagDomain(domains[0])) {
      NftElement el;
      NftPart p;
      for (const auto& f : r) {
        auto v = SymbolValue(domains[0], f);
        if (!v) return false;
        p.lo |= *v;
      }
      p.hi = p.lo;
      el.key.push_back(p);
      s.values.push_back(std::move(el));
      return true;
    }
    return add(r);
  }

  NftStatement Match(const Json& body, const Json& whole) {
    NftStatement s;
    s.kind = NftStatement::kMatch;
    if (!body.is_object() || !body.contains("left") || !body.contains("right")) Fail("a match needs left and right");
    std::string op = body.value("op", "==");
    const Json& left = body["left"];
    std::vector<Domain> domains;
    if (left.is_object() && left.contains("concat") && left["concat"].is_array()) {
      for (const auto& l : left["concat"]) s.key.push_back(Selector(l));
    } else {
      s.key.push_back(Selector(left));
    }
    std::vector<std::string> texts;
    const Json& r0 = body["right"];
    if (op == "==" && r0.is_string() && r0.get<std::string>().starts_with("@")) {
      // a lookup in an empty set never matches, whatever it looks up
      int set = table.FindSet(r0.get<std::string>().substr(1));
      if (set >= 0 && table.sets[set].elements.empty() && table.sets[set].empty_known) {
        NftStatement never;
        never.kind = NftStatement::kMatch;
        NftSelector l4;
        l4.kind = NftSelector::kL4proto;
        l4.text = "meta l4proto";
        never.key.push_back(l4);
        never.text = fmt::format("{} {} (an empty set)", Selector(left).text, r0.get<std::string>());
        return never;   // no values: matches nothing
      }
    }
    for (const auto& k : s.key) {
      if (k.kind == NftSelector::kUnknown) return Unknown(whole);
      domains.push_back(DomainOf(k));
      texts.push_back(k.text);
    }
    s.text = fmt::format("{}", fmt::join(texts, " . "));
    if (op == "==" || op == "in") s.op = NftStatement::kEq;
    else if (op == "!=") s.op = NftStatement::kNe;
    else if (op == "<") s.op = NftStatement::kLt;
    else if (op == ">") s.op = NftStatement::kGt;
    else if (op == "<=") s.op = NftStatement::kLe;
    else if (op == ">=") s.op = NftStatement::kGe;
    else return Unknown(whole);
    const Json& right = body["right"];
    bool flags = s.key.size() == 1 && IsFlagSelector(s.key[0].kind);
    // flags: `ct state established` (op in) and `ct state established,related`
    // test bits; `== {a, b}` is one of the values; `== a` with a mask is exact
    if (flags && op == "in" && !(right.is_object() && right.contains("set")) &&
        !(right.is_string() && right.get<std::string>().starts_with("@")))
      s.op = NftStatement::kAnyBits;
    else if (flags && op == "==" && (right.is_array() || (right.is_string() && s.key[0].mask == ~uint64_t{0} &&
                                                          !right.get<std::string>().starts_with("@"))))
      s.op = NftStatement::kAnyBits;   // `ct state new` is a bit test as well
    if (!Right(s, domains, right, false)) return Unknown(whole);
    if ((s.op != NftStatement::kEq && s.op != NftStatement::kNe && s.op != NftStatement::kAnyBits) &&
        (s.set >= 0 || s.values.size() != 1 || s.key.size() != 1))
      return Unknown(whole);
    if (s.set >= 0) s.text += fmt::format(" {}{}", s.op == NftStatement::kNe ? "!= " : "", right.get<std::string>());
    else s.text += fmt::format(" {}{}", op == "==" || op == "in" ? "" : op + " ", ValueText(right));
    return s;
  }

  NftStatement Nat(NftStatement::Kind kind, const Json& body, const Json& whole, const char* name) {
    NftStatement s;
    s.kind = kind;
    s.text = name;
    if (!body.is_object()) return s;   // masquerade / redirect without options
    std::string fam = body.value("family", table.family == NftFamily::kIp6 ? "ip6" : "ip");
    if (table.family == NftFamily::kInet && body.contains("family"))
      s.only_family = fam == "ip6" ? 6 : 4;   // the other family's packets pass untouched
    Domain ad = fam == "ip6" ? Domain::kAddr6 : Domain::kAddr4;
    if (auto a = body.find("addr"); a != body.end()) {
      if (a->is_object() && a->contains("map")) return Unknown(whole);
      auto p = Part(ad, *a);
      if (!p) return Unknown(whole);
      s.has_addr = true;
      s.addr_lo = p->addr_lo;
      s.addr_hi = p->addr_hi;
    }
    if (auto pt = body.find("port"); pt != body.end()) {
      auto p = Part(Domain::kNumber, *pt);
      if (!p || p->hi > 65535) return Unknown(whole);
      s.port_lo = static_cast<uint16_t>(p->lo);
      s.port_hi = static_cast<uint16_t>(p->hi);
    }
    if (body.contains("flags")) return Unknown(whole);   // random, persistent, netmap: not modelled
    s.text = fmt::format("{} to {}{}", name, body.contains("addr") ? ValueText(body["addr"]) : "",
                         body.contains("port") ? ":" + ValueText(body["port"]) : "");
    return s;
  }

  NftStatement Statement(const Json& j) {
    if (!j.is_object() || j.size() != 1) Fail("a statement must be an object with one key");
    auto first = j.begin();
  const std::string& name = first.key();
  const Json& body = first.value();
    NftStatement s;
    if (name == "accept" || name == "drop" || name == "continue" || name == "return" || name == "jump" ||
        name == "goto") {
      s.kind = NftStatement::kVerdict;
      s.verdict = VerdictOf(j);
      s.text = VerdictText(s.verdict);
      return s;
    }
    if (name == "match") return Match(body, j);
    if (name == "vmap") {
      s.kind = NftStatement::kVmap;
      if (!body.is_object() || !body.contains("key") || !body.contains("data")) Fail("vmap needs key and data");
      const Json& key = body["key"];
      if (key.is_object() && key.contains("concat") && key["concat"].is_array()) {
        for (const auto& l : key["concat"]) s.key.push_back(Selector(l));
      } else {
        s.key.push_back(Selector(key));
      }
      std::vector<Domain> domains;
      std::vector<std::string> texts;
      for (const auto& k : s.key) {
        if (k.kind == NftSelector::kUnknown) return Unknown(j);
        domains.push_back(DomainOf(k));
        texts.push_back(k.text);
      }
      if (!Right(s, domains, body["data"], true)) return Unknown(j);
      s.text = fmt::format("{} vmap {}", fmt::join(texts, " . "), ValueText(body["data"]));
      return s;
    }
    if (name == "counter" || name == "log" || (name == "quota" && body.is_object() && !body.value("inv", false))) {
      s.kind = name == "quota" ? NftStatement::kLimit : NftStatement::kNoEffect;
      s.text = name;
      return s;
    }
    if (name == "limit") {
      s.kind = NftStatement::kLimit;
      s.negated = body.is_object() && body.value("inv", false);
      s.text = s.negated ? "limit rate over ..." : "limit rate ...";
      return s;
    }
    if (name == "reject") {
      s.kind = NftStatement::kReject;
      std::string type = body.is_object() ? body.value("type", "") : "";
      if (type == "icmp") s.only_family = 4;
      else if (type == "icmpv6") s.only_family = 6;
      else if (type == "tcp reset") s.tcp_only = true;
      s.text = type.empty() ? "reject" : "reject with " + type;
      return s;
    }
    if (name == "notrack") {
      s.kind = NftStatement::kNotrack;
      s.text = "notrack";
      return s;
    }
    if (name == "dnat") return Nat(NftStatement::kDnat, body, j, "dnat");
    if (name == "snat") return Nat(NftStatement::kSnat, body, j, "snat");
    if (name == "masquerade") return Nat(NftStatement::kMasquerade, body, j, "masquerade");
    if (name == "redirect") return Nat(NftStatement::kRedirect, body, j, "redirect");
    if (name == "mangle" && body.is_object() && body.contains("key") && body.contains("value")) {
      NftSelector k = Selector(body["key"]);
      if (k.kind != NftSelector::kMark && k.kind != NftSelector::kCtMark) return Unknown(j);
      s.kind = k.kind == NftSelector::kMark ? NftStatement::kSetMark : NftStatement::kSetCtMark;
      const Json& v = body["value"];
      NftSelector from = Selector(v);
      if ((k.kind == NftSelector::kMark && from.kind == NftSelector::kCtMark) ||
          (k.kind == NftSelector::kCtMark && from.kind == NftSelector::kMark)) {
        if (from.mask != ~uint64_t{0}) return Unknown(j);
        s.from_other = true;
      } else if (v.is_number_unsigned() && v.get<uint64_t>() <= 0xffffffffu) {
        s.value = v.get<uint64_t>();
      } else {
        return Unknown(j);
      }
      s.text = fmt::format("{} set {}", k.text, s.from_other ? from.text : fmt::format("{:#x}", s.value));
      return s;
    }
    return Unknown(j);
  }

  NftRule Rule(const Json& o) {
    NftRule r;
    r.handle = Uint(o, "handle");
    if (auto c = o.find("comment"); c != o.end() && c->is_string()) r.comment = c->get<std::string>();
    auto e = o.find("expr");
    if (e == o.end() || !e->is_array()) Fail("a rule's \"expr\" must be a list");
    std::vector<std::string> texts;
    for (const auto& st : *e) {
      r.statements.push_back(Statement(st));
      NftStatement& s = r.statements.back();
      if (s.kind == NftStatement::kVerdict &&
          (s.verdict.kind == NftVerdict::kJump || s.verdict.kind == NftVerdict::kGoto)) {
        s.verdict.chain_index = table.FindChain(s.verdict.chain);
        if (s.verdict.chain_index < 0)
          Fail(fmt::format("{} to chain {}, which table {} does not have", s.text, s.verdict.chain, table.name));
      }
      if (s.kind == NftStatement::kVmap) {
        auto resolve = [&](NftElement& el) {
          if (el.verdict.kind == NftVerdict::kJump || el.verdict.kind == NftVerdict::kGoto) {
            el.verdict.chain_index = table.FindChain(el.verdict.chain);
            if (el.verdict.chain_index < 0)
              Fail(fmt::format("vmap to chain {}, which table {} does not have", el.verdict.chain, table.name));
          }
        };
        for (auto& el : s.values) resolve(el);
      }
      if (s.kind != NftStatement::kNoEffect || s.text != "counter") texts.push_back(s.text);
    }
    r.text = fmt::format("{}", fmt::join(texts, " "));
    if (!r.comment.empty()) r.text += fmt::format(" comment \"{}\"", r.comment);
    return r;
  }
};

}  // namespace

NftParseResult ParseNftJson(std::string_view text, std::string_view file_name) {
  NftParseResult result;
  Reader rd;
  rd.file = std::string(file_name);
  auto error = [&](size_t object, const std::string& msg) {
    Diagnostic d;
    d.file = rd.file;
    auto offsets = ElementOffsets(text);
    LineColumn(text, object < offsets.size() ? offsets[object] : 0, d.line, d.column);
    d.message = msg;
    result.error = d;
    return result;
  };
  Json doc;
  try {
    doc = Json::parse(text.begin(), text.end());
  } catch (const Json::parse_error& e) {
    Diagnostic d;
    d.file = rd.file;
    LineColumn(text, e.byte > 0 ? e.byte - 1 : 0, d.line, d.column);
    d.message = "not JSON: " + std::string(e.what());
    result.error = d;
    return result;
  }
  if (!doc.is_object() || !doc.contains("nftables") || !doc["nftables"].is_array()) {
    Diagnostic d{rd.file, 1, 1, "not nftables JSON: expected {\"nftables\": [...]} (nft -j list ruleset)"};
    result.error = d;
    return result;
  }
  const Json& items = doc["nftables"];
  size_t i = 0;
  try {
    for (; i < items.size(); ++i) {
      const Json& item = items[i];
      if (!item.is_object() || item.size() != 1) Fail("each entry must be an object with one key");
      auto first = item.begin();
      const std::string& kind = first.key();
      const Json& body = first.value();
      if (!body.is_object()) Fail(fmt::format("\"{}\" must be an object", kind));
      if (kind == "metainfo") rd.rs.nft_version = body.value("version", "");
      else if (kind == "table") rd.Table(body);
      else if (kind == "chain") rd.Chain(body);
      else if (kind == "set") rd.Set(body, false);
      else if (kind == "map") rd.Set(body, true);
      else if (kind == "rule") {
        RawRule r;
        r.object = i;
        r.table = rd.TableOf(body);
        r.chain = rd.rs.tables[r.table].FindChain(Str(body, "chain"));
        if (r.chain < 0) Fail(fmt::format("rule of chain {}, which is not defined", Str(body, "chain")));
        r.body = &body;
        rd.rules.push_back(r);
      } else {
        // flowtables, counters, quotas, ct helpers, ...: not part of the packet's path here
        rd.warnings.push_back({rd.file, 0, 0, fmt::format("\"{}\" objects are not modelled", kind)});
      }
    }
    for (auto& t : rd.rs.tables)
      for (auto& set : t.sets)
        for (auto& el : set.elements)
          if (el.verdict.kind == NftVerdict::kJump || el.verdict.kind == NftVerdict::kGoto) {
            el.verdict.chain_index = t.FindChain(el.verdict.chain);
            if (el.verdict.chain_index < 0)
              Fail(fmt::format("map {} jumps to chain {}, which table {} does not have", set.name,
                               el.verdict.chain, t.name));
          }
    for (const RawRule& r : rd.rules) {
      i = r.object;
      RuleDecoder dec{rd.rs.tables[r.table]};
      NftRule rule = dec.Rule(*r.body);
      rd.rs.tables[r.table].chains[r.chain].rules.push_back(std::move(rule));
    }
  } catch (const NftError& e) {
    return error(i, e.what());
  } catch (const Json::exception& e) {
    return error(i, e.what());
  }
  for (const auto& t : rd.rs.tables)
    if (t.family == NftFamily::kArp || t.family == NftFamily::kBridge || t.family == NftFamily::kNetdev)
      rd.warnings.push_back({rd.file, 0, 0,
                             fmt::format("table {} {}: family {} is not modelled", NftFamilyName(t.family),
                                         t.name, NftFamilyName(t.family))});
  result.warnings = std::move(rd.warnings);
  result.ruleset = std::move(rd.rs);
  return result;
}

}  // namespace swarmwall::netfilter
