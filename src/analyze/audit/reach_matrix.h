// The exposure matrix as rows for people (and the HTML report): which
// sources, arriving on which interface, reach which ports of the host or of
// which container. ReachMatrix computes it by classes (audit_classes.h: one
// traced representative per class of sources and ports the rules can tell
// apart); MatrixFromExposure turns the symbolic engine's result
// (exposure.h) into the same rows.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyze/audit/audit.h"
#include "analyze/exposure/exposure.h"
#include "analyze/exposure/source_names.h"

namespace swarmwall::analyze {

struct MatrixRow {
  netfilter::Family family = netfilter::Family::kIPv4;
  std::string iface;
  std::string sources;    // "198.51.100.0/24, 203.0.113.64/28" (or "any")
  std::string source_name;   // "nodes", "everyone else" (source_names.h); "" none
  std::string proto;
  std::string ports;      // "22, 80, 8000-8100"
  std::string target;     // "host" or "container 172.17.0.3:80"
  std::string to;         // the (original) destination addresses: "203.0.113.11/32, 10.10.10.1/32"
  std::string reach;      // "exact", "maybe" ("over"), ...
};

// Over every interface in INPUT.public_interfaces (or every interface of
// the host when empty and ALL_INTERFACES, else the guessed public ones),
// protocols tcp and udp. Requires INPUT.host.
// FROM (non-empty): only these source addresses, each its own class.
std::vector<MatrixRow> ReachMatrix(const AuditInput& input, bool all_interfaces = false,
                                   const std::vector<netfilter::IpAddress>& from = {});

// NAMES (may be null): what each class of sources is called.
std::vector<MatrixRow> MatrixFromExposure(const FamilyExposure& exposure, const SourceNames* names = nullptr);

// The matrix by the symbolic engine (exposure.h, ComputeExposure) for both
// families of INPUT, on its public interfaces (PublicInterfaceNames), new
// connections; FROM (non-empty): only those sources. Requires INPUT.host.
std::vector<MatrixRow> ExposureMatrix(const AuditInput& input, const std::vector<netfilter::IpAddress>& from = {});

nlohmann::json MatrixJson(const std::vector<MatrixRow>& rows);
std::string MatrixText(const std::vector<MatrixRow>& rows);

}  // namespace swarmwall::analyze
