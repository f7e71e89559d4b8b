// The differential test of swarmwall trace against the kernel. A router
// namespace gets random rulesets (ruleset_generator.h) through the real
// ipset and iptables-restore; two client namespaces send real TCP SYNs, UDP
// datagrams and ICMP echo/timestamp requests through it toward a server
// namespace. The kernel's fate of each packet is read from the router's
// conntrack table: a connection is only confirmed (listed) when its first
// packet got through INPUT or POSTROUTING, and its reply tuple shows every
// NAT rewrite. trace, fed the router's own iptables-save, `ip -j addr`,
// `ip -j route` and `ipset save`, must predict exactly that for every packet.
//
//   ca (10.1.0.2-6) --eth0--+                       
//                           router (10.1.0.1, 10.3.0.1, 10.2.0.1) --eth2-- sv (10.2.0.2-3)
//   cb (10.3.0.2-4) --eth1--+
//
// The same for IPv6 (ip6tables, ICMPv6; static neighbours, as the rules under
// test may drop neighbour discovery). SWARMWALL_TRACE_SEED and
// SWARMWALL_TRACE_RULESETS change the seed and the number of rulesets
// (default 40 IPv4 and 20 IPv6 of 120 packets: 7,200 packets, 1 to 2 minutes).
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "host/network.h"
#include "analyze/trace/trace.h"
#include "analyze/trace/trace_report.h"
#include "lab/lab.h"
#include "netfilter/parser.h"
#include "ruleset_generator.h"

namespace swarmwall::tracetest {
namespace {

using analyze::Fate;
using lab::Host;
using lab::Lab;

const char* kSender = R"PY(
import json, socket, struct, sys, time
def checksum(b):
    if len(b) % 2: b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xffff); s += s >> 16
    return (~s) & 0xffff
keep = []
def send(fam, src, dst, proto, sport, dport, itype):
    if proto == 6:
        s = socket.socket(fam, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((src, sport)); s.setblocking(False); s.connect_ex((dst, dport)); keep.append(s)
    elif proto == 17:
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((src, sport)); s.sendto(b"swarmwall", (dst, dport)); s.close()
    elif proto == 58:
        # the kernel fills in the ICMPv6 checksum
        r = socket.socket(socket.AF_INET6, socket.SOCK_RAW, socket.IPPROTO_ICMPV6)
        r.bind((src, 0))
        r.sendto(struct.pack("!BBHHH", itype, 0, 0, sport, 1) + b"swarmwall!", (dst, 0)); r.close()
    else:
        r = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
        r.bind((src, 0))
        body = b"swarmwall!" if itype == 8 else struct.pack("!III", 0, 0, 0)
        h = struct.pack("!BBHHH", itype, 0, 0, sport, 1) + body
        h = struct.pack("!BBHHH", itype, 0, checksum(h), sport, 1) + body
        r.sendto(h, (dst, 0)); r.close()
for src, dst, proto, sport, dport, itype in json.load(open(sys.argv[1])):
    fam = socket.AF_INET6 if ":" in src else socket.AF_INET
    try:
        send(fam, src, dst, proto, sport, dport, itype)
    except OSError:
        pass   # the sender's own rules refuse it (EPERM), or there is no route
time.sleep(0.05)
for s in keep: s.close()
)PY";

struct Seen {
  std::string repl_src, repl_dst;
  int repl_sport = 0, repl_dport = 0;
};

// `conntrack -L -o extended` lines by original (proto, src, dst, sport or id).
std::map<std::string, Seen> ParseConntrack(const std::string& text) {
  std::map<std::string, Seen> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream w(line);
    std::string tok, proto;
    std::vector<std::pair<std::string, std::string>> kv;
    int field = 0;
    while (w >> tok) {
      ++field;
      if (field == 3) proto = tok;
      size_t eq = tok.find('=');
      if (eq != std::string::npos) kv.push_back({tok.substr(0, eq), tok.substr(eq + 1)});
    }
    std::vector<std::string> src, dst, sport, dport, id;
    for (auto& [k, v] : kv) {
      if (k == "src") src.push_back(v);
      else if (k == "dst") dst.push_back(v);
      else if (k == "sport") sport.push_back(v);
      else if (k == "dport") dport.push_back(v);
      else if (k == "id") id.push_back(v);
    }
    if (src.size() < 2 || dst.size() < 2) continue;
    std::string key;
    Seen s;
    s.repl_src = src[1];
    s.repl_dst = dst[1];
    if ((proto == "icmp" || proto == "icmpv6") && !id.empty()) {
      key = fmt::format("{} {} {} {}", proto == "icmp" ? 1 : 58, src[0], dst[0], id[0]);
    } else if (sport.size() >= 2 && dport.size() >= 2) {
      key = fmt::format("{} {} {} {}", proto == "tcp" ? 6 : 17, src[0], dst[0], sport[0]);
      s.repl_sport = std::stoi(sport[1]);
      s.repl_dport = std::stoi(dport[1]);
    } else {
      continue;
    }
    out[key] = s;
  }
  return out;
}

