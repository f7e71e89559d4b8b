// The exposure as a person reads it (a matrix per family and arrival
// interface: source class, protocol and ports, where they end) and as JSON
// (both approximations). Used by `swarmwall exposure` and by the reports
// that embed an exposure.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyze/exposure/exposure.h"
#include "analyze/exposure/source_names.h"

namespace swarmwall::analyze {

// "tcp", "udp", "icmp", ... or the number; a range for protocol_last.
std::string ProtocolText(uint16_t protocol, uint16_t last = 0);
// "22,80,8000-8100" (empty: "" for protocols without ports).
std::string PortsText(const std::vector<PortSpan>& ports);
// A CIDR list for people: short lists as they are, long ones as
// "everything except ..." when that is shorter, else the first few and a count.
std::string CidrsText(const std::vector<netfilter::Cidr>& cidrs, netfilter::Family family,
                      size_t max_items = 6);
// "host", "172.17.0.2:80 (container)", "forwarded out eth1".
std::string TargetText(const ExposureTarget& t, uint16_t protocol);

// NAMES (may be null) names source classes ("nodes", "everyone else"); a
// named class is printed by its name, and with CIDRS its addresses too
// (JSON always has both: "sources" and "source_name").
std::string ExposureText(const std::vector<FamilyExposure>& families, const SourceNames* names = nullptr,
                         bool cidrs = false);
nlohmann::json ExposureJson(const std::vector<FamilyExposure>& families, const SourceNames* names = nullptr);
nlohmann::json EntryJson(const ExposureEntry& e);

std::string ServiceMatrixText(const ServiceMatrix& m);
nlohmann::json ServiceMatrixJson(const ServiceMatrix& m);

}  // namespace swarmwall::analyze
