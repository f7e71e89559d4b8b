#include "backend/persistent_render.h"

#include <fmt/format.h>

#include "backend/iptables_render.h"
#include "backend/render_text.h"

namespace swarmwall::backend {
namespace {

std::string Header(const compile::DesiredState& s, std::string_view what) {
  return fmt::format(
      "# swarmwall {} for node {} (policy {}, state {}).\n"
      "# Holds only swarmwall's chains and sets, never Docker's. Generated: edit the policy,\n"
      "# not this file, and regenerate with `swarmwall render --backend persistent`.\n",
      what, OneLine(s.node), OneLine(s.policy_file), s.Digest());
}

// The netfilter-persistent file: loaded at boot, before Docker, by
// `iptables-restore --noflush`. Every chain it needs is made with -N, which
// fails when the chain exists: loaded again (or after Docker or `swarmwall
// apply` made its chains), the whole restore is refused and changes
// nothing, instead of emptying DOCKER-USER (what `:DOCKER-USER` does under
// --noflush) or adding a second jump.
std::string BootRestore(const compile::FamilyState& fs) {
  std::string out = "*filter\n";
  for (const auto& h : fs.hooks)
    if (h.create_chain) out += fmt::format("-N {}\n", h.chain);
  for (const auto& c : fs.chains) out += fmt::format("-N {}\n", c.name);
  for (const auto& c : fs.chains)
    for (const auto& r : c.rules) out += fmt::format("-A {} {}\n", c.name, r);
  for (const auto& h : fs.hooks) out += fmt::format("-I {} 1 -j {}\n", h.chain, h.target);
  return out + "COMMIT\n";
}

// iptables-services restores without --noflush: the file is the whole
// filter table, so it holds every chain it hooks.
std::string FullTable(const compile::FamilyState& fs) {
  std::string out = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n";
  for (const auto& h : fs.hooks)
    if (h.create_chain) out += fmt::format(":{} - [0:0]\n", h.chain);
  for (const auto& c : fs.chains) out += fmt::format(":{} - [0:0]\n", c.name);
  for (const auto& h : fs.hooks) out += fmt::format("-A {} -j {}\n", h.chain, h.target);
  for (const auto& c : fs.chains)
    for (const auto& r : c.rules) out += fmt::format("-A {} {}\n", c.name, r);
  return out + "COMMIT\n";
}

std::string IpsetSave(const compile::DesiredState& s) {
  std::string out;
  for (const compile::FamilyState* fs : {&s.ipv4, &s.ipv6})
    for (const auto& set : fs->sets) {
      out += fmt::format("create {} hash:net family {} maxelem 1048576 -exist\n", set.name,
                         set.family == netfilter::Family::kIPv4 ? "inet" : "inet6");
      for (const auto& e : *set.entries) out += fmt::format("add {} {} -exist\n", set.name, e.ToString());
    }
  return out;
}

}  // namespace

FileSet RenderPersistent(const compile::DesiredState& s) {
  FileSet files;
  std::string restore_note =
      "# For netfilter-persistent at boot, before Docker starts, with --noflush\n"
      "# (IPTABLES_RESTORE_NOFLUSH=yes in /etc/default/netfilter-persistent): it makes swarmwall's\n"
      "# chains (and DOCKER-USER, which Docker keeps) with -N and places one jump first in each\n"
      "# hook chain. It never declares a chain (that would empty DOCKER-USER or DOCKER-FORWARD):\n"
      "# loaded when any of its chains exists (Docker or swarmwall already ran, or a second\n"
      "# load) iptables-restore refuses it whole and nothing changes. Use `swarmwall apply` at\n"
      "# run time.\n";
  files["etc/iptables/rules.v4"] =
      Header(s, "rules.v4") + restore_note + BootRestore(s.ipv4);
  if (!s.ipv6.empty())
    files["etc/iptables/rules.v6"] =
        Header(s, "rules.v6") + restore_note + BootRestore(s.ipv6);
  // Debian's ipset-persistent plugin reads /etc/iptables/ipsets (before the
  // iptables plugins, which need the sets).
  files["etc/iptables/ipsets"] = Header(s, "ipsets") + IpsetSave(s);
  files["etc/default/netfilter-persistent"] =
      "# swarmwall: restore without flushing what Docker and others own, and never save the\n"
      "# running tables (they hold Docker's dynamic rules, which must not come back at boot).\n"
      "FLUSH_ON_STOP=0\n"
      "IPTABLES_RESTORE_NOFLUSH=yes\nIP6TABLES_RESTORE_NOFLUSH=yes\n"
      "IPTABLES_SKIP_SAVE=yes\nIP6TABLES_SKIP_SAVE=yes\nIPSET_SKIP_SAVE=yes\n"
      "IPTABLES_TEST_RULESET=yes\nIP6TABLES_TEST_RULESET=yes\n";
  std::string services_note =
      "# For iptables-services (iptables.service), which flushes the whole filter table and\n"
      "# restores this file: it must hold only swarmwall's rules (seed 001). Order\n"
      "# iptables.service Before=docker.service and restart Docker after restarting it, so\n"
      "# that Docker re-creates its own chains (it keeps the DOCKER-USER made here).\n"
      "# Set IPTABLES_SAVE_ON_STOP=no and IPTABLES_SAVE_ON_RESTART=no in iptables-config.\n";
  files["etc/sysconfig/iptables"] = Header(s, "iptables-services file") + services_note + FullTable(s.ipv4);
  if (!s.ipv6.empty())
    files["etc/sysconfig/ip6tables"] =
        Header(s, "ip6tables-services file") + services_note + FullTable(s.ipv6);
  return files;
}

}  // namespace swarmwall::backend
