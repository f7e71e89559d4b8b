// YAML -> Policy: syntax, keys, types and the values one node holds
// (addresses, ports, protocols, names), each problem at the YAML node that
// has it. Cross-references and whole-policy checks are in validate.cc.
#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "policy/internal.h"
#include "policy/policy.h"
#include "policy/services.h"
#include "policy/backend_setting.h"
#include "policy/yaml_tree.h"

namespace swarmwall::policy {
namespace {

constexpr size_t kMaxWork = 4'000'000;       // YAML items + address file lines
constexpr size_t kMaxFileErrors = 50;        // per address file
constexpr size_t kMaxFileBytes = 16u << 20;  // an address file

struct TooLarge {};

using Keys = std::span<const std::string_view>;

constexpr std::string_view kTopKeys[] = {"version",   "comment",    "interfaces", "ipv6",
                                         "log_drops", "backend",    "sets",       "nodes",
                                         "host",      "swarm",      "containers", "egress"};
constexpr std::string_view kInterfaceKeys[] = {"public", "cluster"};
constexpr std::string_view kSetKeys[] = {"entries", "file", "comment"};
constexpr std::string_view kNodeKeys[] = {"name",   "role",       "address", "labels",
                                          "interfaces", "backend", "comment"};
constexpr std::string_view kHostKeys[] = {"allow", "deny", "icmp", "cluster"};
constexpr std::string_view kIcmpKeys[] = {"echo", "echo_limit"};
constexpr std::string_view kSwarmKeys[] = {"from", "docker_machine", "encrypted_overlay"};
constexpr std::string_view kFilterKeys[] = {"default", "allow", "deny"};
constexpr std::string_view kInboundRuleKeys[] = {"service", "ports", "proto",
                                                 "from",    "on",    "comment"};
constexpr std::string_view kContainerRuleKeys[] = {"service", "swarm_service", "container", "label",
                                                  "ports",   "proto",         "from",      "on",
                                                  "comment"};
constexpr std::string_view kEgressRuleKeys[] = {"service", "ports", "proto", "to", "on", "comment"};
constexpr std::string_view kRoles[] = {"manager", "worker"};
constexpr std::string_view kBackends[] = {"auto", "iptables", "nftables"};
constexpr std::string_view kActions[] = {"accept", "drop"};
constexpr std::string_view kClusterModes[] = {"accept", "swarm-only"};

// Keys people write from other tools' habits, and what this policy calls them.
constexpr std::pair<std::string_view, std::string_view> kKeySynonyms[] = {
    {"port", "ports"},        {"protocol", "proto"},
    {"protocols", "proto"},   {"services", "service"},
    {"source", "from"},       {"src", "from"},
    {"sources", "from"},      {"destination", "to"},
    {"dest", "to"},           {"dst", "to"},
    {"addresses", "address"}, {"ip", "address"},
    {"label", "labels"},      {"policy", "default"},
    {"hosts", "nodes"},       {"description", "comment"},
    {"roles", "role"},
};

// A key of a mapping with its value.
struct Field {
  std::string key;
  YamlNode value;
  SourceLocation key_at;
  SourceLocation at;  // the value; the key when the value is empty
};

struct Map {
  std::vector<Field> fields;
  const Field* Get(std::string_view key) const {
    for (const auto& f : fields)
      if (f.key == key) return &f;
    return nullptr;
  }
};

// One scalar of a "single value or list" field.
struct Item {
  std::string text;
  SourceLocation at;
  bool plain = true;  // not quoted
};

bool IsPlain(const YamlNode& n) { return n.Tag() == "?"; }

std::string Describe(const YamlNode& n) {
  switch (n.Type()) {
    case YAML::NodeType::Null:
    case YAML::NodeType::Undefined:
      return "nothing";
    case YAML::NodeType::Scalar:
      return fmt::format("'{}'", n.Scalar());
    case YAML::NodeType::Sequence:
      return "a list";
    case YAML::NodeType::Map:
      return "a mapping";
  }
  return "?";
}

// ASCII only, whatever the locale says: set and node names become ipset
// and chain names, interface names the kernel's.
bool AsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool AsciiAlnum(char c) { return AsciiAlpha(c) || (c >= '0' && c <= '9'); }

bool ValidName(std::string_view s, bool allow_dot, size_t max) {
  if (s.empty() || s.size() > max) return false;
  if (!AsciiAlnum(s[0])) return false;
  for (char c : s)
    if (!AsciiAlnum(c) && c != '-' && c != '_' && !(allow_dot && c == '.')) return false;
  return true;
}

bool ValidSetName(std::string_view s) { return ValidName(s, false, 24) && AsciiAlpha(s[0]); }

bool ValidLabel(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  for (char c : s)
    if (!AsciiAlnum(c) && (c == '\0' || !strchr("-_./=", c))) return false;
  return true;
}

bool ValidInterface(std::string_view s) {
  if (s.empty() || s.size() > 15 || s == "." || s == "..") return false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '+' && i == s.size() - 1) continue;
    if (!AsciiAlnum(c) && (c == '\0' || !strchr("-_.@", c))) return false;
  }
  return true;
}

// Whether some interface name matches both A and B (a trailing '+' matches
// every name it begins, the bare stem included, as iptables' -i does).
bool InterfacesOverlap(std::string_view a, std::string_view b) {
  bool wa = a.ends_with('+'), wb = b.ends_with('+');
  if (wa) a.remove_suffix(1);
  if (wb) b.remove_suffix(1);
  if (wa && wb) return a.starts_with(b) || b.starts_with(a);
  if (wa) return b.starts_with(a);
  if (wb) return a.starts_with(b);
  return a == b;
}

