#include "netfilter/modules.h"

#include <netdb.h>

#include <algorithm>
#include <array>
#include <charconv>
#include <mutex>
#include <optional>
#include <vector>

#include "netfilter/arena.h"
#include "netfilter/canonical.h"

namespace swarmwall::netfilter {
namespace {

// ---- name tables -----------------------------------------------------------

constexpr NameBit kCtStates[] = {
    {"INVALID", 1 << 0, true},   {"NEW", 1 << 1, true},
    {"RELATED", 1 << 2, true},   {"ESTABLISHED", 1 << 3, true},
    {"UNTRACKED", 1 << 4, true}, {"SNAT", 1 << 5, true},
    {"DNAT", 1 << 6, true},
};
constexpr NameBit kStates[] = {
    {"INVALID", 1 << 0, true},     {"NEW", 1 << 1, true},
    {"RELATED", 1 << 2, true},     {"ESTABLISHED", 1 << 3, true},
    {"UNTRACKED", 1 << 4, true},
};
constexpr NameBit kCtStatus[] = {
    {"NONE", 1 << 0, true},       {"EXPECTED", 1 << 1, true},
    {"SEEN_REPLY", 1 << 2, true}, {"ASSURED", 1 << 3, true},
    {"CONFIRMED", 1 << 4, true},
};
constexpr NameBit kCtDir[] = {{"ORIGINAL", 0, true}, {"REPLY", 1, true}};
constexpr NameBit kAddrTypes[] = {
    {"UNSPEC", 1 << 0, true},     {"UNICAST", 1 << 1, true},
    {"LOCAL", 1 << 2, true},      {"BROADCAST", 1 << 3, true},
    {"ANYCAST", 1 << 4, true},    {"MULTICAST", 1 << 5, true},
    {"BLACKHOLE", 1 << 6, true},  {"UNREACHABLE", 1 << 7, true},
    {"PROHIBIT", 1 << 8, true},   {"THROW", 1 << 9, true},
    {"NAT", 1 << 10, true},       {"XRESOLVE", 1 << 11, true},
};
constexpr NameBit kPktTypes[] = {
    {"unicast", 0, true}, {"host", 0, false}, {"broadcast", 1, true},
    {"multicast", 2, true}, {"otherhost", 3, true},
};
constexpr NameBit kPolicyDir[] = {{"in", 0, true}, {"out", 1, true}};
constexpr NameBit kPolicyPol[] = {{"none", 0, true}, {"ipsec", 1, true}};
constexpr NameBit kPolicyMode[] = {{"transport", 0, true}, {"tunnel", 1, true}};
constexpr NameBit kPolicyProto[] = {
    {"esp", 50, true}, {"ah", 51, true}, {"ipcomp", 108, true}};
constexpr NameBit kReject4[] = {
    {"icmp-net-unreachable", 0, true},   {"net-unreach", 0, false},
    {"icmp-host-unreachable", 1, true},  {"host-unreach", 1, false},
    {"icmp-proto-unreachable", 2, true}, {"proto-unreach", 2, false},
    {"icmp-port-unreachable", 3, true},  {"port-unreach", 3, false},
    {"icmp-net-prohibited", 6, true},    {"net-prohib", 6, false},
    {"icmp-host-prohibited", 7, true},   {"host-prohib", 7, false},
    {"tcp-reset", 8, true},              {"tcp-rst", 8, false},
    {"icmp-admin-prohibited", 9, true},  {"admin-prohib", 9, false},
};
constexpr NameBit kReject6[] = {
    {"icmp6-no-route", 0, true},        {"no-route", 0, false},
    {"icmp6-adm-prohibited", 1, true},  {"adm-prohibited", 1, false},
    {"icmp6-addr-unreachable", 3, true}, {"addr-unreach", 3, false},
    {"icmp6-port-unreachable", 4, true}, {"port-unreach", 4, false},
    {"tcp-reset", 6, true},             {"tcp-rst", 6, false},
    {"icmp6-policy-fail", 7, true},     {"policy-fail", 7, false},
    {"icmp6-reject-route", 8, true},    {"reject-route", 8, false},
};
constexpr NameBit kCtEvents[] = {
    {"new", 1 << 0, true},       {"related", 1 << 1, true},
    {"destroy", 1 << 2, true},   {"reply", 1 << 3, true},
    {"assured", 1 << 4, true},   {"protoinfo", 1 << 5, true},
    {"helper", 1 << 6, true},    {"mark", 1 << 7, true},
    {"natseqinfo", 1 << 8, true}, {"secmark", 1 << 9, true},
};
constexpr NameBit kExpEvents[] = {{"new", 1 << 0, true}};
constexpr NameBit kLogLevels[] = {
    {"emerg", 0, false}, {"panic", 0, false},  {"alert", 1, false},
    {"crit", 2, false},  {"err", 3, false},    {"error", 3, false},
    {"warning", 4, false}, {"warn", 4, false}, {"notice", 5, false},
    {"info", 6, false},  {"debug", 7, false},
};

// ---- option tables (print order = iptables-save order) ---------------------

constexpr OptionSpec kTcp[] = {
    {"sport", "source-port", Codec::kPort, true},
    {"dport", "destination-port", Codec::kPort, true},
    {"tcp-option", "", Codec::kNumber, true, {}, 255},
    {"tcp-flags", "", Codec::kTcpFlags, true},
    {"syn", "", Codec::kFlag, true, {}, 0, "tcp-flags"},
};
constexpr OptionSpec kUdp[] = {
    {"sport", "source-port", Codec::kPort, true},
    {"dport", "destination-port", Codec::kPort, true},
};
constexpr OptionSpec kIcmp[] = {
    {"icmp-type", "", Codec::kIcmpType, true},
};
constexpr OptionSpec kIcmp6[] = {
    {"icmpv6-type", "", Codec::kIcmp6Type, true},
};
constexpr OptionSpec kMultiport[] = {
    {"sports", "source-ports", Codec::kPortList, true},
    {"dports", "destination-ports", Codec::kPortList, true},
    {"ports", "", Codec::kPortList, true},
};
constexpr OptionSpec kConntrack[] = {
    {"ctstate", "", Codec::kBits, true, kCtStates},
    {"ctproto", "", Codec::kProtocol, true},
    {"ctorigsrc", "", Codec::kCidr, true},
    {"ctorigdst", "", Codec::kCidr, true},
    {"ctreplsrc", "", Codec::kCidr, true},
    {"ctrepldst", "", Codec::kCidr, true},
    {"ctorigsrcport", "", Codec::kPort, true},
    {"ctorigdstport", "", Codec::kPort, true},
    {"ctreplsrcport", "", Codec::kPort, true},
    {"ctrepldstport", "", Codec::kPort, true},
    {"ctstatus", "", Codec::kBits, true, kCtStatus},
    {"ctexpire", "", Codec::kRange, true, {}, 0xffffffffu},
    {"ctdir", "", Codec::kEnum, false, kCtDir},
};
constexpr OptionSpec kState[] = {
    {"state", "", Codec::kBits, true, kStates},
};
constexpr OptionSpec kSet[] = {
    {"match-set", "set", Codec::kSetMatch, true},
    {"return-nomatch", "", Codec::kFlag},
    {"update-counters", "", Codec::kFlag, true},
    {"update-subcounters", "", Codec::kFlag, true},
    {"packets-eq", "", Codec::kNumber, true, {}, ~0ull},
    {"packets-lt", "", Codec::kNumber, false, {}, ~0ull},
    {"packets-gt", "", Codec::kNumber, false, {}, ~0ull},
    {"bytes-eq", "", Codec::kNumber, true, {}, ~0ull},
    {"bytes-lt", "", Codec::kNumber, false, {}, ~0ull},
    {"bytes-gt", "", Codec::kNumber, false, {}, ~0ull},
};
constexpr OptionSpec kAddrtype[] = {
    {"src-type", "", Codec::kBits, true, kAddrTypes},
    {"dst-type", "", Codec::kBits, true, kAddrTypes},
    {"limit-iface-in", "", Codec::kFlag},
    {"limit-iface-out", "", Codec::kFlag},
};
constexpr OptionSpec kIprange[] = {
    {"src-range", "", Codec::kAddrRange, true},
    {"dst-range", "", Codec::kAddrRange, true},
};
constexpr OptionSpec kMark[] = {
    {"mark", "", Codec::kMark, true},
};
constexpr OptionSpec kComment[] = {
    {"comment", "", Codec::kText, false, {}, 255},
};
constexpr OptionSpec kLimit[] = {
    {"limit", "", Codec::kRate},
    {"limit-burst", "", Codec::kNumber, false, {}, 10000},
};
constexpr OptionSpec kPhysdev[] = {
    {"physdev-is-in", "", Codec::kFlag, true},
    {"physdev-in", "", Codec::kInterface, true},
    {"physdev-is-out", "", Codec::kFlag, true},
    {"physdev-out", "", Codec::kInterface, true},
    {"physdev-is-bridged", "", Codec::kFlag, true},
};
constexpr OptionSpec kMac[] = {
    {"mac-source", "", Codec::kMac, true},
};
constexpr OptionSpec kOwner[] = {
    {"socket-exists", "", Codec::kFlag, true},
    {"uid-owner", "", Codec::kUser, true},
    {"gid-owner", "", Codec::kGroup, true},
    {"suppl-groups", "", Codec::kFlag},
};
constexpr OptionSpec kPolicy[] = {
    {"dir", "", Codec::kEnum, false, kPolicyDir},
    {"pol", "", Codec::kEnum, false, kPolicyPol},
    {"strict", "", Codec::kFlag},
    {"reqid", "", Codec::kNumber, true, {}, 0xffffffffu},
    {"spi", "", Codec::kHexNumber, true, {}, 0xffffffffu},
    {"proto", "", Codec::kEnum, true, kPolicyProto, 255},
    {"mode", "", Codec::kEnum, true, kPolicyMode},
    {"tunnel-dst", "", Codec::kCidr, true},
    {"tunnel-src", "", Codec::kCidr, true},
    {"next", "", Codec::kFlag},
};
constexpr OptionSpec kRecent[] = {
    {"set", "", Codec::kFlag, true},
    {"rcheck", "", Codec::kFlag, true},
    {"update", "", Codec::kFlag, true},
    {"remove", "", Codec::kFlag, true},
    {"seconds", "", Codec::kNumber, false, {}, 0xffffffffu},
    {"reap", "", Codec::kFlag},
    {"hitcount", "", Codec::kNumber, false, {}, 0xffffffffu},
    {"rttl", "", Codec::kFlag},
    {"name", "", Codec::kWord},
    {"mask", "", Codec::kAddress},
    {"rsource", "", Codec::kFlag},
    {"rdest", "", Codec::kFlag},
};
constexpr OptionSpec kPkttype[] = {
    {"pkt-type", "", Codec::kEnum, true, kPktTypes},
};
constexpr OptionSpec kLength[] = {
    {"length", "", Codec::kRange, true, {}, 65535},
};
constexpr OptionSpec kTcpmss[] = {
    {"mss", "", Codec::kRange, true, {}, 65535},
};
constexpr OptionSpec kTtl[] = {
    {"ttl-eq", "", Codec::kNumber, true, {}, 255},
    {"ttl-lt", "", Codec::kNumber, false, {}, 255},
    {"ttl-gt", "", Codec::kNumber, false, {}, 255},
};
constexpr OptionSpec kHl[] = {
    {"hl-eq", "", Codec::kNumber, true, {}, 255},
    {"hl-lt", "", Codec::kNumber, false, {}, 255},
    {"hl-gt", "", Codec::kNumber, false, {}, 255},
};
constexpr OptionSpec kHashlimit[] = {
    {"hashlimit-upto", "hashlimit", Codec::kHashRate, true},
    {"hashlimit-above", "", Codec::kHashRate, true},
    {"hashlimit-burst", "", Codec::kHashBurst},
    {"hashlimit-mode", "", Codec::kWord},
    {"hashlimit-name", "", Codec::kWord},
    {"hashlimit-htable-size", "", Codec::kNumber, false, {}, 0xffffffffu},
    {"hashlimit-htable-max", "", Codec::kNumber, false, {}, 0xffffffffu},
    {"hashlimit-htable-gcinterval", "", Codec::kNumber, false, {}, 0xffffffffu},
    {"hashlimit-htable-expire", "", Codec::kNumber, false, {}, 0xffffffffu},
    {"hashlimit-srcmask", "", Codec::kNumber, false, {}, 128},
    {"hashlimit-dstmask", "", Codec::kNumber, false, {}, 128},
    {"hashlimit-rate-match", "", Codec::kFlag},
    {"hashlimit-rate-interval", "", Codec::kNumber, false, {}, 0xffffffffu},
};

// Targets.
constexpr OptionSpec kReject4Opts[] = {
    {"reject-with", "", Codec::kEnum, false, kReject4},
};
constexpr OptionSpec kReject6Opts[] = {
    {"reject-with", "", Codec::kEnum, false, kReject6},
};
constexpr OptionSpec kDnat[] = {
    {"to-destination", "", Codec::kNatRange},
    {"random", "", Codec::kFlag},
    {"persistent", "", Codec::kFlag},
};
constexpr OptionSpec kSnat[] = {
    {"to-source", "", Codec::kNatRange},
    {"random", "", Codec::kFlag},
    {"random-fully", "", Codec::kFlag},
    {"persistent", "", Codec::kFlag},
};
constexpr OptionSpec kMasquerade[] = {
    {"to-ports", "", Codec::kToPorts},
    {"random", "", Codec::kFlag},
    {"random-fully", "", Codec::kFlag},
};
constexpr OptionSpec kRedirect[] = {
    {"to-ports", "", Codec::kToPorts},
    {"random", "", Codec::kFlag},
};
constexpr OptionSpec kNetmap[] = {
    {"to", "", Codec::kPrefix},
};
constexpr OptionSpec kLog[] = {
    {"log-prefix", "", Codec::kText, false, {}, 29},
    {"log-level", "", Codec::kEnum, false, kLogLevels, 7},
    {"log-tcp-sequence", "", Codec::kFlag},
    {"log-tcp-options", "", Codec::kFlag},
    {"log-ip-options", "", Codec::kFlag},
    {"log-uid", "", Codec::kFlag},
    {"log-macdecode", "", Codec::kFlag},
};
constexpr OptionSpec kNflog[] = {
    {"nflog-group", "", Codec::kNumber, false, {}, 65535},
    {"nflog-prefix", "", Codec::kText, false, {}, 127},
    {"nflog-range", "", Codec::kNumber, false, {}, 0xffffffffu},
    {"nflog-size", "", Codec::kNumber, false, {}, 0xffffffffu},
    {"nflog-threshold", "", Codec::kNumber, false, {}, 65535},
};
constexpr OptionSpec kMarkTarget[] = {
    {"set-xmark", "", Codec::kXMark},
    {"set-mark", "", Codec::kMark, false, {}, 0, "set-xmark"},
    {"and-mark", "", Codec::kMark, false, {}, 0, "set-xmark"},
    {"or-mark", "", Codec::kMark, false, {}, 0, "set-xmark"},
    {"xor-mark", "", Codec::kMark, false, {}, 0, "set-xmark"},
};
constexpr OptionSpec kConnmarkTarget[] = {
    {"set-xmark", "", Codec::kXMark},
    {"save-mark", "", Codec::kFlag},
    {"restore-mark", "", Codec::kFlag},
    {"nfmask", "", Codec::kHexNumber},
    {"ctmask", "", Codec::kHexNumber},
    {"mask", "", Codec::kHexNumber},
    {"set-mark", "", Codec::kMark, false, {}, 0, "set-xmark"},
    {"and-mark", "", Codec::kMark, false, {}, 0, "set-xmark"},
    {"or-mark", "", Codec::kMark, false, {}, 0, "set-xmark"},
    {"xor-mark", "", Codec::kMark, false, {}, 0, "set-xmark"},
};
constexpr OptionSpec kCt[] = {
    {"notrack", "", Codec::kFlag},
    {"helper", "", Codec::kWord},
    {"timeout", "", Codec::kWord},
    {"ctevents", "", Codec::kBits, false, kCtEvents},
    {"expevents", "", Codec::kBits, false, kExpEvents},
    {"zone-orig", "", Codec::kZone},
    {"zone-reply", "", Codec::kZone},
    {"zone", "", Codec::kZone},
};
constexpr OptionSpec kTcpmssTarget[] = {
    {"set-mss", "", Codec::kNumber, false, {}, 65535},
    {"clamp-mss-to-pmtu", "", Codec::kFlag},
};
constexpr OptionSpec kNone[] = {{"", "", Codec::kFlag}};

constexpr uint8_t kNatInHooks = kHookPrerouting | kHookOutput;    // DNAT, REDIRECT
constexpr uint8_t kNatOutHooks = kHookPostrouting | kHookInput;   // SNAT
constexpr uint8_t kRawHooks = kHookPrerouting | kHookOutput;      // CT, NOTRACK, TRACE

constexpr ModuleSpec kModules[] = {
    {"tcp", false, kTcp, "tcp", false, 3, CanonicalTcpUdp},
    {"udp", false, kUdp, "udp", false, 3, CanonicalTcpUdp},
    {"icmp", false, kIcmp, "icmp", false, 1},
    {"icmp6", false, kIcmp6, "ipv6-icmp", false, 2},
    {"multiport", false, kMultiport, "", true, 3, CanonicalMultiport},
    {"conntrack", false, kConntrack, "", true},
    {"state", false, kState, "", true},
    {"set", false, kSet, "", true},
    {"addrtype", false, kAddrtype, "", false, 3, CanonicalAddrtype},
    {"iprange", false, kIprange, "", true},
    {"mark", false, kMark, "", true},
    {"connmark", false, kMark, "", true},
    {"comment", false, kComment, "", true},
    {"limit", false, kLimit, "", false, 3, CanonicalLimit},
    {"hashlimit", false, kHashlimit, "", true, 3, CanonicalHashlimit},
    {"physdev", false, kPhysdev, "", true},
    {"mac", false, kMac, "", true},
    {"owner", false, kOwner, "", true, 3, CanonicalOwner},
    {"policy", false, kPolicy, "", true, 3, CanonicalPolicy},
    {"recent", false, kRecent, "", false, 3, CanonicalRecent},
    {"pkttype", false, kPkttype, "", true},
    {"length", false, kLength, "", true},
    {"tcpmss", false, kTcpmss, "tcp", true},
    {"ttl", false, kTtl, "", true, 1, CanonicalTtlHl},
    {"hl", false, kHl, "", true, 2, CanonicalTtlHl},
    // targets
    {"REJECT", true, kReject4Opts, "", false, 1, CanonicalReject},
    {"REJECT", true, kReject6Opts, "", false, 2, CanonicalReject},
    {"DNAT", true, kDnat, "", true, 3, nullptr, "nat", kNatInHooks},
    {"SNAT", true, kSnat, "", true, 3, nullptr, "nat", kNatOutHooks},
    {"MASQUERADE", true, kMasquerade, "", false, 3, nullptr, "nat", kHookPostrouting},
    {"REDIRECT", true, kRedirect, "", false, 3, nullptr, "nat", kNatInHooks},
    {"NETMAP", true, kNetmap, "", true, 3, nullptr, "nat", kNatInHooks | kNatOutHooks},
    {"LOG", true, kLog, "", false, 3, CanonicalLog},
    {"NFLOG", true, kNflog, "", false, 3, CanonicalNflog},
    {"MARK", true, kMarkTarget, "", true},
    {"CONNMARK", true, kConnmarkTarget, "", true, 3, CanonicalConnmark},
    {"CT", true, kCt, "", false, 3, CanonicalCt, "raw", kRawHooks},
    {"NOTRACK", true, std::span<const OptionSpec>(kNone, 0), "", false, 3, nullptr, "raw", kRawHooks},
    {"TRACE", true, std::span<const OptionSpec>(kNone, 0), "", false, 3, nullptr, "raw", kRawHooks},
    {"TCPMSS", true, kTcpmssTarget, "tcp", true},
};
constexpr size_t kModuleCount = sizeof kModules / sizeof kModules[0];

// A cheap hash of a module name for OptionIndex::by_name (128 slots).
size_t NameSlot(std::string_view n) {
  if (n.empty()) return 0;
  return (n.size() * 31 + static_cast<uint8_t>(n[0]) * 7 + static_cast<uint8_t>(n.back())) % 128;
}

// Global option ids: module i's options start at offsets[i].
struct OptionIndex {
  std::array<uint16_t, kModuleCount + 1> offsets{};
  std::vector<const OptionSpec*> options;
  std::vector<uint16_t> module_of;
  std::vector<std::pair<const OptionSpec*, uint16_t>> by_address;   // sorted
  std::vector<uint16_t> first_id;   // per id: OptionId(*options[id])
  // Modules by name: open addressing over kModules indices + 1.
  std::array<uint8_t, 128> by_name{};
  std::array<uint16_t, kModuleCount> protocol{};   // spec.protocol as a number
  std::array<std::string, kModuleCount> prefixed_name;   // for ModuleName
  OptionIndex() {
    static_assert(kModuleCount < 64);
    for (size_t m = 0; m < kModuleCount; ++m) {
      offsets[m] = static_cast<uint16_t>(options.size());
      for (const auto& o : kModules[m].options) {
        by_address.push_back({&o, static_cast<uint16_t>(options.size())});
        options.push_back(&o);
        module_of.push_back(static_cast<uint16_t>(m));
      }
      for (size_t i = NameSlot(kModules[m].name);; i = (i + 1) % by_name.size())
        if (by_name[i] == 0) {
          by_name[i] = static_cast<uint8_t>(m + 1);
          break;
        }
      if (!kModules[m].protocol.empty()) ParseProtocol(kModules[m].protocol, protocol[m]);
      prefixed_name[m] = static_cast<char>(kModules[m].name.size());
      prefixed_name[m] += kModules[m].name;
    }
    offsets[kModuleCount] = static_cast<uint16_t>(options.size());
    std::sort(by_address.begin(), by_address.end(), [](const auto& a, const auto& b) {
      if (a.first != b.first) return std::less<const OptionSpec*>()(a.first, b.first);
      return a.second < b.second;
    });
    // Modules that share an option table (mark, connmark) share its ids:
    // an option's id is the first one of its OptionSpec.
    first_id.resize(options.size());
    for (size_t i = 0; i < by_address.size(); ++i)
      first_id[by_address[i].second] =
          i > 0 && by_address[i - 1].first == by_address[i].first ? first_id[by_address[i - 1].second]
                                                                   : by_address[i].second;
  }
};

const OptionIndex& Index() {
  static const OptionIndex index;
  return index;
}

}  // namespace

const ModuleSpec* FindModule(std::string_view name, bool target, Family family) {
  uint8_t fam = family == Family::kIPv4 ? 1 : 2;
  const auto& by_name = Index().by_name;
  for (size_t i = NameSlot(name); by_name[i]; i = (i + 1) % by_name.size()) {
    const ModuleSpec& m = kModules[by_name[i] - 1];
    if (m.target == target && m.name == name && (m.families & fam)) return &m;
  }
  return nullptr;
}

const ModuleSpec& ModuleById(uint16_t id) { return kModules[id]; }
size_t ModuleCount() { return kModuleCount; }
Name ModuleName(const ModuleSpec& spec) {
  return Name::FromPrefixed(Index().prefixed_name[ModuleId(spec)].data());
}
uint16_t ModuleId(const ModuleSpec& spec) {
  return static_cast<uint16_t>(&spec - kModules);
}

const OptionSpec& OptionById(uint16_t id) { return *Index().options[id]; }

uint16_t OptionId(const OptionSpec& spec) {
  const auto& v = Index().by_address;
  auto it = std::lower_bound(v.begin(), v.end(), &spec, [](const auto& e, const OptionSpec* p) {
    return std::less<const OptionSpec*>()(e.first, p);
  });
  return it != v.end() && it->first == &spec ? it->second : 0xffff;
}

uint16_t OptionId(const ModuleSpec& module, size_t index) {
  const auto& idx = Index();
  return idx.first_id[idx.offsets[ModuleId(module)] + index];
}

uint16_t FindOptionId(std::string_view module, std::string_view option) {
  const auto& idx = Index();
  for (size_t m = 0; m < kModuleCount; ++m) {
    if (kModules[m].name != module) continue;
    for (uint16_t i = idx.offsets[m]; i < idx.offsets[m + 1]; ++i)
      if (idx.options[i]->name == option) return i;
  }
  return 0xffff;
}

const ModuleSpec& ModuleOfOption(uint16_t option_id) {
  return kModules[Index().module_of[option_id]];
}

int OptionOrder(uint16_t option_id) {
  const auto& idx = Index();
  return option_id - idx.offsets[idx.module_of[option_id]];
}

uint16_t ModuleProtocol(const ModuleSpec& spec) { return Index().protocol[ModuleId(spec)]; }

const ModuleSpec* ImplicitModuleSpec(uint16_t protocol, Family family) {
  static const ModuleSpec* const tcp = FindModule("tcp", false, Family::kIPv4);
  static const ModuleSpec* const udp = FindModule("udp", false, Family::kIPv4);
  static const ModuleSpec* const icmp = FindModule("icmp", false, Family::kIPv4);
  static const ModuleSpec* const icmp6 = FindModule("icmp6", false, Family::kIPv6);
  switch (protocol) {
    case 6: return tcp;
    case 17: return udp;
    case 1: return family == Family::kIPv4 ? icmp : nullptr;
    case 58: return family == Family::kIPv6 ? icmp6 : nullptr;
    default: return nullptr;
  }
}

std::string_view ImplicitModule(uint16_t protocol, Family family) {
  switch (protocol) {
    case 6: return "tcp";
    case 17: return "udp";
    case 1: return family == Family::kIPv4 ? "icmp" : "";
    case 58: return family == Family::kIPv6 ? "icmp6" : "";
    default: return "";
  }
}

namespace {
struct ProtoName {
  std::string_view name;
  uint16_t number;
};
// xtables' own table: these names win over /etc/protocols.
constexpr ProtoName kProtocols[] = {
    {"tcp", 6},    {"sctp", 132}, {"udp", 17},       {"udplite", 136},
    {"icmp", 1},   {"icmpv6", 58}, {"ipv6-icmp", 58}, {"esp", 50},
    {"ah", 51},    {"ipv6-mh", 135}, {"mh", 135},    {"all", 0},
};
}  // namespace

bool ParseProtocol(std::string_view text, uint16_t& out) {
  unsigned v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc() && end == text.data() + text.size()) {
    if (v > 255) return false;
    out = static_cast<uint16_t>(v);
    return true;
  }
  // xtables' names in any case, without a temporary.
  for (const auto& p : kProtocols) {
    if (p.name.size() != text.size()) continue;
    size_t i = 0;
    while (i < text.size() &&
           tolower(static_cast<unsigned char>(text[i])) == static_cast<unsigned char>(p.name[i]))
      ++i;
    if (i == text.size()) {
      out = p.number;
      return true;
    }
  }
  std::string lower(text);
  for (auto& c : lower) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  if (const protoent* pe = getprotobyname(lower.c_str())) {
    out = static_cast<uint16_t>(pe->p_proto);
    return true;
  }
  return false;
}

namespace {

std::string LookUpProtocolName(uint16_t protocol) {
  if (protocol == 58) return "ipv6-icmp";
  // As iptables-save: /etc/protocols first (135 is "mobility-header"
  // there), then xtables' own names, else the number.
  if (protocol != 0)
    if (const protoent* pe = getprotobynumber(protocol)) return pe->p_name;
  for (const auto& p : kProtocols)
    if (p.number == protocol) return std::string(p.name);
  return std::to_string(protocol);
}

}  // namespace

std::string ProtocolName(uint16_t protocol, Family family) {
  (void)family;
  // getprotobynumber reads /etc/protocols on every call: remember answers.
  static std::mutex mu;
  static std::array<std::optional<std::string>, 256> cache;
  std::lock_guard<std::mutex> lock(mu);
  if (protocol >= cache.size()) return LookUpProtocolName(protocol);
  auto& known = cache[protocol];
  if (!known) known = LookUpProtocolName(protocol);
  return *known;
}

}  // namespace swarmwall::netfilter
