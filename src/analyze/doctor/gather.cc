#include "analyze/doctor/doctor.h"

#include "host/xtables.h"

namespace swarmwall::analyze {

using netfilter::Family;

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
    auto variant = host::DetectVariant();
    h.system_variant = variant.system_default;
    h.docker_in_nft = variant.docker_in_nft;
    h.docker_in_legacy = variant.docker_in_legacy;
    h.chosen_variant = variant.chosen.name;
    for (Family family : {Family::kIPv4, Family::kIPv6}) {
      FilterFacts& f = family == Family::kIPv4 ? h.v4 : h.v6;
      auto save = host::SaveLive(variant.chosen, family);
      if (!save.ok) {
        f.error = save.error;
        continue;
      }
      f = FilterFactsFromSave(save.text, family);
    }
    if (!h.v4.read && !h.v6.read)
      h.gather_error = "cannot read the kernel's rules: " + h.v4.error;
  }
  return h;
}

}  // namespace swarmwall::analyze
