#include "analyze/audit/audit_report.h"

#include <fmt/format.h>

namespace swarmwall::analyze {

nlohmann::json RuleRefJson(const RuleRef& r) {
  nlohmann::json j = {{"family", r.family == netfilter::Family::kIPv4 ? "ipv4" : "ipv6"},
                      {"table", r.table},
                      {"chain", r.chain},
                      {"rule", r.number},
                      {"text", r.text}};
  if (!r.file.empty()) j["file"] = r.file;
  if (r.line > 0) j["line"] = r.line;
  return j;
}

nlohmann::json ExampleJson(const ExamplePacket& e) {
  return {{"family", e.family == netfilter::Family::kIPv4 ? "ipv4" : "ipv6"},
          {"src", e.src}, {"dst", e.dst}, {"proto", e.proto}, {"dport", e.dport},
          {"in", e.in}, {"fate", e.fate}, {"decided_by", e.decided_by}};
}

nlohmann::json FindingJson(const AuditFinding& f) {
  nlohmann::json j = {{"severity", AuditSeverityName(f.severity)},
                      {"code", f.code},
                      {"title", f.title},
                      {"meaning", f.meaning},
                      {"fix", f.fix},
                      {"rules", nlohmann::json::array()},
                      {"examples", nlohmann::json::array()}};
  for (const auto& r : f.rules) j["rules"].push_back(RuleRefJson(r));
  for (const auto& e : f.examples) j["examples"].push_back(ExampleJson(e));
  return j;
}

nlohmann::json FindingsJson(const std::vector<AuditFinding>& findings) {
  nlohmann::json a = nlohmann::json::array();
  for (const auto& f : findings) a.push_back(FindingJson(f));
  return a;
}

std::string ExamplePacket::Text() const {
  std::string d = family == netfilter::Family::kIPv6 ? "[" + dst + "]" : dst;
  return fmt::format("{} -> {}:{}/{} in {}: {}", src, d, dport, proto, in, fate);
}

std::string FindingsText(const std::vector<AuditFinding>& findings) {
  std::string out;
  for (const auto& f : findings) {
    out += fmt::format("[{}] {}: {}\n", AuditSeverityName(f.severity), f.code, f.title);
    for (const auto& r : f.rules) {
      out += fmt::format("    {}{}\n", r.Where(), r.family == netfilter::Family::kIPv6 ? " [IPv6]" : "");
      if (!r.text.empty()) out += fmt::format("        {}\n", r.text);
    }
    for (const auto& e : f.examples) out += fmt::format("    example: {}\n", e.Text());
    if (!f.meaning.empty()) out += fmt::format("    means: {}\n", f.meaning);
    if (!f.fix.empty()) out += fmt::format("    fix: {}\n", f.fix);
  }
  return out;
}

}  // namespace swarmwall::analyze
