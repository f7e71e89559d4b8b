#include "backend/nftables/nft_text.h"

#include <fmt/format.h>

#include "backend/nftables/expr.h"
#include "backend/nftables/table_of.h"
#include "backend/render_text.h"

namespace swarmwall::backend::nft {
namespace {

const Json* Field(const Json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

std::string Str(const Json* j) { return j && j->is_string() ? j->get<std::string>() : std::string(); }

// A name nft's scanner reads as one identifier.
bool Identifier(std::string_view name) {
  if (name.empty()) return false;
  auto letter = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); };
  if (!letter(name[0]) && name[0] != '_' && name[0] != '.') return false;
  for (char c : name)
    if (!letter(c) && !(c >= '0' && c <= '9') && c != '/' && c != '-' && c != '_' && c != '.') return false;
  return true;
}

// A quoted nft string (nft's grammar has no escape: no '"' inside).
std::optional<std::string> Quoted(const std::string& s) {
  if (s.find('"') != std::string::npos || s.find('\n') != std::string::npos)
    return std::nullopt;
  return "\"" + s + "\"";
}

// The few statements TableOf writes, as nft prints them.
class ExprPrinter {
 public:
  std::optional<std::string> Rule(const nft::Rule& rule) {
    std::string out;
    for (const auto& s : rule.expr) {
      auto text = Statement(s);
      if (!text) return std::nullopt;
      out += (out.empty() ? "" : " ") + *text;
    }
    if (!rule.comment.empty()) {
      auto q = Quoted(rule.comment);
      if (!q) return std::nullopt;
      out += " comment " + *q;
    }
    return out;
  }

 private:
  std::optional<std::string> Statement(const Json& s) {
    if (!s.is_object() || s.size() != 1) return std::nullopt;
    const std::string& key = s.begin().key();
    const Json& body = s.begin().value();
    if (key == "accept" || key == "drop" || key == "return") return key;
    if (key == "jump") {
      std::string target = Str(Field(body, "target"));
      if (!Identifier(target)) return std::nullopt;
      return "jump " + target;
    }
    if (key == "log") {
      if (body.is_null()) return "log";
      auto q = Quoted(Str(Field(body, "prefix")));
      if (!q) return std::nullopt;
      return "log prefix " + *q;
    }
    if (key == "limit") {
      const Json* rate = Field(body, "rate");
      const Json* burst = Field(body, "burst");
      uint64_t r = 0, b = 5;
      std::string per = Str(Field(body, "per"));
      if (!UnsignedOf(rate, r) || per.empty() || (burst && !UnsignedOf(burst, b))) return std::nullopt;
      std::string text = fmt::format("limit rate {}/{}", r, per);
      if (b != 5) text += fmt::format(" burst {} packets", b);
      return text;
    }
    if (key == "match") return MatchText(body);
    return std::nullopt;
  }

  std::optional<std::string> MatchText(const Json& m) {
    std::string op = Str(Field(m, "op"));
    const Json* left = Field(m, "left");
    const Json* right = Field(m, "right");
    if (!left || !right || (op != "==" && op != "in")) return std::nullopt;
    std::string l;
    bool name = false, protocol = false, flags = op == "in";
    if (const Json* meta = Field(*left, "meta")) {
      std::string key = Str(Field(*meta, "key"));
      name = key == "iifname" || key == "oifname";
      protocol = key == "l4proto";
      l = name ? key : "meta " + key;
      if (key == "ipsec") return right->is_boolean() ? l + (right->get<bool>() ? " exists" : " missing")
                                                     : std::optional<std::string>();
    } else if (const Json* p = Field(*left, "payload")) {
      l = Str(Field(*p, "protocol")) + " " + Str(Field(*p, "field"));
    } else if (const Json* ct = Field(*left, "ct")) {
      std::string dir = Str(Field(*ct, "dir"));
      l = "ct " + (dir.empty() ? "" : dir + " ") + Str(Field(*ct, "key"));
    } else {
      return std::nullopt;
    }
    auto r = Value(*right, name, protocol, flags);
    if (!r) return std::nullopt;
    return l + " " + *r;
  }

