#include "router_lab.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace swarmwall::tracetest {
namespace {

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

}  // namespace

const char* const kQuietTable =
    "table inet swquiet {\n chain out {\n"
    "  type filter hook output priority -400; policy accept;\n"
    "  tcp flags rst drop\n }\n}\n";

std::unique_ptr<RouterLab> MakeRouterLab(const std::string& tag,
                                         const std::vector<std::string>& tools, std::string* skip) {
  std::string why;
  if (!lab::LabSupported(&why)) {
    *skip = "lab not supported: " + why;
    return nullptr;
  }
  for (const auto& tool : tools)
    if (!ProgramExists(tool)) {
      *skip = "missing " + tool;
      return nullptr;
    }
  auto r = std::make_unique<RouterLab>();
  r->lab = std::make_unique<Lab>(tag);
  Lab& lab = *r->lab;
  auto& sa = lab.AddSwitch("sa");
  auto& sb = lab.AddSwitch("sb");
  auto& ss = lab.AddSwitch("ss");
  Host* ca = r->ca = &lab.AddHost("ca");
  Host* cb = r->cb = &lab.AddHost("cb");
  Host* rt = r->rt = &lab.AddHost("rt");
  Host* sv = r->sv = &lab.AddHost("sv");
  lab.Connect(*ca, sa, "eth0",
              {"10.1.0.2/24", "10.1.0.3/24", "10.1.0.4/24", "10.1.0.5/24", "10.1.0.6/24",
               "2001:db8:1::2/64", "2001:db8:1::3/64", "2001:db8:1::4/64", "2001:db8:1::5/64",
               "2001:db8:1::6/64"});
  lab.Connect(*cb, sb, "eth0", {"10.3.0.2/24", "10.3.0.3/24", "10.3.0.4/24", "2001:db8:3::2/64",
                                "2001:db8:3::3/64", "2001:db8:3::4/64"});
  lab.Connect(*rt, sa, "eth0", {"10.1.0.1/24", "2001:db8:1::1/64"});
  lab.Connect(*rt, sb, "eth1", {"10.3.0.1/24", "2001:db8:3::1/64"});
  lab.Connect(*rt, ss, "eth2", {"10.2.0.1/24", "2001:db8:2::1/64"});
  lab.Connect(*sv, ss, "eth0", {"10.2.0.2/24", "10.2.0.3/24", "2001:db8:2::2/64",
                                "2001:db8:2::3/64"});
  lab.AddDefaultRoute(*ca, "10.1.0.1");
  lab.AddDefaultRoute(*cb, "10.3.0.1");
  lab.AddDefaultRoute(*sv, "10.2.0.1");
  lab.AddDefaultRoute(*ca, "2001:db8:1::1");
  lab.AddDefaultRoute(*cb, "2001:db8:3::1");
  lab.AddDefaultRoute(*sv, "2001:db8:2::1");
  rt->Sh("ip link set lo up; sysctl -qw net.ipv4.ip_forward=1; "
         "sysctl -qw net.ipv6.conf.all.forwarding=1; "
         "for i in all default eth0 eth1 eth2; do sysctl -qw net.ipv4.conf.$i.rp_filter=0; done");
  // IPv6 neighbours without discovery: the rules under test may drop it.
  auto mac = [](Host* h, const char* dev) {
    // (not /sys: nsenter --net keeps the root namespace's sysfs)
    auto m = h->Exec({"ip", "link", "show", "dev", dev});
    size_t at = m.out.find("link/ether ");
    return at == std::string::npos ? std::string() : m.out.substr(at + 11, 17);
  };
  ca->Sh("ip -6 neigh replace 2001:db8:1::1 lladdr " + mac(rt, "eth0") + " dev eth0 nud permanent");
  cb->Sh("ip -6 neigh replace 2001:db8:3::1 lladdr " + mac(rt, "eth1") + " dev eth0 nud permanent");
  for (Host* h : {ca, cb, sv}) h->Sh("ip link set lo up");
  for (Host* h : {rt, sv, ca, cb}) {
    auto q = h->Exec({"nft", "-f", "-"}, {.input = kQuietTable});
    if (!q.ok()) {
      *skip = "nft: " + q.err;
      return nullptr;
    }
  }
  r->sender = lab.RunDir() + "/send.py";
  std::ofstream(r->sender) << kSender;
  return r;
}

bool SendPackets(RouterLab& r, const std::vector<TestPacket>& packets, std::string* error) {
  for (const char* client : {"eth0", "eth1", "local"}) {
    std::string json = "[";
    for (const auto& p : packets) {
      if (p.in != client) continue;
      if (json.size() > 1) json += ",";
      json += fmt::format("[\"{}\",\"{}\",{},{},{},{}]", p.src, p.dst, p.proto, p.sport, p.dport,
                          p.icmp_type);
    }
    json += "]";
    std::string file = r.lab->RunDir() + "/packets-" + client + ".json";
    std::ofstream(file) << json;
    lab::Host* h = std::string(client) == "eth0" ? r.ca : std::string(client) == "eth1" ? r.cb : r.rt;
    auto sent = h->Exec({"python3", r.sender, file});
    if (!sent.ok()) {
      *error = sent.err;
      return false;
    }
  }
  return true;
}

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

std::string ConntrackKey(const TestPacket& p) {
  return fmt::format("{} {} {} {}", p.proto, p.src, p.dst, p.sport);
}

}  // namespace swarmwall::tracetest
