// The model's own helpers and what loader.cc and validate.cc share.
#include "policy/policy.h"

#include <fmt/format.h>

#include <algorithm>
#include <charconv>

#include "policy/internal.h"

namespace swarmwall::policy {

std::string SourceLocation::ToString() const { return fmt::format("{}:{}:{}", file, line, column); }

std::string Diagnostic::ToString() const {
  std::string prefix;
  if (!where.file.empty()) prefix = where.line > 0 ? where.ToString() + ": " : where.file + ": ";
  return fmt::format("{}{}{}", prefix, severity == Severity::kWarning ? "warning: " : "", message);
}

std::string_view ProtocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kTcp:
      return "tcp";
    case Protocol::kUdp:
      return "udp";
    case Protocol::kSctp:
      return "sctp";
  }
  return "?";
}

std::string_view RoleName(Role role) { return role == Role::kManager ? "manager" : "worker"; }

std::string_view BackendName(Backend b) {
  switch (b) {
    case Backend::kAuto: return "auto";
    case Backend::kIptables: return "iptables";
    case Backend::kNftables: return "nftables";
  }
  return "auto";
}

std::string_view SectionName(Section section) {
  switch (section) {
    case Section::kHost:
      return "host";
    case Section::kContainers:
      return "containers";
    case Section::kEgress:
      return "egress";
  }
  return "?";
}

std::string_view ActionName(Action action) { return action == Action::kAccept ? "accept" : "drop"; }

std::string PortRange::ToString() const {
  return first == last ? std::to_string(first) : fmt::format("{}-{}", first, last);
}

std::string RateLimit::ToString() const {
  static constexpr std::string_view kUnits[] = {"second", "minute", "hour", "day"};
  return fmt::format("{}/{}", count, kUnits[static_cast<int>(unit)]);
}

std::string SelectorTerm::ToString() const {
  switch (kind) {
    case Kind::kRole:
      return std::string(RoleName(role));
    case Kind::kLabel:
      return "label:" + value;
    case Kind::kName:
      break;
  }
  return value;
}

std::string AddressTerm::ToString() const { return kind == Kind::kSet ? set : cidr.ToString(); }

// ------------------------------------------------------------------ traffic

void NormalizePorts(std::vector<PortRange>& ports) {
  std::sort(ports.begin(), ports.end());
  std::vector<PortRange> out;
  for (const auto& r : ports) {
    if (!out.empty() && static_cast<int>(r.first) <= static_cast<int>(out.back().last) + 1)
      out.back().last = std::max(out.back().last, r.last);
    else
      out.push_back(r);
  }
  ports = std::move(out);
}

void NormalizeTraffic(Traffic& traffic) {
  std::vector<ProtocolPorts> out;
  std::stable_sort(
      traffic.protocols.begin(), traffic.protocols.end(),
      [](const ProtocolPorts& a, const ProtocolPorts& b) { return a.protocol < b.protocol; });
  for (auto& p : traffic.protocols) {
    if (!out.empty() && out.back().protocol == p.protocol) {
      if (out.back().ports.empty() || p.ports.empty())
        out.back().ports.clear();
      else
        out.back().ports.insert(out.back().ports.end(), p.ports.begin(), p.ports.end());
    } else {
      out.push_back(std::move(p));
    }
  }
  for (auto& p : out) NormalizePorts(p.ports);
  traffic.protocols = std::move(out);
}

Traffic MergeTraffic(const Traffic& a, const Traffic& b) {
  if (a.Any() || b.Any()) return {};
  Traffic t = a;
  t.protocols.insert(t.protocols.end(), b.protocols.begin(), b.protocols.end());
  NormalizeTraffic(t);
  return t;
}

