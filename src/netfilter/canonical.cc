#include "netfilter/canonical.h"

#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include "netfilter/codecs.h"

namespace swarmwall::netfilter {

namespace {

// A built-in chain's HookBits value (0 for any other name).
uint8_t HookBit(std::string_view chain) {
  if (chain == "PREROUTING") return kHookPrerouting;
  if (chain == "INPUT") return kHookInput;
  if (chain == "FORWARD") return kHookForward;
  if (chain == "OUTPUT") return kHookOutput;
  if (chain == "POSTROUTING") return kHookPostrouting;
  return 0;
}

std::string_view OptionName(const Part& p) { return OptionById(p.id).name; }

// Sorted in print order, each option once: the first repeated one fails.
bool CheckOnce(const ModuleSpec& spec, std::vector<Part>& opts, CanonicalContext& ctx) {
  SortByOptionOrder(opts);
  for (size_t j = 1; j < opts.size(); ++j)
    if (opts[j].id == opts[j - 1].id)
      return ctx.Fail(fmt::format("{}: option --{} given twice", spec.name, OptionName(opts[j])));
  return true;
}

}  // namespace

void SortByOptionOrder(std::vector<Part>& v) {
  if (v.size() < 2) return;
  if (v.size() > 16) {
    std::stable_sort(v.begin(), v.end(), [](const Part& a, const Part& b) {
      return OptionOrder(a.id) < OptionOrder(b.id);
    });
    return;
  }
  for (size_t i = 1; i < v.size(); ++i) {
    Part p = v[i];
    int key = OptionOrder(p.id);
    size_t j = i;
    while (j > 0 && OptionOrder(v[j - 1].id) > key) {
      v[j] = v[j - 1];
      --j;
    }
    v[j] = p;
  }
}

bool CanonicalizeMatch(const ModuleSpec& module, std::vector<Part>& options,
                       CanonicalContext& context) {
  return module.canonicalize ? module.canonicalize(module, options, context)
                             : CheckMatch(module, options, context);
}

bool CanonicalizeTarget(const ModuleSpec& target, std::vector<Part>& options,
                        CanonicalContext& context) {
  return target.canonicalize ? target.canonicalize(target, options, context)
                             : CheckTarget(target, options, context);
}

// ---- the steps every module shares ------------------------------------------

bool CheckMatch(const ModuleSpec& spec, std::vector<Part>& opts, CanonicalContext& ctx) {
  if (!CheckOnce(spec, opts, ctx)) return false;
  if (spec.needs_option && opts.empty())
    return ctx.Fail(fmt::format("match '{}' needs an option", spec.name));
  if (!spec.protocol.empty()) {
    uint16_t need = ModuleProtocol(spec);
    if (ctx.rule.protocol != need || ctx.rule.protocol_negated)
      return ctx.Fail(fmt::format("match '{}' needs '-p {}'", spec.name, spec.protocol));
  }
  return true;
}

bool CheckTarget(const ModuleSpec& spec, std::vector<Part>& target, CanonicalContext& ctx) {
  if (!CheckOnce(spec, target, ctx)) return false;
  if (spec.needs_option && target.empty())
    return ctx.Fail(fmt::format("target '{}' needs an option", spec.name));
  // Where the kernel allows the target (table and built-in chains).
  if (!spec.table.empty()) {
    std::string_view table = ctx.parse.table ? ctx.parse.table->name : std::string_view();
    if (table != spec.table)
      return ctx.Fail(fmt::format("target {} is only valid in the {} table", spec.name,
                                  spec.table));
    std::string_view c = ctx.Hook();
    if (!c.empty() && !(HookBit(c) & spec.hooks))
      return ctx.Fail(fmt::format("target {} is not valid in chain {}", spec.name, c));
  }
  return true;
}

// ---- matches ------------------------------------------------------------------

// A full port range matches everything and is not printed.
bool CanonicalTcpUdp(const ModuleSpec& spec, std::vector<Part>& opts, CanonicalContext& ctx) {
  if (!CheckMatch(spec, opts, ctx)) return false;
  std::erase_if(opts, [](const Part& p) {
    return !p.negated && p.value.kind == Value::Kind::kPorts && p.value.lo == 0 &&
           p.value.hi == 65535;
  });
  return true;
}

bool CanonicalMultiport(const ModuleSpec& spec, std::vector<Part>& opts, CanonicalContext& ctx) {
  if (!CheckMatch(spec, opts, ctx)) return false;
  if (opts.size() > 1) return ctx.Fail("multiport: only one of --sports, --dports, --ports");
  uint16_t p = ctx.rule.protocol;
  if (p != 6 && p != 17 && p != 132 && p != 136 && p != 33)
    return ctx.Fail("multiport needs -p tcp, udp, udplite, sctp or dccp");
  return true;
}

bool CanonicalAddrtype(const ModuleSpec& spec, std::vector<Part>& opts, CanonicalContext& ctx) {
  if (!CheckMatch(spec, opts, ctx)) return false;
  bool src = false, dst = false, in = false, out = false;
  for (const auto& p : opts) {
    std::string_view o = OptionName(p);
    src |= o == "src-type";
    dst |= o == "dst-type";
    in |= o == "limit-iface-in";
    out |= o == "limit-iface-out";
  }
  if (!src && !dst) return ctx.Fail("addrtype: you must specify --src-type or --dst-type");
  if (in && out)
    return ctx.Fail("addrtype: --limit-iface-in and --limit-iface-out exclude each other");
  std::string_view c = ctx.Hook();
  if (out && (c == "INPUT" || c == "PREROUTING"))
    return ctx.Fail(fmt::format("addrtype: --limit-iface-out is not valid in {}", c));
  if (in && (c == "OUTPUT" || c == "POSTROUTING"))
    return ctx.Fail(fmt::format("addrtype: --limit-iface-in is not valid in {}", c));
  return true;
}

// No --limit: libxt_limit's 3/hour; a burst of 5 is the default and not printed.
bool CanonicalLimit(const ModuleSpec& spec, std::vector<Part>& opts, CanonicalContext& ctx) {
  if (!CheckMatch(spec, opts, ctx)) return false;
  bool has_rate = false;
  for (const auto& p : opts) has_rate |= OptionName(p) == "limit";
  if (!has_rate) {
    Part p;
    p.id = FindOptionId("limit", "limit");
    p.value.kind = Value::Kind::kNumber;
    p.value.lo = 10000ull * 60 * 60 / 3;
    p.text = ctx.Intern("3/hour");
    opts.insert(opts.begin(), p);
  }
  std::erase_if(opts, [](const Part& p) {
    return OptionName(p) == "limit-burst" && p.value.lo == 5;
  });
  return true;
}

bool CanonicalHashlimit(const ModuleSpec& spec, std::vector<Part>& opts, CanonicalContext& ctx) {
  if (!CheckMatch(spec, opts, ctx)) return false;
  std::string error;
  if (!CanonicalizeHashlimit(opts, ctx.family(), ctx.parse.ruleset, error))
    return ctx.Fail("hashlimit: " + error);
  return true;
}

bool CanonicalOwner(const ModuleSpec& spec, std::vector<Part>& opts, CanonicalContext& ctx) {
  // --suppl-groups needs a --gid-owner before it (as written)
  bool gid = false;
  for (const auto& p : opts) {
    std::string_view o = OptionName(p);
    gid |= o == "gid-owner";
    if (o == "suppl-groups" && !gid)
      return ctx.Fail("owner: --suppl-groups needs --gid-owner before it");
  }
  if (!CheckMatch(spec, opts, ctx)) return false;
  std::string_view c = ctx.Hook();
  if (c == "INPUT" || c == "FORWARD" || c == "PREROUTING")
    return ctx.Fail(fmt::format("owner: only valid in OUTPUT and POSTROUTING, not {}", c));
  return true;
}

// The policy match: --dir, --pol, --strict, then policy elements separated
// by --next, each printed in libxt_policy's order and checked as it does.
// (Not CheckMatch: the options repeat, once per element.)
bool CanonicalPolicy(const ModuleSpec&, std::vector<Part>& opts, CanonicalContext& ctx) {
  auto order = [](const Part& a, const Part& b) {
    return OptionOrder(a.id) < OptionOrder(b.id);
  };
  std::vector<Part> flags;
  std::vector<std::vector<Part>> elems(1);
  std::optional<Part> next;
  for (const auto& p : opts) {
    std::string_view o = OptionName(p);
    if (o == "dir" || o == "pol" || o == "strict") {
      flags.push_back(p);
    } else if (o == "next") {
      if (!next) next = p;
      elems.emplace_back();
    } else {
      elems.back().push_back(p);
    }
  }
  std::stable_sort(flags.begin(), flags.end(), order);
  bool dir = false, dir_in = false, none = false, strict = false, pol = false;
  for (size_t j = 0; j < flags.size(); ++j) {
    if (j && flags[j].id == flags[j - 1].id)
      return ctx.Fail(fmt::format("policy: option --{} given twice", OptionName(flags[j])));
    std::string_view o = OptionName(flags[j]);
    if (o == "dir") {
      dir = true;
      dir_in = flags[j].value.lo == 0;
    }
    if (o == "pol") {
      pol = true;
      none = flags[j].value.lo == 0;
    }
    strict |= o == "strict";
  }
  if (!dir) return ctx.Fail("policy: neither --dir in nor --dir out specified");
  if (!pol) {
    Part p;
    p.id = FindOptionId("policy", "pol");
    p.value.kind = Value::Kind::kNumber;
    p.value.lo = 1;
    p.text = ctx.Intern("ipsec");
    flags.insert(flags.begin() + 1, p);
  }
  if (elems.size() > 1 && !strict) return ctx.Fail("policy: --next needs --strict");
  if (elems.size() > 4) return ctx.Fail("policy: maximum policy depth reached");
  if (none) {
    if (strict) return ctx.Fail("policy: policy none but --strict given");
    if (elems.size() > 1 || !elems[0].empty())
      return ctx.Fail("policy: policy none but policy given");
  }
  std::string_view c = ctx.Hook();
  if (!dir_in && (c == "PREROUTING" || c == "INPUT"))
    return ctx.Fail(fmt::format("policy: --dir out is not valid in {}", c));
  if (dir_in && (c == "POSTROUTING" || c == "OUTPUT"))
    return ctx.Fail(fmt::format("policy: --dir in is not valid in {}", c));
  for (size_t e = 0; e < elems.size(); ++e) {
    auto& elem = elems[e];
    std::stable_sort(elem.begin(), elem.end(), order);
    bool addr = false, mode = false, tunnel = false, mode_neg = false;
    for (size_t j = 0; j < elem.size(); ++j) {
      if (j && elem[j].id == elem[j - 1].id)
        return ctx.Fail(fmt::format("policy: double --{} option", OptionName(elem[j])));
      std::string_view o = OptionName(elem[j]);
      addr |= o == "tunnel-src" || o == "tunnel-dst";
      if (o == "mode") {
        mode = true;
        tunnel = elem[j].value.lo == 1;
        mode_neg = elem[j].negated;
      }
    }
    if (strict && elem.empty())
      return ctx.Fail(fmt::format(
          "policy: empty policy element {}: --strict needs at least one of "
          "--reqid, --spi, --tunnel-src, --tunnel-dst, --proto or --mode", e));
    if (addr && (!mode || tunnel == mode_neg))
      return ctx.Fail("policy: --tunnel-src/--tunnel-dst is only valid in tunnel mode");
  }
  opts = std::move(flags);
  for (size_t e = 0; e < elems.size(); ++e) {
    if (e) opts.push_back(*next);
    opts.insert(opts.end(), elems[e].begin(), elems[e].end());
  }
  return true;
}

// One command; libxt_recent's defaults (--name DEFAULT, a full --mask,
// --rsource) filled in, a --hitcount of 0 dropped.
bool CanonicalRecent(const ModuleSpec& spec, std::vector<Part>& opts, CanonicalContext& ctx) {
  if (!CheckMatch(spec, opts, ctx)) return false;
  int commands = 0;
  bool name = false, mask = false, dir = false;
  for (const auto& p : opts) {
    std::string_view o = OptionName(p);
    commands += o == "set" || o == "rcheck" || o == "update" || o == "remove";
    name |= o == "name";
    mask |= o == "mask";
    dir |= o == "rsource" || o == "rdest";
  }
  if (commands != 1)
    return ctx.Fail("recent: exactly one of --set, --rcheck, --update, --remove");
  bool set_or_remove = false, rttl = false, reap = false, seconds = false;
  for (const auto& p : opts) {
    std::string_view o = OptionName(p);
    set_or_remove |= o == "set" || o == "remove";
    rttl |= o == "rttl";
    reap |= o == "reap";
    seconds |= o == "seconds";
    if (o == "seconds" && p.value.lo == 0)
      return ctx.Fail("recent: --seconds must be at least 1");
    if (o == "hitcount" && p.value.lo > 65535)
      return ctx.Fail("recent: --hitcount is at most 65535");
  }
  if (rttl && set_or_remove)
    return ctx.Fail("recent: --rttl only goes with --rcheck or --update");
  if (reap && !seconds) return ctx.Fail("recent: --reap needs --seconds");
  std::erase_if(opts, [](const Part& p) {
    return OptionName(p) == "hitcount" && p.value.lo == 0;
  });
  auto add = [&](std::string_view opt, std::string_view text) {
    Part p;
    p.id = FindOptionId("recent", opt);
    p.value.kind = Value::Kind::kText;
    p.text = ctx.Intern(text);
    opts.push_back(p);
  };
  if (!name) add("name", "DEFAULT");
  if (!mask)
    add("mask", ctx.family() == Family::kIPv4 ? "255.255.255.255"
                                              : "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
  if (!dir) add("rsource", "");
  SortByOptionOrder(opts);
  return true;
}

bool CanonicalTtlHl(const ModuleSpec& spec, std::vector<Part>& opts, CanonicalContext& ctx) {
  if (!CheckMatch(spec, opts, ctx)) return false;
  std::string_view n = spec.name;
  if (opts.size() > 1)
    return ctx.Fail(fmt::format("{}: only one of --{}-eq, --{}-lt, --{}-gt", n, n, n, n));
  return true;
}

// ---- targets -------------------------------------------------------------------

// tcp-reset only with -p tcp; no --reject-with: the port-unreachable default.
bool CanonicalReject(const ModuleSpec& spec, std::vector<Part>& target, CanonicalContext& ctx) {
  if (!CheckTarget(spec, target, ctx)) return false;
  for (const auto& p : target)
    if (p.text == "tcp-reset" && (ctx.rule.protocol != 6 || ctx.rule.protocol_negated))
      return ctx.Fail("REJECT --reject-with tcp-reset needs -p tcp");
  if (target.empty()) {
    bool v4 = ctx.family() == Family::kIPv4;
    Part p;
    p.kind = Part::Kind::kTargetOption;
    p.id = OptionId(spec, 0);
    p.value.kind = Value::Kind::kNumber;
    p.value.lo = v4 ? 3 : 4;
    p.text = ctx.Intern(v4 ? "icmp-port-unreachable" : "icmp6-port-unreachable");
    target.push_back(p);
  }
  return true;
}

// Level 4 (warning) is the default and not printed; a level prints as its number.
bool CanonicalLog(const ModuleSpec& spec, std::vector<Part>& target, CanonicalContext& ctx) {
  if (!CheckTarget(spec, target, ctx)) return false;
  std::erase_if(target, [](const Part& p) {
    return OptionName(p) == "log-level" && p.value.lo == 4;
  });
  for (auto& p : target)
    if (OptionName(p) == "log-level") p.text = ctx.Intern(std::to_string(p.value.lo));
  return true;
}

// Group 0 is the default and not printed.
bool CanonicalNflog(const ModuleSpec& spec, std::vector<Part>& target, CanonicalContext& ctx) {
  if (!CheckTarget(spec, target, ctx)) return false;
  std::erase_if(target, [](const Part& p) {
    return OptionName(p) == "nflog-group" && p.value.lo == 0;
  });
  return true;
}

// --save-mark / --restore-mark print both masks (--mask sets both).
bool CanonicalConnmark(const ModuleSpec& spec, std::vector<Part>& target, CanonicalContext& ctx) {
  if (!CheckTarget(spec, target, ctx)) return false;
  bool save = false, restore = false, nf = false, ct = false;
  for (const auto& p : target) {
    std::string_view o = OptionName(p);
    save |= o == "save-mark";
    restore |= o == "restore-mark";
    nf |= o == "nfmask";
    ct |= o == "ctmask";
  }
  std::string mask_text;
  for (auto it = target.begin(); it != target.end(); ++it)
    if (OptionName(*it) == "mask") {
      mask_text = std::string(it->text);
      target.erase(it);
      break;
    }
  if (save || restore) {
    auto add = [&](std::string_view opt) {
      Part p;
      p.kind = Part::Kind::kTargetOption;
      p.id = FindOptionId("CONNMARK", opt);
      p.value.kind = Value::Kind::kMark;
      p.value.lo = 0xffffffffu;
      p.text = ctx.Intern(mask_text.empty() ? std::string_view("0xffffffff") : mask_text);
      target.push_back(p);
    };
    if (!nf) add("nfmask");
    if (!ct) add("ctmask");
    SortByOptionOrder(target);
  }
  return true;
}

// Zone 0 is the default and not printed.
bool CanonicalCt(const ModuleSpec& spec, std::vector<Part>& target, CanonicalContext& ctx) {
  if (!CheckTarget(spec, target, ctx)) return false;
  std::erase_if(target, [](const Part& p) {
    return OptionById(p.id).codec == Codec::kZone && p.value.lo == 0 && p.value.hi == 0;
  });
  return true;
}

}  // namespace swarmwall::netfilter
