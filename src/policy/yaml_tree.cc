// One pass of yaml-cpp's event parser builds the tree; a second call only
// looks at where a second document would start. Long lists of plain
// address-like scalars (block lists, and flow lists on one line) are taken
// out of the text yaml-cpp scans (but their first item) and put back as items when that first item arrives: the tree
// is the one the whole text gives, and when anything does not add up (a
// list that was not what it looked like, any YAML error) the whole text is
// parsed again the ordinary way, so every message and place is yaml-cpp's.
#include "policy/yaml_tree.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/parser.h>

#include <algorithm>
#include <cstdint>
#include <map>
#include <sstream>

namespace swarmwall::policy {
namespace {

constexpr size_t kMinRun = 64;  // shorter lists go through yaml-cpp's scanner

// One item of a fast-read list: where its scalar starts, and its text.
struct RunItem {
  int pos, line, column;
  std::string text;
};

// Consecutive lines "INDENT- SCALAR" of one block list, or one line's
// "[SCALAR, SCALAR, ...]" (flow).
struct Run {
  bool flow = false;
  int indent;  // block: the column of the '-'s; flow: of the '['
  std::vector<RunItem> items;
  bool used = false;
};

bool AddressChar(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || c == '.' ||
         c == ':' || c == '/';
}
bool HexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// A line's indent, or -1 when it is blank or only a comment.
int ContentIndent(std::string_view line) {
  size_t i = line.find_first_not_of(' ');
  if (i == std::string_view::npos || line[i] == '#') return -1;
  return static_cast<int>(i);
}

// LINE as "INDENT- SCALAR" with SCALAR of address characters (a hex digit
// first, no ':' last: never a key, tag, anchor, alias or indicator), only
// spaces after. Fills INDENT and ITEM's column and text.
bool ListItemLine(std::string_view line, int& indent, RunItem& item) {
  size_t i = line.find_first_not_of(' ');
  if (i == std::string_view::npos || line.size() < i + 3 || line[i] != '-' || line[i + 1] != ' ')
    return false;
  size_t a = line.find_first_not_of(' ', i + 1);
  if (a == std::string_view::npos || !HexDigit(line[a])) return false;
  size_t b = a;
  while (b < line.size() && AddressChar(line[b])) ++b;
  if (line[b - 1] == ':' || line.find_first_not_of(' ', b) != std::string_view::npos) return false;
  indent = static_cast<int>(i);
  item.column = static_cast<int>(a);
  item.text = std::string(line.substr(a, b - a));
  return true;
}

// LINE ending in "[SCALAR, SCALAR, ...]" (scalars as in ListItemLine),
// only spaces after: fills RUN's indent and items (but their line and pos).
bool FlowListLine(std::string_view line, Run& run) {
  size_t end = line.find_last_not_of(' ');
  if (end == std::string_view::npos || line[end] != ']') return false;
  size_t open = line.rfind('[', end);
  if (open == std::string_view::npos) return false;
  run.flow = true;
  run.indent = static_cast<int>(open);
  size_t at = open + 1;
  while (true) {
    at = line.find_first_not_of(' ', at);
    if (at == std::string_view::npos || !HexDigit(line[at])) return false;
    size_t b = at;
    while (b < end && AddressChar(line[b])) ++b;
    if (line[b - 1] == ':') return false;
    RunItem item;
    item.column = static_cast<int>(at);
    item.text = std::string(line.substr(at, b - at));
    run.items.push_back(std::move(item));
    size_t next = line.find_first_not_of(' ', b);
    if (next == end) return true;
    if (line[next] != ',') return false;
    at = next + 1;
  }
}

// Finds the long lists in TEXT and takes all but their first line out of it.
std::vector<Run> FindRuns(std::string& text, std::vector<std::pair<int, int>>& shifts) {
  std::vector<Run> runs;
  std::vector<std::string_view> lines;
  std::vector<int> starts;
  for (size_t at = 0; at <= text.size();) {
    size_t nl = text.find('\n', at);
    if (nl == std::string::npos) nl = text.size();
    lines.push_back(std::string_view(text).substr(at, nl - at));
    starts.push_back(static_cast<int>(at));
    at = nl + 1;
  }
  for (size_t l = 0; l < lines.size();) {
    Run run;
    int indent = 0;
    RunItem item;
    size_t end = l;
    while (end < lines.size() && ListItemLine(lines[end], indent, item) &&
           (run.items.empty() || indent == run.indent)) {
      run.indent = indent;
      item.line = static_cast<int>(end);
      item.pos = starts[end] + item.column;
      run.items.push_back(std::move(item));
      item = RunItem{};
      ++end;
    }
    if (end == l) {
      Run flow;
      if (lines[l].size() > kMinRun * 4 && FlowListLine(lines[l], flow) &&
          flow.items.size() >= kMinRun) {
        for (auto& it : flow.items) {
          it.line = static_cast<int>(l);
          it.pos = starts[l] + it.column;
        }
        runs.push_back(std::move(flow));
      }
      ++l;
      continue;
    }
    // What follows must end the list (no more-indented continuation).
    size_t next = end;
    while (next < lines.size() && ContentIndent(lines[next]) < 0) ++next;
    bool ends = next == lines.size() || ContentIndent(lines[next]) <= run.indent;
    if (run.items.size() >= kMinRun && ends) runs.push_back(std::move(run));
    l = end;
  }
  // Take those lines out (rebuilt after collecting, as the views above point
  // into TEXT); SHIFTS maps the lines yaml-cpp then reports back: from a
  // run's first line (as yaml-cpp numbers it) on, add its shift.
  if (runs.empty()) return runs;
  std::vector<bool> drop(lines.size(), false);
  std::vector<size_t> cut(lines.size(), std::string_view::npos);  // keep "...[FIRST" + "]"
  int removed = 0;
  for (const auto& run : runs) {
    if (run.flow) {
      const RunItem& first = run.items[0];
      cut[static_cast<size_t>(first.line)] = static_cast<size_t>(first.column) + first.text.size();
      continue;
    }
    for (size_t k = 1; k < run.items.size(); ++k) drop[static_cast<size_t>(run.items[k].line)] = true;
    int first = run.items[0].line - removed;
    removed += static_cast<int>(run.items.size()) - 1;
    shifts.emplace_back(first, removed);
  }
  std::string kept;
  kept.reserve(text.size());
  for (size_t l = 0; l < lines.size(); ++l) {
    if (drop[l]) continue;
    if (cut[l] != std::string_view::npos)
      (kept += lines[l].substr(0, cut[l])) += ']';
    else
      kept += lines[l];
    if (l + 1 < lines.size()) kept += '\n';
  }
  text = std::move(kept);
  return runs;
}

size_t Items(const std::vector<Run>& runs) {
  size_t n = 0;
  for (const auto& r : runs) n += r.items.size();
  return n;
}

// An alias that cannot be taken (ParsedYaml's error), thrown from inside
// yaml-cpp's parser to stop it there.
struct AliasProblem {
  YAML::Mark mark;
  std::string message;
};

// 3800000 -> "3,800,000".
std::string Thousands(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

class Builder : public YAML::EventHandler {
 public:
  Builder(YamlTree& tree, std::vector<Run>& runs, const std::vector<std::pair<int, int>>& shifts,
          const std::string& text)
      : tree_(tree), runs_(runs), shifts_(shifts), text_(text) {
    for (size_t i = 0; i < runs_.size(); ++i) run_at_line_[runs_[i].items[0].line] = i;
  }
  bool seen = false;
  YAML::Mark first;

  void OnDocumentStart(const YAML::Mark& m) override { Note(m); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t anchor) override {
    Note(m);
    Add(m, YAML::NodeType::Null, "", anchor);
  }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t anchor) override {
    Note(m);
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) {  // yaml-cpp reports unknown anchors; keep a map's pairs whole
      Add(m, YAML::NodeType::Null, "", YAML::NullAnchor);
      return;
    }
    // Counted here, before anything is expanded: each alias stands for the
    // nodes of what it names, aliases in there included.
    uint32_t target = it->second;
    if (std::find(stack_.begin(), stack_.end(), target) != stack_.end())
      throw AliasProblem{Original(m), "YAML: alias " + AliasName(m) +
                                          " is inside the node it names (a node cannot "
                                          "contain itself)"};
    alias_nodes_ += tree_.entries[target].expanded;
    if (alias_nodes_ > kMaxAliasNodes)
      throw AliasProblem{
          Original(m),
          "YAML: aliases stand for more than " + Thousands(kMaxAliasNodes) +
              " nodes beyond those written (alias " + AliasName(m) + " adds " +
              Thousands(tree_.entries[target].expanded) +
              "): put a long address list in a set and name the set where it is needed"};
    Attach(target);
  }
  void OnScalar(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    Note(m);
    if (Run* run = RunStartingAt(m, tag, anchor, value)) {
      run->used = true;
      for (auto& item : run->items) {
        uint32_t i = Add({}, YAML::NodeType::Scalar, tag, 0);
        auto& e = tree_.entries[i];
        e.mark.pos = item.pos;
        e.mark.line = item.line;
        e.mark.column = item.column;
        e.scalar = std::move(item.text);  // a run is put back once
      }
      return;
    }
    uint32_t i = Add(m, YAML::NodeType::Scalar, tag, anchor);
    tree_.entries[i].scalar = value;
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value style) override {
    Note(m);
    stack_.push_back(Add(m, YAML::NodeType::Sequence, tag, anchor));
    style_.push_back(style == YAML::EmitterStyle::Flow ? kFlowList : kBlockList);
  }
  void OnSequenceEnd() override { Pop(); }
  void OnMapStart(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Note(m);
    stack_.push_back(Add(m, YAML::NodeType::Map, tag, anchor));
    style_.push_back(kMap);
  }
  void OnMapEnd() override { Pop(); }

