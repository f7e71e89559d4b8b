// libFuzzer target: any bytes as a policy. Loading must never crash, hang or
// leak, and a policy that loads must survive its own checks unchanged
// (Validate is idempotent) and every model helper. Address files come from
// memory, so the fuzzer never reads the machine's files.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "policy/internal.h"
#include "policy/policy.h"

namespace {

using namespace swarmwall::policy;

std::optional<std::string> Reader(const std::string& path, std::string& error) {
  if (path == "admins.txt")
    return "# admins\n203.0.113.7\n203.0.113.64/28 # vpn\n2001:db8:200::/48\n";
  if (path == "friends.txt") return "192.0.2.10\n192.0.2.11\n198.51.100.0/25\n";
  error = "No such file or directory";
  return std::nullopt;
}

void Check(bool ok) {
  if (!ok) abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  LoadResult r = LoadPolicyTextWith(text, "fuzz.yaml", "", Reader);
  Check(r.ok() == r.errors.empty());
  for (const auto& d : r.errors)
    Check(!d.ToString().empty() && d.where.line >= 1 && d.where.column >= 1);
  // Messages are text whatever bytes the policy holds.
  for (const auto* list : {&r.errors, &r.warnings})
    for (const auto& d : *list) Check(InvalidUtf8At(d.message) == std::string::npos);
  if (!r.policy) return 0;
  const Policy& p = *r.policy;
  // What apply must be able to load: no /0 in a set (hash:net takes none),
  // no more entries than an ipset holds; names and comments as text.
  for (const auto& set : p.sets)
    for (Family f : {Family::kIPv4, Family::kIPv6}) {
      Check(set.Entries(f).size() <= kMaxSetEntries);
      for (const auto& c : set.Entries(f)) Check(!c.IsAny());
    }
  for (const auto& n : p.nodes) {
    Check(InvalidUtf8At(n.comment) == std::string::npos);
    p.InterfacesOf(n);
    for (Section s : {Section::kHost, Section::kContainers, Section::kEgress})
      for (const Rule* rule : p.RulesFor(s, n)) Check(Selects(rule->on, n));
    if (p.swarm.enabled) Check(!SwarmTraffic(p.swarm, n.role).Any());
  }
  for (Section s : {Section::kHost, Section::kContainers, Section::kEgress})
    for (const auto& rule : p.Rules(s)) {
      rule.Describe();
      Check(rule.traffic.Covers(rule.traffic));
      for (Family f : {Family::kIPv4, Family::kIPv6}) {
        p.Resolve(rule.from, f);
        p.Resolve(rule.to, f);
      }
      for (const auto& t : rule.from.terms)
        if (t.kind == AddressTerm::Kind::kSet) Check(p.FindSet(t.set) != nullptr);
    }
  LoadResult again = Validate(p);
  Check(again.ok() && again.policy == r.policy);
  return 0;
}