std::optional<Traffic> ParseTrafficSpec(std::string_view spec) {
  auto number = [](std::string_view s) -> std::optional<uint16_t> {
    unsigned v = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v == 0 || v > 65535)
      return std::nullopt;
    return static_cast<uint16_t>(v);
  };
  auto split = [](std::string_view s, char c) {
    std::vector<std::string_view> parts;
    size_t start = 0;
    while (true) {
      size_t at = s.find(c, start);
      parts.push_back(s.substr(start, at - start));
      if (at == std::string_view::npos) break;
      start = at + 1;
    }
    return parts;
  };
  Traffic t;
  for (auto group : split(spec, ' ')) {
    size_t slash = group.find('/');
    if (slash == std::string_view::npos) return std::nullopt;
    std::vector<PortRange> ports;
    for (auto p : split(group.substr(0, slash), ',')) {
      size_t dash = p.find('-');
      auto lo = number(p.substr(0, dash));
      auto hi = dash == std::string_view::npos ? lo : number(p.substr(dash + 1));
      if (!lo || !hi || *hi < *lo) return std::nullopt;
      ports.push_back({*lo, *hi});
    }
    for (auto proto : split(group.substr(slash + 1), ',')) {
      ProtocolPorts pp;
      if (proto == "tcp")
        pp.protocol = Protocol::kTcp;
      else if (proto == "udp")
        pp.protocol = Protocol::kUdp;
      else if (proto == "sctp")
        pp.protocol = Protocol::kSctp;
      else
        return std::nullopt;
      pp.ports = ports;
      t.protocols.push_back(std::move(pp));
    }
  }
  NormalizeTraffic(t);
  return t;
}

bool Traffic::Covers(const Traffic& other) const {
  if (Any()) return true;
  if (other.Any()) return false;
  for (const auto& o : other.protocols) {
    auto it = std::find_if(protocols.begin(), protocols.end(),
                           [&](const ProtocolPorts& p) { return p.protocol == o.protocol; });
    if (it == protocols.end()) return false;
    if (it->ports.empty()) continue;
    if (o.ports.empty()) return false;
    // Both normalised: a range is covered only by one merged range.
    for (const auto& r : o.ports) {
      bool in = std::any_of(it->ports.begin(), it->ports.end(),
                            [&](const PortRange& m) { return m.Contains(r); });
      if (!in) return false;
    }
  }
  return true;
}

std::string Traffic::ToString() const {
  if (Any()) return "any";
  // Protocols with the same ports are written together: "53/tcp,udp".
  std::vector<std::string> groups;
  std::vector<bool> done(protocols.size());
  for (size_t i = 0; i < protocols.size(); ++i) {
    if (done[i]) continue;
    std::string ports, protos(ProtocolName(protocols[i].protocol));
    for (size_t j = i + 1; j < protocols.size(); ++j)
      if (!done[j] && protocols[j].ports == protocols[i].ports) {
        done[j] = true;
        protos += ",";
        protos += ProtocolName(protocols[j].protocol);
      }
    if (protocols[i].ports.empty()) {
      groups.push_back(protos);
      continue;
    }
    for (const auto& r : protocols[i].ports) ports += (ports.empty() ? "" : ",") + r.ToString();
    groups.push_back(ports + "/" + protos);
  }
  std::string out;
  for (const auto& g : groups) out += (out.empty() ? "" : " ") + g;
  return out;
}

// ------------------------------------------------------------------ model

bool Selects(const Selector& selector, const Node& node) {
  if (selector.All()) return true;
  for (const auto& t : selector.terms) {
    switch (t.kind) {
      case SelectorTerm::Kind::kRole:
        if (node.role == t.role) return true;
        break;
      case SelectorTerm::Kind::kName:
        if (node.name == t.value) return true;
        break;
      case SelectorTerm::Kind::kLabel:
        if (std::binary_search(node.labels.begin(), node.labels.end(), t.value)) return true;
        break;
    }
  }
  return false;
}

std::string WorkloadRef::ToString() const {
  switch (kind) {
    case Kind::kService:
      return "service " + name;
    case Kind::kContainer:
      return "container " + name;
    case Kind::kLabel:
      return "label " + name + (value ? "=" + *value : "");
  }
  return name;
}

bool Policy::HasWorkloadRules() const {
  for (const auto& r : containers.rules)
    if (!r.workloads.empty()) return true;
  return false;
}

