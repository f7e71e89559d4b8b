// Figures of the native nftables model (issue 14), one core. Not a test:
//   nft_perftest read FILE.json RUNS      parse + model a saved `nft -j list ruleset`
//   nft_perftest live RUNS                list (libnftables) + parse + model this namespace's ruleset
//   nft_perftest trace FILE.json PACKETS  trace's fast path over it (packets/s)
//   nft_perftest exposure FILE.json ADDR.json ROUTE.json   exposure of every interface
// Each prints one line "NAME median_ms" or "trace packets_per_s"; bench/nft_bench.sh runs them
// beside `nft -j list ruleset` itself.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "analyze/exposure/exposure.h"
#include "analyze/trace/trace.h"
#include "host/network.h"
#include "host/nftables.h"
#include "netfilter/nft_json.h"

using namespace swarmwall;

namespace {

using Clock = std::chrono::steady_clock;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

double Ms(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Parses and models JSON; the model's size keeps the work from being elided.
size_t Model(const std::string& json) {
  auto r = netfilter::ParseNftJson(json, "bench");
  if (!r.ruleset) {
    std::fprintf(stderr, "%s\n", r.error->ToString().c_str());
    std::exit(1);
  }
  host::HostNetwork net;
  net.nftables = std::move(*r.ruleset);
  net.nftables_known = true;
  netfilter::Ruleset empty;
  analyze::TraceModel model(empty, net);
  return model.tables().size() + net.nftables.RuleCount();
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: nft_perftest read|live|trace|exposure ...\n");
    return 1;
  }
  std::string what = argv[1];
  if (what == "read" || what == "live") {
    int runs = std::atoi(argv[what == "read" ? 3 : 2]);
    std::string json = what == "read" ? ReadFile(argv[2]) : "";
    std::vector<double> t;
    size_t rules = 0;
    for (int i = 0; i < runs; ++i) {
      auto a = Clock::now();
      if (what == "live") {
        std::string error;
        auto listed = host::ListNftRulesetJson(error);
        if (!listed) {
          std::fprintf(stderr, "%s\n", error.c_str());
          return 1;
        }
        json = std::move(*listed);
      }
      rules = Model(json);
      t.push_back(Ms(a, Clock::now()));
    }
    std::printf("%s %.2f %zu\n", what.c_str(), Median(t), rules);
    return 0;
  }
  auto r = netfilter::ParseNftJson(ReadFile(argv[2]), argv[2]);
  if (!r.ruleset) {
    std::fprintf(stderr, "%s\n", r.error->ToString().c_str());
    return 1;
  }
  host::HostNetwork net;
  net.nftables = std::move(*r.ruleset);
  net.nftables_known = true;
  netfilter::Ruleset empty;
  if (what == "trace") {
    std::string error;
    host::ParseIpAddrJson(R"([{"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
      {"ifname":"eth0","addr_info":[{"family":"inet","local":"203.0.113.11","prefixlen":24}]},
      {"ifname":"docker0","addr_info":[{"family":"inet","local":"172.17.0.1","prefixlen":16}]}])", net, error);
    host::ParseIpRouteJson(R"([{"dst":"default","gateway":"203.0.113.1","dev":"eth0"},
      {"dst":"203.0.113.0/24","dev":"eth0"},{"dst":"172.17.0.0/16","dev":"docker0"}])",
                           netfilter::Family::kIPv4, net, error);
    analyze::TraceModel model(empty, net);
    long packets = std::atol(argv[3]);
    std::mt19937 rng(7);
    std::vector<analyze::TraceInput> in(4096);
    for (auto& t : in) {
      t.packet.src = *netfilter::IpAddress::Parse(fmt::format("10.{}.{}.{}", rng() % 40, rng() % 256, rng() % 256));
      t.packet.dst = *netfilter::IpAddress::Parse(rng() % 2 ? "203.0.113.11" : "172.17.0.2");
      t.packet.protocol = rng() % 2 ? 6 : 17;
      t.packet.sport = 40000;
      t.packet.dport = static_cast<uint16_t>(rng() % 2000);
      t.packet.in = "eth0";
    }
    size_t accepted = 0;
    auto a = Clock::now();
    for (long i = 0; i < packets; ++i) accepted += analyze::Accepted(model.Verdict(in[i % in.size()]).fate);
    double s = Ms(a, Clock::now()) / 1000;
    std::printf("trace %.0f %zu\n", static_cast<double>(packets) / s, accepted);
    return 0;
  }
  if (what == "exposure" && argc >= 5) {
    std::string error;
    if (!host::ParseIpAddrJson(ReadFile(argv[3]), net, error) ||
        !host::ParseIpRouteJson(ReadFile(argv[4]), netfilter::Family::kIPv4, net, error)) {
      std::fprintf(stderr, "%s\n", error.c_str());
      return 1;
    }
    std::vector<double> t;
    size_t entries = 0;
    for (int i = 0; i < 3; ++i) {
      auto a = Clock::now();
      analyze::TraceModel model(empty, net);
      auto e = analyze::ComputeExposure(model, {});
      entries = 0;
      for (const auto& in : e.interfaces) entries += in.entries.size();
      t.push_back(Ms(a, Clock::now()));
    }
    std::printf("exposure %.2f %zu\n", Median(t), entries);
    return 0;
  }
  std::fprintf(stderr, "usage: nft_perftest read|live|trace|exposure ...\n");
  return 1;
}
