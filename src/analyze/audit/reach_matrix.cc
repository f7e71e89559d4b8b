#include "analyze/audit/reach_matrix.h"

#include <map>

#include <fmt/format.h>

#include "analyze/audit/audit_classes.h"
#include "analyze/model/match.h"

namespace swarmwall::analyze {

using netfilter::Family;

namespace {

const char* ProtoName(uint16_t p) {
  switch (p) {
    case 6: return "tcp";
    case 17: return "udp";
    case 132: return "sctp";
    case 1: return "icmp";
    case 58: return "icmpv6";
    default: return "other";
  }
}

std::string Join(const std::vector<std::string>& items, size_t max = 40) {
  std::string out;
  for (size_t i = 0; i < items.size() && i < max; ++i) out += (i ? ", " : "") + items[i];
  if (items.size() > max) out += fmt::format(" and {} more", items.size() - max);
  return out;
}

bool MatchesAny(const std::vector<std::string>& patterns, std::string_view name) {
  for (const auto& p : patterns) {
    bool prefix = !p.empty() && p.back() == '+';
    if (InterfaceMatches(prefix ? std::string_view(p).substr(0, p.size() - 1) : std::string_view(p), prefix, name))
      return true;
  }
  return false;
}

}  // namespace

std::vector<MatrixRow> ReachMatrix(const AuditInput& in, bool all_interfaces,
                                   const std::vector<netfilter::IpAddress>& from) {
  std::vector<MatrixRow> rows;
  if (!in.host) return rows;
  std::vector<std::string> patterns = in.public_interfaces;
  if (patterns.empty() && !all_interfaces) patterns = GuessPublicInterfaces(*in.host);
  for (const netfilter::Ruleset* rs : {in.v4, in.v6}) {
    if (!rs) continue;
    Family fam = rs->family;
    TraceModel model(*rs, *in.host);
    ClassBuilder b(fam);
    b.AddRuleset(*rs);
    b.AddHost(*in.host);
    for (const auto& c : in.trusted) b.AddCidr(c);
    auto sources = b.Addresses(in.host);
    if (!from.empty()) {
      sources.clear();
      for (const auto& a : from)
        if (a.family == fam) sources.push_back({a, a, a});
      if (sources.empty()) continue;
    }
    auto ports = b.Ports();
    for (const auto& iface : in.host->interfaces) {
      if (iface.name == "lo") continue;
      if (!patterns.empty() && !MatchesAny(patterns, iface.name)) continue;
      auto dsts = TargetAddresses(*in.host, iface.name, fam);
      if (dsts.empty()) continue;
      // (proto, target, reach) -> source class -> port texts; then rows by (ports) -> sources.
      std::map<std::tuple<uint16_t, std::string, std::string, std::string>, std::vector<std::string>> grouped;
      for (uint16_t proto : {6, 17})
        for (const auto& src : sources) {
          std::map<std::pair<std::string, std::string>, std::vector<std::string>> by_target;
          for (const auto& pc : ports) {
            auto r = TraceNew(model, src.representative, dsts[0], proto, pc.first, iface.name);
            bool first = Accepted(r.outcome.fate), all = first, any = first;
            for (const auto& o : r.alternatives) {
              all &= Accepted(o.fate);
              any |= Accepted(o.fate);
            }
            if (!any) continue;
            std::string target = "host";
            if (r.outcome.fate == Fate::kForward) {
              const auto& p = r.outcome.final_packet;
              target = fmt::format("{} {}:{}", p.dst != dsts[0] ? "container" : "forward", p.dst.ToString(), p.dport);
            }
            by_target[{target, all && !r.truncated ? "exact" : "maybe"}].push_back(pc.Text());
          }
          for (auto& [k, list] : by_target) grouped[{proto, k.first, k.second, Join(list, 1000)}].push_back(src.Text());
        }
      for (auto& [k, srcs] : grouped) {
        MatrixRow row;
        row.family = fam;
        row.iface = iface.name;
        row.proto = ProtoName(std::get<0>(k));
        row.target = std::get<1>(k);
        row.reach = std::get<2>(k);
        row.ports = std::get<3>(k);
        row.sources = srcs.size() == sources.size() && from.empty() ? "any" : Join(srcs);
        row.to = dsts[0].ToString();
        rows.push_back(std::move(row));
      }
    }
  }
  return rows;
}

std::vector<MatrixRow> MatrixFromExposure(const FamilyExposure& e, const SourceNames* names) {
  std::vector<MatrixRow> rows;
  for (const auto& i : e.interfaces)
    for (const auto& en : i.entries) {
      MatrixRow row;
      row.family = e.family;
      row.iface = i.interface;
      std::vector<std::string> s, p;
      for (const auto& c : en.sources) s.push_back(c.ToString());
      row.sources = Join(s);
      if (names) row.source_name = names->Name(e.family, en.sources);
      for (const auto& sp : en.ports) p.push_back(sp.lo == sp.hi ? std::to_string(sp.lo) : fmt::format("{}-{}", sp.lo, sp.hi));
      row.ports = p.empty() ? "-" : Join(p, 1000);
      row.proto = ProtoName(en.protocol);
      switch (en.target.kind) {
        case ExposureTarget::kHost: row.target = "host"; break;
        case ExposureTarget::kContainer:
          row.target = fmt::format("container {}:{}", en.target.to_address.ToString(), en.target.to_port);
          break;
        case ExposureTarget::kForward: row.target = "forward"; break;
      }
      std::vector<std::string> to;
      for (const auto& c : en.target.addresses) to.push_back(c.ToString());
      row.to = Join(to);
      row.reach = en.reach == Reach::kExact ? "exact" : en.reach == Reach::kUnder ? "under" : "maybe";
      rows.push_back(std::move(row));
    }
  return rows;
}

std::vector<MatrixRow> ExposureMatrix(const AuditInput& in, const std::vector<netfilter::IpAddress>& from) {
  std::vector<MatrixRow> rows;
  if (!in.host) return rows;
  auto names = PublicInterfaceNames(in);
  if (names.empty()) return rows;
  SourceNames source_names;
  for (auto f : {Family::kIPv4, Family::kIPv6}) source_names.Add("nodes", f, in.trusted);
  for (const auto& [name, cidrs] : in.named_sets)
    for (auto f : {Family::kIPv4, Family::kIPv6}) {
      std::vector<netfilter::Cidr> of;
      for (const auto& c : cidrs)
        if (c.family() == f) of.push_back(c);
      source_names.Add(name, f, of);
    }
  source_names.AddHostSets(*in.host);
  for (const netfilter::Ruleset* rs : {in.v4, in.v6}) {
    if (!rs) continue;
    ExposureOptions o;
    o.interfaces = names;
    for (const auto& a : from)
      if (a.family == rs->family) o.from.push_back(netfilter::Cidr::Prefix(a, a.Bits()));
    if (!from.empty() && o.from.empty()) continue;
    TraceModel model(*rs, *in.host);
    auto e = ComputeExposure(model, o);
    auto r = MatrixFromExposure(e, &source_names);
    rows.insert(rows.end(), r.begin(), r.end());
  }
  return rows;
}

nlohmann::json MatrixJson(const std::vector<MatrixRow>& rows) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& r : rows)
    a.push_back({{"family", r.family == Family::kIPv4 ? "ipv4" : "ipv6"},
                 {"in", r.iface},
                 {"sources", r.sources},
                 {"source_name", r.source_name},
                 {"proto", r.proto},
                 {"ports", r.ports},
                 {"target", r.target},
                 {"to", r.to},
                 {"reach", r.reach}});
  return a;
}

std::string MatrixText(const std::vector<MatrixRow>& rows) {
  std::string out;
  for (const auto& r : rows)
    out += fmt::format("  IPv{} in {} from {} to {}: {}/{} -> {}{}\n", r.family == Family::kIPv4 ? 4 : 6, r.iface,
                       r.source_name.empty() ? r.sources : r.source_name, r.to, r.ports, r.proto, r.target, r.reach == "exact" ? "" : " (" + r.reach + ")");
  return out;
}

}  // namespace swarmwall::analyze