std::string Rule::Describe() const {
  auto list = [](const auto& terms) {
    std::string out;
    for (const auto& t : terms) out += (out.empty() ? "" : ",") + t.ToString();
    return out;
  };
  std::string what = traffic.ToString();
  if (!workloads.empty()) what = list(workloads);
  std::string s = fmt::format("{} {} #{} ({}", SectionName(section),
                              action == Action::kAccept ? "allow" : "deny", index + 1, what);
  if (!from.Any()) s += " from " + list(from.terms);
  if (!to.Any()) s += " to " + list(to.terms);
  if (!on.All()) s += " on " + list(on.terms);
  return s + ")";
}

const AddressSet* Policy::FindSet(std::string_view name) const {
  for (const auto& s : sets)
    if (s.name == name) return &s;
  return nullptr;
}

const Node* Policy::FindNode(std::string_view name) const {
  for (const auto& n : nodes)
    if (n.name == name) return &n;
  return nullptr;
}

const Interfaces& Policy::InterfacesOf(const Node& node) const {
  return node.interfaces ? *node.interfaces : interfaces;
}

const std::vector<Rule>& Policy::Rules(Section section) const {
  switch (section) {
    case Section::kContainers:
      return containers.rules;
    case Section::kEgress:
      return egress.rules;
    case Section::kHost:
      break;
  }
  return host.rules;
}

std::vector<const Rule*> Policy::RulesFor(Section section, const Node& node) const {
  std::vector<const Rule*> out;
  for (const auto& r : Rules(section))
    if (Selects(r.on, node)) out.push_back(&r);
  return out;
}

std::vector<const Node*> Policy::NodesSelectedBy(const Selector& selector) const {
  std::vector<const Node*> out;
  for (const auto& n : nodes)
    if (Selects(selector, n)) out.push_back(&n);
  return out;
}

