// swarmwall normalize: iptables-save text in, canonical iptables-save out.
#include <iostream>

#include <nlohmann/json.hpp>

#include "base/json_text.h"
#include "cli/commands.h"
#include "netfilter/parser.h"
#include "netfilter/printer.h"

namespace swarmwall::cli {

void RegisterNormalize(CLI::App& app, GlobalOptions& global) {
  struct Args {
    std::string file = "-";
    int family = 0;
    bool counters = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("normalize", "Print an iptables-save / ip6tables-save file in canonical form");
  cmd->add_option("file", args->file, "The file, or - for standard input");
  cmd->add_option("--family", args->family, "4 or 6 (default: detect)")->check(CLI::IsMember({4, 6}));
  cmd->add_flag("--counters,-c", args->counters, "Keep rule counters ([p:b] prefixes)");
  cmd->callback([args, &global] {
    std::string text;
    if (!ReadInput(args->file, text)) {
      global.exit_code = kError;
      return;
    }
    netfilter::ParseOptions options;
    options.file_name = args->file == "-" ? "<stdin>" : args->file;
    if (args->family) options.family = args->family == 4 ? netfilter::Family::kIPv4 : netfilter::Family::kIPv6;
    auto result = netfilter::ParseRuleset(text, options);
    for (const auto& w : result.warnings) std::cerr << w.ToString() << " (warning)\n";
    if (!result.ruleset) {
      std::cerr << result.error->ToString() << "\n";
      global.exit_code = kError;
      return;
    }
    netfilter::PrintOptions print;
    print.counters = args->counters;
    std::string out = netfilter::PrintRuleset(*result.ruleset, print);
    if (global.json()) {
      nlohmann::json j;
      j["family"] = result.ruleset->family == netfilter::Family::kIPv4 ? 4 : 6;
      j["rules"] = result.ruleset->RuleCount();
      j["text"] = out;
      std::cout << JsonText(j, 2) << "\n";
    } else {
      std::cout << out;
    }
  });
}

}  // namespace swarmwall::cli