// Why ADDRESS cannot be a node's address (nothing reaches a node there, or
// it is another node's address in disguise), or "".
std::string UnusableNodeAddress(const IpAddress& a) {
  const auto& b = a.bytes;
  if (a.family == Family::kIPv4) {
    if (b[0] == 0) return "0.0.0.0/8 is 'this network', not a node's address";
    if (b[0] == 127) return "a loopback address";
    if (b[0] >= 224 && b[0] <= 239) return "a multicast address";
    if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255) return "the broadcast address";
    return "";
  }
  bool zero10 = std::all_of(b.begin(), b.begin() + 10, [](uint8_t x) { return x == 0; });
  if (zero10 && b[10] == 0xff && b[11] == 0xff)
    return fmt::format("an IPv4-mapped IPv6 address; write the IPv4 address {}.{}.{}.{}", b[12],
                       b[13], b[14], b[15]);
  bool zero15 = zero10 && std::all_of(b.begin() + 10, b.end() - 1, [](uint8_t x) { return x == 0; });
  if (zero15 && b[15] == 0) return "the unspecified address";
  if (zero15 && b[15] == 1) return "a loopback address";
  if (b[0] == 0xff) return "a multicast address";
  return "";
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A port number: 0 when out of range, -1 when not a number.
int ParsePortNumber(std::string_view s) {
  if (!AllDigits(s)) return -1;
  if (s.size() > 5) return 0;
  int v = std::stoi(std::string(s));
  return v >= 1 && v <= 65535 ? v : 0;
}

class Loader {
 public:
  Loader(std::string file, std::string base_dir, const FileReader& reader, Diagnostics& d,
         const AddressCache* cache)
      : file_(std::move(file)), base_dir_(std::move(base_dir)), reader_(reader), d_(d), cache_(cache) {}

  // False when there is no policy to validate (YAML errors, not a mapping).
  bool Load(std::string_view yaml, Policy& policy);

 private:
  SourceLocation At(const YamlNode& n, const SourceLocation& fallback) const {
    if (!n.IsDefined() || n.IsNull()) return fallback;
    YAML::Mark m = n.Mark();
    if (m.line < 0 || m.column < 0) return fallback;
    return {file_, m.line + 1, m.column + 1};
  }
  void Error(const SourceLocation& at, std::string message) { d_.Error(at, std::move(message)); }
  void Warn(const SourceLocation& at, std::string message) { d_.Warn(at, std::move(message)); }
  void Tick(size_t n = 1) {
    work_ += n;
    if (work_ > kMaxWork) throw TooLarge{};
  }

  // Reads a mapping's keys, reporting unknown (not in ALLOWED, unless it is
  // empty) and repeated ones. False when NODE is not a mapping (reported,
  // unless it is empty and ALLOW_NULL).
  bool ReadMap(const YamlNode& node, const SourceLocation& at, std::string_view what,
               Keys allowed, Map& out, bool allow_null = false);
  std::optional<std::string> Scalar(const Field& f, std::string_view what);
  // A single value or a list of values.
  std::vector<Item> Items(const Field& f, std::string_view what, bool allow_empty = false);
  // The same, one at a time and without copies (big sets): FN(text, at,
  // plain) for each scalar; AT is only valid during the call.
  template <typename Fn>
  void EachItem(const Field& f, std::string_view what, bool allow_empty, Fn fn);
  std::optional<bool> Bool(const Field& f);
  // Free text, carried into rule comments and JSON: UTF-8, no NUL.
  std::optional<std::string> Comment(const Field& f);

  // Where each interface name was written, in the order of Interfaces' lists.
  struct InterfacesAt {
    std::vector<SourceLocation> public_, cluster;
  };
  void ReadInterfaces(const Field& f, Interfaces& out, InterfacesAt& at, bool require_public);
  void CheckInterfaces(const Interfaces& ifs, const InterfacesAt& at);
  void ReadSets(const Field& f, Policy& policy);
  void ReadSetFile(const Item& path, AddressSet& set);
  void ParseSetFile(const std::string& full, std::string_view text, AddressSet& set);
  void ReadNodes(const Field& f, Policy& policy);
  void ReadNode(const YamlNode& n, const SourceLocation& at, Policy& policy);
  std::optional<Backend> ReadBackend(const Field& f);
  void ReadHost(const Field& f, Policy& policy);
  void ReadSwarm(const Field& f, Policy& policy);
  void ReadFilter(const Field& f, Section section, Action& default_action,
                  std::vector<Rule>& rules);
  void ReadRules(const Field& f, Section section, Action action, std::vector<Rule>& out);
  void ReadRule(const YamlNode& n, const SourceLocation& at, Section section, Action action,
                int index, std::vector<Rule>& out);
  AddressMatch ReadAddresses(const Field& f);
  void ReadWorkloads(const Map& m, Rule& r);
  Selector ReadSelector(const Field& f);
  std::optional<Cidr> ParseCidr(const std::string& text, const SourceLocation& at);
  void AddEntry(AddressSet& set, const std::string& text, const SourceLocation& at);

  std::string file_, base_dir_;
  const FileReader& reader_;
  Diagnostics& d_;
  const AddressCache* cache_;
  size_t work_ = 0;
  InterfacesAt interfaces_at_;                      // the policy's
  std::vector<std::optional<InterfacesAt>> node_interfaces_at_;  // by node, when it has its own
};

bool Loader::ReadMap(const YamlNode& node, const SourceLocation& at, std::string_view what,
                     Keys allowed, Map& out, bool allow_null) {
  if (node.IsNull() && allow_null) return true;
  if (!node.IsMap()) {
    Error(at, fmt::format("{} must be a mapping, got {}", what, Describe(node)));
    return false;
  }
  for (size_t i = 0; i < node.size(); ++i) {
    Tick();
    const YamlNode k = node.Key(i);
    const YamlNode v = node.Value(i);
    SourceLocation key_at = At(k, at);
    if (!k.IsScalar()) {
      Error(key_at, fmt::format("a key in {} must be a name, got {}", what, Describe(k)));
      continue;
    }
    std::string key = k.Scalar();
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string hint = DidYouMean(key, allowed);
      for (const auto& [from, to] : kKeySynonyms)
        if (hint.empty() && key == from &&
            std::find(allowed.begin(), allowed.end(), to) != allowed.end())
          hint = fmt::format("; did you mean '{}'?", to);
      if (hint.empty()) {
        std::string list;
        for (auto a : allowed) list += (list.empty() ? "" : ", ") + std::string(a);
        hint = fmt::format(" (expected one of: {})", list);
      }
      Error(key_at, fmt::format("unknown key '{}' in {}{}", key, what, hint));
      continue;
    }
    if (const Field* first = out.Get(key)) {
      Error(key_at, fmt::format("duplicate key '{}' in {} (first at {}:{})", key, what,
                                first->key_at.line, first->key_at.column));
      continue;
    }
    out.fields.push_back({key, v, key_at, At(v, key_at)});
  }
  return true;
}