 private:
  void Note(const YAML::Mark& m) {
    if (!seen) first = m;
    seen = true;
  }
  void Pop() {
    if (stack_.empty()) return;
    auto& e = tree_.entries[stack_.back()];
    for (uint32_t c : e.children) e.expanded += tree_.entries[c].expanded;
    stack_.pop_back();
    style_.pop_back();
  }
  void Attach(uint32_t i) {
    if (!stack_.empty()) tree_.entries[stack_.back()].children.push_back(i);
  }
  uint32_t Add(const YAML::Mark& m, YAML::NodeType::value type, const std::string& tag,
               YAML::anchor_t anchor) {
    auto i = static_cast<uint32_t>(tree_.entries.size());
    auto& e = tree_.entries.emplace_back();
    e.type = type;
    e.mark = Original(m);
    e.tag = tag;
    if (anchor != YAML::NullAnchor) anchors_[anchor] = i;
    Attach(i);
    return i;
  }
  // The fast-read list whose first item this scalar is, if it is that item
  // exactly: a plain scalar with its text, where it starts, in a list of
  // the run's kind that starts where the run says.
  Run* RunStartingAt(const YAML::Mark& m, const std::string& tag, YAML::anchor_t anchor,
                     const std::string& value) {
    if (run_at_line_.empty() || stack_.empty() || style_.back() == kMap) return nullptr;
    auto it = run_at_line_.find(Original(m).line);
    if (it == run_at_line_.end()) return nullptr;
    Run& run = runs_[it->second];
    const RunItem& head = run.items[0];
    const auto& parent = tree_.entries[stack_.back()];
    if (run.used || m.column != head.column || tag != "?" ||
        anchor != YAML::NullAnchor || value != head.text ||
        parent.type != YAML::NodeType::Sequence || parent.mark.column != run.indent ||
        (run.flow ? style_.back() != kFlowList || parent.mark.line != head.line
                  : style_.back() != kBlockList))
      return nullptr;
    return &run;
  }

