// The policy's YAML document as a plain tree, built in one pass of
// yaml-cpp's parser (yaml-cpp stays the parser; this replaces YAML::Load's
// node graph, which is slow to build, and the second pass that counted
// documents). Long lists of plain address-like scalars are read
// without yaml-cpp's scanner (see ParseYamlDocument), with the same result.
#pragma once

#include <yaml-cpp/mark.h>
#include <yaml-cpp/node/type.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace swarmwall::policy {

class YamlTree;

// A node of a YamlTree (a handle: copy freely while the tree lives). The
// subset of YAML::Node's interface the loader uses, with the same answers.
class YamlNode {
 public:
  YamlNode() = default;
  YamlNode(const YamlTree* tree, uint32_t index) : tree_(tree), index_(index) {}

  YAML::NodeType::value Type() const;
  bool IsDefined() const { return tree_ != nullptr; }
  bool IsNull() const { return Type() == YAML::NodeType::Null; }
  bool IsScalar() const { return Type() == YAML::NodeType::Scalar; }
  bool IsSequence() const { return Type() == YAML::NodeType::Sequence; }
  bool IsMap() const { return Type() == YAML::NodeType::Map; }
  YAML::Mark Mark() const;  // line and column as yaml-cpp gives them (not pos)
  const std::string& Tag() const;     // "?" for a plain scalar
  const std::string& Scalar() const;  // "" unless a scalar
  // Items of a sequence, or pairs of a map (key, value, key, value, ...).
  size_t size() const;                      // items, or pairs
  YamlNode Child(size_t i) const;           // i < size() of a sequence
  YamlNode Key(size_t i) const;             // i < size() of a map
  YamlNode Value(size_t i) const;           // i < size() of a map

 private:
  const YamlTree* tree_ = nullptr;
  uint32_t index_ = 0;
};

class YamlTree {
 public:
  struct Entry {
    YAML::NodeType::value type = YAML::NodeType::Null;
    YAML::Mark mark;
    std::string tag;
    std::string scalar;
    std::vector<uint32_t> children;
    uint64_t expanded = 1;  // nodes it stands for with every alias in it expanded
  };
  std::vector<Entry> entries;  // [0] is the root, when there is one
  YamlNode Root() const { return entries.empty() ? YamlNode() : YamlNode(this, 0); }
};

// Aliases may together stand for at most this many nodes beyond those
// written (a 40 KB policy aliasing one 1,900-address list 2,000 times stood
// for 3.8 million). Long lists belong in a set, named where they are used.
inline constexpr uint64_t kMaxAliasNodes = 100'000;

// The first document of TEXT, or the problem: a YAML error at LINE:COLUMN
// (1-based; 0 when yaml-cpp gives no place), a second document, an alias
// inside the node it names, or aliases past kMaxAliasNodes (at the alias
// that goes past, found while parsing: nothing is expanded).
struct ParsedYaml {
  YamlTree tree;
  std::optional<std::string> error;
  int line = 0, column = 0;
  size_t fast_items = 0;  // list items read without yaml-cpp's scanner
};
ParsedYaml ParseYamlDocument(std::string_view text);

}  // namespace swarmwall::policy
