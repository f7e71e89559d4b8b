#include "analyze/exposure/exposure_report.h"

#include <fmt/format.h>

#include "analyze/model/addr_number.h"
#include "analyze/model/interval_set.h"
#include "analyze/model/ipassmt.h"

namespace swarmwall::analyze {

using netfilter::Cidr;
using netfilter::Family;

std::string ProtocolText(uint16_t protocol, uint16_t last) {
  auto one = [](uint16_t p) -> std::string {
    switch (p) {
      case 1: return "icmp";
      case 6: return "tcp";
      case 17: return "udp";
      case 33: return "dccp";
      case 58: return "icmpv6";
      case 132: return "sctp";
      case 136: return "udplite";
      default: return fmt::format("proto {}", p);
    }
  };
  if (last) return fmt::format("proto {}-{}", protocol, last);
  return one(protocol);
}

std::string PortsText(const std::vector<PortSpan>& ports) {
  std::string s;
  for (const auto& p : ports) {
    if (!s.empty()) s += ",";
    if (p.lo == 0 && p.hi == 65535) s += "any port";
    else if (p.lo == p.hi) s += std::to_string(p.lo);
    else s += fmt::format("{}-{}", p.lo, p.hi);
  }
  return s;
}

namespace {

std::vector<Cidr> ToCidrList(const IntervalSet& s, Family f) {
  std::vector<AddressSpan> spans;
  for (const auto& i : s.intervals()) spans.push_back({FromNumber(i.lo, f), FromNumber(i.hi, f)});
  return SpansToCidrs(spans);
}

std::string Join(const std::vector<Cidr>& cidrs, size_t max_items) {
  std::string s;
  for (size_t i = 0; i < cidrs.size() && i < max_items; ++i) s += (i ? ", " : "") + cidrs[i].ToString();
  if (cidrs.size() > max_items) s += fmt::format(", ... ({} more)", cidrs.size() - max_items);
  return s;
}

const char* FamilyName(Family f) { return f == Family::kIPv4 ? "IPv4" : "IPv6"; }

const char* ReachMark(Reach r) {
  switch (r) {
    case Reach::kExact: return "";
    case Reach::kUnder: return "  [sure, though undecidable matches were met]";
    case Reach::kOver: return "  [? possible: depends on undecidable matches]";
  }
  return "";
}

}  // namespace

std::string CidrsText(const std::vector<Cidr>& cidrs, Family family, size_t max_items) {
  if (cidrs.empty()) return "nothing";
  IntervalSet all = IntervalSet::Range(0, MaxOf(family));
  IntervalSet set = FromCidrs(cidrs, family);
  if (set == all) return "anywhere";
  std::vector<Cidr> rest = ToCidrList(all.Subtract(set), family);
  if (rest.size() < cidrs.size() && rest.size() <= max_items)
    return "anywhere except " + Join(rest, max_items);
  return Join(cidrs, max_items);
}

std::string TargetText(const ExposureTarget& t, uint16_t protocol) {
  bool ports = protocol == 6 || protocol == 17 || protocol == 132 || protocol == 33 || protocol == 136;
  Family f = t.to_address.family;
  bool has_to = t.to_address != netfilter::IpAddress{{}, f};
  std::string to;
  if (has_to) {
    to = t.to_address.ToString();
    if (f == Family::kIPv6 && ports && t.to_port) to = "[" + to + "]";
    if (ports && t.to_port) to += fmt::format(":{}", t.to_port);
  } else if (ports && t.to_port) {
    to = fmt::format("port {}", t.to_port);
  }
  switch (t.kind) {
    case ExposureTarget::kHost:
      return has_to || t.to_port ? "host, redirected to " + to : "host";
    case ExposureTarget::kContainer:
      return fmt::format("container {} (out {})", to, t.out_interface);
    case ExposureTarget::kForward:
      return fmt::format("forwarded out {}", t.out_interface);
  }
  return "?";
}

std::string ExposureText(const std::vector<FamilyExposure>& families, const SourceNames* names, bool cidrs) {
  std::string out;
  bool any_unknown = false;
  for (const auto& fam : families) {
    for (const auto& ie : fam.interfaces) {
      out += fmt::format("{}, arriving on {} (new connections):\n", FamilyName(fam.family), ie.interface);
      if (ie.entries.empty()) {
        out += "  nothing gets in\n\n";
        continue;
      }
      // Entries come grouped by class: print each class once.
      std::vector<std::vector<const ExposureEntry*>> classes;
      for (const auto& e : ie.entries) {
        bool found = false;
        for (auto& c : classes)
          if (c.front()->sources == e.sources) {
            c.push_back(&e);
            found = true;
            break;
          }
        if (!found) classes.push_back({&e});
      }
      int n = 0;
      for (const auto& c : classes) {
        std::string name = names ? names->Name(fam.family, c.front()->sources) : "";
        std::string from = CidrsText(c.front()->sources, fam.family);
        if (!name.empty()) from = cidrs ? name + " = " + CidrsText(c.front()->sources, fam.family, 1000) : name;
        out += fmt::format("  class {}: from {}\n", ++n, from);
        // One line per destination: the protocols and ports that reach it.
        struct Line {
          std::string to, dst;
          Reach reach;
          bool control = false;
          std::vector<const ExposureEntry*> entries;
        };
        std::vector<Line> lines;
        for (const auto* e : c) {
          std::string to = TargetText(e->target, e->protocol);
          std::string dst = CidrsText(e->target.addresses, fam.family, 4);
          bool found = false;
          for (auto& l : lines)
            if (l.to == to && l.dst == dst && l.reach == e->reach) {
              l.entries.push_back(e);
              l.control |= ExposedControlPort(*e) != 0;
              found = true;
              break;
            }
          if (!found) lines.push_back({to, dst, e->reach, ExposedControlPort(*e) != 0, {e}});
        }
        for (const auto& l : lines) {
          // Every protocol, every port: say so.
          std::vector<bool> seen(256, false);
          bool full = true;
          for (const auto* e : l.entries) {
            for (int p = e->protocol; p <= (e->protocol_last ? e->protocol_last : e->protocol); ++p) seen[p] = true;
            bool has_ports = e->protocol_last == 0 && (e->protocol == 6 || e->protocol == 17 ||
                                                       e->protocol == 132 || e->protocol == 33 || e->protocol == 136);
            if (has_ports && !(e->ports.size() == 1 && e->ports[0].lo == 0 && e->ports[0].hi == 65535)) full = false;
          }
          for (bool b : seen) full &= b;
          std::string what;
          if (full) {
            what = "all traffic";
          } else {
            std::string others;
            for (const auto* e : l.entries) {
              bool named = e->protocol_last == 0 && (e->protocol == 1 || e->protocol == 6 || e->protocol == 17 ||
                                                     e->protocol == 58 || e->protocol == 132);
              if (!named) {
                others += (others.empty() ? "" : ",") + (e->protocol_last ? fmt::format("{}-{}", e->protocol, e->protocol_last)
                                                                          : std::to_string(e->protocol));
                continue;
              }
              std::string w = ProtocolText(e->protocol);
              std::string ports = PortsText(e->ports);
              if (!ports.empty()) w += " " + ports;
              what += (what.empty() ? "" : "; ") + w;
            }
            if (!others.empty()) what += (what.empty() ? "" : "; ") + std::string("protocols ") + others;
          }
          out += fmt::format("    {} -> {} (addressed to {}){}{}\n", what, l.to, l.dst,
                             l.control ? "  !! Swarm/Docker API port open to the world" : "", ReachMark(l.reach));
        }
      }
      out += "\n";
    }
    if (!fam.unknowns.empty()) {
      any_unknown = true;
      out += fmt::format("{}: undecidable matches (entries marked ? exist only under some answers;\n"
                         "  the listing is the over-approximation, the JSON output has both):\n",
                         FamilyName(fam.family));
      for (const auto& u : fam.unknowns)
        out += fmt::format("  {} {} rule {}: {}: {}\n", u.table, u.chain, u.rule_number, u.what, u.why);
    }
    if (fam.truncated) out += fmt::format("{}: TRUNCATED: the packet-set limit was reached; partial\n", FamilyName(fam.family));
  }
  if (!any_unknown) out += "Every match was decidable: the exposure is exact.\n";
  return out;
}

nlohmann::json EntryJson(const ExposureEntry& e) {
  nlohmann::json j;
  for (const auto& c : e.sources) j["sources"].push_back(c.ToString());
  if (j["sources"].is_null()) j["sources"] = nlohmann::json::array();
  j["protocol"] = e.protocol;
  j["protocol_name"] = ProtocolText(e.protocol, e.protocol_last);
  if (e.protocol_last) j["protocol_last"] = e.protocol_last;
  j["ports"] = nlohmann::json::array();
  for (const auto& p : e.ports) j["ports"].push_back(p.lo == p.hi ? std::to_string(p.lo) : fmt::format("{}-{}", p.lo, p.hi));
  nlohmann::json t;
  t["kind"] = e.target.kind == ExposureTarget::kHost ? "host"
              : e.target.kind == ExposureTarget::kContainer ? "container" : "forward";
  t["addresses"] = nlohmann::json::array();
  for (const auto& c : e.target.addresses) t["addresses"].push_back(c.ToString());
  Family f = e.target.to_address.family;
  if (e.target.to_address != netfilter::IpAddress{{}, f}) t["to_address"] = e.target.to_address.ToString();
  if (e.target.to_port) t["to_port"] = e.target.to_port;
  if (!e.target.out_interface.empty()) t["out_interface"] = e.target.out_interface;
  j["target"] = t;
  j["reach"] = ReachName(e.reach);
  j["world"] = TouchesWorld(e.sources);
  if (uint16_t p = ExposedControlPort(e)) j["control_port_to_world"] = p;
  return j;
}

nlohmann::json ExposureJson(const std::vector<FamilyExposure>& families, const SourceNames* names) {
  nlohmann::json out;
  out["families"] = nlohmann::json::array();
  for (const auto& fam : families) {
    nlohmann::json f;
    f["family"] = fam.family == Family::kIPv4 ? "ipv4" : "ipv6";
    f["exact"] = fam.Exact();
    f["truncated"] = fam.truncated;
    f["interfaces"] = nlohmann::json::array();
    for (const auto& ie : fam.interfaces) {
      nlohmann::json i;
      i["interface"] = ie.interface;
      i["over"] = nlohmann::json::array();    // reached under some answer of the undecidable matches
      i["under"] = nlohmann::json::array();   // reached whatever they answer
      for (const auto& e : ie.entries) {
        nlohmann::json j = EntryJson(e);
        if (names) j["source_name"] = names->Name(fam.family, e.sources);
        if (e.reach != Reach::kOver) i["under"].push_back(j);
        i["over"].push_back(std::move(j));
      }
      f["interfaces"].push_back(std::move(i));
    }
    f["unknowns"] = nlohmann::json::array();
    for (const auto& u : fam.unknowns)
      f["unknowns"].push_back({{"table", u.table}, {"chain", u.chain}, {"rule_number", u.rule_number},
                               {"rule", u.rule}, {"match", u.what}, {"why", u.why}});
    out["families"].push_back(std::move(f));
  }
  return out;
}

std::string ServiceMatrixText(const ServiceMatrix& m) {
  std::string out = fmt::format("{} service matrix, {} port {}: {} classes\n", FamilyName(m.family),
                                ProtocolText(m.protocol), m.port, m.classes.size());
  for (size_t i = 0; i < m.classes.size(); ++i)
    out += fmt::format("  [{}] {}\n", i, CidrsText(m.classes[i], m.family, 8));
  auto under = [&](std::pair<int, int> e) {
    for (const auto& u : m.edges_under)
      if (u == e) return true;
    return false;
  };
  out += "edges (source class -> destination class):\n";
  for (const auto& e : m.edges)
    out += fmt::format("  [{}] -> [{}]{}\n", e.first, e.second, under(e) ? "" : "  [? possible only]");
  for (const auto& u : m.unknowns)
    out += fmt::format("undecidable: {} {} rule {}: {}: {}\n", u.table, u.chain, u.rule_number, u.what, u.why);
  return out;
}

nlohmann::json ServiceMatrixJson(const ServiceMatrix& m) {
  nlohmann::json j;
  j["family"] = m.family == Family::kIPv4 ? "ipv4" : "ipv6";
  j["protocol"] = m.protocol;
  j["port"] = m.port;
  j["classes"] = nlohmann::json::array();
  for (const auto& c : m.classes) {
    nlohmann::json cl = nlohmann::json::array();
    for (const auto& x : c) cl.push_back(x.ToString());
    j["classes"].push_back(cl);
  }
  j["edges"] = nlohmann::json::array();
  for (const auto& e : m.edges) j["edges"].push_back({e.first, e.second});
  j["edges_under"] = nlohmann::json::array();
  for (const auto& e : m.edges_under) j["edges_under"].push_back({e.first, e.second});
  j["truncated"] = m.truncated;
  j["unknowns"] = nlohmann::json::array();
  for (const auto& u : m.unknowns)
    j["unknowns"].push_back({{"table", u.table}, {"chain", u.chain}, {"rule_number", u.rule_number},
                             {"rule", u.rule}, {"match", u.what}, {"why", u.why}});
  return j;
}

}  // namespace swarmwall::analyze
