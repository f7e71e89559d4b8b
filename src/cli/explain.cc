// swarmwall explain: what Docker and Swarm did to a host's ruleset, in words.
#include <iostream>

#include "analyze/model/docker_layout.h"
#include "analyze/explain/explain_report.h"
#include "base/json_text.h"
#include "cli/commands.h"
#include "analyze/model/host_network_files.h"
#include "docker/engine.h"
#include "host/nftables.h"
#include "netfilter/nft_json.h"
#include "netfilter/parser.h"

namespace swarmwall::cli {

void RegisterExplain(CLI::App& app, GlobalOptions& global) {
  struct Args {
    std::string file;
    std::string file6, nft;
    bool live = false, lenient = false;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand(
      "explain", "Explain a Docker host's ruleset: layout, chains, bridges, published ports, other owners");
  cmd->add_option("file", args->file, "iptables-save output, or - for standard input");
  cmd->add_option("--ip6", args->file6, "ip6tables-save output to explain with it");
  cmd->add_flag("--live", args->live,
                "Read the running kernel: the iptables variant that holds Docker's chains, and the "
                "native nftables tables");
  cmd->add_option("--nft", args->nft,
                  "The host's nftables ruleset: `nft -j list ruleset` JSON, or nftables text (loaded by "
                  "libnftables in a throwaway network namespace)");
  cmd->add_flag("--lenient", args->lenient,
                "Read shared (anonymised) dumps: an unreadable value becomes a match the analysis "
                "cannot decide, with a FILE:LINE:COL warning");
  cmd->callback([args, &global] {
    analyze::ExplainContext context;
    std::optional<netfilter::Ruleset> v4, v6;
    host::HostNetwork native;   // only its nftables part is used
    if (args->live ? !args->file.empty() : args->file.empty() && args->nft.empty()) {
      std::cerr << "swarmwall explain: give a FILE (or -), --nft FILE, or --live\n";
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
      std::string error;
      if (auto json = host::ListNftRulesetJson(error)) {
        auto r = netfilter::ParseNftJson(*json, "nft list ruleset");
        if (!r.ruleset) {
          std::cerr << "swarmwall explain: the live nftables ruleset: " << r.error->ToString() << "\n";
          global.exit_code = kError;
          return;
        }
        native.nftables = std::move(*r.ruleset);
        native.nftables_known = true;
      }
    } else if (args->file.empty()) {
      context.source = args->nft;
      v4 = netfilter::Ruleset{};
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
    if (!args->nft.empty()) {
      std::string error;
      if (!analyze::ReadHostNetworkFiles({.nft = args->nft}, native, error)) {
        std::cerr << "swarmwall explain: " << error << "\n";
        global.exit_code = kError;
        return;
      }
    }
    netfilter::Ruleset empty;
    const netfilter::Ruleset& main = v4 ? *v4 : empty;
    auto e = analyze::ExplainDocker(main, v6 ? &*v6 : nullptr,
                                    native.nftables_known ? &native.nftables : nullptr);
    if (global.json())
      std::cout << JsonText(analyze::ExplainJson(e, context), 2) << "\n";
    else
      std::cout << analyze::ExplainText(e, context);
  });
}

}  // namespace swarmwall::cli
