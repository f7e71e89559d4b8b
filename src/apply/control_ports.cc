#include "apply/control_ports.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "analyze/audit/audit.h"
#include "analyze/exposure/exposure_report.h"
#include "apply/rules_after.h"

namespace swarmwall::apply {
namespace {

constexpr uint16_t kControlPorts[] = {2375, 2376, 2377, 4789, 7946};

}  // namespace

std::vector<ExposedControlPort> ControlPortsOf(const std::vector<analyze::FamilyExposure>& exposures) {
  std::set<std::tuple<std::string, std::string, std::string, uint16_t>> seen;
  for (const auto& f : exposures)
    for (const auto& i : f.interfaces)
      for (const auto& e : i.entries) {
        // ExposedControlPort names the first; an entry may span several.
        if (analyze::ExposedControlPort(e) == 0) continue;
        for (uint16_t port : kControlPorts)
          for (const auto& span : e.ports)
            if (port >= span.lo && port <= span.hi)
              seen.insert({f.family == netfilter::Family::kIPv4 ? "IPv4" : "IPv6", i.interface,
                           analyze::ProtocolText(e.protocol), port});
      }
  std::vector<ExposedControlPort> out;
  for (const auto& [family, iface, protocol, port] : seen) out.push_back({family, iface, protocol, port});
  return out;
}

std::optional<std::vector<ExposedControlPort>> ExposedControlPorts(backend::Firewall& firewall, std::string& error) {
  auto view = firewall.Read(true, true, error);
  if (!view) return std::nullopt;
  // What is in place, as the "after" of no change: before == after.
  auto rules = ReadRulesAfter(firewall, *view, firewall.Owned(*view), error);
  if (!rules) return std::nullopt;
  analyze::ExposureOptions options;
  options.interfaces = analyze::GuessPublicInterfaces(rules->now);
  for (uint16_t port : kControlPorts) options.dports.push_back({port, port});
  std::vector<analyze::FamilyExposure> exposures;
  for (const auto* r : {&rules->before4, &rules->before6}) {
    if (!*r) continue;
    analyze::TraceModel model(**r, rules->now);
    exposures.push_back(analyze::ComputeExposure(model, options));
  }
  return ControlPortsOf(exposures);
}

}  // namespace swarmwall::apply
