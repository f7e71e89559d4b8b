// The words and JSON of a packet trace: every rule met, table by table, the
// rewrites, undecidable matches, and the verdict with where the packet goes.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "analyze/trace/trace.h"

namespace swarmwall::analyze {

// "203.0.113.11:80/tcp" style text of a packet's destination.
std::string DescribeOutcome(const Outcome& o);
// "ACCEPT", "DROP", "ACCEPT or DROP" over every possible outcome.
std::string VerdictText(const TraceResult& r);

std::string TraceText(const TraceResult& r, const TraceInput& input, netfilter::Family family);
nlohmann::json TraceJson(const TraceResult& r, const TraceInput& input, netfilter::Family family);

}  // namespace swarmwall::analyze
