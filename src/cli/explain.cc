// swarmwall explain: what Docker and Swarm did to a host's ruleset, in words.
#include <iostream>

#include "analyze/model/docker_layout.h"
#include "analyze/explain/explain_report.h"
#include "base/json_text.h"
#include "cli/commands.h"
#include "docker/engine.h"
#include "netfilter/parser.h"

namespace swarmwall::cli {

void RegisterExplain(CLI::App& app, GlobalOptions& global) {
  struct Args {
    std::string file;
    std::string file6;
    bool live = false, lenient = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "explain", "Explain a Docker host's ruleset: layout, chains, bridges, published ports, other owners");
  cmd->add_option("file", args->file, "iptables-save output, or - for standard input");
  cmd->add_option("--ip6", args->file6, "ip6tables-save output to explain with it");
  cmd->add_flag("--live", args->live,
                "Read the running kernel through the iptables variant that holds Docker's chains");
  cmd->add_flag("--lenient", args->lenient,
                "Read shared (anonymised) dumps: an unreadable value becomes a match the analysis "
                "cannot decide, with a FILE:LINE:COL warning");
  cmd->callback([args, &global] {
    analyze::ExplainContext context;
    std::optional<netfilter::Ruleset> v4, v6;
    if (args->live == !args->file.empty()) {
      std::cerr << "swarmwall explain: give a FILE (or -) or --live\n";
      global.exit_code = kError;
      return;
    }
    if (args->live) {
      auto live = ReadLiveRulesets();
      if (!live) {
        global.exit_code = kError;
        return;
      }
      context.source = "live";
      context.variant = live->variant.chosen.name + " (" + live->variant.reason + ")";
      v4 = std::move(live->v4);
      v6 = std::move(live->v6);
      if (auto version = docker::Engine().Version())
        context.docker_version = version->value("Version", "");
    } else {
      std::string text;
      if (!ReadInput(args->file, text)) {
        global.exit_code = kError;
        return;
      }
      context.source = args->file == "-" ? "<stdin>" : args->file;
      v4 = ParseRulesetText(text, context.source, std::nullopt, args->lenient);
      if (v4 && v4->family == netfilter::Family::kIPv6) std::swap(v4, v6);
      if (!args->file6.empty()) {
        std::string text6;
        if (!ReadInput(args->file6, text6)) {
          global.exit_code = kError;
          return;
        }
        v6 = ParseRulesetText(text6, args->file6, netfilter::Family::kIPv6, args->lenient);
        if (!v6) {
          global.exit_code = kError;
          return;
        }
      }
    }
    if (!v4 && !v6) {
      global.exit_code = kError;
      return;
    }
    netfilter::Ruleset empty;
    const netfilter::Ruleset& main = v4 ? *v4 : empty;
    auto e = analyze::ExplainDocker(main, v6 ? &*v6 : nullptr);
    if (global.json())
      std::cout << JsonText(analyze::ExplainJson(e, context), 2) << "\n";
    else
      std::cout << analyze::ExplainText(e, context);
  });
}

}  // namespace swarmwall::cli
