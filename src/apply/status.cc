#include "apply/status.h"

#include "analyze/doctor/doctor.h"
#include "analyze/model/docker_layout.h"
#include "analyze/model/filter_owners.h"
#include "docker/engine.h"
#include "host/network.h"
#include "host/setup.h"
#include "netfilter/parser.h"
#include "policy/policy.h"

namespace swarmwall::apply {
namespace {

using netfilter::Family;

// The checks status shares with doctor (analyze::DiagnoseDockerFirewall)
// over what status reads: Docker's firewall backend, `nft list tables`,
// each family's rules (TEXTS) and what they let a stranger reach, and
// whether swarmwall applied anything here.
std::vector<analyze::Finding> DockerFirewallFindings(const std::string texts[2],
                                                     const std::optional<netfilter::Ruleset> rules[2],
                                                     const std::optional<AppliedRecord>& record,
                                                     const host::HostNetwork& net, bool have_net,
                                                     bool& nftables_mode) {
  analyze::DoctorFacts facts;
  analyze::GatherDockerFacts(facts);
  facts.swarmwall_applied = record.has_value();
  for (int f = 0; f < 2; ++f)
    if (rules[f]) (f == 0 ? facts.v4 : facts.v6) = analyze::FilterFactsFromSave(texts[f], rules[f]->family);
  // the tables from the ruleset already read (no second listing)
  facts.nft_tables = have_net && net.nftables_known ? std::optional(host::NftTableNames(net.nftables))
                                                    : host::ListNftTables();
  if (have_net) {
    facts.world_published.emplace();
    for (int f = 0; f < 2; ++f) {
      // a family without iptables rules may still have native tables (Docker's nftables mode)
      netfilter::Ruleset none;
      none.family = f == 0 ? Family::kIPv4 : Family::kIPv6;
      if (!rules[f] && !net.nftables_known) continue;
      for (auto& p : analyze::WorldPublishedPorts(rules[f] ? *rules[f] : none, net))
        facts.world_published->push_back(std::move(p));
    }
    if (record) DropAppliedIntent(*record, *facts.world_published);
  }
  nftables_mode = analyze::DockerNftablesMode(facts);
  return analyze::DiagnoseDockerFirewall(facts);
}

// Docker's version and chain layout; per family, FORWARD not reaching
// DOCKER-USER where that matters; the checks shared with doctor.
DockerStatus ReadDocker(const backend::Firewall& firewall, const FirewallView& view,
                        const std::optional<AppliedRecord>& record, bool not_hooked[2],
                        std::vector<analyze::Finding>& shared) {
  DockerStatus d;
  docker::Engine engine;
  d.host = engine.host();
  if (auto v = engine.Version()) d.version = v->value("Version", "");
  std::optional<netfilter::Ruleset> rules[2];
  std::string texts[2];
  for (int f = 0; f < 2; ++f) {
    Family family = f == 0 ? Family::kIPv4 : Family::kIPv6;
    std::string text, error;
    if (!firewall.SaveRuleset(view, family, text, error) || text.empty()) continue;
    netfilter::ParseOptions options;
    options.family = family;
    auto r = netfilter::ParseRuleset(text, options);
    if (r.ruleset) {
      rules[f] = std::move(r.ruleset);
      texts[f] = std::move(text);
    }
  }
  host::HostNetwork net;
  std::string error;
  bool have_net = host::LoadLiveHostNetwork(net, error);
  netfilter::Ruleset empty;
  auto e = analyze::ExplainDocker(rules[0] ? *rules[0] : empty, rules[1] ? &*rules[1] : nullptr,
                                  have_net && net.nftables_known ? &net.nftables : nullptr);
  d.layout = analyze::LayoutName(e.layout);
  d.swarm = e.swarm;
  d.docker_user_hooked = e.docker_user_first_in_forward;
  bool nftables_mode = false;
  shared = DockerFirewallFindings(texts, rules, record, net, have_net, nftables_mode);
  // In nftables mode nothing ever jumps to DOCKER-USER: the shared findings say what that means.
  for (int f = 0; f < 2; ++f)
    not_hooked[f] = !nftables_mode && rules[f] && analyze::JudgeDockerUserHook(*rules[f]).NotHooked();
  return d;
}

}  // namespace

void DropAppliedIntent(const AppliedRecord& record, std::vector<analyze::OpenPublishedPort>& ports) {
  if (record.policy.empty() || ports.empty()) return;
  auto loaded = policy::LoadPolicyFile(record.policy);
  if (!loaded.ok()) return;
  if (const policy::Node* node = loaded.policy->FindNode(record.node))
    analyze::DropIntendedPorts(ports, *loaded.policy, *node);
}

StatusReport Status(const std::string& state_dir, backend::Firewall& firewall, const Notes& note) {
  StatusReport s;
  // Another swarmwall committing now: say so and read without the lock.
  s.lock_holder = HostLock::Holder(state_dir);
  std::optional<HostSession> session;
  if (s.lock_holder.empty())
    session = OpenSession(firewall, state_dir, "status", std::chrono::milliseconds(0), note);
  if (!s.lock_holder.empty() || !session) {
    s.lock_holder = HostLock::Holder(state_dir);
    if (!s.lock_holder.empty())
      s.findings.push_back("another swarmwall holds the host lock (" + s.lock_holder +
                           "): a change may be in progress");
  }
  auto view = firewall.Read(true, true, s.error);
  if (!view) return s;
  s.ok = true;
  s.variant = view->variant;
  s.variant_reason = view->variant_reason;
  s.record = StateStore(state_dir).Load();
  compile::DesiredState actual = firewall.Owned(*view);
  actual.node = s.record ? s.record->node : "";
  s.kernel_digest = NormalizedDigest(actual);
  bool not_hooked[2] = {false, false};
  std::vector<analyze::Finding> shared;
  s.docker = ReadDocker(firewall, *view, s.record, not_hooked, shared);
  s.families = firewall.Status(*view);
  for (size_t f = 0; f < s.families.size() && f < 2; ++f) {
    for (const auto& finding : s.families[f].findings) s.findings.push_back(finding);
    if (not_hooked[f])
      s.findings.push_back(std::string(f == 0 ? "IPv4" : "IPv6") +
                           ": FORWARD does not jump to DOCKER-USER: published ports are open "
                           "to everyone (moby#48560)");
  }
  for (const auto& f : shared) s.findings.push_back(f.message + " (fix: " + f.fix + ")");
  if (s.record && s.record->digest != s.kernel_digest)
    s.findings.push_back("drift: the kernel's owned rules or sets differ from what was applied at " +
                         s.record->time + " (run swarmwall plan to see how)");
  if (s.record && actual.ipv4.chains.empty())
    s.findings.push_back("drift: swarmwall's chains are gone (flushed by someone?)");
  return s;
}

}  // namespace swarmwall::apply