std::optional<std::string> Loader::Scalar(const Field& f, std::string_view what) {
  Tick();
  if (!f.value.IsScalar()) {
    Error(f.at, fmt::format("{} must be a single value, got {}", what, Describe(f.value)));
    return std::nullopt;
  }
  return f.value.Scalar();
}

std::vector<Item> Loader::Items(const Field& f, std::string_view what, bool allow_empty) {
  std::vector<Item> out;
  EachItem(f, what, allow_empty, [&](const std::string& text, const SourceLocation& at,
                                     bool plain) { out.push_back({text, at, plain}); });
  return out;
}

template <typename Fn>
void Loader::EachItem(const Field& f, std::string_view what, bool allow_empty, Fn fn) {
  if (f.value.IsScalar()) {
    Tick();
    fn(f.value.Scalar(), f.at, IsPlain(f.value));
    return;
  }
  if (!f.value.IsSequence()) {
    Error(f.at, fmt::format("{} must be a value or a list, got {}", what, Describe(f.value)));
    return;
  }
  if (f.value.size() == 0 && !allow_empty) {
    Error(f.at, fmt::format("{} is an empty list (leave the key out instead)", what));
    return;
  }
  SourceLocation at = f.at;  // one string for the file name, not one per item
  for (size_t i = 0; i < f.value.size(); ++i) {
    const YamlNode v = f.value.Child(i);
    Tick();
    if (!v.IsScalar()) {
      Error(At(v, f.at),
            fmt::format("an item of {} must be a single value, got {}", what, Describe(v)));
      continue;
    }
    YAML::Mark m = v.Mark();
    if (m.line < 0 || m.column < 0) {
      fn(v.Scalar(), f.at, IsPlain(v));
      continue;
    }
    at.line = m.line + 1;
    at.column = m.column + 1;
    fn(v.Scalar(), at, IsPlain(v));
  }
}

std::optional<bool> Loader::Bool(const Field& f) {
  if (f.value.IsScalar() && IsPlain(f.value)) {
    const std::string& s = f.value.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
  }
  Error(f.at, fmt::format("{} must be true or false, got {}", f.key, Describe(f.value)));
  return std::nullopt;
}

std::optional<std::string> Loader::Comment(const Field& f) {
  auto text = Scalar(f, "comment");
  if (!text) return std::nullopt;
  if (size_t bad = InvalidUtf8At(*text); bad != std::string::npos) {
    Error(f.at, fmt::format("comment is not UTF-8 text (byte 0x{:02X} at offset {})",
                            static_cast<unsigned char>((*text)[bad]), bad));
    return std::nullopt;
  }
  if (text->find('\0') != std::string::npos) {
    Error(f.at, "comment holds a NUL character");
    return std::nullopt;
  }
  return text;
}

std::optional<Cidr> Loader::ParseCidr(const std::string& text, const SourceLocation& at) {
  // The common case, parsed once: an address, or an address/length.
  std::string_view t(text);
  size_t slash = t.find('/');
  std::string_view len_text = slash == std::string_view::npos ? "" : t.substr(slash + 1);
  bool digits = !len_text.empty() && len_text.size() <= 3 &&
                std::all_of(len_text.begin(), len_text.end(), [](char ch) { return ch >= '0' && ch <= '9'; });
  if (slash == std::string_view::npos || digits) {
    if (auto a = IpAddress::Parse(t.substr(0, slash))) {
      int len = slash == std::string_view::npos ? a->Bits() : std::stoi(std::string(len_text));
      if (len <= a->Bits()) {
        Cidr c = Cidr::Prefix(*a, len);
        if (c.address != *a)
          Warn(at, fmt::format("'{}' has host bits set; it stands for {}", text, c.ToString()));
        return c;
      }
    }
  }
  auto c = Cidr::Parse(text);
  if (!c) {
    Error(at, fmt::format("bad address or CIDR '{}'", text));
    return std::nullopt;
  }
  if (c->PrefixLength() < 0) {
    Error(at, fmt::format("'{}' has a non-contiguous netmask; write a prefix length", text));
    return std::nullopt;
  }
  if (slash != std::string::npos) {   // a dotted netmask
    auto a = IpAddress::Parse(t.substr(0, slash));
    if (a && *a != c->address)
      Warn(at, fmt::format("'{}' has host bits set; it stands for {}", text, c->ToString()));
  }
  return c;
}

void Loader::AddEntry(AddressSet& set, const std::string& text, const SourceLocation& at) {
  auto c = ParseCidr(text, at);
  if (!c) return;
  (c->family() == Family::kIPv4 ? set.ipv4 : set.ipv6).push_back(*c);
}

// ---------------------------------------------------------------- top level

