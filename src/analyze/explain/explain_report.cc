#include "analyze/explain/explain_report.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace swarmwall::analyze {

std::string ExplainText(const DockerExplanation& e, const ExplainContext& c) {
  std::string o;
  auto line = [&](const std::string& s) { o += s + "\n"; };
  line(fmt::format("Ruleset: {}", c.source));
  if (!c.variant.empty()) line(fmt::format("iptables variant holding Docker's chains: {}", c.variant));
  if (!c.docker_version.empty()) line(fmt::format("Docker Engine: {}", c.docker_version));
  line(fmt::format("Docker chain layout: {}{}", LayoutName(e.layout), e.swarm ? " (Swarm node)" : ""));
  for (const auto& ev : e.evidence) line("  - " + ev);
  line("");
  line("Chains:");
  for (const auto& ch : e.chains)
    line(fmt::format("  {:<8} {:<26} {:<9} {:>4} rules  {}", ch.table, ch.chain,
                     OwnerName(ch.owner), ch.rules, ch.purpose));
  line("");
  if (e.layout == DockerLayout::kNftables) {
    line(fmt::format("Docker's nftables tables: {} (no DOCKER-USER in this mode)",
                     fmt::join(e.docker_nft_tables, ", ")));
    for (const auto& f : e.fwmark_accepts) line("  accepts a packet mark (--bridge-accept-fwmark): " + f);
  } else {
    line(fmt::format("DOCKER-USER hooked first in FORWARD: {}", e.docker_user_first_in_forward ? "yes" : "NO"));
  }
  if (!e.other_nft_tables.empty())
    line(fmt::format("Other nftables tables: {}", fmt::join(e.other_nft_tables, ", ")));
  line("");
  line("Bridges:");
  if (e.bridges.empty()) line("  (none)");
  for (const auto& b : e.bridges) {
    std::string flags;
    if (b.swarm_gateway) flags += " swarm-gateway";
    if (b.internal) flags += " internal";
    if (b.isolated) flags += " isolated-from-other-bridges";
    flags += b.icc ? " icc" : " no-icc";
    line(fmt::format("  {:<18} {:<18}{}", b.name, b.subnet.empty() ? "-" : b.subnet, flags));
  }
  line("");
  line("Published ports (host -> container):");
  if (e.ports.empty()) line("  (none)");
  for (const auto& p : e.ports) {
    std::string host = p.host_address.empty() ? "*" : p.host_address;
    if (p.family == 6 && !p.host_address.empty()) host = "[" + host + "]";
    std::string note;
    if (p.loopback_only) note += "  loopback only";
    if (p.swarm_ingress) note += "  swarm routing mesh";
    if (!p.bridge.empty()) note += "  (not from " + p.bridge + ")";
    line(fmt::format("  {}:{}/{} -> {}{}{}", host, p.host_ports, p.protocol, p.container,
                     p.family == 6 ? "  IPv6" : "", note));
  }
  if (!e.direct_access_drops.empty()) {
    line("");
    line(e.layout == DockerLayout::kNftables
             ? "Direct access to container addresses dropped in raw-PREROUTING (priority raw):"
             : "Direct access to container addresses dropped in raw PREROUTING:");
    for (const auto& d : e.direct_access_drops)
      line(fmt::format("  {} unless arriving on {}", d.address, d.except_interface));
  }
  line("");
  line("Rules of other owners in built-in chains:");
  if (e.foreign_rules.empty()) line("  (none)");
  for (const auto& f : e.foreign_rules)
    line(fmt::format("  {} {}: {}", f.table, f.chain, f.rule));
  line("");
  line("Where your rules belong:");
  for (const auto& a : e.advice) line("  * " + a);
  return o;
}

nlohmann::json ExplainJson(const DockerExplanation& e, const ExplainContext& c) {
  nlohmann::json j;
  j["source"] = c.source;
  if (!c.variant.empty()) j["variant"] = c.variant;
  if (!c.docker_version.empty()) j["docker_version"] = c.docker_version;
  j["layout"] = LayoutName(e.layout);
  j["evidence"] = e.evidence;
  j["swarm"] = e.swarm;
  j["docker_user_hooked"] = e.docker_user_first_in_forward;
  j["docker_nft_tables"] = e.docker_nft_tables;
  j["fwmark_accepts"] = e.fwmark_accepts;
  j["other_nft_tables"] = e.other_nft_tables;
  for (const auto& ch : e.chains)
    j["chains"].push_back({{"table", ch.table}, {"chain", ch.chain},
                           {"owner", OwnerName(ch.owner)}, {"rules", ch.rules},
                           {"purpose", ch.purpose}});
  for (const auto& b : e.bridges)
    j["bridges"].push_back({{"name", b.name}, {"subnet", b.subnet}, {"icc", b.icc},
                            {"isolated", b.isolated}, {"internal", b.internal},
                            {"swarm_gateway", b.swarm_gateway}});
  j["ports"] = nlohmann::json::array();
  for (const auto& p : e.ports)
    j["ports"].push_back({{"family", p.family}, {"protocol", p.protocol},
                          {"host_address", p.host_address}, {"host_ports", p.host_ports},
                          {"container", p.container}, {"bridge", p.bridge},
                          {"loopback_only", p.loopback_only},
                          {"swarm_ingress", p.swarm_ingress}});
  for (const auto& d : e.direct_access_drops)
    j["direct_access_drops"].push_back({{"address", d.address},
                                        {"except_interface", d.except_interface}});
  j["foreign_rules"] = nlohmann::json::array();
  for (const auto& f : e.foreign_rules)
    j["foreign_rules"].push_back({{"table", f.table}, {"chain", f.chain}, {"rule", f.rule}});
  j["advice"] = e.advice;
  return j;
}

}  // namespace swarmwall::analyze
