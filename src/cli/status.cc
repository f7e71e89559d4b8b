// swarmwall status: owned chains, hooks, drift and what was applied
// (apply::Status), and the agent's state (agent/agent_state.h).
#include <iostream>

#include <fmt/format.h>

#include "agent/agent_state.h"
#include "apply/status.h"
#include "base/json_text.h"
#include "cli/commands.h"

namespace swarmwall::cli {

void RegisterStatus(CLI::App& app, GlobalOptions& global) {
  auto* status = app.add_subcommand("status", "Owned chains, hooks, drift and what was applied (exit 2: findings)");
  status->callback([&global] {
    auto firewall = apply::OpenFirewall(global.state_dir);
    auto s = apply::Status(global.state_dir, *firewall, NoteToStderr);
    if (!s.ok) {
      std::cerr << "swarmwall status: " << s.error << "\n";
      global.exit_code = kError;
      return;
    }
    const backend::FamilyStatus none;
    const auto& v4 = s.families.size() > 0 ? s.families[0] : none;
    const auto& v6 = s.families.size() > 1 ? s.families[1] : none;
    if (global.json()) {
      nlohmann::json j = {{"backend", s.variant == "nftables" ? "nftables" : "iptables"},
                          {"variant", s.variant}, {"variant_reason", s.variant_reason},
                          {"kernel_digest", s.kernel_digest}, {"findings", s.findings},
                          {"owned_chains_v4", v4.owned_chains},
                          {"owned_chains_v6", v6.owned_chains},
                          {"docker", {{"host", s.docker.host},
                                      {"version", s.docker.version.empty() ? nlohmann::json() : nlohmann::json(s.docker.version)},
                                      {"layout", s.docker.layout},
                                      {"swarm", s.docker.swarm},
                                      {"docker_user_hooked", s.docker.docker_user_hooked}}},
                          {"lock_holder", s.lock_holder}};
      if (s.record)
        j["applied"] = {{"node", s.record->node}, {"policy", s.record->policy},
                        {"digest", s.record->digest}, {"time", s.record->time}};
      if (auto agent = agent::AgentStatusJson(global.state_dir); !agent.is_null()) j["agent"] = agent;
      std::cout << JsonText(j, 2) << "\n";
    } else {
      if (s.variant == "nftables")
        std::cout << fmt::format("backend: nftables ({})\n", s.variant_reason);
      else
        std::cout << fmt::format("backend: iptables, variant {} ({})\n", s.variant, s.variant_reason);
      std::cout << fmt::format("Docker: {} ({})\n",
                               s.docker.version.empty() ? "not reachable" : s.docker.version, s.docker.host);
      std::cout << fmt::format("Docker chain layout: {}{}\n", s.docker.layout, s.docker.swarm ? " (Swarm node)" : "");
      if (s.record)
        std::cout << fmt::format("applied: node {} from {} at {} (state {})\n", s.record->node,
                                 s.record->policy, s.record->time, s.record->digest);
      else
        std::cout << "applied: nothing recorded in " << global.state_dir << "\n";
      std::string agent = agent::DescribeAgent(global.state_dir);
      std::cout << "agent: " << (agent.empty() ? "never ran with " + global.state_dir : agent) << "\n";
      for (const auto* f : {&v4, &v6}) {
        std::cout << (f == &v4 ? "IPv4" : "IPv6") << ": " << f->owned_chains << " owned chain(s), "
                  << f->owned_sets << " owned set(s)";
        if (s.variant != "nftables") std::cout << ", " << f->foreign_rules << " rule(s) of other owners in filter";
        std::cout << "\n";
        for (const auto& h : f->hooks) std::cout << "  hook " << h << "\n";
      }
      if (s.findings.empty()) std::cout << "no findings\n";
      for (const auto& f : s.findings) std::cout << "FINDING: " << f << "\n";
    }
    global.exit_code = s.findings.empty() ? kOk : kPending;
  });
}

}  // namespace swarmwall::cli
