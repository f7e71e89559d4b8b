#include "backend/render_text.h"

#include <algorithm>

#include <fmt/format.h>

namespace swarmwall::backend {

std::string OneLine(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F) out += fmt::format("\\x{:02x}", u);
    else out += c;
  }
  return out;
}

bool PlainName(std::string_view name) {
  if (name.empty() || name.size() > 64 || name == "." || name == ".." || name[0] == '-') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '+' || c == '@' || c == '-';
  });
}

std::string UnsafeNames(const policy::Policy& policy, const policy::Node& node) {
  auto quoted = [](std::string_view s) { return "'" + OneLine(s) + "'"; };
  if (!PlainName(node.name))
    return fmt::format("node name {} is not a plain name (letters, digits, _ . + @ -)", quoted(node.name));
  const auto& ifaces = policy.InterfacesOf(node);
  for (const auto* list : {&ifaces.public_, &ifaces.cluster})
    for (const auto& i : *list)
      if (!PlainName(i))
        return fmt::format("interface {} of node {} is not a plain name (letters, digits, _ . + @ -)",
                           quoted(i), node.name);
  for (const auto& s : policy.sets)
    if (!PlainName(s.name))
      return fmt::format("set name {} is not a plain name (letters, digits, _ . + @ -)", quoted(s.name));
  return "";
}

}  // namespace swarmwall::backend