bool Loader::Load(std::string_view yaml, Policy& p) {
  p.file = file_;
  SourceLocation start{file_, 1, 1};
  ParsedYaml parsed = ParseYamlDocument(yaml);
  if (parsed.error) {
    Error(parsed.line > 0 ? SourceLocation{file_, parsed.line, parsed.column} : start,
          *parsed.error);
    return false;
  }
  YamlNode root = parsed.tree.Root();
  if (!root.IsDefined() || root.IsNull()) {
    Error(start, "empty policy: it starts with 'version: 1'");
    return false;
  }
  Map top;
  if (!ReadMap(root, At(root, start), "the policy", kTopKeys, top)) return false;

  if (const Field* f = top.Get("version")) {
    if (f->value.IsScalar() && IsPlain(f->value) && AllDigits(f->value.Scalar())) {
      if (f->value.Scalar() != "1")
        Error(f->at, fmt::format("unsupported policy version {}: this swarmwall reads version 1",
                                 f->value.Scalar()));
    } else {
      Error(f->at, fmt::format("version must be 1, got {}", Describe(f->value)));
    }
  } else {
    Error(At(root, start), "version missing: a policy starts with 'version: 1'");
  }
  if (const Field* f = top.Get("comment")) Comment(*f);
  if (const Field* f = top.Get("ipv6"))
    if (auto b = Bool(*f)) p.ipv6 = *b;
  if (const Field* f = top.Get("log_drops"))
    if (auto b = Bool(*f)) p.log_drops = *b;
  if (const Field* f = top.Get("backend"))
    if (auto b = ReadBackend(*f)) p.backend = *b;
  if (const Field* f = top.Get("interfaces"))
    ReadInterfaces(*f, p.interfaces, interfaces_at_, true);
  else
    Error(At(root, start),
          "interfaces missing: name the public interfaces ('interfaces: { public: [eth0] }')");

  // The built-in `nodes` set first; validate.cc fills it.
  AddressSet nodes_set;
  nodes_set.name = "nodes";
  nodes_set.builtin = true;
  if (const Field* f = top.Get("nodes")) nodes_set.where = f->key_at;
  p.sets.push_back(std::move(nodes_set));
  if (const Field* f = top.Get("sets")) ReadSets(*f, p);
  if (const Field* f = top.Get("nodes")) ReadNodes(*f, p);
  if (const Field* f = top.Get("host")) ReadHost(*f, p);
  if (const Field* f = top.Get("swarm")) ReadSwarm(*f, p);
  if (const Field* f = top.Get("containers")) {
    ReadFilter(*f, Section::kContainers, p.containers.default_action, p.containers.rules);
  } else {
    Warn(At(root, start),
         "no containers section: published container ports are closed to public "
         "interfaces (containers.default is drop)");
  }
  if (const Field* f = top.Get("egress"))
    ReadFilter(*f, Section::kEgress, p.egress.default_action, p.egress.rules);

  // A node's own interfaces replace the policy's key by key (checked again
  // together: a node's public may meet the policy's cluster).
  CheckInterfaces(p.interfaces, interfaces_at_);
  for (size_t i = 0; i < p.nodes.size(); ++i) {
    auto& n = p.nodes[i];
    if (!n.interfaces) continue;
    InterfacesAt& at = *node_interfaces_at_[i];
    if (n.interfaces->public_.empty()) {
      n.interfaces->public_ = p.interfaces.public_;
      at.public_ = interfaces_at_.public_;
    }
    if (n.interfaces->cluster.empty()) {
      n.interfaces->cluster = p.interfaces.cluster;
      at.cluster = interfaces_at_.cluster;
    }
    CheckInterfaces(*n.interfaces, at);
  }
  return true;
}

void Loader::ReadInterfaces(const Field& f, Interfaces& out, InterfacesAt& at,
                            bool require_public) {
  Map m;
  if (!ReadMap(f.value, f.at, "interfaces", kInterfaceKeys, m)) return;
  auto read = [&](const Field& g, std::vector<std::string>& list, std::vector<SourceLocation>& where) {
    for (const auto& item : Items(g, "interfaces." + g.key)) {
      if (item.text == "+") {
        Error(item.at, fmt::format("'+' in interfaces.{} matches every interface (loopback, "
                                   "Docker's bridges, the cluster network): name them, or a "
                                   "prefix like 'eth+'",
                                   g.key));
        continue;
      }
      if (!ValidInterface(item.text)) {
        Error(item.at, fmt::format("bad interface name '{}' (at most 15 letters, digits, '-', '_', "
                                   "'.', '@'; a trailing '+' matches every name it begins)",
                                   item.text));
        continue;
      }
      if (std::find(list.begin(), list.end(), item.text) != list.end()) continue;
      list.push_back(item.text);
      where.push_back(item.at);
    }
  };
  if (const Field* g = m.Get("public"))
    read(*g, out.public_, at.public_);
  else if (require_public)
    Error(f.key_at, "interfaces.public missing: the interfaces filtering applies to");
  if (const Field* g = m.Get("cluster")) read(*g, out.cluster, at.cluster);
}

// An interface may not be both public and cluster: no name may match an
// entry of each. Reported at the entry whose '+' reaches the other (the
// cluster one when both do or neither has one).
void Loader::CheckInterfaces(const Interfaces& ifs, const InterfacesAt& at) {
  for (size_t c = 0; c < ifs.cluster.size(); ++c) {
    for (size_t p = 0; p < ifs.public_.size(); ++p) {
      const std::string &pub = ifs.public_[p], &clu = ifs.cluster[c];
      if (!InterfacesOverlap(pub, clu)) continue;
      const SourceLocation& p_at = at.public_[p];
      const SourceLocation& c_at = at.cluster[c];
      if (pub == clu) {
        Error(c_at, fmt::format("interface '{}' is both public and cluster (public at {}:{})", clu,
                                p_at.line, p_at.column));
      } else if (pub.ends_with('+') && pub.size() <= clu.size()) {
        Error(p_at, fmt::format("public '{}' matches cluster interface '{}' (at {}:{}): an "
                                "interface may not be both",
                                pub, clu, c_at.line, c_at.column));
      } else {
        Error(c_at, fmt::format("cluster '{}' matches public interface '{}' (at {}:{}): an "
                                "interface may not be both",
                                clu, pub, p_at.line, p_at.column));
      }
      break;
    }
  }
}

