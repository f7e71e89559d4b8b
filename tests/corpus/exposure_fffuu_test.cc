// swarmwall's exposure engine against the corpus and against fffuu, the
// formally verified iptables analyzer of diekmann/Iptables_Semantics.
//
// (a) Every file of ../shared/corpus/net-network is parsed and analyzed, all
//     tables (raw, mangle, nat, filter: the whole arrival path), without a
//     crash; the undecidable matches met are reported.
// (b) For every entry of tests/corpus/fffuu_reference.json (fffuu's service
//     matrix for filter/FORWARD, TCP to port 22 or 80, with the ipassmt the
//     files' authors used, fffuu's generic `lo` one otherwise), our service
//     matrix of the same chain and port,
//     put in the same canonical form, has the same fingerprint (class count,
//     edge count, SHA-256 of the canonical text). fffuu's matrix is an
//     over-approximation for new connections, so ours is compared by its
//     over-approximated edges. On a mismatch our canonical form is printed and
//     written to $TEST_TMPDIR (or /tmp)/exposure_fffuu/ for a diff against
//     fffuu's (tests/corpus/fffuu_reference.sh keeps those outside the repo).
//
// The corpus is read from SWARMWALL_SHARED at run time and never copied;
// the reference holds fingerprints only. The canonical form is defined in
// tests/corpus/FFFUU.md.

#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "analyze/exposure/exposure.h"
#include "host/network.h"
#include "analyze/model/ipassmt.h"
#include "analyze/trace/trace.h"
#include "base/process.h"
#include "netfilter/address.h"
#include "netfilter/parser.h"
#include "netfilter/ruleset.h"