  std::optional<std::string> Value(const Json& v, bool name, bool protocol, bool flags) {
    if (uint64_t n = 0; UnsignedOf(&v, n)) {
      if (protocol) {
        // nft's own keywords: no /etc/protocols needed to read them.
        switch (n) {
          case 1: return "icmp";
          case 6: return "tcp";
          case 17: return "udp";
          case 50: return "esp";
          case 51: return "ah";
          case 58: return "icmpv6";
          case 132: return "sctp";
        }
      }
      return std::to_string(n);
    }
    if (v.is_string()) return name ? Quoted(v.get<std::string>()) : std::optional(v.get<std::string>());
    if (v.is_array() && flags) {
      std::string out;
      for (const auto& f : v) {
        if (!f.is_string()) return std::nullopt;
        out += (out.empty() ? "" : ",") + f.get<std::string>();
      }
      return out;
    }
    if (const Json* range = Field(v, "range")) {
      if (!range->is_array() || range->size() != 2) return std::nullopt;
      auto a = Value((*range)[0], false, false, false), b = Value((*range)[1], false, false, false);
      if (!a || !b) return std::nullopt;
      return *a + "-" + *b;
    }
    if (const Json* prefix = Field(v, "prefix")) {
      const Json* len = Field(*prefix, "len");
      uint64_t n = 0;
      if (!UnsignedOf(len, n)) return std::nullopt;
      return Str(Field(*prefix, "addr")) + "/" + std::to_string(n);
    }
    if (const Json* set = Field(v, "set")) {
      if (!set->is_array()) return std::nullopt;
      std::string out;
      for (const auto& e : *set) {
        auto t = Value(e, false, false, false);
        if (!t) return std::nullopt;
        out += (out.empty() ? "" : ", ") + *t;
      }
      return "{ " + out + " }";
    }
    return std::nullopt;
  }
};

std::string ElementText(const netfilter::AddressInterval& i) {
  if (auto prefix = netfilter::AsPrefix(i)) {
    if (prefix->PrefixLength() == i.first.Bits()) return i.first.ToString();
    return prefix->ToString();
  }
  return i.first.ToString() + "-" + i.last.ToString();
}

}  // namespace

std::optional<std::string> TableText(const OwnedTable& table, std::string& error) {
  std::string out = fmt::format("table {} {} {{\n", NftFamilyOf(table.family), kTableName);
  for (const auto& s : table.sets) {
    if (!Identifier(s.name)) {
      error = fmt::format("set name {} is not one nft reads (letters, digits, _ . / -)", s.name);
      return std::nullopt;
    }
    out += fmt::format("\tset {} {{\n\t\ttype {}\n", s.name, s.type);
    if (!s.flags.empty()) {
      out += "\t\tflags ";
      for (size_t i = 0; i < s.flags.size(); ++i) out += (i ? "," : "") + s.flags[i];
      out += '\n';
    }
    if (!s.elements.empty()) {
      out += "\t\telements = { ";
      for (size_t i = 0; i < s.elements.size(); ++i) {
        if (i) out += i % 4 ? ", " : ",\n\t\t\t     ";
        out += ElementText(s.elements[i]);
      }
      out += " }\n";
    }
    out += "\t}\n";
  }
  ExprPrinter printer;
  for (const auto& c : table.chains) {
    if (!Identifier(c.name)) {
      error = fmt::format("chain name {} is not one nft reads (letters, digits, _ . / -)", c.name);
      return std::nullopt;
    }
    out += fmt::format("\n\tchain {} {{\n", c.name);
    for (const auto& r : c.rules) {
      auto text = printer.Rule(r);
      if (!text) {
        error = fmt::format("chain {}: a rule nft's text cannot hold (a '\"' in a name?)", c.name);
        return std::nullopt;
      }
      out += "\t\t" + *text + "\n";
    }
    out += "\t}\n";
  }
  for (const auto& b : table.base_chains) {
    if (!Identifier(b.name) || !Identifier(b.hook) || !Identifier(b.type) || !Identifier(b.policy)) {
      error = fmt::format("base chain {}: a name nft does not read", b.name);
      return std::nullopt;
    }
    out += fmt::format("\n\tchain {} {{\n\t\ttype {} hook {} priority {}; policy {};\n", b.name, b.type, b.hook,
                       b.priority, b.policy);
    for (const auto& target : b.jumps) {
      if (!Identifier(target)) {
        error = fmt::format("base chain {}: jump to {}, a name nft does not read", b.name, target);
        return std::nullopt;
      }
      out += "\t\tjump " + target + "\n";
    }
    out += "\t}\n";
  }
  out += "}\n";
  return out;
}

std::optional<std::string> NftText(const compile::DesiredState& state, std::string& error) {
  std::string out = fmt::format(
      "#!/usr/sbin/nft -f\n"
      "# swarmwall nftables tables of node {} (policy {}, state {}).\n"
      "# Generated by `swarmwall render`: edit the policy, not this file.\n"
      "# Load with `nft -f NODE.nft`: one transaction, and loading it again gives the same ruleset.\n"
      "# It replaces swarmwall's own tables (table ip swarmwall, table ip6 swarmwall) whole and\n"
      "# touches no other: their base chains hook input and forward at priority -10, before\n"
      "# Docker's and iptables-nft's (priority 0); DROP there is final, RETURN leaves the packet\n"
      "# to them. Sets are loaded with the rules.\n",
      OneLine(state.node), OneLine(state.policy_file), state.Digest());
  for (const compile::FamilyState* fs : {&state.ipv4, &state.ipv6}) {
    std::string_view family = NftFamilyOf(fs->family);
    out += fmt::format("\ntable {0} {1} {{}}\ndelete table {0} {1}\n", family, kTableName);
    if (fs->empty()) continue;
    auto table = TableOf(*fs, error);
    if (!table) return std::nullopt;
    auto text = TableText(*table, error);
    if (!text) return std::nullopt;
    out += *text;
  }
  return out;
}

}  // namespace swarmwall::backend::nft
