// The words and JSON of audit's findings (and of the policy proof's
// differences, policy_proof.h), for the CLI and the HTML report.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "analyze/audit/audit.h"

namespace swarmwall::analyze {

nlohmann::json RuleRefJson(const RuleRef& r);
nlohmann::json ExampleJson(const ExamplePacket& e);
nlohmann::json FindingJson(const AuditFinding& f);
nlohmann::json FindingsJson(const std::vector<AuditFinding>& findings);

// One block per finding: "[high] code: title", the rules, what it means, the fix.
std::string FindingsText(const std::vector<AuditFinding>& findings);

}  // namespace swarmwall::analyze