class TraceKernel : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    std::string why;
    if (!lab::LabSupported(&why)) {
      skip_ = "lab not supported: " + why;
      return;
    }
    for (const char* tool : {"iptables-restore", "ipset", "conntrack", "python3"})
      if (!ProgramExists(tool)) {
        skip_ = std::string("missing ") + tool;
        return;
      }
    lab_ = new Lab("trace");
    auto& sa = lab_->AddSwitch("sa");
    auto& sb = lab_->AddSwitch("sb");
    auto& ss = lab_->AddSwitch("ss");
    ca_ = &lab_->AddHost("ca");
    cb_ = &lab_->AddHost("cb");
    rt_ = &lab_->AddHost("rt");
    sv_ = &lab_->AddHost("sv");
    lab_->Connect(*ca_, sa, "eth0",
                  {"10.1.0.2/24", "10.1.0.3/24", "10.1.0.4/24", "10.1.0.5/24", "10.1.0.6/24",
                   "2001:db8:1::2/64", "2001:db8:1::3/64", "2001:db8:1::4/64", "2001:db8:1::5/64",
                   "2001:db8:1::6/64"});
    lab_->Connect(*cb_, sb, "eth0", {"10.3.0.2/24", "10.3.0.3/24", "10.3.0.4/24",
                                     "2001:db8:3::2/64", "2001:db8:3::3/64", "2001:db8:3::4/64"});
    lab_->Connect(*rt_, sa, "eth0", {"10.1.0.1/24", "2001:db8:1::1/64"});
    lab_->Connect(*rt_, sb, "eth1", {"10.3.0.1/24", "2001:db8:3::1/64"});
    lab_->Connect(*rt_, ss, "eth2", {"10.2.0.1/24", "2001:db8:2::1/64"});
    lab_->Connect(*sv_, ss, "eth0", {"10.2.0.2/24", "10.2.0.3/24", "2001:db8:2::2/64",
                                     "2001:db8:2::3/64"});
    lab_->AddDefaultRoute(*ca_, "10.1.0.1");
    lab_->AddDefaultRoute(*cb_, "10.3.0.1");
    lab_->AddDefaultRoute(*sv_, "10.2.0.1");
    lab_->AddDefaultRoute(*ca_, "2001:db8:1::1");
    lab_->AddDefaultRoute(*cb_, "2001:db8:3::1");
    lab_->AddDefaultRoute(*sv_, "2001:db8:2::1");
    rt_->Sh("ip link set lo up; sysctl -qw net.ipv4.ip_forward=1; "
            "sysctl -qw net.ipv6.conf.all.forwarding=1; "
            "for i in all default eth0 eth1 eth2; do sysctl -qw net.ipv4.conf.$i.rp_filter=0; done");
    // IPv6 neighbours without discovery: the rules under test may drop it.
    auto mac = [](Host* h, const char* dev) {
      // (not /sys: nsenter --net keeps the root namespace's sysfs)
      auto r = h->Exec({"ip", "link", "show", "dev", dev});
      size_t at = r.out.find("link/ether ");
      return at == std::string::npos ? std::string() : r.out.substr(at + 11, 17);
    };
    ca_->Sh("ip -6 neigh replace 2001:db8:1::1 lladdr " + mac(rt_, "eth0") +
            " dev eth0 nud permanent");
    cb_->Sh("ip -6 neigh replace 2001:db8:3::1 lladdr " + mac(rt_, "eth1") +
            " dev eth0 nud permanent");
    for (Host* h : {ca_, cb_, sv_}) h->Sh("ip link set lo up");
    // A TCP RST in answer to a SYN makes conntrack forget the connection at
    // once: the router and the server never send one (a table of its own at
    // the start of OUTPUT, before conntrack sees it, apart from the tables under test).
    for (Host* h : {rt_, sv_, ca_, cb_}) {
      auto q = h->Exec({"nft", "-f", "-"},
                       {.input = "table inet swquiet {\n chain out {\n"
                                 "  type filter hook output priority -400; policy accept;\n"
                                 "  tcp flags rst drop\n }\n}\n"});
      if (!q.ok()) skip_ = "nft: " + q.err;
    }
    sender_ = lab_->RunDir() + "/send.py";
    std::ofstream(sender_) << kSender;
  }
  static void TearDownTestSuite() {
    delete lab_;
    lab_ = nullptr;
  }
  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << skip_;
  }

  static Lab* lab_;
  static Host *ca_, *cb_, *rt_, *sv_;
  static std::string skip_, sender_;
};
Lab* TraceKernel::lab_ = nullptr;
Host* TraceKernel::ca_ = nullptr;
Host* TraceKernel::cb_ = nullptr;
Host* TraceKernel::rt_ = nullptr;
Host* TraceKernel::sv_ = nullptr;
std::string TraceKernel::skip_, TraceKernel::sender_;

