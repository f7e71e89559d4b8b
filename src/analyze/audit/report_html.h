// One self-contained HTML page about a host's ruleset: the exposure matrix
// (who reaches which port of the host or of which container), audit's
// findings, the policy proof's differences, and the chain graph drawn by
// graphviz (inline SVG: no file, script or style sheet from elsewhere).
// `swarmwall audit --html FILE` writes it; `swarmwall exposure --html FILE`
// should call RenderHtmlReport with its rows (MatrixFromExposure) and null
// findings.
#pragma once

#include <string>
#include <vector>

#include "analyze/audit/audit.h"
#include "analyze/audit/reach_matrix.h"
#include "analyze/audit/policy_proof.h"
#include "netfilter/ruleset.h"

namespace swarmwall::analyze {

struct HtmlReportInput {
  std::string title = "swarmwall report";
  const netfilter::Ruleset* v4 = nullptr;         // either may be null
  const netfilter::Ruleset* v6 = nullptr;
  const std::vector<MatrixRow>* matrix = nullptr; // null: no matrix section
  const std::vector<AuditFinding>* findings = nullptr;
  const PolicyProof* proof = nullptr;
  std::string generated;                          // a line about when/where (optional)
};

// The page. Without graphviz the graph section says so instead of failing.
std::string RenderHtmlReport(const HtmlReportInput& input);

// HTML-escapes TEXT.
std::string HtmlEscape(std::string_view text);

}  // namespace swarmwall::analyze
