// Published ports open to the world, for doctor and status: the exposure
// engine's view (not Docker's chain layout), so whatever DNATs to a
// container counts, in iptables or (through the host facts) nftables.
#include "analyze/doctor/doctor.h"

#include <algorithm>

#include <fmt/format.h>

#include "analyze/audit/audit.h"
#include "analyze/audit/audit_classes.h"
#include "analyze/audit/policy_proof.h"
#include "analyze/exposure/exposure.h"
#include "analyze/model/chain_loops.h"

namespace swarmwall::analyze {
namespace {

std::string ProtoName(uint16_t p) {
  switch (p) {
    case 6: return "tcp";
    case 17: return "udp";
    case 132: return "sctp";
  }
  return std::to_string(p);
}

std::string SpanText(const PortSpan& s) {
  return s.lo == s.hi ? std::to_string(s.lo) : fmt::format("{}-{}", s.lo, s.hi);
}

}  // namespace

std::vector<OpenPublishedPort> WorldPublishedPorts(const netfilter::Ruleset& rs, const host::HostNetwork& host) {
  std::vector<OpenPublishedPort> out;
  if (FindChainLoop(rs)) return out;   // no kernel runs it; audit says so
  auto stranger = PickStranger(rs.family, &rs, &host, {});
  if (!stranger) return out;
  AuditInput in;
  in.host = &host;
  auto ifaces = PublicInterfaceNames(in);
  if (ifaces.empty()) return out;
  TraceModel model(rs, host);
  ExposureOptions o;
  o.interfaces = ifaces;
  o.from = {netfilter::Cidr::Prefix(*stranger, stranger->Bits())};
  FamilyExposure ex = ComputeExposure(model, o);
  for (const auto& i : ex.interfaces) {
    auto own = TargetAddresses(host, i.interface, rs.family);
    for (const auto& e : i.entries) {
      if (e.target.kind != ExposureTarget::kContainer || e.protocol_last != 0) continue;
      // To the interface's own address: what a stranger out there connects to.
      bool to_own = false;
      for (const auto& c : e.target.addresses)
        for (const auto& a : own) to_own |= c.Contains(a);
      if (!to_own) continue;
      bool v6 = rs.family == netfilter::Family::kIPv6;
      std::string addr = v6 ? "[" + e.target.to_address.ToString() + "]" : e.target.to_address.ToString();
      for (const auto& span : e.ports) {
        OpenPublishedPort p;
        p.family = rs.family;
        p.port = SpanText(span) + "/" + ProtoName(e.protocol);
        p.container = e.target.to_port ? fmt::format("{}:{}", addr, e.target.to_port)
                                        : span.lo == span.hi ? fmt::format("{}:{}", addr, span.lo) : addr;
        p.iface = i.interface;
        p.certain = e.reach != Reach::kOver;
        p.source = *stranger;
        p.protocol = e.protocol;
        p.port_lo = span.lo;
        p.port_hi = span.hi;
        out.push_back(std::move(p));
      }
    }
  }
  return out;
}

void DropIntendedPorts(std::vector<OpenPublishedPort>& ports, const policy::Policy& policy, const policy::Node& node) {
  PolicyIntent intent(policy, node);
  const auto& cluster = policy.InterfacesOf(node).cluster;
  std::erase_if(ports, [&](const OpenPublishedPort& p) {
    // the policy's cluster interfaces are the trusted network, not "the world"
    if (std::find(cluster.begin(), cluster.end(), p.iface) != cluster.end()) return true;
    for (uint32_t port = p.port_lo; port <= p.port_hi; ++port) {
      Intent in = intent.Container(p.source, p.iface, p.protocol, static_cast<uint16_t>(port));
      if (!in.governed || !in.accept) return false;
    }
    return true;
  });
}

}  // namespace swarmwall::analyze
