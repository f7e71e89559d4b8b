// The match modules and targets swarmwall understands, as data: for each, its
// options in the order iptables-save prints them, how each option's value
// is read and written (its Codec, see codecs.h), where a target is allowed,
// and the function with the module's own checks and defaults (canonical.h).
// The parser and printer are driven by these tables; anything not listed
// here is kept verbatim (Part::kOpaque).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "netfilter/address.h"
#include "netfilter/arena.h"

namespace swarmwall::netfilter {

enum class Codec : uint8_t {
  kFlag,          // no argument
  kPort,          // 80, 1:1023, :4, 4:, service names
  kPortList,      // 80,443,8000:8100 (multiport)
  kRange,         // a[:b] numbers (length, mss, ctexpire)
  kDashRange,     // a[-b] numbers (owner uid/gid)
  kNumber,        // one number, 0..max
  kMark,          // value[/mask], printed in hex
  kBits,          // NAME[,NAME...] from a name table, printed in table order
  kEnum,          // one NAME from a name table
  kText,          // free text, quoted when printed if needed
  kWord,          // one token kept as written
  kCidr,          // address[/mask]
  kAddress,       // one address
  kAddrRange,     // a-b
  kRate,          // N[/second|minute|hour|day]
  kIcmpType,      // name, type or type/code
  kIcmp6Type,
  kTcpFlags,      // MASK COMP (two arguments)
  kSetMatch,      // NAME DIRS (two arguments)
  kNatRange,      // DNAT/SNAT: addr[-addr][:port[-port]], [v6]:port
  kToPorts,       // port[-port]
  kMac,           // XX:XX:XX:XX:XX:XX
  kInterface,     // an interface name, '+' wildcard
  kPrefix,        // address[/mask], always printed with its mask (NETMAP)
  kXMark,         // value[/mask], always printed as 0xV/0xM (MARK targets)
  kHexNumber,     // one number, printed as 0x%x (policy --spi)
  kProtocol,      // a protocol name or number (not 0), printed as a number
  kUser,          // user name or uid[-uid] (owner)
  kGroup,         // group name or gid[-gid] (owner)
  kZone,          // conntrack zone: 0..65535 or "mark" (CT)
  kHashRate,      // hashlimit rate: N[/unit] packets or N[k|m]b/s bytes
  kHashBurst,     // hashlimit burst: N or N[k|m]b
};

// A name in a flag or enumeration table.
struct NameBit {
  std::string_view name;   // accepted spelling
  uint64_t value;          // bit (kBits) or value (kEnum)
  bool canonical;          // the spelling printed for this value
};

struct OptionSpec {
  std::string_view name;             // printed as --name
  std::string_view aliases;          // other accepted spellings, ',' separated
  Codec codec;
  bool negatable = false;
  std::span<const NameBit> names{};  // kBits / kEnum
  uint64_t max = 0;                  // kNumber/kRange/kText limit (0: default)
  std::string_view prints_as = {};   // when this spelling is stored as another
                                     // option (--syn, --set-mark): its name
};

struct ModuleSpec;
struct Part;
struct CanonicalContext;   // the parser's (canonical.h)

// A module's own checks and defaults for its options, as read from a rule,
// in the order written (canonical.h). False with the error recorded.
using CanonicalizeFn = bool (*)(const ModuleSpec& module, std::vector<Part>& options,
                                CanonicalContext& context);

// The built-in chains as bits (ModuleSpec::hooks).
enum HookBits : uint8_t {
  kHookPrerouting = 1, kHookInput = 2, kHookForward = 4, kHookOutput = 8,
  kHookPostrouting = 16,
};

struct ModuleSpec {
  std::string_view name;
  bool target = false;
  std::span<const OptionSpec> options;   // in the order iptables-save prints
  std::string_view protocol = {};        // "tcp": needs -p tcp (tcp, udp, icmp)
  bool needs_option = false;             // "-m conntrack" alone is an error
  uint8_t families = 3;                  // bit 0: IPv4, bit 1: IPv6
  CanonicalizeFn canonicalize = nullptr; // nullptr: only the checks all share
  std::string_view table = {};           // a target valid in this table only,
  uint8_t hooks = 0;                     // and there in these chains (HookBits)
};

// Looks a module or target up by name; nullptr when we keep it opaque.
const ModuleSpec* FindModule(std::string_view name, bool target, Family family);
const ModuleSpec& ModuleById(uint16_t id);
size_t ModuleCount();   // ids are 0 .. ModuleCount() - 1
// spec.name as a Name (static storage).
Name ModuleName(const ModuleSpec& spec);
uint16_t ModuleId(const ModuleSpec& spec);

// Options have global ids so a Part can name one in 16 bits.
const OptionSpec& OptionById(uint16_t id);
uint16_t OptionId(const OptionSpec& spec);
// OptionId(module.options[index]), without a search.
uint16_t OptionId(const ModuleSpec& module, size_t index);
// The id of MODULE's option NAME (canonical name); 0xffff if unknown.
uint16_t FindOptionId(std::string_view module, std::string_view option);
// The module an option belongs to.
const ModuleSpec& ModuleOfOption(uint16_t option_id);
// Position of the option within its module's print order.
int OptionOrder(uint16_t option_id);

// Which implicit module a protocol loads (-p tcp --dport 80 means -m tcp).
std::string_view ImplicitModule(uint16_t protocol, Family family);
// The same as a spec (nullptr when none).
const ModuleSpec* ImplicitModuleSpec(uint16_t protocol, Family family);
// The protocol a module needs (spec.protocol as a number; 0: none).
uint16_t ModuleProtocol(const ModuleSpec& spec);

// Protocol names as iptables prints them (/etc/protocols for the rest).
bool ParseProtocol(std::string_view text, uint16_t& out);
std::string ProtocolName(uint16_t protocol, Family family);

}  // namespace swarmwall::netfilter
