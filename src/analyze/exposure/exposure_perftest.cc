// Time of the exposure analysis (not a test; prints the figures):
//   (a) the TUM chair's 4,841-rule ruleset (net-network corpus), filter
//       FORWARD alone, service matrices for tcp 22 and 80, with the
//       interface assignments of ipassmt_tumi8 (as fffuu analyses it);
//   (b) a kube-proxy-like ruleset of RULES rules (bench/gen_kube_dump), the
//       whole arrival path of a node with one public interface.
//   build/src/analyze/exposure_perftest [SHARED_DIR] [RULES]
//   (SHARED_DIR: else $SWARMWALL_SHARED, else ../shared, beside the repo when run from it)
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include <fmt/format.h>

#include "analyze/exposure/exposure.h"
#include "host/network.h"
#include "analyze/model/ipassmt.h"
#include "analyze/trace/trace.h"
#include "gen_kube_dump.h"
#include "netfilter/parser.h"


using namespace swarmwall;

namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

}  // namespace

int main(int argc, char** argv) {
  const char* env = std::getenv("SWARMWALL_SHARED");
  std::string shared = argc > 1 ? argv[1] : env ? env : "../shared";
  size_t rules = argc > 2 ? std::stoul(argv[2]) : 100000;

  // (a) TUM, filter FORWARD, tcp 22 and 80.
  {
    std::string path = shared +
        "/corpus/net-network/configs_chair_for_Network_Architectures_and_Services/"
        "iptables-save-2015-05-15_15-23-41";
    std::string text = ReadFile(path);
    // The corpus anonymised every MAC address to XX:XX:XX:XX:XX:XX, which
    // iptables would not take; -m mac is undecidable for the analysis
    // anyway, so any valid address stands in.
    for (size_t at = text.find("XX:XX:XX:XX:XX:XX"); at != std::string::npos;
         at = text.find("XX:XX:XX:XX:XX:XX", at))
      text.replace(at, 17, "00:00:00:00:00:00");
    analyze::IpAssignment ipassmt;
    std::string error;
    if (text.empty() || !analyze::ParseIpAssignment(ReadFile(shared + "/corpus/ipassmt/ipassmt_tumi8"),
                                                    ipassmt, error)) {
      fmt::print("(a) corpus not found under {}: {}\n", shared, error);
    } else {
      auto t0 = std::chrono::steady_clock::now();
      auto parsed = netfilter::ParseRuleset(text);
      if (!parsed.ruleset) {
        fmt::print("(a) parse error: {}\n", parsed.error->ToString());
        return 1;
      }
      host::HostNetwork net;
      analyze::TraceModel model(*parsed.ruleset, net);
      double load = Seconds(t0);
      analyze::ExposureOptions o;
      o.scope = analyze::ExposureOptions::Scope::kFilterForward;
      o.ipassmt = &ipassmt;
      size_t count = 0;
      for (const auto& t : parsed.ruleset->tables)
        for (const auto& c : t.chains) count += c.rules.size();
      for (uint16_t port : {22, 80}) {
        auto t1 = std::chrono::steady_clock::now();
        auto m = analyze::ComputeServiceMatrix(model, 6, port, o);
        double s = Seconds(t1);
        fmt::print("(a) TUM {} rules, filter FORWARD, tcp {}: {:.3f} s ({} classes, {} edges over, {} under, "
                   "{} undecidable matches{})\n",
                   count, port, s, m.classes.size(), m.edges.size(), m.edges_under.size(),
                   m.unknowns.size(), m.truncated ? ", TRUNCATED" : "");
      }
      fmt::print("(a) parse and compile: {:.3f} s\n", load);
    }
  }

  // (b) kube-proxy-like, the whole arrival path.
  {
    auto dump = bench::GenerateKubeDump(rules, 1);
    auto t0 = std::chrono::steady_clock::now();
    auto parsed = netfilter::ParseRuleset(dump.text);
    if (!parsed.ruleset) {
      fmt::print("(b) parse error: {}\n", parsed.error->ToString());
      return 1;
    }
    host::HostNetwork net;
    std::string error;
    host::ParseIpAddrJson(
        R"([{"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
            {"ifname":"eth0","addr_info":[{"family":"inet","local":"203.0.113.11","prefixlen":24}]},
            {"ifname":"cni0","addr_info":[{"family":"inet","local":"10.244.0.1","prefixlen":16}]}])",
        net, error);
    host::ParseIpRouteJson(R"([{"dst":"default","gateway":"203.0.113.1","dev":"eth0"},
        {"dst":"203.0.113.0/24","dev":"eth0"},{"dst":"10.244.0.0/16","dev":"cni0"}])",
                              netfilter::Family::kIPv4, net, error);
    analyze::TraceModel model(*parsed.ruleset, net);
    double load = Seconds(t0);
    analyze::ExposureOptions o;
    o.interfaces = {"eth0"};
    auto t1 = std::chrono::steady_clock::now();
    auto e = analyze::ComputeExposure(model, o);
    double s = Seconds(t1);
    size_t entries = 0;
    for (const auto& i : e.interfaces) entries += i.entries.size();
    fmt::print("(b) kube-proxy-like {} rules ({} services, {} endpoints), arrival on eth0: {:.3f} s "
               "({} entries, {} packet sets walked, {} undecidable matches{}); parse and compile {:.3f} s\n",
               dump.rules, dump.services, dump.endpoints, s, entries, e.flows, e.unknowns.size(),
               e.truncated ? ", TRUNCATED" : "", load);
  }
  return 0;
}
