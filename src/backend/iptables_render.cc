#include "backend/iptables_render.h"

#include <algorithm>

#include <fmt/format.h>

namespace swarmwall::backend {
namespace {
constexpr size_t kMaxElem = 1 << 20;   // per set; hashes grow as needed
}  // namespace

bool KernelState::HasChain(std::string_view name) const {
  return std::find(existing_chains.begin(), existing_chains.end(), name) != existing_chains.end();
}

int KernelState::Jumps(const std::string& chain, const std::string& target) const {
  auto it = jumps.find({chain, target});
  return it == jumps.end() ? 0 : it->second;
}

KernelState FreshDockerHost() {
  KernelState k;
  k.existing_chains = {"INPUT", "FORWARD", "OUTPUT", "DOCKER", "DOCKER-USER"};
  return k;
}

bool IsOwnedChain(std::string_view name) { return name.starts_with(compile::kChainPrefix); }

std::string RenderRestore(const compile::FamilyState& fs, const KernelState& now) {
  std::string out;
  size_t estimate = 256;
  for (const auto& c : fs.chains)
    for (const auto& r : c.rules) estimate += r.size() + c.name.size() + 5;
  out.reserve(estimate);
  out += "*filter\n";
  // Hook chains that do not exist yet (DOCKER-USER before Docker starts).
  for (const auto& h : fs.hooks)
    if (h.create_chain && !now.HasChain(h.chain)) out += fmt::format(":{} - [0:0]\n", h.chain);
  for (const auto& c : fs.chains) out += fmt::format(":{} - [0:0]\n", c.name);
  // Owned chains we no longer want: declared (so flushed) and deleted below.
  std::vector<std::string> stale;
  for (const auto& name : now.existing_chains)
    if (IsOwnedChain(name) &&
        std::none_of(fs.chains.begin(), fs.chains.end(),
                     [&](const compile::OwnedChain& c) { return c.name == name; })) {
      stale.push_back(name);
      out += fmt::format(":{} - [0:0]\n", name);
    }
  for (const auto& c : fs.chains)
    for (const auto& r : c.rules) {
      out += "-A ";
      out += c.name;
      out += ' ';
      out += r;
      out += '\n';
    }
  // Exactly one jump, first: remove every existing one, insert at 1.
  for (const auto& h : fs.hooks) {
    for (int i = now.Jumps(h.chain, h.target); i > 0; --i)
      out += fmt::format("-D {} -j {}\n", h.chain, h.target);
    out += fmt::format("-I {} 1 -j {}\n", h.chain, h.target);
  }
  // Jumps from foreign chains to owned chains that are not wanted hooks
  // (a hook that moved, or one to a stale chain, which must go before -X).
  for (const auto& [key, count] : now.jumps) {
    if (IsOwnedChain(key.first) || !IsOwnedChain(key.second)) continue;
    bool wanted = std::any_of(fs.hooks.begin(), fs.hooks.end(), [&](const compile::Hook& h) {
      return h.chain == key.first && h.target == key.second;
    });
    if (!wanted)
      for (int i = 0; i < count; ++i) out += fmt::format("-D {} -j {}\n", key.first, key.second);
  }
  for (const auto& s : stale) out += fmt::format("-X {}\n", s);
  out += "COMMIT\n";
  return out;
}

std::string TemporarySetName(const std::string& set) {
  // "swarmwall-x-v4" -> "swarmwall-x-v4~" fits when the name is < 31.
  if (set.size() < 31) return set + "~";
  return set.substr(0, 30) + "~";
}

std::string RenderSetRestore(const compile::IpSet& s) {
  std::string out;
  out.reserve(256 + s.entries->size() * (s.name.size() + 26));
  const char* family = s.family == netfilter::Family::kIPv4 ? "inet" : "inet6";
  // -exist forgives an existing set only when its create parameters are
  // identical, so they never depend on the number of entries.
  std::string tmp = TemporarySetName(s.name);
  out += fmt::format("create {} hash:net family {} maxelem {} -exist\n", s.name, family, kMaxElem);
  out += fmt::format("create {} hash:net family {} maxelem {} -exist\n", tmp, family, kMaxElem);
  out += fmt::format("flush {}\n", tmp);
  std::string prefix = "add " + tmp + " ";
  for (const auto& e : *s.entries) {
    out += prefix;
    out += e.ToString();
    out += '\n';
  }
  out += fmt::format("swap {} {}\n", tmp, s.name);
  out += fmt::format("destroy {}\n", tmp);
  return out;
}

std::shared_ptr<const std::string> IpsetTextCache::Get(const compile::IpSet& set) {
  auto key = std::make_pair(set.name, static_cast<const void*>(set.entries.get()));
  auto it = texts_.find(key);
  if (it != texts_.end()) return it->second;
  auto text = std::make_shared<const std::string>(RenderSetRestore(set));
  texts_.emplace(key, text);
  return text;
}

std::string RenderIpsetRestore(const compile::FamilyState& fs) {
  std::string out;
  for (const auto& s : fs.sets) out += RenderSetRestore(s);
  return out;
}

}  // namespace swarmwall::backend
