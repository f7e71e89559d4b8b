#include "policy/backend_setting.h"

#include <fstream>
#include <sstream>

#include "policy/yaml_tree.h"

namespace swarmwall::policy {
namespace {

// The value of KEY in map NODE (undefined when absent or NODE no map).
YamlNode Get(const YamlNode& node, std::string_view key) {
  if (!node.IsMap()) return {};
  for (size_t i = 0; i < node.size(); ++i)
    if (node.Key(i).IsScalar() && node.Key(i).Scalar() == key) return node.Value(i);
  return {};
}

std::optional<Backend> BackendOf(const YamlNode& node) {
  if (!node.IsScalar()) return std::nullopt;
  return ParseBackendName(node.Scalar());
}

}  // namespace

std::optional<Backend> ParseBackendName(std::string_view text) {
  if (text == "auto") return Backend::kAuto;
  if (text == "iptables") return Backend::kIptables;
  if (text == "nftables") return Backend::kNftables;
  return std::nullopt;
}

Backend BackendSettings::For(std::string_view node, const std::vector<netfilter::IpAddress>& local) const {
  const NodeSetting* found = nullptr;
  for (const auto& n : nodes) {
    bool match = !node.empty() ? n.name == node : false;
    if (node.empty())
      for (const auto& a : n.addresses)
        for (const auto& l : local) match = match || a == l;
    if (!match) continue;
    if (found && node.empty()) return policy;   // several: the load will say so
    found = &n;
  }
  return found && found->backend ? *found->backend : policy;
}

bool BackendSettings::NodesDiffer() const {
  for (const auto& n : nodes)
    if (n.backend && *n.backend != policy) return true;
  return false;
}

BackendSettings ReadBackendSettings(std::string_view yaml) {
  BackendSettings out;
  ParsedYaml parsed = ParseYamlDocument(yaml);
  if (parsed.error) return out;
  YamlNode root = parsed.tree.Root();
  out.policy = BackendOf(Get(root, "backend")).value_or(Backend::kAuto);
  YamlNode nodes = Get(root, "nodes");
  if (!nodes.IsSequence()) return out;
  for (size_t i = 0; i < nodes.size(); ++i) {
    YamlNode n = nodes.Child(i);
    YamlNode name = Get(n, "name");
    if (!name.IsScalar()) continue;
    BackendSettings::NodeSetting s;
    s.name = name.Scalar();
    s.backend = BackendOf(Get(n, "backend"));
    YamlNode address = Get(n, "address");
    auto add = [&](const YamlNode& a) {
      if (!a.IsScalar()) return;
      if (auto ip = netfilter::IpAddress::Parse(a.Scalar())) s.addresses.push_back(*ip);
    };
    if (address.IsSequence())
      for (size_t k = 0; k < address.size(); ++k) add(address.Child(k));
    else
      add(address);
    out.nodes.push_back(std::move(s));
  }
  return out;
}

std::optional<BackendSettings> ReadBackendSettingsFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream text;
  text << in.rdbuf();
  return ReadBackendSettings(text.str());
}

}  // namespace swarmwall::policy
