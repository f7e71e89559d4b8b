#include "analyze/audit/scan_comparison.h"

#include <set>

#include <fmt/format.h>

namespace swarmwall::analyze {

namespace {

// The value of attribute NAME in the tag that starts at POS.
std::string Attribute(const std::string& xml, size_t pos, const std::string& name) {
  size_t end = xml.find('>', pos);
  std::string key = " " + name + "=\"";
  size_t a = xml.find(key, pos);
  if (a == std::string::npos || a > end) return "";
  a += key.size();
  size_t b = xml.find('"', a);
  return b == std::string::npos ? "" : xml.substr(a, b - a);
}

void AddPortList(const std::string& list, const std::string& proto, const std::string& state, ScanResult& out) {
  size_t i = 0;
  while (i < list.size()) {
    size_t comma = list.find(',', i);
    std::string item = list.substr(i, comma == std::string::npos ? std::string::npos : comma - i);
    int lo = std::atoi(item.c_str()), hi = lo;
    if (auto dash = item.find('-'); dash != std::string::npos) hi = std::atoi(item.c_str() + dash + 1);
    for (int p = lo; p <= hi && p <= 65535; ++p)
      if (p > 0) out[{proto, static_cast<uint16_t>(p)}] = state;
    if (comma == std::string::npos) break;
    i = comma + 1;
  }
}

}  // namespace

bool ParseNmapXml(const std::string& xml, ScanResult& out, std::string& error) {
  if (xml.find("<nmaprun") == std::string::npos) {
    error = "not nmap XML output";
    return false;
  }
  // Explicit ports.
  for (size_t pos = xml.find("<port "); pos != std::string::npos; pos = xml.find("<port ", pos + 1)) {
    std::string proto = Attribute(xml, pos, "protocol");
    int port = std::atoi(Attribute(xml, pos, "portid").c_str());
    size_t st = xml.find("<state ", pos);
    size_t close = xml.find("</port>", pos);
    if (st == std::string::npos || (close != std::string::npos && st > close) || port <= 0 || port > 65535) continue;
    out[{proto, static_cast<uint16_t>(port)}] = Attribute(xml, st, "state");
  }
  // Condensed ones: <extraports state="filtered" count="N"> <extrareasons ... proto="tcp" ports="1-21,23-79"/>.
  for (size_t pos = xml.find("<extraports "); pos != std::string::npos; pos = xml.find("<extraports ", pos + 1)) {
    std::string state = Attribute(xml, pos, "state");
    size_t end = xml.find("</extraports>", pos);
    for (size_t r = xml.find("<extrareasons ", pos); r != std::string::npos && (end == std::string::npos || r < end);
         r = xml.find("<extrareasons ", r + 1)) {
      std::string ports = Attribute(xml, r, "ports");
      std::string proto = Attribute(xml, r, "proto");
      if (!ports.empty()) AddPortList(ports, proto.empty() ? "tcp" : proto, state, out);
    }
  }
  return true;
}

std::vector<uint16_t> UdpPortsToScan(const PolicyIntent& intent, size_t limit) {
  std::set<uint16_t> ports = {4789, 7946};
  const auto& pol = intent.policy();
  auto add = [&](const policy::Traffic& t) {
    for (const auto& pp : t.protocols) {
      if (pp.protocol != policy::Protocol::kUdp) continue;
      for (const auto& r : pp.ports)
        for (uint32_t p = r.first; p <= r.last && ports.size() < limit; ++p) ports.insert(static_cast<uint16_t>(p));
    }
  };
  for (auto section : {policy::Section::kHost, policy::Section::kContainers})
    for (const auto* r : pol.RulesFor(section, intent.node())) add(r->traffic);
  return {ports.begin(), ports.end()};
}

namespace {

bool ReachedState(const std::string& s) { return s == "open" || s == "closed" || s == "unfiltered"; }
bool DroppedState(const std::string& s) { return s == "filtered"; }

std::string IfaceOfClass(const PolicyIntent& intent, const std::string& via) {
  const auto& ifs = intent.policy().InterfacesOf(intent.node());
  const auto& list = via == "cluster" ? ifs.cluster : ifs.public_;
  if (list.empty()) return "";
  std::string n = list.front();
  if (!n.empty() && n.back() == '+') n.back() = '0';
  return n;
}

}  // namespace

ScanComparison CompareScan(const PolicyIntent& intent, const netfilter::IpAddress& source, const std::string& via,
                         const ScanResult& scan) {
  ScanComparison res;
  res.node = intent.node().name;
  res.source = source.ToString();
  res.via = via;
  std::string iface = IfaceOfClass(intent, via);
  if (iface.empty()) {
    res.notes.push_back("the policy names no " + via + " interface for this node");
    return res;
  }
  std::vector<uint16_t> udp_unknown;
  for (const auto& [key, state] : scan) {
    const auto& [proto, port] = key;
    uint16_t pn = proto == "udp" ? 17 : proto == "sctp" ? 132 : 6;
    ++res.ports_checked;
    if (pn == 17) ++res.udp_checked;
    Intent host = intent.Host(source, iface, pn, port);
    Intent cont = intent.Container(source, iface, pn, port);
    if (!host.governed) continue;
    bool reached = ReachedState(state), dropped = DroppedState(state);
    if (!reached && !dropped) {
      if (host.accept) udp_unknown.push_back(port);
      continue;
    }
    std::string expected;
    std::string why;
    if (host.accept && dropped) {
      expected = "reached";
      why = host.why;
      // A published port the policy closes would be filtered rightly: say so.
      if (cont.governed && !cont.accept) why += "; unless the port is published (" + cont.why + ")";
    } else if (!host.accept && reached) {
      if (cont.governed && cont.accept) continue;   // maybe a published port the policy opens
      expected = "dropped";
      why = host.why + (cont.governed ? "; " + cont.why : "");
    } else {
      continue;
    }
    if (!res.differences.empty()) {
      auto& last = res.differences.back();
      auto dash = last.ports.find('-');
      int last_port = std::atoi(dash == std::string::npos ? last.ports.c_str() : last.ports.c_str() + dash + 1);
      if (last.proto == proto && last.seen == state && last.expected == expected && last.policy_why == why &&
          last_port + 1 == port) {
        last.ports = (dash == std::string::npos ? last.ports : last.ports.substr(0, dash)) + "-" + std::to_string(port);
        continue;
      }
    }
    res.differences.push_back({proto, std::to_string(port), state, expected, why});
  }
  if (!udp_unknown.empty()) {
    std::string list;
    for (size_t i = 0; i < udp_unknown.size() && i < 20; ++i) list += (i ? ", " : "") + std::to_string(udp_unknown[i]);
    res.notes.push_back(fmt::format(
        "udp {}: open|filtered (no answer): nmap cannot tell a drop from a listener that ignores the probe; "
        "the policy accepts them", list));
  }
  return res;
}

nlohmann::json ScanComparisonJson(const ScanComparison& r) {
  nlohmann::json j = {{"node", r.node}, {"target", r.target}, {"source", r.source}, {"label", r.label},
                      {"via", r.via}, {"ports_checked", r.ports_checked}, {"udp_checked", r.udp_checked}, {"equal", r.differences.empty()},
                      {"notes", r.notes}, {"differences", nlohmann::json::array()}};
  for (const auto& d : r.differences)
    j["differences"].push_back({{"proto", d.proto}, {"ports", d.ports}, {"seen", d.seen},
                                {"expected", d.expected}, {"policy_why", d.policy_why}});
  return j;
}

std::string ScanComparisonText(const ScanComparison& r) {
  std::string out = fmt::format("verify {} ({}) from {}{} via its {} interface: ", r.node, r.target, r.source,
                                r.label.empty() ? "" : " (" + r.label + ")", r.via);
  if (r.differences.empty())
    out += fmt::format("what nmap sees is what the policy allows ({} TCP and {} UDP ports)\n",
                       r.ports_checked - r.udp_checked, r.udp_checked);
  else
    out += fmt::format("{} difference(s) ({} TCP and {} UDP ports)\n", r.differences.size(),
                       r.ports_checked - r.udp_checked, r.udp_checked);
  for (const auto& d : r.differences)
    out += fmt::format("  {}/{}: nmap says {}, the policy says {} ({})\n", d.ports, d.proto, d.seen, d.expected,
                       d.policy_why);
  for (const auto& n : r.notes) out += "  note: " + n + "\n";
  return out;
}

}  // namespace swarmwall::analyze
