#include "analyze/doctor/doctor.h"

#include "docker/daemon_info.h"
#include "docker/engine.h"
#include "host/network.h"
#include "host/xtables.h"
#include "netfilter/parser.h"

namespace swarmwall::analyze {

using netfilter::Family;

void GatherDockerFacts(DoctorFacts& h) {
  docker::Engine engine;
  docker::Response info = engine.Get("/info");
  if (!info.ok()) return;
  std::string error;
  auto fw = docker::ParseInfoFirewall(info.body, error);
  if (!fw) return;
  h.docker_reachable = true;
  h.docker_firewall = fw->driver;
  docker::Response networks = engine.Get("/networks");
  if (networks.ok()) h.docker_ipv6_networks = docker::ParseNetworksIpv6(networks.body).value_or(false);
}

DoctorFacts GatherDoctorFacts(const DoctorOptions& o) {
  DoctorFacts h;
  host::SetupOptions setup;
  setup.root = o.root;
  setup.proc = o.proc;
  setup.daemon_json = o.daemon_json;
  setup.ports = DoctorPorts();
  setup.run_tools = o.read_kernel;
  static_cast<host::HostSetup&>(h) = host::ReadHostSetup(setup);
  if (o.read_kernel) {
    GatherDockerFacts(h);
    auto variant = host::DetectVariant();
    h.system_variant = variant.system_default;
    h.docker_in_nft = variant.docker_in_nft;
    h.docker_in_legacy = variant.docker_in_legacy;
    h.chosen_variant = variant.chosen.name;
    // The host's addresses and routes, for the exposure of published ports.
    host::HostNetwork net;
    std::string net_error;
    bool have_net = host::LoadLiveHostNetwork(net, net_error);
    if (have_net) h.world_published.emplace();
    for (Family family : {Family::kIPv4, Family::kIPv6}) {
      FilterFacts& f = family == Family::kIPv4 ? h.v4 : h.v6;
      auto save = host::SaveLive(variant.chosen, family);
      if (!save.ok) {
        f.error = save.error;
        continue;
      }
      f = FilterFactsFromSave(save.text, family);
      if (!have_net || !f.read) continue;
      netfilter::ParseOptions options;
      options.family = family;
      auto parsed = netfilter::ParseRuleset(save.text, options);
      if (!parsed.ruleset) continue;
      for (auto& p : WorldPublishedPorts(*parsed.ruleset, net)) h.world_published->push_back(std::move(p));
    }
    if (!h.v4.read && !h.v6.read)
      h.gather_error = "cannot read the kernel's rules: " + h.v4.error;
  }
  return h;
}

}  // namespace swarmwall::analyze