  // "*name" as written at M (the text yaml-cpp scans), for messages.
  std::string AliasName(const YAML::Mark& m) const {
    if (m.pos < 0 || static_cast<size_t>(m.pos) >= text_.size()) return "*?";
    size_t end = text_.find_first_of(" \t\r\n,]}", static_cast<size_t>(m.pos) + 1);
    std::string name = text_.substr(static_cast<size_t>(m.pos), end - static_cast<size_t>(m.pos));
    return name.size() > 64 ? name.substr(0, 64) + "..." : name;
  }

  // M in the text's own lines (yaml-cpp saw the text without the lists).
  YAML::Mark Original(YAML::Mark m) const {
    // The last list whose first line is above M's: its lines and those of
    // every list before it were taken out above M.
    auto it = std::lower_bound(shifts_.begin(), shifts_.end(), std::pair{m.line, INT32_MIN});
    if (it != shifts_.begin()) m.line += std::prev(it)->second;
    return m;
  }

  YamlTree& tree_;
  std::vector<Run>& runs_;
  const std::vector<std::pair<int, int>>& shifts_;
  std::map<int, size_t> run_at_line_;
  std::vector<uint32_t> stack_;
  enum Style { kMap, kBlockList, kFlowList };
  std::vector<Style> style_;  // of the nodes on STACK_
  std::map<YAML::anchor_t, uint32_t> anchors_;
  const std::string& text_;
  uint64_t alias_nodes_ = 0;  // what every alias so far stands for
};

// Where a document's first event is (the second document is not built).
struct DocumentStart : YAML::EventHandler {
  YAML::Mark mark;
  bool seen = false;
  void Note(const YAML::Mark& m) {
    if (!seen) mark = m;
    seen = true;
  }
  void OnDocumentStart(const YAML::Mark& m) override { Note(m); }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& m, YAML::anchor_t) override { Note(m); }
  void OnAlias(const YAML::Mark& m, YAML::anchor_t) override { Note(m); }
  void OnScalar(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Note(m);
  }
  void OnSequenceStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Note(m);
  }
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark& m, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Note(m);
  }
  void OnMapEnd() override {}
};