void Loader::ReadSets(const Field& f, Policy& p) {
  Map m;
  if (!ReadMap(f.value, f.at, "sets", {}, m, true)) return;
  for (const auto& g : m.fields) {
    AddressSet set;
    set.name = g.key;
    set.where = g.key_at;
    if (g.key == "nodes" || g.key == "any" || g.key == "auto") {
      Error(g.key_at, fmt::format("set name '{}' is reserved", g.key));
      continue;
    }
    if (!ValidSetName(g.key))
      Error(g.key_at,
            fmt::format("bad set name '{}' (a letter, then letters, digits, '-' or '_'; at "
                        "most 24)",
                        g.key));
    if (g.value.IsMap()) {
      Map sm;
      ReadMap(g.value, g.at, fmt::format("set '{}'", g.key), kSetKeys, sm);
      if (const Field* c = sm.Get("comment"))
        if (auto text = Comment(*c)) set.comment = *text;
      if (const Field* e = sm.Get("entries"))
        EachItem(*e, "entries", true, [&](const std::string& text, const SourceLocation& at, bool) {
          AddEntry(set, text, at);
        });
      if (const Field* file = sm.Get("file")) {
        if (auto path = Scalar(*file, "file")) ReadSetFile({*path, file->at}, set);
      }
      if (!sm.Get("entries") && !sm.Get("file"))
        Error(g.at, fmt::format("set '{}' needs entries or a file", g.key));
    } else if (g.value.IsNull()) {
      Error(g.at, fmt::format("set '{}' needs a list of addresses or {{ file: PATH }}", g.key));
    } else {
      EachItem(g, fmt::format("set '{}'", g.key), true,
               [&](const std::string& text, const SourceLocation& at, bool) {
                 AddEntry(set, text, at);
               });
    }
    p.sets.push_back(std::move(set));
  }
}

void Loader::ReadSetFile(const Item& path, AddressSet& set) {
  std::string full = path.text;
  if (!full.empty() && full[0] != '/' && !base_dir_.empty() && base_dir_ != ".")
    full = base_dir_ + (base_dir_.back() == '/' ? "" : "/") + full;
  set.file = full;
  std::string error;
  auto text = reader_(full, error);
  if (!text) {
    Error(path.at, fmt::format("cannot read address file '{}': {}", full, error));
    return;
  }
  if (cache_) {
    if (auto hit = cache_->Find(full, *text)) {
      Tick(hit->lines);
      set.ipv4.insert(set.ipv4.end(), hit->ipv4.begin(), hit->ipv4.end());
      set.ipv6.insert(set.ipv6.end(), hit->ipv6.begin(), hit->ipv6.end());
      return;
    }
  }
  size_t said = d_.Count(), from4 = set.ipv4.size(), from6 = set.ipv6.size();
  ParseSetFile(full, *text, set);
  if (cache_ && d_.Count() == said) {
    AddressCache::Parsed parsed;
    parsed.lines = static_cast<size_t>(std::count(text->begin(), text->end(), '\n')) + 1;
    parsed.ipv4.assign(set.ipv4.begin() + static_cast<std::ptrdiff_t>(from4), set.ipv4.end());
    parsed.ipv6.assign(set.ipv6.begin() + static_cast<std::ptrdiff_t>(from6), set.ipv6.end());
    cache_->Store(full, *text, parsed);
  }
}

void Loader::ParseSetFile(const std::string& full, std::string_view text, AddressSet& set) {
  size_t errors = 0;
  int line = 0;
  std::string_view rest = text;
  SourceLocation at{full, 0, 0};  // one string for the file name, not one per line
  while (!rest.empty()) {
    Tick();
    ++line;
    size_t nl = rest.find('\n');
    std::string_view l = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
    size_t hash = l.find('#');
    if (hash != std::string_view::npos) l = l.substr(0, hash);
    // By hand: find_first_of calls memchr once per character, which was
    // most of reading a 100,000-line file.
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\r'; };
    size_t a = 0;
    while (a < l.size() && blank(l[a])) ++a;
    if (a == l.size()) continue;
    size_t b = a;
    while (b < l.size() && !blank(l[b])) ++b;
    if (b == l.size()) b = std::string_view::npos;
    std::string token(l.substr(a, b == std::string_view::npos ? std::string_view::npos : b - a));
    at.line = line;
    at.column = static_cast<int>(a) + 1;
    size_t before = set.ipv4.size() + set.ipv6.size();
    AddEntry(set, token, at);
    bool bad = set.ipv4.size() + set.ipv6.size() == before;
    if (b != std::string_view::npos) {
      size_t c = b;
      while (c < l.size() && blank(l[c])) ++c;
      if (c < l.size()) {
        Error({full, line, static_cast<int>(c) + 1}, "one address or CIDR per line");
        bad = true;
      }
    }
    if (bad && ++errors >= kMaxFileErrors) {
      Error(at, "too many errors; the rest of the file is not checked");
      return;
    }
  }
}

void Loader::ReadNodes(const Field& f, Policy& p) {
  if (f.value.IsScalar()) {
    if (f.value.Scalar() == "auto") {
      p.auto_nodes = true;
      return;
    }
    Error(f.at, fmt::format("nodes must be a list of nodes or 'auto', got {}", Describe(f.value)));
    return;
  }
  if (!f.value.IsSequence()) {
    Error(f.at, fmt::format("nodes must be a list of nodes or 'auto', got {}", Describe(f.value)));
    return;
  }
  if (f.value.size() == 0) {
    Error(f.at, "nodes is an empty list: list the nodes, or write 'nodes: auto'");
    return;
  }
  for (size_t i = 0; i < f.value.size(); ++i) {
    const YamlNode n = f.value.Child(i);
    Tick();
    SourceLocation at = At(n, f.at);
    if (n.IsScalar() && n.Scalar() == "auto") {
      if (p.auto_nodes) Warn(at, "'auto' given twice");
      p.auto_nodes = true;
      continue;
    }
    if (!n.IsMap()) {
      Error(at, fmt::format("a node must be a mapping {{ name, role, address }} or 'auto', got {}",
                            Describe(n)));
      continue;
    }
    ReadNode(n, at, p);
  }
}

std::optional<Backend> Loader::ReadBackend(const Field& f) {
  auto text = Scalar(f, "backend");
  if (!text) return std::nullopt;
  if (auto b = ParseBackendName(*text)) return b;
  Error(f.at, fmt::format("unknown backend '{}' (auto, iptables or nftables){}", *text, DidYouMean(*text, kBackends)));
  return std::nullopt;
}

