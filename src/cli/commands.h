// The subcommands. Each Register* function adds one CLI11 subcommand whose
// callback reads its input, calls the layers and prints the result.
#pragma once

#include <CLI/CLI.hpp>

#include <optional>
#include <string>

#include <vector>

#include <nlohmann/json.hpp>

#include "apply/other_owner_drops.h"
#include "backend/family_diff.h"
#include "compile/workloads.h"
#include "host/xtables.h"
#include "netfilter/parser.h"

namespace swarmwall::cli {

// Exit codes, as documented in the README.
enum ExitCode { kOk = 0, kError = 1, kPending = 2 };

struct GlobalOptions {
  std::string output = "text";
  std::string state_dir = "/var/lib/swarmwall";
  int exit_code = kOk;
  bool json() const { return output == "json"; }
};

void RegisterCommands(CLI::App& app, GlobalOptions& global);
void RegisterNormalize(CLI::App& app, GlobalOptions& global);
void RegisterExplain(CLI::App& app, GlobalOptions& global);
void RegisterCheck(CLI::App& app, GlobalOptions& global);
void RegisterRender(CLI::App& app, GlobalOptions& global);
void RegisterPlan(CLI::App& app, GlobalOptions& global);
void RegisterApply(CLI::App& app, GlobalOptions& global);
void RegisterStatus(CLI::App& app, GlobalOptions& global);
void RegisterRemove(CLI::App& app, GlobalOptions& global);
void RegisterConfirm(CLI::App& app, GlobalOptions& global);   // and the hidden rollback-timer
void RegisterDoctor(CLI::App& app, GlobalOptions& global);
void RegisterTrace(CLI::App& app, GlobalOptions& global);
void RegisterAgent(CLI::App& app, GlobalOptions& global);
void RegisterExposure(CLI::App& app, GlobalOptions& global);
void RegisterAudit(CLI::App& app, GlobalOptions& global);
void RegisterVerify(CLI::App& app, GlobalOptions& global);
void RegisterHealth(CLI::App& app, GlobalOptions& global);
void RegisterReference(CLI::App& app, GlobalOptions& global);   // man, completion

// How a view's variant reads to people: "nftables" (native), "nft iptables", "legacy iptables".
std::string FirewallLabel(const std::string& variant);

// --backend auto|iptables|nftables on CMD, into BACKEND ("" when not given:
// the policy's `backend:`, else auto).
void AddBackendOption(CLI::App* cmd, std::string& backend);

// Where a workflow's notes go: stderr, one line each (apply::Notes).
void NoteToStderr(const std::string& line);

// The apply workflows' diffs, as plan and apply print them.
void PrintDiffs(const std::vector<backend::FamilyDiff>& diffs);
nlohmann::json DiffsJson(const std::vector<backend::FamilyDiff>& diffs);
// Ports the policy allows that another owner's rule drops (plan, apply,
// doctor): a paragraph each, or nothing when there are none.
void PrintOtherOwnerDrops(std::ostream& out, const std::vector<apply::OtherOwnerDrop>& drops);
nlohmann::json OtherOwnerDropsJson(const std::vector<apply::OtherOwnerDrop>& drops);

// What each service, container and label of the containers rules resolved
// to on this node (plan): a line each, or nothing when the policy names none.
void PrintSelectors(std::ostream& out, const std::vector<compile::SelectorMatch>& selectors);
nlohmann::json SelectorsJson(const std::vector<compile::SelectorMatch>& selectors);

// Reads FILE ("-" = stdin) into TEXT, a regular file of at most LIMIT
// bytes (base/input_file.h); false with a message on stderr.
bool ReadInput(const std::string& file, std::string& text, size_t limit = size_t{256} << 20);

// The live kernel's rulesets through the iptables variant that holds
// Docker's chains (host::DetectVariant), the one way the analysis commands
// read them: IPv4 (when WANT_V4) must read; IPv6 (when WANT_V6) is left
// out on a host without ip6tables, with why in V6_ERROR. Errors on stderr;
// nullopt on one.
struct LiveRulesets {
  host::VariantReport variant;
  std::optional<netfilter::Ruleset> v4, v6;
  std::string v6_error;
};
std::optional<LiveRulesets> ReadLiveRulesets(bool want_v4 = true, bool want_v6 = true);

// Parses iptables-save TEXT named NAME (for FILE:LINE:COL); warnings and the
// error go to stderr. nullopt on an error. LENIENT: netfilter::ParseOptions::
// lenient (the analysis commands' --lenient).
std::optional<netfilter::Ruleset> ParseRulesetText(const std::string& text, const std::string& name,
                                                   std::optional<netfilter::Family> family,
                                                   bool lenient = false);

}  // namespace swarmwall::cli
