// What `swarmwall --output json exposure` says a source reaches, read back
// for the lab suites that compare it with nmap (exposure_lab, native_tables).
#pragma once

#include <algorithm>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

namespace swarmwall::lab {

// "22, 80, 8000-8002" (and "0-79": ports 1 to 79) -> the ports.
inline std::set<int> ExpandPorts(const std::string& text) {
  std::set<int> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) {
    int lo = std::atoi(item.c_str()), hi = lo;
    if (auto dash = item.find('-'); dash != std::string::npos) hi = std::atoi(item.c_str() + dash + 1);
    for (int p = std::max(lo, 1); p <= hi; ++p) out.insert(p);
  }
  return out;
}

// The TCP ports the exposure's over-approximation lets reach ADDRESS (a
// target address of an entry: the host's own, or a published port's).
inline std::set<int> ExposedTcpPorts(const nlohmann::json& exposure, const std::string& address) {
  std::set<int> out;
  for (const auto& fam : exposure["families"])
    for (const auto& i : fam["interfaces"])
      for (const auto& entry : i["over"]) {
        if (entry["protocol_name"] != "tcp") continue;
        bool to_address = false;
        for (const auto& a : entry["target"]["addresses"]) to_address |= a == address + "/32";
        if (!to_address) continue;
        for (const auto& p : entry["ports"])
          for (int x : ExpandPorts(p.get<std::string>())) out.insert(x);
      }
  return out;
}

}  // namespace swarmwall::lab