namespace swarmwall {
namespace {

namespace fs = std::filesystem;
using analyze::ComputeExposure;
using analyze::ComputeServiceMatrix;
using analyze::ExposureOptions;
using host::HostNetwork;
using analyze::IpAssignment;
using analyze::ServiceMatrix;
using analyze::TraceModel;
using netfilter::Family;
__extension__ typedef unsigned __int128 u128;   // an IPv6 address as a number

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

std::optional<fs::path> Shared() {
  const char* env = std::getenv("SWARMWALL_SHARED");
  if (!env) return std::nullopt;
  fs::path shared(env);
  if (!fs::is_directory(shared / "corpus/net-network")) return std::nullopt;
  return shared;
}

// Every dump of net-network (README and LICENSE files aside), sorted.
std::vector<std::string> CorpusFiles(const fs::path& shared) {
  std::vector<std::string> out;
  fs::path root = shared / "corpus/net-network";
  for (const auto& e : fs::recursive_directory_iterator(root)) {
    if (!e.is_regular_file()) continue;
    std::string name = e.path().filename().string();
    if (name.starts_with("README") || name == "LICENSE") continue;
    out.push_back(fs::relative(e.path(), root).generic_string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// One corpus file, parsed and compiled (no host facts: no routes, no
// addresses, no ipsets, as fffuu sees a ruleset).
struct Loaded {
  std::string text;
  bool extracted = false;      // parsed from the dump's table blocks only
  int deanonymised = 0;        // placeholders replaced (Deanonymise)
  netfilter::ParseResult parsed;
  HostNetwork host;
  std::unique_ptr<TraceModel> model;
};

// The table blocks of TEXT ("*table" to "COMMIT"), for files where a dump is
// mixed with other text (a shell session, `ip addr` output): the ruleset is
// what iptables-restore would be given.
std::string TableBlocks(std::string_view text) {
  std::string out;
  bool inside = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.starts_with("*")) inside = true;
    if (inside) {
      out += line;
      out += '\n';
    }
    if (line.starts_with("COMMIT")) inside = false;
  }
  return out;
}

// Placeholders the corpus's authors wrote where they anonymised a dump, which
// iptables-restore (and our parser) refuse, replaced by values of the same
// kind: the anonymised MAC "XX:XX:XX:XX:XX:XX" by 02:00:00:00:00:00 (a mac
// match is undecidable without the host's neighbours either way; fffuu keeps
// it as an unknown match too), "<private_ip>" by 192.0.2.1, a host name after
// -s/-d by 192.0.2.2, an address split by a terminal's line wrap ("192.16
// <blanks> 8.1.1") joined. A rule with an inverted port range ("--dport 60000:29") is
// dropped: the kernel's port match (min <= port <= max) matches no packet
// with it. Returns how many places were changed.
int Deanonymise(std::string& text) {
  int changed = 0;
  std::string out;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    for (size_t at; (at = line.find("XX:XX:XX:XX:XX:XX")) != std::string::npos; ++changed)
      line.replace(at, 17, "02:00:00:00:00:00");
    for (size_t at; (at = line.find("<private_ip>")) != std::string::npos; ++changed)
      line.replace(at, 12, "192.0.2.1");
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string x; words >> x;) w.push_back(x);
    bool drop = false;
    for (size_t i = 0; i + 1 < w.size(); ++i) {
      const std::string& v = w[i + 1];
      if ((w[i] == "-s" || w[i] == "-d") && !v.empty() && std::isalpha(uint8_t(v[0])) &&
          v.find('.') != std::string::npos && v.find(':') == std::string::npos) {
        line.replace(line.find(" " + v), v.size() + 1, " 192.0.2.2");
        ++changed;
      }
      if ((w[i] == "--dport" || w[i] == "--sport" || w[i] == "--dports" || w[i] == "--sports") &&
          (i == 0 || w[i - 1] != "!")) {
        unsigned lo = 0, hi = 0;
        char colon = 0;
        std::istringstream r(v);
        if (r >> lo >> colon >> hi && colon == ':' && lo > hi && r.peek() == EOF) drop = true;
      }
    }
    // A terminal's wrap: a digit or dot, 20 or more blanks, a digit or dot.
    for (size_t at = 0; (at = line.find("                    ", at)) != std::string::npos;) {
      size_t stop = line.find_first_not_of(' ', at);
      auto part = [](char c) { return std::isdigit(uint8_t(c)) || c == '.'; };
      if (at > 0 && part(line[at - 1]) && stop != std::string::npos && part(line[stop])) {
        line.erase(at, stop - at);
        ++changed;
      } else {
        at = stop == std::string::npos ? line.size() : stop;
      }
    }
    if (drop) {
      ++changed;
      continue;
    }
    out += line;
    out += '\n';
  }
  if (changed) text = std::move(out);
  return changed;
}

std::unique_ptr<Loaded> Load(const fs::path& shared, const std::string& rel) {
  auto l = std::make_unique<Loaded>();
  l->text = ReadFile(shared / "corpus/net-network" / rel);
  netfilter::ParseOptions options;
  options.file_name = rel;
  options.family = netfilter::DetectFamily(l->text);
  std::string name = fs::path(rel).filename().string();
  if (name.find("ip6") != std::string::npos) options.family = Family::kIPv6;
  l->parsed = netfilter::ParseRuleset(l->text, options);
  if (!l->parsed.ruleset && (l->deanonymised = Deanonymise(l->text)) > 0)
    l->parsed = netfilter::ParseRuleset(l->text, options);
  if (!l->parsed.ruleset) {
    std::string blocks = TableBlocks(l->text);
    if (!blocks.empty() && blocks != l->text) {
      netfilter::ParseResult again = netfilter::ParseRuleset(blocks, options);
      if (again.ruleset) {
        l->text = std::move(blocks);
        l->extracted = true;
        l->parsed = std::move(again);
      }
    }
  }
  if (l->parsed.ruleset) l->model = std::make_unique<TraceModel>(*l->parsed.ruleset, l->host);
  return l;
}

// --- The canonical form of a service matrix (tests/corpus/FFFUU.md) ---

u128 ToInt(const netfilter::IpAddress& a) {
  u128 v = 0;
  int n = a.family == Family::kIPv4 ? 4 : 16;
  for (int i = 0; i < n; ++i) v = (v << 8) | a.bytes[i];
  return v;
}

std::string FormatAddress(u128 v, Family family) {
  if (family == Family::kIPv4)
    return fmt::format("{}.{}.{}.{}", unsigned(v >> 24) & 255, unsigned(v >> 16) & 255,
                       unsigned(v >> 8) & 255, unsigned(v) & 255);
  std::string out;
  for (int g = 7; g >= 0; --g) {
    out += fmt::format("{:04x}", unsigned(v >> (16 * g)) & 0xffff);
    if (g) out += ':';
  }
  return out;
}

struct Span {
  u128 lo, hi;
  bool operator<(const Span& o) const { return lo < o.lo || (lo == o.lo && hi < o.hi); }
};

// The maximal ranges covered by CIDRS (sorted, merged). False for a
// non-contiguous mask (not a range).
bool ToSpans(const std::vector<netfilter::Cidr>& cidrs, std::vector<Span>& out) {
  std::vector<Span> spans;
  for (const auto& c : cidrs) {
    int len = c.PrefixLength();
    if (len < 0) return false;
    int bits = c.address.Bits();
    u128 lo = ToInt(c.address);
    u128 size_minus_one = len == 0 ? (bits == 128 ? ~u128(0) : (u128(1) << bits) - 1)
                                   : (u128(1) << (bits - len)) - 1;
    spans.push_back({lo, lo + size_minus_one});
  }
  std::sort(spans.begin(), spans.end());
  out.clear();
  for (const auto& s : spans) {
    if (!out.empty() && (out.back().hi == ~u128(0) || s.lo <= out.back().hi + 1)) {
      out.back().hi = std::max(out.back().hi, s.hi);
    } else {
      out.push_back(s);
    }
  }
  return true;
}

struct Canonical {
  std::string text;
  size_t classes = 0, edges = 0;
  std::string error;   // not representable
};

// Classes as their maximal ranges, ordered by their lowest address; edges as
// (source class index, destination class index) in that order, sorted.
Canonical Canonicalise(const ServiceMatrix& m,
                       const std::vector<std::pair<int, int>>& edges) {
  Canonical c;
  std::vector<std::pair<std::vector<Span>, int>> classes;   // spans, original index
  for (size_t i = 0; i < m.classes.size(); ++i) {
    std::vector<Span> spans;
    if (!ToSpans(m.classes[i], spans)) {
      c.error = fmt::format("class {} has a non-contiguous mask", i);
      return c;
    }
    if (spans.empty()) {
      c.error = fmt::format("class {} is empty", i);
      return c;
    }
    classes.emplace_back(std::move(spans), int(i));
  }
  std::sort(classes.begin(), classes.end(),
            [](const auto& a, const auto& b) { return a.first.front().lo < b.first.front().lo; });
  std::vector<int> index(m.classes.size());
  for (size_t k = 0; k < classes.size(); ++k) index[classes[k].second] = int(k);
  c.text = fmt::format("fffuu-service-matrix v1 {}\n",
                       m.family == Family::kIPv4 ? "ipv4" : "ipv6");
  for (const auto& [spans, original] : classes) {
    c.text += "class ";
    bool first = true;
    for (const auto& s : spans) {
      if (!first) c.text += ',';
      first = false;
      c.text += FormatAddress(s.lo, m.family);
      if (s.hi != s.lo) c.text += "-" + FormatAddress(s.hi, m.family);
    }
    c.text += '\n';
  }
  std::set<std::pair<int, int>> sorted;
  for (const auto& [a, b] : edges) {
    if (a < 0 || b < 0 || size_t(a) >= index.size() || size_t(b) >= index.size()) {
      c.error = fmt::format("edge ({}, {}) names no class", a, b);
      return c;
    }
    sorted.insert({index[a], index[b]});
  }
  for (const auto& [a, b] : sorted) c.text += fmt::format("edge {} {}\n", a, b);
  c.classes = classes.size();
  c.edges = sorted.size();
  return c;
}

std::string Sha256Hex(const std::string& text) {
  ProcessOptions o;
  o.input = text;
  o.timeout = std::chrono::seconds(30);
  ProcessResult r = RunProcess({"sha256sum"}, o);
  std::istringstream in(r.out);
  std::string hex;
  in >> hex;
  return r.ok() ? hex : "sha256sum failed";
}

fs::path DumpDir() {
  const char* t = std::getenv("TEST_TMPDIR");
  fs::path dir = fs::path(t ? t : "/tmp") / "exposure_fffuu";
  fs::create_directories(dir);
  return dir;
}

// ---------------------------------------------------------------------------

TEST(ExposureFffuu, CanonicalFormOfATinyMatrix) {
  // Two classes given out of order, one duplicate edge: the canonical form
  // orders classes by lowest address and merges adjacent ranges.
  ServiceMatrix m;
  m.family = Family::kIPv4;
  m.classes = {{*netfilter::Cidr::Parse("10.0.0.0/8")},
               {*netfilter::Cidr::Parse("0.0.0.0/5"), *netfilter::Cidr::Parse("8.0.0.0/7"),
                *netfilter::Cidr::Parse("11.0.0.0/8"), *netfilter::Cidr::Parse("12.0.0.0/6"),
                *netfilter::Cidr::Parse("16.0.0.0/4"), *netfilter::Cidr::Parse("32.0.0.0/3"),
                *netfilter::Cidr::Parse("64.0.0.0/2"), *netfilter::Cidr::Parse("128.0.0.0/1")}};
  Canonical c = Canonicalise(m, {{1, 0}, {1, 0}, {0, 0}});
  EXPECT_EQ(c.text,
            "fffuu-service-matrix v1 ipv4\n"
            "class 0.0.0.0-9.255.255.255,11.0.0.0-255.255.255.255\n"
            "class 10.0.0.0-10.255.255.255\n"
            "edge 0 1\n"
            "edge 1 1\n");
  EXPECT_EQ(c.classes, 2u);
  EXPECT_EQ(c.edges, 2u);
  ServiceMatrix m6;
  m6.family = Family::kIPv6;
  m6.classes = {{*netfilter::Cidr::Parse("::/0")}};
  Canonical c6 = Canonicalise(m6, {{0, 0}});
  EXPECT_EQ(c6.text,
            "fffuu-service-matrix v1 ipv6\n"
            "class 0000:0000:0000:0000:0000:0000:0000:0000-"
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff\n"
            "edge 0 0\n");
  // The fingerprint the reference script computes for this text.
  EXPECT_EQ(Sha256Hex("fffuu-service-matrix v1 ipv4\nclass 0.0.0.0-255.255.255.255\nedge 0 0\n"),
            "fd20b9779ff902ca64f4ed3eb771e45c4f6916a3d9db3037097b69e1e6bf4f82");
}

// fffuu's generic assignment, loaded when no --ipassmt is given (its help:
// "it only loads `lo = [127.0.0.0/8]`"; fffuu6: `lo = [::1/128]`): the
// one `exposure --fffuu-lo` takes.
const IpAssignment& GenericAssignment(Family family) { return analyze::GenericLoAssignment(family); }

// Where fffuu over-approximates and swarmwall does not, on rulesets of our
// own. fffuu's answers were obtained with `fffuu --service_matrix_dport 22
// FILE` (commit e0a2516, tests/corpus/FFFUU.md) and are quoted in comments;
// the kernel's answer follows from the rules, for any routing.
Canonical OurMatrix(const std::string& text, uint16_t port,
                    const IpAssignment* ipassmt = nullptr) {
  netfilter::ParseResult parsed = netfilter::ParseRuleset(text);
  EXPECT_TRUE(parsed.ruleset) << parsed.error->ToString();
  if (!parsed.ruleset) return {};
  HostNetwork host;
  TraceModel model(*parsed.ruleset, host);
  ExposureOptions options;
  options.scope = ExposureOptions::Scope::kFilterForward;
  options.ipassmt = ipassmt;
  ServiceMatrix m = ComputeServiceMatrix(model, 6, port, options);
  return Canonicalise(m, m.edges);
}

IpAssignment Assignment(std::string_view text) {
  IpAssignment a;
  std::string error;
  EXPECT_TRUE(ParseIpAssignment(text, a, error)) << error;
  return a;
}

TEST(ExposureFffuu, OutInterfaceOfAJumpIsOnePacketProperty) {
  // 10.0.2.15 is REJECTed when the packet leaves through eth2 and dropped by
  // the policy otherwise: never accepted. fffuu abstracts `-o eth2` rule by
  // rule (an unknown match counts as true in an ACCEPT rule and as false in
  // a DROP/REJECT rule), so it drops the REJECT and keeps the ACCEPT:
  //   a |-> 192.0.2.5   b |-> {10.0.2.0 .. 10.0.2.255}   c |-> the rest
  //   (a,b)             i.e. 192.0.2.5 reaches 10.0.2.15 as well.
  Canonical c = OurMatrix(
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      ":net2 - [0:0]\n"
      "-A FORWARD -d 10.0.2.0/24 -o eth2 -j net2\n"
      "-A net2 -d 10.0.2.15/32 -p tcp -j REJECT --reject-with icmp-port-unreachable\n"
      "-A net2 -s 192.0.2.5/32 -p tcp -j ACCEPT\n"
      "COMMIT\n",
      22);
  EXPECT_EQ(c.text,
            "fffuu-service-matrix v1 ipv4\n"
            "class 0.0.0.0-10.0.1.255,10.0.2.15,10.0.3.0-192.0.2.4,192.0.2.6-255.255.255.255\n"
            "class 10.0.2.0-10.0.2.14,10.0.2.16-10.0.2.255\n"
            "class 192.0.2.5\n"
            "edge 2 1\n");
}

TEST(ExposureFffuu, SctpRuleNeverMatchesTcp) {
  // fffuu's parser knows the protocols tcp, udp, icmp, icmpv6, esp, ah and
  // gre only; `-p sctp` becomes an unknown match, and the ACCEPT rule then
  // counts as accepting TCP too:
  //   a |-> 10.0.2.15   b |-> the rest   (a,a) (b,a)
  // A TCP packet never matches -p sctp: nothing is accepted.
  Canonical c = OurMatrix(
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      "-A FORWARD -d 10.0.2.15/32 -p sctp -m sctp --dport 50000 -j ACCEPT\n"
      "COMMIT\n",
      22);
  EXPECT_EQ(c.text, "fffuu-service-matrix v1 ipv4\nclass 0.0.0.0-255.255.255.255\n");
}

TEST(ExposureFffuu, SourcePortIsAnyNotFffuusTenThousand) {
  // fffuu's matrix is for one connection, source port 10000:
  //   a |-> everything   (no edge)
  // swarmwall's covers every source port: an edge holds when some source
  // port passes (here 443), so everyone reaches 10.0.2.15. Both are right
  // for their question; ExposureOptions has no source-port restriction yet.
  Canonical c = OurMatrix(
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      "-A FORWARD -d 10.0.2.15/32 -p tcp -m tcp --sport 443 -j ACCEPT\n"
      "COMMIT\n",
      22);
  EXPECT_EQ(c.text,
            "fffuu-service-matrix v1 ipv4\n"
            "class 0.0.0.0-10.0.2.14,10.0.2.16-255.255.255.255\n"
            "class 10.0.2.15\n"
            "edge 0 1\n"
            "edge 1 1\n");
}

TEST(ExposureFffuu, InInterfaceOfADropIsOnePacketPropertyInConstrainMode) {
  // eth0 = [0.0.0.0/0] and eth1 = [10.0.0.0/8] overlap, so fffuu only
  // constrains `-i eth0` with `-s 0.0.0.0/0` and then abstracts the
  // interface rule by rule: the DROP rule goes (an unknown match in a DROP
  // rule counts as false), the ACCEPT stays (as true). fffuu's "even-simpler
  // firewall" is `ACCEPT all 0.0.0.0/0 0.0.0.0/0` and its matrix
  //   a |-> {0.0.0.0 .. 255.255.255.255}   (a,a)
  // A packet from 224.0.0.1 arriving on eth0 meets the DROP rule first in
  // the kernel: it is never accepted, whichever interface it arrives on.
  IpAssignment assignment = Assignment("eth0 = [0.0.0.0/0]\neth1 = [10.0.0.0/8]\n");
  Canonical c = OurMatrix(
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      "-A FORWARD -i eth0 -s 224.0.0.0/4 -j DROP\n"
      "-A FORWARD -i eth0 -j ACCEPT\n"
      "COMMIT\n",
      22, &assignment);
  EXPECT_EQ(c.text,
            "fffuu-service-matrix v1 ipv4\n"
            "class 0.0.0.0-223.255.255.255,240.0.0.0-255.255.255.255\n"
            "class 224.0.0.0-239.255.255.255\n"
            "edge 0 0\n"
            "edge 0 1\n");
}

TEST(ExposureFffuu, LimitedBroadcastSourceIsBroadcastType) {
  // fffuu does not model addrtype: the DROP rule counts as not matching and
  //   a |-> {0.0.0.0 .. 255.255.255.255}   (a,a)
  // In the kernel (inet_addr_type) 255.255.255.255 and 0.0.0.0 are of type
  // BROADCAST on every host: packets from them are dropped.
  Canonical c = OurMatrix(
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      "-A FORWARD -m addrtype --src-type BROADCAST -j DROP\n"
      "-A FORWARD -j ACCEPT\n"
      "COMMIT\n",
      22);
  EXPECT_EQ(c.text,
            "fffuu-service-matrix v1 ipv4\n"
            "class 0.0.0.0,255.255.255.255\n"
            "class 0.0.0.1-255.255.255.254\n"
            "edge 1 0\n"
            "edge 1 1\n");
}

TEST(ExposureFffuu, GenericAssignmentOfFffuu) {
  // Without --ipassmt fffuu assumes `lo = [127.0.0.0/8]` (interfaces it does
  // not list keep any source). For `-A FORWARD -i lo -j ACCEPT`:
  //   a |-> {127.0.0.0 .. 127.255.255.255}
  //   b |-> {0.0.0.0 .. 126.255.255.255} u {128.0.0.0 .. 255.255.255.255}
  //   (a,a) (a,b)
  // The rules alone accept every source on lo (a packet from 10.0.0.1 with
  // in-interface lo matches the rule): without an assignment swarmwall says
  // so; given fffuu's generic one it gives fffuu's matrix.
  const std::string rules =
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      "-A FORWARD -i lo -j ACCEPT\n"
      "COMMIT\n";
  EXPECT_EQ(OurMatrix(rules, 22).text,
            "fffuu-service-matrix v1 ipv4\nclass 0.0.0.0-255.255.255.255\nedge 0 0\n");
  EXPECT_EQ(OurMatrix(rules, 22, &GenericAssignment(Family::kIPv4)).text,
            "fffuu-service-matrix v1 ipv4\n"
            "class 0.0.0.0-126.255.255.255,128.0.0.0-255.255.255.255\n"
            "class 127.0.0.0-127.255.255.255\n"
            "edge 1 0\n"
            "edge 1 1\n");
}

TEST(ExposureFffuu, EveryCorpusFileIsAnalyzed) {
  auto shared = Shared();
  if (!shared) GTEST_SKIP() << "no corpus (SWARMWALL_SHARED)";
  std::vector<std::string> files = CorpusFiles(*shared);
  ASSERT_FALSE(files.empty());
  size_t analyzed = 0, scripts = 0, with_unknowns = 0, unknowns = 0;
  std::map<std::string, size_t> unknown_kinds;
  for (const auto& rel : files) {
    SCOPED_TRACE(rel);
    auto l = Load(*shared, rel);
    if (!l->parsed.ruleset) {
      // A shell script that calls iptables is not a dump: only running it
      // would make a ruleset.
      if (l->text.starts_with("#!") && l->text.find("\n*") == std::string::npos) {
        std::cout << fmt::format("{:<82} a shell script, not a dump: not analyzed\n", rel);
        ++scripts;
        continue;
      }
      // Hand-edited files that iptables-restore refuses too.
      if (rel == "found_online/openwrt.org/iptables-save-AA.txt" &&
          l->parsed.error->message.find("ambiguous") != std::string::npos) {
        std::cout << fmt::format("{:<82} not loadable ({}): not analyzed\n", rel,
                                 l->parsed.error->message);
        ++scripts;
        continue;
      }
      ADD_FAILURE() << rel << ": " << l->parsed.error->ToString();
      continue;
    }
    auto start = std::chrono::steady_clock::now();
    // The whole arrival path: raw, mangle, nat, routing, filter.
    ExposureOptions host_scope;
    host_scope.scope = ExposureOptions::Scope::kHost;
    analyze::FamilyExposure all = ComputeExposure(*l->model, host_scope);
    // And the filter table's FORWARD chain alone, as fffuu sees it.
    ExposureOptions forward;
    forward.scope = ExposureOptions::Scope::kFilterForward;
    analyze::FamilyExposure fwd = ComputeExposure(*l->model, forward);
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start).count();
    EXPECT_FALSE(all.truncated) << rel << ": flow limit hit";
    EXPECT_FALSE(fwd.truncated) << rel << ": flow limit hit (FORWARD)";
    ++analyzed;
    std::set<std::string> kinds;
    for (const auto& u : all.unknowns) kinds.insert(u.what);
    for (const auto& u : fwd.unknowns) kinds.insert(u.what);
    if (!kinds.empty()) ++with_unknowns;
    unknowns += all.unknowns.size();
    for (const auto& k : kinds) ++unknown_kinds[k];
    std::string list;
    for (const auto& k : kinds) list += (list.empty() ? "" : "; ") + k;
    std::cout << fmt::format("{:<82} {:>5} rules{} {:>8} flows {:>7.1f} ms  {} undecidable{}{}\n",
                             rel, l->parsed.ruleset->RuleCount(), l->extracted ? " (tables only)"
                             : l->deanonymised ? fmt::format(" ({} placeholders)", l->deanonymised)
                                               : "",
                             all.flows + fwd.flows, ms, all.unknowns.size(),
                             list.empty() ? "" : ": ", list);
  }
  std::cout << fmt::format(
      "{} files analyzed, {} not dumps or not loadable, {} with undecidable matches ({} met in all)\n",
      analyzed, scripts, with_unknowns, unknowns);
  for (const auto& [k, n] : unknown_kinds) std::cout << fmt::format("  {:>3} files: {}\n", n, k);
}

