// Reads one rule (what follows "-A CHAIN") into a Rule: the base match,
// each module and its options decoded by their codecs, the target and its
// options; then groups the options under their modules in iptables-save's
// order and form (canonical.h). One per parse: its vectors are reused
// from rule to rule. Used by the parser only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "netfilter/modules.h"
#include "netfilter/parse_context.h"
#include "netfilter/rule_options.h"
#include "netfilter/ruleset.h"
#include "netfilter/tokenizer.h"

namespace swarmwall::netfilter {

class RuleReader {
 public:
  explicit RuleReader(ParseContext& context) : ctx_(context) {}

  // TOKS from FIRST as a rule of CHAIN, in the context's open table. TOKS
  // may be edited (getopt's attached values are split off). False with the
  // error recorded in the context.
  bool Read(Tokens& toks, size_t first, int line, const Chain& chain);

  // After Read: the rule, without its addresses (-s a,b -d c,d: one rule
  // per pair; none given: any).
  Rule& rule() { return rule_; }
  const std::vector<Cidr>& sources() const { return sources_; }
  const std::vector<Cidr>& destinations() const { return destinations_; }

 private:
  // One token's option, each returning false on an error.
  bool ReadAddresses(const Token& opt, std::string_view v, std::vector<Cidr>& into, bool neg);
  bool ReadInterface(size_t& i, const Token& t);
  bool ReadProtocol(size_t& i, const Token& t);
  bool ReadCounters(size_t& i, const Token& t);
  bool ReadMatch(size_t& i, const Token& t);
  bool ReadTarget(size_t& i, const Token& t);
  bool ReadModuleOption(size_t& i, const Token& t, const OptionSpec* spec,
                        const ModuleSpec* owner, bool for_target, int group);
  // The module option "--NAME" by its full name: the target's, the latest
  // loaded module's that knows it, or the protocol's implicit module's
  // (which it loads).
  const OptionSpec* FindOption(std::string_view name, const ModuleSpec*& owner,
                               bool& for_target, int& group);
  bool Finish(int column);

  // Helpers of the token loop.
  bool TakeNegation() {
    bool n = negate_;
    negate_ = false;
    return n;
  }
  bool ValueAt(size_t& i, const Token& opt, std::string_view& out);
  std::string_view CollectOpaque(size_t& i);
  void LoadModule(const ModuleSpec* spec, std::string_view name);
  void AddPart(Part::Kind kind, std::string_view text, int group);
  bool Unreadable(int column, const std::string& text, const std::string& why);

  ParseContext& ctx_;
  // The rule being read.
  Tokens* toks_ = nullptr;
  int line_ = 0;
  const Chain* chain_ = nullptr;
  bool negate_ = false;
  int negate_col_ = 0;
  bool target_seen_ = false;
  bool protocol_seen_ = false;
  const ModuleSpec* target_spec_ = nullptr;

  // Scratch, reused from rule to rule.
  Rule rule_;
  std::string canon_, opaque_;
  std::vector<Cidr> sources_, destinations_;
  std::vector<Part> parts_;          // in the order written
  std::vector<int> group_of_;        // per part: index into loaded_, -1 for the target
  std::vector<LoadedModule> loaded_;
  std::vector<Part> final_, opts_, target_;
};

}  // namespace swarmwall::netfilter