ParsedYaml Parse(const std::string& text, std::vector<Run>& runs,
                 const std::vector<std::pair<int, int>>& shifts) {
  ParsedYaml out;
  try {
    std::istringstream in(text);
    YAML::Parser parser(in);
    Builder builder(out.tree, runs, shifts, text);
    out.tree.entries.reserve(text.size() / 4 + Items(runs));
    if (!parser.HandleNextDocument(builder)) return out;
    // yaml-cpp 0.7 never gets past a stray ',' between documents (it would
    // loop forever): a document that starts where the previous one did.
    DocumentStart next;
    if (parser.HandleNextDocument(next)) {
      out.line = next.mark.line + 1;
      out.column = next.mark.column + 1;
      if (next.seen && builder.seen && next.mark.pos == builder.first.pos)
        out.error = std::string("YAML: unexpected '") +
                    (next.mark.pos < static_cast<int>(text.size())
                         ? text[static_cast<size_t>(next.mark.pos)]
                         : ' ') +
                    "'";
      else
        out.error = "a second YAML document: a policy is one document";
    }
  } catch (const AliasProblem& e) {
    out.error = e.message;
    out.line = e.mark.line + 1;
    out.column = e.mark.column + 1;
  } catch (const YAML::ParserException& e) {
    out.error = "YAML: " + e.msg;
    out.line = out.column = 0;
    if (e.mark.line >= 0 && e.mark.column >= 0) {
      out.line = e.mark.line + 1;
      out.column = e.mark.column + 1;
    }
  } catch (const YAML::Exception& e) {
    out.error = std::string("YAML: ") + e.what();
    out.line = out.column = 0;
  }
  return out;
}

}  // namespace

YAML::NodeType::value YamlNode::Type() const {
  return tree_ ? tree_->entries[index_].type : YAML::NodeType::Undefined;
}

YAML::Mark YamlNode::Mark() const {
  return tree_ ? tree_->entries[index_].mark : YAML::Mark::null_mark();
}

const std::string& YamlNode::Tag() const {
  static const std::string kNone;
  return tree_ ? tree_->entries[index_].tag : kNone;
}

const std::string& YamlNode::Scalar() const {
  static const std::string kNone;
  return IsScalar() ? tree_->entries[index_].scalar : kNone;
}

size_t YamlNode::size() const {
  if (!tree_) return 0;
  const auto& e = tree_->entries[index_];
  if (e.type == YAML::NodeType::Sequence) return e.children.size();
  if (e.type == YAML::NodeType::Map) return e.children.size() / 2;
  return 0;
}

YamlNode YamlNode::Child(size_t i) const { return {tree_, tree_->entries[index_].children[i]}; }
YamlNode YamlNode::Key(size_t i) const { return {tree_, tree_->entries[index_].children[2 * i]}; }
YamlNode YamlNode::Value(size_t i) const {
  return {tree_, tree_->entries[index_].children[2 * i + 1]};
}

ParsedYaml ParseYamlDocument(std::string_view yaml) {
  std::string text(yaml);
  std::vector<std::pair<int, int>> shifts;
  std::vector<Run> runs = FindRuns(text, shifts);
  if (!runs.empty()) {
    ParsedYaml fast = Parse(text, runs, shifts);
    bool all_used = std::all_of(runs.begin(), runs.end(), [](const Run& r) { return r.used; });
    if (!fast.error && all_used) {
      fast.fast_items = Items(runs);
      return fast;
    }
    text = std::string(yaml);
  }
  std::vector<Run> none;
  return Parse(text, none, {});
}

}  // namespace swarmwall::policy
