#include "analyze/audit/report_html.h"

#include <fmt/format.h>

#include "analyze/model/chain_graph.h"

namespace swarmwall::analyze {

std::string HtmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out += c;
    }
  }
  return out;
}

namespace {

constexpr const char* kStyle = R"(
body { font-family: Helvetica, Arial, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; border-bottom: 1px solid #ccc; }
table { border-collapse: collapse; margin: 0.5em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 3px 8px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
code, pre { font-family: Menlo, Consolas, monospace; font-size: 0.85em; }
.sev { font-weight: bold; padding: 1px 6px; border-radius: 3px; color: #fff; }
.critical { background: #8b0000; } .high { background: #d9480f; } .medium { background: #e8a300; }
.low { background: #5c7cfa; } .info { background: #868e96; }
.finding { border: 1px solid #ddd; border-radius: 4px; padding: 0.6em 1em; margin: 0.8em 0; }
.host { background: #fff4e6; } .container { background: #e7f5ff; } .maybe { color: #a61e4d; }
.legend span { display: inline-block; padding: 2px 8px; margin-right: 6px; border: 1px solid #999; }
.graph svg { max-width: 100%; height: auto; }
)";

void Matrix(const std::vector<MatrixRow>& rows, std::string& out) {
  out += "<h2>Exposure matrix</h2>\n<p>Who reaches what with a new connection: per arrival interface and class "
         "of source addresses, the protocols and destination ports that reach the host itself or a container "
         "(through a published port).</p>\n";
  if (rows.empty()) {
    out += "<p><b>Nothing is reachable</b> from the interfaces considered.</p>\n";
    return;
  }
  out += "<table class=\"matrix\">\n<tr><th>family</th><th>in</th><th>from</th><th>to</th><th>proto</th><th>ports</th>"
         "<th>reaches</th><th>certainty</th></tr>\n";
  for (const auto& r : rows) {
    bool container = r.target.rfind("container", 0) == 0;
    out += fmt::format(
        "<tr class=\"{}\"><td>IPv{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td{}>{}</td></tr>\n",
        container ? "container" : "host", r.family == netfilter::Family::kIPv4 ? 4 : 6, HtmlEscape(r.iface),
        r.source_name.empty()
            ? HtmlEscape(r.sources)
            // The name, its CIDRs one click away.
            : fmt::format("<details><summary>{}</summary>{}</details>", HtmlEscape(r.source_name),
                          HtmlEscape(r.sources)),
        HtmlEscape(r.to), HtmlEscape(r.proto), HtmlEscape(r.ports), HtmlEscape(r.target),
        r.reach == "exact" ? "" : " class=\"maybe\"", HtmlEscape(r.reach));
  }
  out += "</table>\n";
}

void Findings(const std::vector<AuditFinding>& findings, std::string& out) {
  out += fmt::format("<h2>Findings ({})</h2>\n", findings.size());
  if (findings.empty()) out += "<p>No findings.</p>\n";
  for (const auto& f : findings) {
    const char* sev = AuditSeverityName(f.severity);
    out += fmt::format("<div class=\"finding\"><span class=\"sev {}\">{}</span> <code>{}</code> {}\n", sev, sev,
                       HtmlEscape(f.code), HtmlEscape(f.title));
    if (!f.rules.empty()) {
      out += "<table><tr><th>where</th><th>rule</th></tr>\n";
      for (const auto& r : f.rules)
        out += fmt::format("<tr><td>{}{}</td><td><code>{}</code></td></tr>\n", HtmlEscape(r.Where()),
                           r.family == netfilter::Family::kIPv6 ? " [IPv6]" : "", HtmlEscape(r.text));
      out += "</table>\n";
    }
    for (const auto& e : f.examples) out += fmt::format("<p>Example: <code>{}</code></p>\n", HtmlEscape(e.Text()));
    if (!f.meaning.empty()) out += fmt::format("<p><b>Means:</b> {}</p>\n", HtmlEscape(f.meaning));
    if (!f.fix.empty()) out += fmt::format("<p><b>Fix:</b> {}</p>\n", HtmlEscape(f.fix));
    out += "</div>\n";
  }
}

void Proof(const PolicyProof& p, std::string& out) {
  out += fmt::format("<h2>Policy proof for node {}</h2>\n", HtmlEscape(p.node));
  switch (Verdict(p)) {
    case ProofVerdict::kImplements:
      out += fmt::format("<p><b>The ruleset implements the policy</b> ({} packet classes traced).</p>\n",
                         p.classes_checked);
      break;
    case ProofVerdict::kDiffers:
      out += fmt::format("<p>{} difference(s), {} packet classes traced.</p>\n", p.differences.size(),
                         p.classes_checked);
      break;
    case ProofVerdict::kCannotProve:
      out += fmt::format("<p><b>Cannot prove that the ruleset implements the policy</b>: {} thing(s) not seen, {} "
                         "undecidable ({} packet classes traced).</p>\n",
                         p.blind_spots.size(), p.undecidable.size(), p.classes_checked);
      break;
  }
  if (!p.differences.empty()) {
    out += "<table><tr><th>kind</th><th>in</th><th>from</th><th>ports</th><th>policy</th><th>ruleset</th>"
           "<th>example (traced)</th></tr>\n";
    for (const auto& d : p.differences)
      out += fmt::format("<tr><td>{}</td><td>{}</td><td>{}</td><td>{}/{}</td><td>{} ({})</td><td>{}</td><td><code>{}</code>{}</td></tr>\n",
                         HtmlEscape(d.kind), HtmlEscape(d.iface), HtmlEscape(d.sources), HtmlEscape(d.ports),
                         HtmlEscape(d.proto), d.policy_accepts ? "accept" : "drop", HtmlEscape(d.policy_why),
                         d.undecided ? "undecided" : d.ruleset_accepts ? "accept" : "drop",
                         HtmlEscape(d.example.Text()),
                         d.rules.empty() ? "" : "<br><code>" + HtmlEscape(d.rules[0].Where() + ": " + d.rules[0].text) + "</code>");
    out += "</table>\n";
  }
  for (const auto& b : p.blind_spots) out += fmt::format("<p>Not seen: {}</p>\n", HtmlEscape(b));
  for (const auto& u : p.undecidable) out += fmt::format("<p>Undecidable: {}</p>\n", HtmlEscape(u));
}

void Graph(const HtmlReportInput& in, std::string& out) {
  out += "<h2>Chain graph</h2>\n<p class=\"legend\">Boxes are chains (bold: built-in, where the kernel's hooks "
         "enter), arrows are jumps labelled with how many rules jump (dashed: goto). Owners: "
         "<span style=\"background:#f2f2f2\">system</span><span style=\"background:#d6e9ff\">Docker</span>"
         "<span style=\"background:#e6dcff\">Swarm</span><span style=\"background:#d9f5d6\">swarmwall</span>"
         "<span style=\"background:#ffe3c7\">someone else</span></p>\n";
  std::string error;
  auto svg = RenderSvg(ChainGraphDot(in.v4, in.v6), error);
  if (svg)
    out += "<div class=\"graph\">\n" + *svg + "</div>\n";
  else
    out += fmt::format("<p>(no picture: {})</p>\n", HtmlEscape(error));
}

}  // namespace

std::string RenderHtmlReport(const HtmlReportInput& in) {
  std::string out = fmt::format(
      "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>{}</style>\n"
      "</head>\n<body>\n<h1>{}</h1>\n",
      HtmlEscape(in.title), kStyle, HtmlEscape(in.title));
  if (!in.generated.empty()) out += fmt::format("<p>{}</p>\n", HtmlEscape(in.generated));
  if (in.findings) {
    int counts[5] = {};
    for (const auto& f : *in.findings) ++counts[static_cast<int>(f.severity)];
    out += "<p>";
    for (int s = 0; s < 5; ++s) {
      const char* name = AuditSeverityName(static_cast<AuditSeverity>(s));
      out += fmt::format("<span class=\"sev {}\">{} {}</span> ", name, counts[s], name);
    }
    out += "</p>\n";
  }
  if (in.proof) Proof(*in.proof, out);
  if (in.matrix) Matrix(*in.matrix, out);
  if (in.findings) Findings(*in.findings, out);
  Graph(in, out);
  out += "</body>\n</html>\n";
  return out;
}

}  // namespace swarmwall::analyze