void Loader::ReadNode(const YamlNode& n, const SourceLocation& at, Policy& p) {
  Map m;
  ReadMap(n, at, "a node", kNodeKeys, m);
  Node node;
  node.where = at;
  const Field* name = m.Get("name");
  if (name) {
    if (auto text = Scalar(*name, "name")) {
      node.name = *text;
      node.where = name->at;
      if (node.name == "manager" || node.name == "worker" || node.name == "auto" ||
          node.name == "any" || node.name == "nodes")
        Error(name->at, fmt::format("node name '{}' is reserved", node.name));
      else if (!ValidName(node.name, true, 253))
        Error(name->at,
              fmt::format("bad node name '{}' (letters, digits, '.', '-', '_')", node.name));
    }
  } else {
    Error(at, "node without a name");
  }
  std::string who = node.name.empty() ? "node" : fmt::format("node '{}'", node.name);
  if (const Field* role = m.Get("role")) {
    if (auto text = Scalar(*role, "role")) {
      if (*text == "manager")
        node.role = Role::kManager;
      else if (*text == "worker")
        node.role = Role::kWorker;
      else
        Error(role->at, fmt::format("unknown role '{}' (manager or worker){}", *text,
                                    DidYouMean(*text, kRoles)));
    }
  } else {
    Error(node.where, fmt::format("{} has no role (manager or worker)", who));
  }
  if (const Field* address = m.Get("address")) {
    for (const auto& item : Items(*address, "address")) {
      if (auto a = IpAddress::Parse(item.text)) {
        if (std::string why = UnusableNodeAddress(*a); !why.empty()) {
          Error(item.at, fmt::format("'{}' cannot be a node address: {}", item.text, why));
          continue;
        }
        node.addresses.push_back(*a);
        node.address_where.push_back(item.at);
      } else if (Cidr::Parse(item.text)) {
        Error(item.at, fmt::format("'{}' is a network; a node address is one address", item.text));
      } else {
        Error(item.at, fmt::format("bad address '{}'", item.text));
      }
    }
  } else {
    Error(node.where, fmt::format("{} has no address", who));
  }
  if (const Field* labels = m.Get("labels")) {
    for (const auto& item : Items(*labels, "labels", true)) {
      if (!ValidLabel(item.text)) {
        Error(item.at,
              fmt::format("bad label '{}' (letters, digits, '-', '_', '.', '/', '=')", item.text));
        continue;
      }
      node.labels.push_back(item.text);
    }
    std::sort(node.labels.begin(), node.labels.end());
    node.labels.erase(std::unique(node.labels.begin(), node.labels.end()), node.labels.end());
  }
  node_interfaces_at_.resize(p.nodes.size() + 1);
  if (const Field* ifs = m.Get("interfaces")) {
    node.interfaces.emplace();
    ReadInterfaces(*ifs, *node.interfaces, node_interfaces_at_.back().emplace(), false);
  }
  if (const Field* b = m.Get("backend")) node.backend = ReadBackend(*b);
  if (const Field* c = m.Get("comment"))
    if (auto text = Comment(*c)) node.comment = *text;
  p.nodes.push_back(std::move(node));
}

// ------------------------------------------------------------------ sections

void Loader::ReadHost(const Field& f, Policy& p) {
  Map m;
  if (!ReadMap(f.value, f.at, "host", kHostKeys, m, true)) return;
  if (const Field* g = m.Get("deny")) ReadRules(*g, Section::kHost, Action::kDrop, p.host.rules);
  if (const Field* g = m.Get("allow")) ReadRules(*g, Section::kHost, Action::kAccept, p.host.rules);
  if (const Field* g = m.Get("cluster")) {
    if (auto text = Scalar(*g, "host.cluster")) {
      if (*text == "accept")
        p.host.cluster = ClusterMode::kAccept;
      else if (*text == "swarm-only")
        p.host.cluster = ClusterMode::kSwarmOnly;
      else
        Error(g->at, fmt::format("host.cluster must be accept or swarm-only, got '{}'{}", *text,
                                 DidYouMean(*text, kClusterModes)));
    }
  }
  if (const Field* g = m.Get("icmp")) {
    Map im;
    if (!ReadMap(g->value, g->at, "host.icmp", kIcmpKeys, im, true)) return;
    if (const Field* e = im.Get("echo"))
      if (auto b = Bool(*e)) p.host.icmp.echo = *b;
    if (const Field* e = im.Get("echo_limit")) {
      auto text = Scalar(*e, "echo_limit");
      if (!text) return;
      size_t slash = text->find('/');
      std::string n = text->substr(0, slash);
      std::string unit = slash == std::string::npos ? "" : text->substr(slash + 1);
      RateLimit r;
      bool ok = AllDigits(n) && n.size() <= 6;
      if (ok) r.count = static_cast<uint32_t>(std::stoul(n));
      if (unit == "second" || unit == "sec" || unit == "s")
        r.unit = RateLimit::Unit::kSecond;
      else if (unit == "minute" || unit == "min" || unit == "m")
        r.unit = RateLimit::Unit::kMinute;
      else if (unit == "hour" || unit == "h")
        r.unit = RateLimit::Unit::kHour;
      else if (unit == "day" || unit == "d")
        r.unit = RateLimit::Unit::kDay;
      else
        ok = false;
      if (!ok || r.count == 0 || r.count > 10000)
        Error(e->at, fmt::format("echo_limit must be N/second, N/minute, N/hour or N/day with N "
                                 "1-10000, got '{}'",
                                 *text));
      else
        p.host.icmp.echo_limit = r;
    }
  }
}

void Loader::ReadSwarm(const Field& f, Policy& p) {
  p.swarm.enabled = true;
  p.swarm.where = f.key_at;
  Map m;
  if (!ReadMap(f.value, f.at, "swarm", kSwarmKeys, m, true)) return;
  if (const Field* g = m.Get("from")) {
    p.swarm.from = ReadAddresses(*g);
  } else {
    AddressTerm t;
    t.set = "nodes";
    t.where = f.key_at;
    p.swarm.from.terms.push_back(t);
  }
  if (const Field* g = m.Get("docker_machine"))
    if (auto b = Bool(*g)) p.swarm.docker_machine = *b;
  if (const Field* g = m.Get("encrypted_overlay"))
    if (auto b = Bool(*g)) p.swarm.encrypted_overlay = *b;
}

