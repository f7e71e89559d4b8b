#include "apply/status.h"

#include "analyze/model/docker_layout.h"
#include "analyze/model/filter_owners.h"
#include "docker/engine.h"
#include "netfilter/parser.h"

namespace swarmwall::apply {
namespace {

using netfilter::Family;

// Docker's version and chain layout; per family, FORWARD not reaching
// DOCKER-USER where that matters.
DockerStatus ReadDocker(const backend::Firewall& firewall, const FirewallView& view, bool not_hooked[2]) {
  DockerStatus d;
  docker::Engine engine;
  d.host = engine.host();
  if (auto v = engine.Version()) d.version = v->value("Version", "");
  std::optional<netfilter::Ruleset> rules[2];
  for (int f = 0; f < 2; ++f) {
    Family family = f == 0 ? Family::kIPv4 : Family::kIPv6;
    std::string text, error;
    if (!firewall.SaveRuleset(view, family, text, error) || text.empty()) continue;
    netfilter::ParseOptions options;
    options.family = family;
    auto r = netfilter::ParseRuleset(text, options);
    if (r.ruleset) rules[f] = std::move(r.ruleset);
  }
  netfilter::Ruleset empty;
  auto e = analyze::ExplainDocker(rules[0] ? *rules[0] : empty, rules[1] ? &*rules[1] : nullptr);
  d.layout = analyze::LayoutName(e.layout);
  d.swarm = e.swarm;
  d.docker_user_hooked = e.docker_user_first_in_forward;
  for (int f = 0; f < 2; ++f) not_hooked[f] = rules[f] && analyze::JudgeDockerUserHook(*rules[f]).NotHooked();
  return d;
}

}  // namespace

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
  s.docker = ReadDocker(firewall, *view, not_hooked);
  s.families = firewall.Status(*view);
  for (size_t f = 0; f < s.families.size() && f < 2; ++f) {
    for (const auto& finding : s.families[f].findings) s.findings.push_back(finding);
    if (not_hooked[f])
      s.findings.push_back(std::string(f == 0 ? "IPv4" : "IPv6") +
                           ": FORWARD does not jump to DOCKER-USER: published ports are open "
                           "to everyone (moby#48560)");
  }
  if (s.record && s.record->digest != s.kernel_digest)
    s.findings.push_back("drift: the kernel's owned rules or sets differ from what was applied at " +
                         s.record->time + " (run swarmwall plan to see how)");
  if (s.record && actual.ipv4.chains.empty())
    s.findings.push_back("drift: swarmwall's chains are gone (flushed by someone?)");
  return s;
}

}  // namespace swarmwall::apply