// Differences analysed pair by pair (tests/corpus/FFFUU.md, "Differences"):
// every (source, destination) pair where the two matrices differ comes from
// one of the causes the tests above pin on rulesets of our own. They
// are printed, not failed; any other difference fails.
constexpr std::string_view kOutJump =
    "fffuu abstracts -o of a jump rule by rule (OutInterfaceOfAJumpIsOnePacketProperty)";
constexpr std::string_view kSctp = "fffuu reads -p sctp as unknown (SctpRuleNeverMatchesTcp)";
constexpr std::string_view kInIface =
    "fffuu abstracts -i rule by rule when its assignment's zones overlap "
    "(InInterfaceOfADropIsOnePacketPropertyInConstrainMode)";
constexpr std::string_view kAddrtype =
    "fffuu does not model addrtype; 255.255.255.255 is BROADCAST "
    "(LimitedBroadcastSourceIsBroadcastType)";
constexpr std::string_view kSport =
    "fffuu fixes source port 10000, we take any (SourcePortIsAnyNotFffuusTenThousand)";
struct Explained {
  std::string file;   // relative to corpus/net-network
  int port;
  std::vector<std::string_view> causes;
};
const std::vector<Explained>& ExplainedDifferences() {
  static const std::string kTum = "configs_chair_for_Network_Architectures_and_Services/";
  static const std::vector<Explained> list = [] {
    std::vector<Explained> l;
    for (std::string_view f : {"iptables-save-2015-05-13_10-53-20", "iptables-save-2015-05-15_14-14-46",
                               "iptables-save-2015-05-15_14-35-03", "iptables-save-2015-05-15_15-11-14",
                               "iptables-save-2015-05-15_15-23-41"}) {
      l.push_back({kTum + std::string(f), 22, {kOutJump, kSctp}});
      l.push_back({kTum + std::string(f), 80, {kOutJump}});
    }
    l.push_back({kTum + std::string("iptables_25.07.2014"), 22, {kSctp}});
    l.push_back({kTum + std::string("iptables_20.10.2013"), 22, {kSctp}});
    for (std::string_view f : {"iptables-save-2015-09-03_15-56-50", "iptables-save-2016-03-16_13-53-28",
                               "iptables-save-2016-06-27_16-29-01"}) {
      l.push_back({kTum + std::string(f), 22, {kOutJump, kSctp, kSport}});
      l.push_back({kTum + std::string(f), 80, {kOutJump}});
    }
    // ACCEPTs by source port (80, 443, 8080).
    l.push_back({"configs_psa/team_a/iptables-save.2016-03-02", 22, {kSport}});
    l.push_back({"configs_psa/team_a/iptables-save.2016-03-02", 80, {kSport}});
    // The anti-smurf chain drops sources in 224.0.0.0/4 reached through an
    // interface's chain, whose ACCEPT fffuu keeps (ipassmt_sqrl: lup and lo
    // overlap), and its addrtype BROADCAST rule drops 255.255.255.255.
    for (int port : {22, 80})
      l.push_back({"configs_sqrl_shorewall/2014_sep_iptables-saveakachan", port, {kInIface, kAddrtype}});
    return l;
  }();
  return list;
}
const Explained* FindExplained(const std::string& rel, int port) {
  for (const auto& e : ExplainedDifferences())
    if (rel == e.file && e.port == port) return &e;
  return nullptr;
}