void Loader::ReadFilter(const Field& f, Section section, Action& default_action,
                        std::vector<Rule>& rules) {
  Map m;
  std::string what(SectionName(section));
  if (!ReadMap(f.value, f.at, what, kFilterKeys, m, true)) return;
  if (const Field* g = m.Get("default")) {
    if (auto text = Scalar(*g, what + ".default")) {
      if (*text == "accept")
        default_action = Action::kAccept;
      else if (*text == "drop")
        default_action = Action::kDrop;
      else
        Error(g->at, fmt::format("{}.default must be accept or drop, got '{}'{}", what, *text,
                                 DidYouMean(*text, kActions)));
    }
  }
  if (const Field* g = m.Get("deny")) ReadRules(*g, section, Action::kDrop, rules);
  if (const Field* g = m.Get("allow")) ReadRules(*g, section, Action::kAccept, rules);
}

void Loader::ReadRules(const Field& f, Section section, Action action, std::vector<Rule>& out) {
  if (f.value.IsNull()) return;
  if (!f.value.IsSequence()) {
    Error(f.at, fmt::format("{}.{} must be a list of rules, got {}", SectionName(section), f.key,
                            Describe(f.value)));
    return;
  }
  int index = 0;
  for (size_t i = 0; i < f.value.size(); ++i) {
    const YamlNode n = f.value.Child(i);
    Tick();
    ReadRule(n, At(n, f.at), section, action, index++, out);
  }
}

void Loader::ReadRule(const YamlNode& n, const SourceLocation& at, Section section, Action action,
                      int index, std::vector<Rule>& out) {
  Rule r;
  r.section = section;
  r.action = action;
  r.index = index;
  r.where = at;
  std::string what = fmt::format("a {} {} rule", SectionName(section),
                                 action == Action::kAccept ? "allow" : "deny");
  Map m;
  auto keys = section == Section::kEgress       ? Keys(kEgressRuleKeys)
              : section == Section::kContainers ? Keys(kContainerRuleKeys)
                                                : Keys(kInboundRuleKeys);
  if (!ReadMap(n, at, what, keys, m)) return;
  if (const Field* g = m.Get("comment"))
    if (auto text = Comment(*g)) r.comment = *text;
  if (const Field* g = m.Get("on")) r.on = ReadSelector(*g);
  if (const Field* g = m.Get("from")) r.from = ReadAddresses(*g);
  if (const Field* g = m.Get("to")) r.to = ReadAddresses(*g);

  const Field* service = m.Get("service");
  const Field* ports = m.Get("ports");
  const Field* proto = m.Get("proto");
  if (service) {
    for (const auto& item : Items(*service, "service")) r.services.push_back({item.text, item.at});
    if (ports || proto)
      Error(service->at, "service cannot be combined with ports or proto; write two rules");
  }
  ReadWorkloads(m, r);
  if (!r.workloads.empty() && (ports || proto))
    Error(r.workloads.front().where,
          "a rule that names a service, container or label exposes their published ports: it "
          "cannot be combined with ports or proto; write two rules");
  std::vector<Protocol> protocols;
  if (proto) {
    for (const auto& item : Items(*proto, "proto")) {
      if (item.text == "tcp")
        protocols.push_back(Protocol::kTcp);
      else if (item.text == "udp")
        protocols.push_back(Protocol::kUdp);
      else if (item.text == "sctp")
        protocols.push_back(Protocol::kSctp);
      else if (item.text == "icmp" || item.text == "icmpv6" || item.text == "ipv6-icmp")
        Error(item.at, "proto icmp is not a rule protocol: ICMP is set under host.icmp");
      else {
        static constexpr std::string_view kProtocols[] = {"tcp", "udp", "sctp"};
        Error(item.at, fmt::format("unknown protocol '{}' (tcp, udp or sctp){}", item.text,
                                   DidYouMean(item.text, kProtocols)));
      }
    }
  }
  std::vector<PortRange> ranges;
  if (ports) {
    for (const auto& item : Items(*ports, "ports")) {
      const std::string& t = item.text;
      size_t dash = t.find('-');
      std::string a = t.substr(0, dash);
      std::string b = dash == std::string::npos ? a : t.substr(dash + 1);
      int lo = ParsePortNumber(a), hi = ParsePortNumber(b);
      if (lo < 0 || hi < 0) {
        bool named = ServiceTraffic(t).has_value();
        Error(item.at,
              fmt::format("bad port '{}': a number 1-65535 or a range like 8000-8100{}", t,
                          named ? fmt::format(" (for the service write 'service: {}')", t) : ""));
      } else if (lo == 0 || hi == 0) {
        Error(item.at, fmt::format("port {} out of range (1-65535)", lo == 0 ? a : b));
      } else if (hi < lo) {
        Error(item.at,
              fmt::format("reversed port range {}: the first port must not exceed the last", t));
      } else {
        ranges.push_back({static_cast<uint16_t>(lo), static_cast<uint16_t>(hi)});
      }
    }
  }
  if (ports) {
    if (protocols.empty() && !proto) protocols.push_back(Protocol::kTcp);
    for (auto pr : protocols) r.traffic.protocols.push_back({pr, ranges});
  } else {
    for (auto pr : protocols) r.traffic.protocols.push_back({pr, {}});
  }
  NormalizeTraffic(r.traffic);
  out.push_back(std::move(r));
}

