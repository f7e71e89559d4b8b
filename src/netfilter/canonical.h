// Puts a rule's match and target options in the form iptables-save prints,
// and makes the checks the extensions make (libxt_*.c): options in print
// order and given once, defaults filled in or dropped, combinations and
// chains refused. A module with checks of its own names its function in
// modules.cc (ModuleSpec::canonicalize); the steps every module shares are
// here. Used by the parser only.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "netfilter/modules.h"
#include "netfilter/parse_context.h"
#include "netfilter/ruleset.h"

namespace swarmwall::netfilter {

// The rule whose options are checked, and where it is.
struct CanonicalContext {
  ParseContext& parse;
  const Rule& rule;
  const Chain& chain;
  int line;
  int column;

  bool Fail(std::string message) const { return parse.Fail(line, column, std::move(message)); }
  Name Intern(std::string_view text) const { return parse.Intern(text); }
  Family family() const { return parse.family(); }
  // The built-in chain the rule is in; "" in a user chain.
  std::string_view Hook() const { return chain.builtin ? chain.name : std::string_view(); }
};

// OPTIONS: one module's (or the target's) options, in the order written;
// rewritten in place. False (with the error recorded) when iptables would
// refuse them.
bool CanonicalizeMatch(const ModuleSpec& module, std::vector<Part>& options,
                       CanonicalContext& context);
bool CanonicalizeTarget(const ModuleSpec& target, std::vector<Part>& options,
                        CanonicalContext& context);

// A stable sort by print order, for the few options of one module.
void SortByOptionOrder(std::vector<Part>& options);

// The modules' own functions (ModuleSpec::canonicalize), each the whole
// job for its module; most begin with CheckMatch or CheckTarget.
bool CheckMatch(const ModuleSpec&, std::vector<Part>&, CanonicalContext&);
bool CheckTarget(const ModuleSpec&, std::vector<Part>&, CanonicalContext&);
bool CanonicalTcpUdp(const ModuleSpec&, std::vector<Part>&, CanonicalContext&);
bool CanonicalMultiport(const ModuleSpec&, std::vector<Part>&, CanonicalContext&);
bool CanonicalAddrtype(const ModuleSpec&, std::vector<Part>&, CanonicalContext&);
bool CanonicalLimit(const ModuleSpec&, std::vector<Part>&, CanonicalContext&);
bool CanonicalHashlimit(const ModuleSpec&, std::vector<Part>&, CanonicalContext&);
bool CanonicalOwner(const ModuleSpec&, std::vector<Part>&, CanonicalContext&);
bool CanonicalPolicy(const ModuleSpec&, std::vector<Part>&, CanonicalContext&);
bool CanonicalRecent(const ModuleSpec&, std::vector<Part>&, CanonicalContext&);
bool CanonicalTtlHl(const ModuleSpec&, std::vector<Part>&, CanonicalContext&);
bool CanonicalReject(const ModuleSpec&, std::vector<Part>&, CanonicalContext&);
bool CanonicalLog(const ModuleSpec&, std::vector<Part>&, CanonicalContext&);
bool CanonicalNflog(const ModuleSpec&, std::vector<Part>&, CanonicalContext&);
bool CanonicalConnmark(const ModuleSpec&, std::vector<Part>&, CanonicalContext&);
bool CanonicalCt(const ModuleSpec&, std::vector<Part>&, CanonicalContext&);

}  // namespace swarmwall::netfilter
