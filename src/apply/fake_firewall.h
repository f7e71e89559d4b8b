// A Firewall that keeps its owned state in memory, for unit tests of the
// workflows' decisions (no-op, guard, drain, confirm, record) without a
// kernel. It compares like the real one in what the workflows look at:
// whether rules (chains, hooks) or sets differ, per family.
#pragma once

#include <algorithm>
#include <memory>

#include "backend/firewall.h"
#include "compile/desired_state_json.h"

namespace swarmwall::apply {

class FakeFirewall : public backend::Firewall {
 public:
  struct Detail : backend::KernelDetail {
    compile::DesiredState owned;
  };

  compile::DesiredState held;        // what "the kernel" owns
  bool input_path_changes = false;   // ChangesInputPath's answer
  int writes = 0, reads = 0;

  FakeFirewall() {
    held.ipv4.family = netfilter::Family::kIPv4;
    held.ipv6.family = netfilter::Family::kIPv6;
  }

  std::optional<backend::FirewallView> Read(bool, bool, std::string&) override {
    ++reads;
    backend::FirewallView v;
    v.firewall = "fake";
    v.variant = "nft";
    v.variant_reason = "a test";
    auto d = std::make_shared<Detail>();
    d->owned = held;
    v.detail = d;
    return v;
  }
  std::function<void(backend::FirewallView&)> ReadSets() override {
    return [](backend::FirewallView&) {};
  }
  compile::DesiredState Owned(const backend::FirewallView& v) const override { return Of(v); }
  void AddFacts(const backend::FirewallView&, compile::NodeFacts&) const override {}
  std::vector<backend::FamilyDiff> Compare(const compile::DesiredState& desired,
                                           const backend::FirewallView& v) const override {
    const auto& have = Of(v);
    return {Diff(desired.ipv4, have.ipv4), Diff(desired.ipv6, have.ipv6)};
  }
  bool HooksInPlace(const backend::FirewallView&) const override { return true; }
  bool HasLeftovers(const backend::FirewallView&) const override { return false; }
  backend::WriteResult Write(const backend::FirewallView& v, const compile::DesiredState& desired,
                             std::vector<backend::FamilyDiff> diffs, bool remove) override {
    ++writes;
    backend::WriteResult r;
    r.ok = true;
    r.diffs = diffs.size() == 2 ? diffs : Compare(desired, v);
    r.changed = true;
    compile::DesiredState next = remove ? compile::DesiredState{} : desired;
    next.node.clear();
    next.ipv4.family = netfilter::Family::kIPv4;
    next.ipv6.family = netfilter::Family::kIPv6;
    held = next;
    return r;
  }
  void CleanLeftovers(const backend::FirewallView&) override {}
  void ForgetCache() override {}
  bool ChangesInputPath(const compile::DesiredState&, const backend::FirewallView&,
                        const std::vector<backend::FamilyDiff>&) const override {
    return input_path_changes;
  }
  std::vector<std::string> DriftKinds(const std::vector<backend::FamilyDiff>& diffs,
                                      const backend::FirewallView&) const override {
    for (const auto& d : diffs)
      if (!d.empty()) return {"chain-changed"};
    return {};
  }
  std::vector<backend::FamilyStatus> Status(const backend::FirewallView&) const override { return {}; }
  std::optional<std::vector<backend::SetEntryChange>> SetEntryChanges(const compile::DesiredState&,
                                                                      const backend::FirewallView&) const override {
    return std::nullopt;
  }
  bool WriteSetEntries(const std::vector<backend::SetEntryChange>&, std::string&) override { return false; }
  bool SaveRuleset(const backend::FirewallView&, netfilter::Family, std::string& text, std::string&) const override {
    text.clear();
    return true;
  }
  std::string RulesetAfter(std::string_view saved, const compile::DesiredState&, netfilter::Family) const override {
    return std::string(saved);
  }

 private:
  static const compile::DesiredState& Of(const backend::FirewallView& v) {
    return static_cast<const Detail&>(*v.detail).owned;
  }
  static backend::FamilyDiff Diff(const compile::FamilyState& want, const compile::FamilyState& have) {
    backend::FamilyDiff d;
    d.family = want.family;
    auto rules = [](compile::FamilyState fs) {
      fs.sets.clear();
      return compile::FamilyStateToJson(fs);
    };
    if (rules(want) != rules(have)) {
      d.rules = true;
      d.lines.push_back("~ rules");
    }
    for (const auto& s : want.sets) {
      auto it = std::find_if(have.sets.begin(), have.sets.end(), [&](const auto& h) { return h.name == s.name; });
      bool same = it != have.sets.end() && (s.entries ? *s.entries : std::vector<netfilter::Cidr>{}) ==
                                               (it->entries ? *it->entries : std::vector<netfilter::Cidr>{});
      if (!same) {
        d.changed_sets.push_back(s.name);
        d.lines.push_back("~ set " + s.name);
      }
    }
    return d;
  }
};

}  // namespace swarmwall::apply