// Docker's names: a container's ([a-zA-Z0-9][a-zA-Z0-9_.-]*), a service's
// (letters, digits, '-', '_', '.'); a label's key has no space or '='.
bool WorkloadName(const std::string& s) {
  if (s.empty() || s.size() > 255 || !std::isalnum(static_cast<unsigned char>(s[0]))) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

void Loader::ReadWorkloads(const Map& m, Rule& r) {
  using Kind = WorkloadRef::Kind;
  auto read = [&](const char* key, Kind kind) {
    const Field* g = m.Get(key);
    if (!g) return;
    for (const auto& item : Items(*g, key)) {
      WorkloadRef w;
      w.kind = kind;
      w.where = item.at;
      w.name = item.text;
      if (kind == Kind::kLabel) {
        size_t eq = item.text.find('=');
        w.name = item.text.substr(0, eq);
        if (eq != std::string::npos) w.value = item.text.substr(eq + 1);
        if (w.name.empty() || w.name.find_first_of(" \t,") != std::string::npos) {
          Error(item.at, fmt::format("bad label '{}': write KEY or KEY=VALUE "
                                     "(label: com.example.expose=public)", item.text));
          continue;
        }
      } else if (!WorkloadName(w.name)) {
        Error(item.at, fmt::format("bad {} name '{}': letters, digits, '_', '.' and '-', "
                                   "starting with a letter or a digit", key, item.text));
        continue;
      }
      if (std::find(r.workloads.begin(), r.workloads.end(), w) == r.workloads.end())
        r.workloads.push_back(std::move(w));
    }
  };
  read("swarm_service", Kind::kService);
  read("container", Kind::kContainer);
  read("label", Kind::kLabel);
}

AddressMatch Loader::ReadAddresses(const Field& f) {
  AddressMatch m;
  bool any = false;
  SourceLocation any_at;
  std::string what = f.key;
  for (const auto& item : Items(f, what)) {
    const std::string& t = item.text;
    if (t == "any") {
      any = true;
      any_at = item.at;
      continue;
    }
    AddressTerm term;
    term.where = item.at;
    bool looks_like_address =
        t.find_first_of(".:/") != std::string::npos || (!t.empty() && t[0] >= '0' && t[0] <= '9');
    if (looks_like_address) {
      auto c = ParseCidr(t, item.at);
      if (!c) continue;
      term.kind = AddressTerm::Kind::kCidr;
      term.cidr = *c;
    } else if (ValidSetName(t) || t == "nodes") {
      term.kind = AddressTerm::Kind::kSet;
      term.set = t;
    } else {
      Error(item.at, fmt::format("bad {} entry '{}': any, nodes, a set name, an address or a CIDR",
                                 what, t));
      continue;
    }
    bool dup = std::any_of(m.terms.begin(), m.terms.end(), [&](const AddressTerm& o) {
      return o.kind == term.kind && o.set == term.set && o.cidr == term.cidr;
    });
    if (!dup) m.terms.push_back(std::move(term));
  }
  if (any) {
    if (!m.terms.empty())
      Warn(any_at, fmt::format("'any' in {} makes the other entries pointless", what));
    m.terms.clear();
  }
  return m;
}

Selector Loader::ReadSelector(const Field& f) {
  Selector s;
  for (const auto& item : Items(f, "on")) {
    SelectorTerm term;
    term.where = item.at;
    std::string t = item.text;
    std::string kind;
    size_t colon = t.find(':');
    if (colon != std::string::npos) {
      kind = t.substr(0, colon);
      t = t.substr(colon + 1);
    }
    if (kind == "label") {
      term.kind = SelectorTerm::Kind::kLabel;
      if (!ValidLabel(t)) {
        Error(item.at, fmt::format("bad label '{}'", t));
        continue;
      }
    } else if (kind == "role" || (kind.empty() && (t == "manager" || t == "worker"))) {
      term.kind = SelectorTerm::Kind::kRole;
      if (t == "manager")
        term.role = Role::kManager;
      else if (t == "worker")
        term.role = Role::kWorker;
      else {
        Error(item.at,
              fmt::format("unknown role '{}' (manager or worker){}", t, DidYouMean(t, kRoles)));
        continue;
      }
    } else if (kind == "node" || kind.empty()) {
      term.kind = SelectorTerm::Kind::kName;
      if (!ValidName(t, true, 253)) {
        Error(item.at, fmt::format("bad node name '{}' in on", t));
        continue;
      }
    } else {
      Error(item.at, fmt::format("unknown selector '{}:' in on (role:, node: or label:)", kind));
      continue;
    }
    term.value = term.kind == SelectorTerm::Kind::kRole ? "" : t;
    bool dup = std::any_of(s.terms.begin(), s.terms.end(), [&](const SelectorTerm& o) {
      return o.kind == term.kind && o.role == term.role && o.value == term.value;
    });
    if (!dup) s.terms.push_back(std::move(term));
  }
  return s;
}

}  // namespace

std::optional<std::string> ReadRegularFile(const std::string& path, std::string& error) {
  struct stat st {};
  if (stat(path.c_str(), &st) != 0) {
    error = strerror(errno);
    return std::nullopt;
  }
  if (!S_ISREG(st.st_mode)) {
    error = "not a regular file";
    return std::nullopt;
  }
  if (static_cast<size_t>(st.st_size) > kMaxFileBytes) {
    error = "larger than 16 MiB";
    return std::nullopt;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = strerror(errno);
    return std::nullopt;
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

LoadResult LoadPolicyTextWith(std::string_view yaml, const std::string& name,
                              const std::string& base_dir, const FileReader& reader,
                              const AddressCache* cache) {
  Diagnostics d;
  Policy policy;
  Loader loader(name, base_dir, reader, d, cache);
  bool loaded = false;
  try {
    loaded = loader.Load(yaml, policy);
  } catch (const TooLarge&) {
    d.Error({name, 1, 1}, "policy too large (more than 4,000,000 items and address lines)");
    return d.Finish(std::nullopt, name);
  }
  if (!loaded) return d.Finish(std::nullopt, name);
  ValidateInto(policy, d);
  return d.Finish(std::move(policy), name);
}

LoadResult LoadPolicyText(std::string_view yaml, const std::string& name,
                          const std::string& base_dir, const LoadOptions& options) {
  if (options.address_cache_dir.empty()) return LoadPolicyTextWith(yaml, name, base_dir, ReadRegularFile);
  AddressCache cache(options.address_cache_dir);
  return LoadPolicyTextWith(yaml, name, base_dir, ReadRegularFile, &cache);
}

LoadResult LoadPolicyFile(const std::string& path, const LoadOptions& options) {
  std::string error;
  auto text = ReadRegularFile(path, error);
  if (!text) {
    Diagnostics d;
    d.Error({path, 1, 1}, fmt::format("cannot read policy: {}", error));
    return d.Finish(std::nullopt, path);
  }
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
  return LoadPolicyText(*text, path, dir, options);
}

}  // namespace swarmwall::policy
