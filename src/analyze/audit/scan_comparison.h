// swarmwall verify's pieces: what nmap saw (its XML, every port's state,
// condensed "extraports" included), and the comparison with what the
// policy lets this vantage point reach on one node. A port nmap finds open
// or closed was reached (closed: the host answered with a RST or an ICMP
// port unreachable, so no firewall dropped it); filtered was dropped;
// open|filtered (UDP without an answer) cannot be told apart and is only
// noted.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyze/audit/policy_proof.h"

namespace swarmwall::analyze {

// (protocol name "tcp"/"udp", port) -> nmap's state ("open", "closed",
// "filtered", "open|filtered", "unfiltered", "closed|filtered").
using ScanResult = std::map<std::pair<std::string, uint16_t>, std::string>;

// Adds the ports of nmap's -oX output to OUT; false with ERROR on text that
// is not nmap XML.
bool ParseNmapXml(const std::string& xml, ScanResult& out, std::string& error);

struct ScanDifference {
  std::string proto;
  std::string ports;        // "8080" or "1-21" (neighbours merged)
  std::string seen;         // nmap's state
  std::string expected;     // "reached" / "dropped"
  std::string policy_why;
};

struct ScanComparison {
  std::string node, target, source, label, via;
  std::vector<ScanDifference> differences;
  std::vector<std::string> notes;   // UDP ports nmap cannot decide, ...
  size_t ports_checked = 0;
  size_t udp_checked = 0;           // of which UDP
};

// Compares SCAN (of the node's address) with what INTENT lets SOURCE reach
// arriving on an interface of class VIA ("public" or "cluster"). Ports the
// policy opens only to published container ports are "may": any state is
// fine (nmap cannot know whether something is published there).
ScanComparison CompareScan(const PolicyIntent& intent, const netfilter::IpAddress& source, const std::string& via,
                         const ScanResult& scan);

// The UDP ports verify scans: 4789, 7946 and the policy's UDP ports (at
// most LIMIT of them).
std::vector<uint16_t> UdpPortsToScan(const PolicyIntent& intent, size_t limit = 256);

nlohmann::json ScanComparisonJson(const ScanComparison& r);
std::string ScanComparisonText(const ScanComparison& r);

}  // namespace swarmwall::analyze
