// How the exposure would change: what `plan --exposure` shows before a
// policy is applied, so a change is reviewed by what it does to the
// packets, not by its rules. Rows are grouped by family, arrival interface,
// target, protocol and source class; within a group the destination ports
// that open (reached after, not before) and close are told apart.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyze/exposure/exposure.h"

namespace swarmwall::analyze {

struct ExposureDelta {
  std::string family;         // "IPv4" / "IPv6"
  std::string interface;
  std::string sources;        // the source class, as people read it
  std::string protocol;       // "tcp", ...
  std::string target;         // "host", "172.17.0.2:80 (container)", ...
  std::vector<PortSpan> opened, closed;   // empty lists for port-less protocols: see whole
  bool whole_opened = false, whole_closed = false;   // a port-less protocol row came or went
};

std::vector<ExposureDelta> CompareExposure(const std::vector<FamilyExposure>& before,
                                           const std::vector<FamilyExposure>& after);

// "+ IPv4 eth0 tcp 8080 from 198.51.100.0/24 -> host" lines ("-" for closed).
std::vector<std::string> ExposureDeltaLines(const std::vector<ExposureDelta>& deltas);
nlohmann::json ExposureDeltaJson(const std::vector<ExposureDelta>& deltas);

}  // namespace swarmwall::analyze
