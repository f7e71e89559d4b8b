// swarmwall render: the policy compiled for one node (or all), rendered for a
// backend, printed or written to files. Changes nothing on the host.
#include <filesystem>
#include <iostream>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "apply/workflow_steps.h"
#include "backend/firewalld_render.h"
#include "backend/hand_render.h"
#include "host/local_addresses.h"
#include "backend/iptables_render.h"
#include "backend/nftables/nft_text.h"
#include "backend/output_file.h"
#include "backend/persistent_render.h"
#include "backend/render_text.h"
#include "base/json_text.h"
#include "cli/commands.h"
#include "compile/compiler.h"
#include "policy/policy.h"

namespace swarmwall::cli {
namespace {

// The files a backend produces for one node; nullopt and ERROR when the
// state cannot be written for it.
std::optional<backend::FileSet> RenderNode(const std::string& backend_name, const policy::Policy& p,
                                           const policy::Node& node, const compile::DesiredState& state,
                                           std::string& error) {
  backend::FileSet files;
  if (backend_name == "iptables") {
    files[node.name + ".ipset"] = backend::RenderIpsetRestore(state.ipv4) +
                                  backend::RenderIpsetRestore(state.ipv6);
    files[node.name + ".v4.rules"] = backend::RenderHandRestore(state, state.ipv4);
    if (!state.ipv6.empty()) files[node.name + ".v6.rules"] = backend::RenderHandRestore(state, state.ipv6);
    files[node.name + ".hooks.sh"] = backend::RenderHookScript(state);
  } else if (backend_name == "persistent") {
    for (auto& [name, text] : backend::RenderPersistent(state)) files[node.name + "/" + name] = text;
  } else if (backend_name == "firewalld") {
    files[node.name + ".firewalld.sh"] = backend::RenderFirewalld(p, node, state);
  } else if (backend_name == "nftables") {
    auto text = backend::nft::NftText(state, error);
    if (!text) return std::nullopt;
    files[node.name + ".nft"] = *text;
  }
  return files;
}

}  // namespace

void RegisterRender(CLI::App& app, GlobalOptions& global) {
  struct Args {
    std::string policy;
    std::string node;
    bool all = false;
    std::string backend = "iptables";
    std::string out_dir;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("render", "Compile the policy for a node and print what a backend would load");
  cmd->add_option("policy", args->policy, "The cluster policy (YAML)")->required();
  cmd->add_option("--node", args->node, "The node (default: the one with an address on this host)");
  cmd->add_flag("--all-nodes", args->all,
                "Every node of the policy (assumes Docker hosts with DOCKER-USER for both families)");
  cmd->add_option("--backend", args->backend,
                  "iptables (default), persistent (netfilter-persistent / iptables-services files), "
                  "firewalld (firewall-offline-cmd / firewall-cmd --permanent script) or nftables "
                  "(an `nft -f` script replacing swarmwall's own tables)")
      ->check(CLI::IsMember({"iptables", "persistent", "firewalld", "nftables"}));
  cmd->add_option("--out-dir", args->out_dir, "Write one file per output instead of printing");
  cmd->callback([args, &global] {
    auto loaded = policy::LoadPolicyFile(args->policy);
    for (const auto& w : loaded.warnings) std::cerr << w.ToString() << "\n";
    for (const auto& e : loaded.errors) std::cerr << e.ToString() << "\n";
    if (!loaded.ok()) {
      global.exit_code = kError;
      return;
    }
    const policy::Policy& p = *loaded.policy;
    std::vector<const policy::Node*> nodes;
    std::optional<policy::Node> single;
    compile::NodeFacts facts;
    if (args->all && !p.nodes.empty()) {
      for (const auto& n : p.nodes) nodes.push_back(&n);
    } else {
      // Rendering for this host: where Docker lets us hook in is a fact of
      // the host (20.10 without ip6tables has no IPv6 DOCKER-USER).
      facts.local_addresses = host::LocalAddresses();
      auto choice = compile::IdentifyNode(
          p, facts, args->node.empty() ? std::nullopt : std::optional<std::string>(args->node));
      if (!choice.node) {
        std::cerr << "swarmwall render: " << choice.error << "\n";
        global.exit_code = kError;
        return;
      }
      single = *choice.node;
      nodes.push_back(&*single);
    }
    if (!args->all) {
      std::string error;
      auto firewall = apply::OpenFirewall("");   // no state dir: render writes no state
      if (auto view = firewall->Read(false, false, error)) firewall->AddFacts(*view, facts);
    }
    // Names written bare into rules, sets, scripts and file names must be
    // plain words: refused before anything is written.
    for (const auto* node : nodes)
      if (std::string unsafe = backend::UnsafeNames(p, *node); !unsafe.empty()) {
        std::cerr << "swarmwall render: " << unsafe << "\n";
        global.exit_code = kError;
        return;
      }
    compile::SetCache cache;
    nlohmann::json json;
    for (const auto* node : nodes) {
      auto state = compile::Compile(p, *node, facts, &cache);
      std::string render_error;
      auto files = RenderNode(args->backend, p, *node, state, render_error);
      if (!files) {
        std::cerr << "swarmwall render: node " << node->name << ": " << render_error << "\n";
        global.exit_code = kError;
        return;
      }
      for (const auto& [name, text] : *files) {
        if (!args->out_dir.empty()) {
          if (std::string error = backend::WriteOutputFile(args->out_dir, name, text); !error.empty()) {
            std::cerr << "swarmwall render: " << error << "\n";
            global.exit_code = kError;
            return;
          }
        } else if (global.json()) {
          json["nodes"][node->name]["files"][name] = text;
          json["nodes"][node->name]["digest"] = state.Digest();
        } else {
          std::cout << fmt::format("# ==== {} ====\n", name) << text;
        }
      }
    }
    if (global.json() && args->out_dir.empty()) std::cout << JsonText(json, 2) << "\n";
  });
}

}  // namespace swarmwall::cli
