#include "analyze/doctor/doctor.h"

#include <fmt/format.h>

#include "analyze/model/docker_layout.h"
#include "analyze/model/filter_owners.h"
#include "netfilter/parser.h"

namespace swarmwall::analyze {
namespace {

using netfilter::Family;

// A rule that applies to everything (an interface condition allowed): no
// source or destination, protocol, match module (a comment aside).
bool Unconditional(const netfilter::Rule& r) {
  if (r.source.PrefixLength() != 0 || r.source_negated || r.destination.PrefixLength() != 0 ||
      r.destination_negated || r.protocol != 0 || r.in_negated)
    return false;
  for (const auto& p : r.parts)
    if (p.kind == netfilter::Part::Kind::kMatch && p.text != "comment") return false;
    else if (p.kind == netfilter::Part::Kind::kOpaque) return false;
  return true;
}

bool IsDropOrReject(const netfilter::Rule& r) {
  return r.target_kind == netfilter::TargetKind::kDrop || r.target == "REJECT";
}

}  // namespace

FilterFacts FilterFactsFromSave(const std::string& save_text, Family family) {
  FilterFacts f;
  netfilter::ParseOptions options;
  options.family = family;
  options.file_name = family == Family::kIPv4 ? "iptables-save" : "ip6tables-save";
  auto parsed = netfilter::ParseRuleset(save_text, options);
  if (!parsed.ruleset) {
    f.error = parsed.error->ToString();
    return f;
  }
  f.read = true;
  FilterOwners owners = ReadFilterOwners(*parsed.ruleset);
  f.docker_chains = owners.docker_chains;
  f.docker_user_exists = owners.docker_user.exists;
  f.forward_jumps_to_docker_user = owners.ForwardJumpsToDockerUser();
  f.docker_user_not_hooked = owners.docker_user.NotHooked();
  for (const auto& hook : owners.hooks) {
    if (hook.target == "SWARMWALL-USER" && (hook.chain == "DOCKER-USER" || hook.chain == "FORWARD"))
      f.swarmwall_user_hooked = true;
    if (hook.chain == "INPUT" && hook.target == "SWARMWALL-INPUT" && hook.first) f.swarmwall_input_first = true;
  }
  const netfilter::Ruleset& rs = *parsed.ruleset;
  if (const auto* input = rs.FindChain("filter", "INPUT")) {
    f.input_policy = std::string(input->policy);
    for (const auto& r : input->rules) {
      if (IsDropOrReject(r) && Unconditional(r)) f.input_drops_public = true;
      // One level down: a chain INPUT sends everything (or one interface) to.
      if (r.target_kind == netfilter::TargetKind::kChain && Unconditional(r))
        if (const auto* sub = rs.FindChain("filter", r.target))
          for (const auto& sr : sub->rules)
            if (IsDropOrReject(sr) && Unconditional(sr)) f.input_drops_public = true;
    }
  }
  if (const auto* forward = rs.FindChain("filter", "FORWARD")) f.forward_policy = std::string(forward->policy);
  if (const auto* user = rs.FindChain("filter", "DOCKER-USER")) {
    for (size_t i = 0; i < user->rules.size(); ++i) {
      const auto& r = user->rules[i];
      bool final_return = i + 1 == user->rules.size() &&
                          r.target_kind == netfilter::TargetKind::kReturn && Unconditional(r);
      if (!final_return) f.docker_user_filters = true;
    }
  }
  DockerExplanation ex = family == Family::kIPv4 ? ExplainDocker(rs) : ExplainDocker(netfilter::Ruleset(), &rs);
  for (const auto& p : ex.ports) {
    if (p.loopback_only || p.family != (family == Family::kIPv4 ? 4 : 6)) continue;
    f.published_ports.push_back(fmt::format("{}/{} -> {}{}", p.host_ports, p.protocol, p.container,
                                            p.swarm_ingress ? " (Swarm routing mesh)" : ""));
  }
  return f;
}

}  // namespace swarmwall::analyze