std::vector<Cidr> Policy::Resolve(const AddressMatch& match, Family family) const {
  std::vector<Cidr> out;
  for (const auto& t : match.terms) {
    if (t.kind == AddressTerm::Kind::kCidr) {
      if (t.cidr.family() == family) out.push_back(t.cidr);
    } else if (const AddressSet* s = FindSet(t.set)) {
      const auto& e = s->Entries(family);
      out.insert(out.end(), e.begin(), e.end());
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

bool CidrContains(const Cidr& outer, const Cidr& inner) {
  if (outer.family() != inner.family()) return false;
  int lo = outer.PrefixLength(), li = inner.PrefixLength();
  if (lo < 0 || li < 0) return outer == inner;
  return lo <= li && outer.Contains(inner.address);
}

// ------------------------------------------------------------ diagnostics

size_t InvalidUtf8At(std::string_view text) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(text[i]); };
  for (size_t i = 0; i < text.size();) {
    unsigned char c = byte(i);
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t n = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
    if (n == 0 || i + n > text.size()) return i;
    // The second byte's range rules out overlong forms, surrogates and
    // code points past U+10FFFF.
    unsigned char lo = 0x80, hi = 0xbf, second = byte(i + 1);
    if (c == 0xe0) lo = 0xa0;
    if (c == 0xed) hi = 0x9f;
    if (c == 0xf0) lo = 0x90;
    if (c == 0xf4) hi = 0x8f;
    if (second < lo || second > hi) return i;
    for (size_t k = 2; k < n; ++k)
      if ((byte(i + k) & 0xc0) != 0x80) return i;
    i += n;
  }
  return std::string_view::npos;
}

std::string EscapeInvalidUtf8(std::string_view text) {
  std::string out;
  while (!text.empty()) {
    size_t bad = InvalidUtf8At(text);
    out += text.substr(0, bad);
    if (bad == std::string_view::npos) break;
    out += fmt::format("\\x{:02X}", static_cast<unsigned char>(text[bad]));
    text.remove_prefix(bad + 1);
  }
  return out;
}

// Messages quote the policy, whose bytes need not be UTF-8: such bytes are
// written \xNN, so every message is text (JSON, terminals, logs).
void Diagnostics::Error(const SourceLocation& where, std::string message) {
  if (InvalidUtf8At(message) != std::string_view::npos) message = EscapeInvalidUtf8(message);
  list_.push_back({Diagnostic::Severity::kError, where, std::move(message)});
  ++errors_;
}

void Diagnostics::Warn(const SourceLocation& where, std::string message) {
  if (InvalidUtf8At(message) != std::string_view::npos) message = EscapeInvalidUtf8(message);
  list_.push_back({Diagnostic::Severity::kWarning, where, std::move(message)});
}

LoadResult Diagnostics::Finish(std::optional<Policy> policy, const std::string& policy_file) {
  std::stable_sort(list_.begin(), list_.end(), [&](const Diagnostic& a, const Diagnostic& b) {
    bool pa = a.where.file == policy_file, pb = b.where.file == policy_file;
    if (pa != pb) return pa;
    if (a.where != b.where) return a.where < b.where;
    if (a.severity != b.severity) return a.severity < b.severity;
    return a.message < b.message;
  });
  // The same message at the same place once (an alias makes YAML repeat a node).
  list_.erase(std::unique(list_.begin(), list_.end()), list_.end());
  LoadResult result;
  for (auto& d : list_)
    (d.severity == Diagnostic::Severity::kError ? result.errors : result.warnings)
        .push_back(std::move(d));
  list_.clear();
  if (result.errors.empty()) result.policy = std::move(policy);
  errors_ = 0;
  return result;
}

namespace {

// Optimal string alignment distance: Levenshtein plus transpositions
// ("tpc" is one edit from "tcp").
size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::vector<size_t>> d(a.size() + 1, std::vector<size_t>(b.size() + 1));
  for (size_t i = 0; i <= a.size(); ++i) d[i][0] = i;
  for (size_t j = 0; j <= b.size(); ++j) d[0][j] = j;
  for (size_t i = 1; i <= a.size(); ++i)
    for (size_t j = 1; j <= b.size(); ++j) {
      d[i][j] = std::min(
          {d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.size()][b.size()];
}

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

template <typename T>
std::string Closest(std::string_view word, std::span<const T> candidates) {
  if (word.size() > 64) return "";
  size_t best = SIZE_MAX;
  std::string_view pick;
  for (const auto& c : candidates) {
    std::string_view cv(c);
    if (cv.size() > 64) continue;
    size_t d = EditDistance(Lower(word), Lower(cv));
    if (d == 0 && word != cv) return fmt::format("; did you mean '{}'?", cv);
    if (d < best) {
      best = d;
      pick = cv;
    }
  }
  size_t limit = std::max<size_t>(1, std::min(word.size(), pick.size()) / 3);
  if (best == SIZE_MAX || best == 0 || best > limit) return "";
  return fmt::format("; did you mean '{}'?", pick);
}

}  // namespace

std::string DidYouMean(std::string_view word, std::span<const std::string> candidates) {
  return Closest(word, candidates);
}

std::string DidYouMean(std::string_view word, std::span<const std::string_view> candidates) {
  return Closest(word, candidates);
}

}  // namespace swarmwall::policy

namespace swarmwall::policy {

Traffic SwarmPortsToClose(const SwarmPolicy& swarm) {
  Traffic all = SwarmTraffic(swarm, Role::kManager);
  if (!swarm.encrypted_overlay) return all;
  for (auto& pp : all.protocols)
    if (pp.protocol == Protocol::kUdp) {
      pp.ports.push_back({4789, 4789});
      std::sort(pp.ports.begin(), pp.ports.end());
      return all;
    }
  all.protocols.push_back({Protocol::kUdp, {{4789, 4789}}});
  std::sort(all.protocols.begin(), all.protocols.end(),
            [](const ProtocolPorts& a, const ProtocolPorts& b) { return a.protocol < b.protocol; });
  return all;
}

}  // namespace swarmwall::policy