int EnvInt(const char* name, int fallback) {
  const char* v = getenv(name);
  return v ? std::atoi(v) : fallback;
}

void RunDifferential(Host* ca_, Host* cb_, Host* rt_, Lab* lab_, const std::string& sender_,
                     netfilter::Family family, int default_rulesets) {
  bool v6 = family == netfilter::Family::kIPv6;
  const std::string save = v6 ? "ip6tables-save" : "iptables-save";
  const std::string restore = v6 ? "ip6tables-restore" : "iptables-restore";
  unsigned seed = static_cast<unsigned>(EnvInt("SWARMWALL_TRACE_SEED", 20261123));
  int rulesets = EnvInt("SWARMWALL_TRACE_RULESETS", default_rulesets);
  const int kPackets = 120;
  std::mt19937 rng(seed);
  const std::string empty =
      "*raw\n:PREROUTING ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n"
      "*mangle\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n"
      ":OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
      "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
      ":POSTROUTING ACCEPT [0:0]\nCOMMIT\n"
      "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n";
  auto addr = rt_->Exec({"ip", "-j", "addr"});
  auto route = rt_->Exec({"ip", v6 ? "-6" : "-4", "-j", "route"});
  // Neither family's rules may still use a set when the sets are replaced.
  ASSERT_TRUE(rt_->Exec({"iptables-restore"}, {.input = empty}).ok());
  ASSERT_TRUE(rt_->Exec({"ip6tables-restore"}, {.input = empty}).ok());
  ASSERT_TRUE(addr.ok() && route.ok());

  int cases = 0, disagreements = 0, accepted = 0, nat = 0, local = 0, sent_locally = 0;
  for (int n = 0; n < rulesets; ++n) {
    GeneratedRuleset g = GenerateRuleset(rng);
    std::vector<TestPacket> packets = GeneratePackets(rng, kPackets, kPackets / 5);
    if (v6) {
      g = ToIPv6(g);
      for (auto& p : packets) p = ToIPv6(p);
    }
    ASSERT_TRUE(rt_->Exec({restore}, {.input = empty}).ok());
    rt_->Exec({"ipset", "destroy"});
    auto ips = rt_->Exec({"ipset", "restore"}, {.input = g.ipsets});
    ASSERT_TRUE(ips.ok()) << ips.err << g.ipsets;
    auto rr = rt_->Exec({restore}, {.input = g.rules});
    ASSERT_TRUE(rr.ok()) << rr.err << "\n" << g.rules;
    rt_->Exec({"conntrack", "-F", "-f", v6 ? "ipv6" : "ipv4"});

    // What trace says, from what the router itself reports.
    auto saved = rt_->Exec({save});
    auto sets = rt_->Exec({"ipset", "save"});
    ASSERT_TRUE(saved.ok() && sets.ok());
    auto parsed = netfilter::ParseRuleset(saved.out);
    ASSERT_TRUE(parsed.ruleset) << parsed.error->ToString() << "\n" << saved.out;
    host::HostNetwork net;
    std::string error;
    ASSERT_TRUE(host::ParseIpAddrJson(addr.out, net, error)) << error;
    ASSERT_TRUE(host::ParseIpRouteJson(route.out, family, net, error)) << error;
    ASSERT_TRUE(host::ParseIpsetSave(sets.out, net, error)) << error;
    analyze::TraceModel model(*parsed.ruleset, net);

    // What the kernel does.
    for (const char* client : {"eth0", "eth1", "local"}) {
      std::string json = "[";
      for (const auto& p : packets) {
        if (p.in != client) continue;
        if (json.size() > 1) json += ",";
        json += fmt::format("[\"{}\",\"{}\",{},{},{},{}]", p.src, p.dst, p.proto, p.sport, p.dport,
                            p.icmp_type);
      }
      json += "]";
      std::string file = lab_->RunDir() + "/packets-" + client + ".json";
      std::ofstream(file) << json;
      Host* h = std::string(client) == "eth0" ? ca_ : std::string(client) == "eth1" ? cb_ : rt_;
      auto sent = h->Exec({"python3", sender_, file});
      ASSERT_TRUE(sent.ok()) << sent.err;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    auto ct = rt_->Exec({"conntrack", "-L", "-f", v6 ? "ipv6" : "ipv4", "-o", "extended"});
    auto seen = ParseConntrack(ct.out);
    if (getenv("SWARMWALL_TRACE_DEBUG"))
      std::cout << ct.out << ct.err << ca_->Sh("ip -6 neigh; ip -6 route; ip -6 addr").out
                << rt_->Sh("ip -6 neigh; ip -6 route").out;

    int shown = 0;
    for (const auto& p : packets) {
      ++cases;
      analyze::TraceInput in;
      in.packet.family = family;
      in.packet.src = *netfilter::IpAddress::Parse(p.src);
      in.packet.dst = *netfilter::IpAddress::Parse(p.dst);
      in.packet.protocol = static_cast<uint16_t>(p.proto);
      in.packet.sport = static_cast<uint16_t>(p.sport);
      in.packet.dport = static_cast<uint16_t>(p.dport);
      in.packet.icmp_type = static_cast<uint8_t>(p.icmp_type);
      in.packet.tcp_flags = analyze::kTcpSyn;
      if (p.in == "local") in.local_origin = true;
      else in.packet.in = p.in;
      auto result = model.Trace(in);
      const auto& o = result.outcome;
      // The router's packets to itself: conntrack confirms them on the way
      // out through lo, before INPUT, so the table cannot tell their fate.
      if (in.local_origin && net.IsLocal(o.final_packet.dst)) continue;
      sent_locally += in.local_origin;
      // The fast path (indexed, nothing recorded) says the same.
      auto fast = model.Verdict(in);
      EXPECT_TRUE(fast.fate == o.fate && fast.final_packet.dst == o.final_packet.dst &&
                  fast.final_packet.src == o.final_packet.src &&
                  fast.final_packet.dport == o.final_packet.dport)
          << analyze::TraceText(result, in, family);
      std::string key = fmt::format("{} {} {} {}", p.proto, p.src, p.dst, p.sport);
      auto it = seen.find(key);
      bool kernel_accepts = it != seen.end();
      bool trace_accepts = analyze::Accepted(o.fate);
      std::string why;
      if (!result.Definite()) why = "trace is not definite";
      else if (kernel_accepts != trace_accepts)
        why = fmt::format("kernel {}, trace {}", kernel_accepts ? "accepts" : "drops",
                          analyze::FateName(o.fate));
      else if (kernel_accepts) {
        const Seen& s = it->second;
        const auto& f = o.final_packet;
        bool same = s.repl_src == f.dst.ToString() && s.repl_dst == f.src.ToString() &&
                    (p.proto == 1 || p.proto == 58 ||
                     (s.repl_sport == f.dport && s.repl_dport == f.sport));
        if (!same)
          why = fmt::format("kernel rewrote to {}:{} from {}:{}, trace to {}:{} from {}:{}",
                            s.repl_src, s.repl_sport, s.repl_dst, s.repl_dport, f.dst.ToString(),
                            f.dport, f.src.ToString(), f.sport);
      }
      if (kernel_accepts) {
        ++accepted;
        if (o.fate == Fate::kLocal) ++local;
        if (!result.rewrites.empty()) ++nat;
      }
      // The command line on the live router says the same (first ruleset).
      if (n == 0 && cases <= 12) {
        std::vector<std::string> argv = {SWARMWALL_BINARY, "trace", "--live", "--in", p.in,
                                         "--src", p.src, "--dst", p.dst, "--output", "json",
                                         "--sport", std::to_string(p.sport)};
        if (p.proto == 1 || p.proto == 58) {
          argv.insert(argv.end(), {"--proto", v6 ? "icmpv6" : "icmp", "--icmp-type",
                                   std::to_string(p.icmp_type)});
        } else {
          argv.insert(argv.end(), {"--proto", p.proto == 6 ? "tcp" : "udp", "--dport",
                                   std::to_string(p.dport)});
        }
        auto live = rt_->Exec(argv);
        EXPECT_EQ(live.exit_code, trace_accepts ? 0 : 2) << live.out << live.err;
        EXPECT_NE(live.out.find(fmt::format("\"fate\": \"{}\"", analyze::FateName(o.fate))),
                  std::string::npos)
            << live.out;
      }
      if (why.empty()) continue;
      ++disagreements;
      if (shown++ < 3)
        ADD_FAILURE() << "ruleset " << n << " (seed " << seed << "): " << why << "\n"
                      << g.ipsets << g.rules << "\n"
                      << analyze::TraceText(result, in, family);
    }
  }
  std::cout << fmt::format(
      "trace vs kernel, {}: {} rulesets, {} packets ({} sent by the router), {} accepted by the "
      "kernel ({} delivered locally, {} rewritten by NAT), {} disagreements (seed {})\n",
      v6 ? "IPv6" : "IPv4", rulesets, cases, sent_locally, accepted, local, nat, disagreements,
      seed);
  EXPECT_EQ(disagreements, 0);
}

TEST_F(TraceKernel, RandomIpv4RulesetsAgreeWithTheKernel) {
  RunDifferential(ca_, cb_, rt_, lab_, sender_, netfilter::Family::kIPv4, 40);
}

TEST_F(TraceKernel, RandomIpv6RulesetsAgreeWithTheKernel) {
  RunDifferential(ca_, cb_, rt_, lab_, sender_, netfilter::Family::kIPv6, 20);
}

}  // namespace
}  // namespace swarmwall::tracetest
