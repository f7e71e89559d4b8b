#include "backend/iptables_render.h"

#include <algorithm>
#include <cstdint>
#include <unordered_map>
#include <unordered_set>

#include <fmt/format.h>

namespace swarmwall::backend {
namespace {
constexpr size_t kMaxElem = 1 << 20;   // per set; hashes grow as needed
// The largest table the longest-common-subsequence search fills (cells of
// the part that differs, after the common head and tail are set aside).
constexpr size_t kMaxEditCells = 1 << 21;
}  // namespace

size_t MaxInPlaceEdits(size_t n) { return n / 4; }

std::optional<ChainEdit> ChainEditScript(const std::vector<std::string>& old_rules,
                                         const std::vector<std::string>& new_rules,
                                         size_t max_edits) {
  std::unordered_set<std::string_view> seen;
  for (const auto& r : old_rules)
    if (!seen.insert(r).second) return std::nullopt;  // -D by spec would be ambiguous
  size_t n = old_rules.size(), m = new_rules.size();
  if ((n > m ? n - m : m - n) > max_edits) return std::nullopt;
  size_t head = 0;
  while (head < n && head < m && old_rules[head] == new_rules[head]) ++head;
  size_t tail = 0;
  while (tail < n - head && tail < m - head && old_rules[n - 1 - tail] == new_rules[m - 1 - tail]) ++tail;
  size_t a = n - head - tail, b = m - head - tail;  // the parts that differ
  if ((a + 1) * (b + 1) > kMaxEditCells) return std::nullopt;
  // Rule texts as small numbers, compared cheaply.
  std::unordered_map<std::string_view, uint32_t> ids;
  std::vector<uint32_t> x(a), y(b);
  for (size_t i = 0; i < a; ++i) x[i] = ids.emplace(old_rules[head + i], ids.size()).first->second;
  for (size_t j = 0; j < b; ++j) y[j] = ids.emplace(new_rules[head + j], ids.size()).first->second;
  // lcs[i][j]: the longest common subsequence of x[i..] and y[j..].
  std::vector<uint32_t> lcs((a + 1) * (b + 1), 0);
  auto at = [&](size_t i, size_t j) -> uint32_t& { return lcs[i * (b + 1) + j]; };
  for (size_t i = a; i-- > 0;)
    for (size_t j = b; j-- > 0;)
      at(i, j) = x[i] == y[j] ? at(i + 1, j + 1) + 1 : std::max(at(i + 1, j), at(i, j + 1));
  if (a + b - 2 * size_t{at(0, 0)} > max_edits) return std::nullopt;
  ChainEdit edit;
  size_t i = 0, j = 0;
  while (i < a || j < b) {
    if (i < a && j < b && x[i] == y[j]) {
      ++i, ++j;
    } else if (j == b || (i < a && at(i + 1, j) >= at(i, j + 1))) {
      edit.deletions.push_back(old_rules[head + i++]);
    } else {
      edit.insertions.emplace_back(static_cast<int>(head + j + 1), new_rules[head + j]);
      ++j;
    }
  }
  return edit;
}

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
  // Owned chains the kernel holds and we know the rules of: edited in place
  // when the edit is small (declaring a chain would flush it).
  std::vector<std::optional<ChainEdit>> edits(fs.chains.size());
  for (size_t i = 0; i < fs.chains.size(); ++i) {
    const auto& c = fs.chains[i];
    auto known = now.owned_rules.find(c.name);
    if (known == now.owned_rules.end() || !now.HasChain(c.name)) continue;
    edits[i] = ChainEditScript(known->second, c.rules, MaxInPlaceEdits(c.rules.size()));
  }
  // Hook chains that do not exist yet (DOCKER-USER before Docker starts).
  for (const auto& h : fs.hooks)
    if (h.create_chain && !now.HasChain(h.chain)) out += fmt::format(":{} - [0:0]\n", h.chain);
  for (size_t i = 0; i < fs.chains.size(); ++i)
    if (!edits[i]) out += fmt::format(":{} - [0:0]\n", fs.chains[i].name);
  // Owned chains we no longer want: declared (so flushed) and deleted below.
  std::vector<std::string> stale;
  for (const auto& name : now.existing_chains)
    if (IsOwnedChain(name) &&
        std::none_of(fs.chains.begin(), fs.chains.end(),
                     [&](const compile::OwnedChain& c) { return c.name == name; })) {
      stale.push_back(name);
      out += fmt::format(":{} - [0:0]\n", name);
    }
  for (size_t i = 0; i < fs.chains.size(); ++i) {
    const auto& c = fs.chains[i];
    if (edits[i]) {
      for (const auto& r : edits[i]->deletions) out += fmt::format("-D {} {}\n", c.name, r);
      for (const auto& [pos, r] : edits[i]->insertions) out += fmt::format("-I {} {} {}\n", c.name, pos, r);
      continue;
    }
    for (const auto& r : c.rules) {
      out += "-A ";
      out += c.name;
      out += ' ';
      out += r;
      out += '\n';
    }
  }
  // Exactly one jump, first: remove every existing one, insert at 1.
  for (const auto& h : fs.hooks) {
    for (int i = now.Jumps(h.chain, h.target); i > 0; --i)
      out += fmt::format("-D {} -j {}\n", h.chain, h.target);
    out += fmt::format("-I {} 1 -j {}\n", h.chain, h.target);
  }
  // Jumps from foreign chains to owned chains that are not wanted hooks
  // (a hook that moved, or one to a stale chain, which must go before -X).
  for (const auto& jump : now.jumps) {
    const auto& [key, count] = jump;  // a lambda cannot capture a binding before clang 16
    if (IsOwnedChain(key.first) || !IsOwnedChain(key.second)) continue;
    bool wanted = std::any_of(fs.hooks.begin(), fs.hooks.end(), [&](const compile::Hook& h) {
      return h.chain == jump.first.first && h.target == jump.first.second;
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
