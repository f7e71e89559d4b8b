#include "backend/nftables/family_state_of.h"

#include <memory>
#include <optional>

#include <fmt/format.h>

#include "backend/nftables/expr.h"
#include "base/json_text.h"
#include "netfilter/codecs.h"
#include "netfilter/modules.h"

namespace swarmwall::backend::nft {
namespace {

using netfilter::Family;

const Json* Field(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::optional<std::string> StringOf(const Json* j) {
  if (!j || !j->is_string()) return std::nullopt;
  return j->get<std::string>();
}

// The only key of an object, or "".
std::string OnlyKey(const Json& j) {
  return j.is_object() && j.size() == 1 ? j.begin().key() : std::string();
}

// "80", "9000:9010" from 80, {"range": [9000, 9010]}.
std::optional<std::string> PortText(const Json& v) {
  uint64_t lo = 0, hi = 0;
  if (UnsignedOf(&v, lo)) return lo <= 65535 ? std::optional(std::to_string(lo)) : std::nullopt;
  const Json* range = Field(v, "range");
  if (!range || v.size() != 1 || !range->is_array() || range->size() != 2) return std::nullopt;
  if (!UnsignedOf(&(*range)[0], lo) || !UnsignedOf(&(*range)[1], hi) || lo >= hi || hi > 65535)
    return std::nullopt;
  return fmt::format("{}:{}", lo, hi);
}

// The spec pieces of one rule, put together in iptables-save's order.
class SpecBuilder {
 public:
  explicit SpecBuilder(Family family) : family_(family) {}

  bool Statement(const Json& s) {
    if (done_) return false;   // nothing follows a verdict or LOG
    std::string key = OnlyKey(s);
    const Json& body = key.empty() ? s : s[key];
    if (key == "match") return MatchStatement(body);
    if (key == "limit") return Limit(body);
    if (key == "log") {
      if (body.is_null()) {
        target_ = "LOG";
        return done_ = true;
      }
      auto prefix = StringOf(Field(body, "prefix"));
      if (!prefix || body.size() != 1) return false;
      target_ = "LOG --log-prefix " + netfilter::QuoteText(*prefix);
      return done_ = true;
    }
    if (key == "accept" || key == "drop" || key == "return") {
      if (!body.is_null()) return false;
      target_ = key == "accept" ? "ACCEPT" : key == "drop" ? "DROP" : "RETURN";
      return done_ = true;
    }
    if (key == "jump") {
      auto target = StringOf(Field(body, "target"));
      if (!target || body.size() != 1) return false;
      target_ = *target;
      return done_ = true;
    }
    return false;
  }

  std::optional<std::string> Spec(const std::string& comment) {
    if (!done_) return std::nullopt;
    std::string s;
    if (!source_.empty()) s += " -s " + source_;
    if (!destination_.empty()) s += " -d " + destination_;
    if (!in_.empty()) s += " -i " + in_;
    if (!out_.empty()) s += " -o " + out_;
    if (protocol_) s += " -p " + netfilter::ProtocolName(protocol_, family_);
    // The compiler writes the comment after every match but the limit.
    std::string comment_text =
        comment.empty() ? "" : " -m comment --comment " + netfilter::QuoteText(comment);
    for (const auto& m : matches_) {
      if (m.starts_with(" -m limit ") && !comment_text.empty()) {
        s += comment_text;
        comment_text.clear();
      }
      s += m;
    }
    s += comment_text;
    s += " -j " + target_;
    return s.substr(1);
  }

 private:
  bool Protocol(uint64_t p) {
    if (p == 0 || p > 255 || (protocol_ && protocol_ != p)) return false;
    protocol_ = static_cast<uint16_t>(p);
    return true;
  }

  bool MatchStatement(const Json& m) {
    auto op = StringOf(Field(m, "op"));
    const Json* left = Field(m, "left");
    const Json* right = Field(m, "right");
    if (!op || !left || !right || m.size() != 3) return false;
    std::string kind = OnlyKey(*left);
    const Json& l = kind.empty() ? *left : (*left)[kind];
    if (kind == "meta") return Meta(*op, l, *right);
    if (kind == "payload") return PayloadMatch(*op, l, *right);
    if (kind == "ct") return CtMatch(*op, l, *right);
    return false;
  }

  bool Meta(const std::string& op, const Json& l, const Json& right) {
    auto key = StringOf(Field(l, "key"));
    if (op != "==" || !key || l.size() != 1) return false;
    if (*key == "iifname" || *key == "oifname") {
      auto name = StringOf(&right);
      std::string& into = *key == "iifname" ? in_ : out_;
      if (!name || name->empty() || !into.empty() || name->find('+') != std::string::npos) return false;
      if (name->ends_with('*')) name->back() = '+';
      if (name->find('*') != std::string::npos) return false;
      into = *name;
      return true;
    }
    if (*key == "l4proto") {
      uint64_t p = 0;
      return UnsignedOf(&right, p) && Protocol(p);
    }
    if (*key == "ipsec") {
      if (!right.is_boolean() || !right.get<bool>()) return false;
      matches_.push_back(" -m policy --dir in --pol ipsec");
      return true;
    }
    return false;
  }

  bool PayloadMatch(const std::string& op, const Json& l, const Json& right) {
    auto proto = StringOf(Field(l, "protocol"));
    auto field = StringOf(Field(l, "field"));
    if (op != "==" || !proto || !field || l.size() != 2) return false;
    bool v4 = family_ == Family::kIPv4;
    if (*proto == (v4 ? "ip" : "ip6") && (*field == "saddr" || *field == "daddr")) {
      bool src = *field == "saddr";
      if (auto set = StringOf(&right); set && set->starts_with("@")) {
        matches_.push_back(fmt::format(" -m set --match-set {} {}", set->substr(1), src ? "src" : "dst"));
        return true;
      }
      auto interval = IntervalOfValue(right, family_);
      auto prefix = interval ? netfilter::AsPrefix(*interval) : std::nullopt;
      std::string& into = src ? source_ : destination_;
      if (!prefix || Field(right, "range") || !into.empty()) return false;
      into = prefix->ToString();
      return true;
    }
    if ((*proto == "tcp" || *proto == "udp" || *proto == "sctp") && *field == "dport") {
      uint16_t number = *proto == "tcp" ? 6 : *proto == "udp" ? 17 : 132;
      if (!Protocol(number)) return false;
      if (const Json* set = Field(right, "set")) {
        std::string list;
        if (!set->is_array() || set->empty() || right.size() != 1) return false;
        for (const auto& e : *set) {
          auto p = PortText(e);
          if (!p) return false;
          list += (list.empty() ? "" : ",") + *p;
        }
        matches_.push_back(" -m multiport --dports " + list);
        return true;
      }
      auto port = PortText(right);
      if (!port) return false;
      matches_.push_back(fmt::format(" -m {} --dport {}", *proto, *port));
      return true;
    }
    if (*field == "type" && ((v4 && *proto == "icmp") || (!v4 && *proto == "icmpv6"))) {
      uint64_t type = 0;
      if (!UnsignedOf(&right, type) || type > 255 || !Protocol(v4 ? 1 : 58)) return false;
      matches_.push_back(v4 ? fmt::format(" -m icmp --icmp-type {}", type)
                            : fmt::format(" -m icmp6 --icmpv6-type {}", type));
      return true;
    }
    return false;
  }

  // ct state / status / original proto-dst: one -m conntrack for a run of them.
  bool CtMatch(const std::string& op, const Json& l, const Json& right) {
    auto key = StringOf(Field(l, "key"));
    if (!key) return false;
    size_t at = conntrack_at_ && *conntrack_at_ + 1 == matches_.size() ? *conntrack_at_ : SIZE_MAX;
    if (at == SIZE_MAX) {
      matches_.push_back("");
      at = matches_.size() - 1;
      conntrack_at_ = at;
      ct_states_.clear();
      ct_port_.clear();
    }
    if ((*key == "state" || *key == "status") && op == "in" && l.size() == 1) {
      if (!ct_states_.empty() || !ct_port_.empty()) return false;
      std::vector<std::string> names;
      for (const auto& f : right.is_array() ? right : Json::array({right})) {
        auto name = StringOf(&f);
        if (!name) return false;
        names.push_back(*name);
      }
      // iptables' order: INVALID NEW RELATED ESTABLISHED UNTRACKED SNAT DNAT.
      static const std::pair<std::string_view, std::string_view> kOrder[] = {
          {"invalid", "INVALID"}, {"new", "NEW"}, {"related", "RELATED"}, {"established", "ESTABLISHED"},
          {"untracked", "UNTRACKED"}, {"snat", "SNAT"}, {"dnat", "DNAT"}};
      size_t found = 0;
      for (const auto& [nft, ipt] : kOrder)
        if (std::find(names.begin(), names.end(), nft) != names.end()) {
          bool nat = nft == "snat" || nft == "dnat";
          if (nat != (*key == "status")) return false;
          ct_states_ += (ct_states_.empty() ? "" : ",") + std::string(ipt);
          ++found;
        }
      if (found != names.size() || found == 0) return false;
    } else if (*key == "proto-dst" && op == "==" && IsString(Field(l, "dir"), "original") && l.size() == 2) {
      auto port = PortText(right);
      if (!port || !ct_port_.empty()) return false;
      ct_port_ = *port;
    } else {
      return false;
    }
    std::string& m = matches_[at];
    m = " -m conntrack";
    if (!ct_states_.empty()) m += " --ctstate " + ct_states_;
    if (!ct_port_.empty()) m += " --ctorigdstport " + ct_port_;
    return true;
  }

  static bool IsString(const Json* j, std::string_view s) {
    return j && j->is_string() && j->get_ref<const std::string&>() == s;
  }

  bool Limit(const Json& body) {
    const Json* rate_j = Field(body, "rate");
    const Json* burst_j = Field(body, "burst");
    uint64_t rate = 0, b = 5;
    auto per = StringOf(Field(body, "per"));
    if (!UnsignedOf(rate_j, rate) || rate == 0 || (burst_j && !UnsignedOf(burst_j, b)) || !per ||
        body.size() != (burst_j ? 3u : 2u))
      return false;
    std::string unit = *per == "second" ? "sec" : *per == "minute" ? "min" : *per;
    if (unit != "sec" && unit != "min" && unit != "hour" && unit != "day") return false;
    std::string m = fmt::format(" -m limit --limit {}/{}", rate, unit);
    if (b != 5) m += fmt::format(" --limit-burst {}", b);
    matches_.push_back(m);
    return true;
  }

  Family family_;
  std::string source_, destination_, in_, out_, target_;
  uint16_t protocol_ = 0;
  std::vector<std::string> matches_;
  std::optional<size_t> conntrack_at_;
  std::string ct_states_, ct_port_;
  bool done_ = false;
};

std::string PolicyName(std::string_view set) {
  if (set.starts_with(compile::kSetPrefix)) set.remove_prefix(compile::kSetPrefix.size());
  if (set.ends_with("-v4") || set.ends_with("-v6")) set.remove_suffix(3);
  return std::string(set);
}

}  // namespace

std::string SpecOf(const Rule& rule, Family family) {
  SpecBuilder b(family);
  bool ok = rule.expr.is_array();
  if (ok)
    for (const auto& s : rule.expr)
      if (!(ok = b.Statement(s))) break;
  std::optional<std::string> spec = ok ? b.Spec(rule.comment) : std::nullopt;
  if (spec) return *spec;
  Json j{{"expr", rule.expr}};
  if (!rule.comment.empty()) j["comment"] = rule.comment;
  return std::string(kUnknownRule) + JsonText(j);
}

compile::FamilyState FamilyStateOf(const OwnedTable& table) {
  compile::FamilyState fs;
  fs.family = table.family;
  for (const auto& c : table.chains) {
    compile::OwnedChain chain{"filter", c.name, {}};
    chain.rules.reserve(c.rules.size());
    for (const auto& r : c.rules) chain.rules.push_back(SpecOf(r, table.family));
    fs.chains.push_back(std::move(chain));
  }
  for (const auto& b : table.base_chains) {
    std::string hook = b.hook;
    for (auto& ch : hook) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    for (const auto& target : b.jumps) fs.hooks.push_back({"filter", hook, target, false});
  }
  for (const auto& s : table.sets) {
    compile::IpSet set;
    set.name = s.name;
    set.policy_name = PolicyName(s.name);
    set.family = table.family;
    set.entries = std::make_shared<const std::vector<netfilter::Cidr>>(netfilter::CidrsOf(s.elements));
    fs.sets.push_back(std::move(set));
  }
  return fs;
}

}  // namespace swarmwall::backend::nft