TEST(ExposureFffuu, ServiceMatricesAgreeWithFffuu) {
  auto shared = Shared();
  if (!shared) GTEST_SKIP() << "no corpus (SWARMWALL_SHARED)";
  // SWARMWALL_FFFUU_REFERENCE in the environment: another reference file
  // (a regenerated one, before it replaces the committed one).
  const char* ref_env = std::getenv("SWARMWALL_FFFUU_REFERENCE");
  std::string ref_path = ref_env ? ref_env : SWARMWALL_FFFUU_REFERENCE;
  std::ifstream ref_in(ref_path);
  ASSERT_TRUE(ref_in) << "cannot read " << ref_path;
  nlohmann::json ref = nlohmann::json::parse(ref_in);
  ASSERT_FALSE(ref["entries"].empty());

  std::map<std::string, std::unique_ptr<Loaded>> loaded;
  std::map<std::string, IpAssignment> assignments;
  size_t agree = 0;
  std::vector<std::string> disagree, explained;
  fs::path dump = DumpDir();
  for (const auto& e : ref["entries"]) {
    std::string rel = e["file"];
    int port = e["port"];
    SCOPED_TRACE(fmt::format("{} port {}", rel, port));
    auto& l = loaded[rel];
    if (!l) l = Load(*shared, rel);
    ASSERT_TRUE(l->parsed.ruleset) << rel << ": " << l->parsed.error->ToString();

    ExposureOptions options;
    options.scope = ExposureOptions::Scope::kFilterForward;
    if (!e["ipassmt"].is_null()) {
      std::string name = e["ipassmt"];
      if (!assignments.contains(name)) {
        std::string error;
        IpAssignment a;
        ASSERT_TRUE(ParseIpAssignment(ReadFile(*shared / "corpus/ipassmt" / name), a, error))
            << name << ": " << error;
        assignments.emplace(name, std::move(a));
      }
      options.ipassmt = &assignments.at(name);
    } else {
      // fffuu without --ipassmt loads its generic assignment (lo only); an
      // interface it does not list keeps any source (GenericAssignmentOfFffuu).
      options.ipassmt = &GenericAssignment(e["family"] == "ipv6" ? Family::kIPv6 : Family::kIPv4);
    }
    auto start = std::chrono::steady_clock::now();
    ServiceMatrix m = ComputeServiceMatrix(*l->model, 6, uint16_t(port), options);
    double ms = std::chrono::duration<double, std::milli>(
                    std::chrono::steady_clock::now() - start).count();
    EXPECT_FALSE(m.truncated);
    Canonical c = Canonicalise(m, m.edges);
    ASSERT_TRUE(c.error.empty()) << c.error;
    std::string sha = Sha256Hex(c.text);
    size_t want_classes = e["classes"], want_edges = e["edges"];
    std::string want_sha = e["sha256"];
    bool same = sha == want_sha;
    std::cout << fmt::format("{:<82} port {:>2}: {:>4} classes {:>5} edges  {:>7.1f} ms  {}\n",
                             rel, port, c.classes, c.edges, ms,
                             same ? "= fffuu"
                                  : fmt::format("fffuu: {} classes {} edges", want_classes,
                                                want_edges));
    if (same) {
      ++agree;
      continue;
    }
    std::string file = fmt::format("{}.port{}.canonical", rel, port);
    std::replace(file.begin(), file.end(), '/', '_');
    std::ofstream(dump / file) << c.text;
    if (const Explained* x = FindExplained(rel, port)) {
      std::string why;
      for (auto c : x->causes) why += fmt::format("\n      {}", c);
      explained.push_back(fmt::format("{} port {}:{}", rel, port, why));
      continue;
    }
    disagree.push_back(fmt::format("{} port {}", rel, port));
    ADD_FAILURE() << rel << " port " << port << ": ours " << c.classes << " classes, "
                  << c.edges << " edges; fffuu " << want_classes << " classes, " << want_edges
                  << " edges (" << m.unknowns.size() << " undecidable matches). Ours in "
                  << (dump / file).string() << ":\n"
                  << c.text.substr(0, 4000) << (c.text.size() > 4000 ? "...\n" : "");
  }
  std::cout << fmt::format(
      "{} of {} service matrices agree with fffuu, {} differ for the known causes, {} otherwise\n",
      agree, ref["entries"].size(), explained.size(), disagree.size());
  for (const auto& d : explained) std::cout << "  differs (explained): " << d << "\n";
  for (const auto& d : disagree) std::cout << "  differs: " << d << "\n";
}

}  // namespace
}  // namespace swarmwall
