// Throughput of trace's fast path (TraceModel::Verdict: the verdict, NAT and
// where the packet goes, without recording each rule) on a 5,000-rule Docker
// host ruleset, one core. Not a test; prints packets per second.
//   build-x/src/analyze/trace_perftest [RULES] [PACKETS]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "host/network.h"
#include "analyze/trace/trace.h"
#include "netfilter/parser.h"

using namespace swarmwall;

namespace {

// A Docker 20.10 host with 50 published ports, a host firewall chain of
// allowed (source, port) pairs and a DOCKER-USER chain of allowed
// (source, container) pairs; RULES in all.
std::string Ruleset(size_t rules, size_t& count) {
  std::string nat = "*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n"
                    ":POSTROUTING ACCEPT [0:0]\n:DOCKER - [0:0]\n"
                    "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER\n"
                    "-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER\n"
                    "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE\n"
                    "-A DOCKER -i docker0 -j RETURN\n";
  count = 5;
  for (int i = 0; i < 50; ++i, ++count)
    nat += fmt::format("-A DOCKER ! -i docker0 -p tcp -m tcp --dport {} -j DNAT --to-destination 172.17.0.{}:80\n",
                       8000 + i, 2 + i);
  nat += "COMMIT\n";
  std::string filter =
      "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n:DOCKER - [0:0]\n"
      ":DOCKER-ISOLATION-STAGE-1 - [0:0]\n:DOCKER-ISOLATION-STAGE-2 - [0:0]\n:DOCKER-USER - [0:0]\n"
      ":HOST-ALLOW - [0:0]\n"
      "-A INPUT -i lo -j ACCEPT\n"
      "-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
      "-A INPUT -m conntrack --ctstate INVALID -j DROP\n"
      "-A INPUT -j HOST-ALLOW\n"
      "-A INPUT -p icmp -m icmp --icmp-type 8 -m limit --limit 10/sec -j ACCEPT\n"
      "-A FORWARD -j DOCKER-USER\n-A FORWARD -j DOCKER-ISOLATION-STAGE-1\n"
      "-A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n"
      "-A FORWARD -o docker0 -j DOCKER\n-A FORWARD -i docker0 ! -o docker0 -j ACCEPT\n"
      "-A FORWARD -i docker0 -o docker0 -j ACCEPT\n"
      "-A DOCKER-ISOLATION-STAGE-1 -i docker0 ! -o docker0 -j DOCKER-ISOLATION-STAGE-2\n"
      "-A DOCKER-ISOLATION-STAGE-1 -j RETURN\n"
      "-A DOCKER-ISOLATION-STAGE-2 -o docker0 -j DROP\n-A DOCKER-ISOLATION-STAGE-2 -j RETURN\n";
  count += 15;
  for (int i = 0; i < 50; ++i, ++count)
    filter += fmt::format("-A DOCKER -d 172.17.0.{}/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT\n", 2 + i);
  size_t left = rules > count + 4 ? rules - count - 4 : 0;
  size_t host = left / 2, user = left - host;
  static const int kPorts[] = {22, 80, 443, 2377, 7946, 5432, 6443, 9100, 3000, 8443};
  for (size_t i = 0; i < host; ++i, ++count)
    filter += fmt::format("-A HOST-ALLOW -s 10.{}.{}.1/32 -p tcp -m tcp --dport {} -m comment --comment \"allow {}\" -j ACCEPT\n",
                          i / 250, i % 250, kPorts[i % 10], i);
  filter += "-A HOST-ALLOW -j RETURN\n";
  ++count;
  for (size_t i = 0; i < user; ++i, ++count)
    filter += fmt::format("-A DOCKER-USER -s 10.{}.{}.2/32 -d 172.17.0.{}/32 -p tcp -m tcp --dport 80 -j RETURN\n",
                          i / 250, i % 250, 2 + i % 50);
  filter += "-A DOCKER-USER -i eth0 -o docker0 -m conntrack --ctstate NEW -j DROP\n"
            "-A DOCKER-USER -j RETURN\n";
  count += 2;
  filter += "COMMIT\n";
  return nat + filter;
}

}  // namespace

int main(int argc, char** argv) {
  size_t rules = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 5000;
  size_t packets = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 5'000'000;
  size_t count = 0;
  std::string text = Ruleset(rules, count);
  auto parsed = netfilter::ParseRuleset(text);
  if (parsed.ruleset && parsed.ruleset->RuleCount() != rules) {   // exactly RULES
    text = Ruleset(2 * rules - parsed.ruleset->RuleCount(), count);
    parsed = netfilter::ParseRuleset(text);
  }
  if (!parsed.ruleset) {
    std::fprintf(stderr, "%s\n", parsed.error->ToString().c_str());
    return 1;
  }
  host::HostNetwork net;
  std::string error;
  host::ParseIpAddrJson(
      R"([{"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
          {"ifname":"eth0","addr_info":[{"family":"inet","local":"203.0.113.11","prefixlen":24}]},
          {"ifname":"docker0","addr_info":[{"family":"inet","local":"172.17.0.1","prefixlen":16}]}])",
      net, error);
  host::ParseIpRouteJson(
      R"([{"dst":"default","gateway":"203.0.113.100","dev":"eth0"},
          {"dst":"203.0.113.0/24","dev":"eth0","prefsrc":"203.0.113.11"},
          {"dst":"172.17.0.0/16","dev":"docker0","prefsrc":"172.17.0.1"}])",
      netfilter::Family::kIPv4, net, error);
  analyze::TraceModel model(*parsed.ruleset, net);

  // 4096 packets from strangers and allowed sources, to host ports and
  // published ports.
  std::mt19937 rng(7);
  std::vector<analyze::TraceInput> inputs(4096);
  static const int kPorts[] = {22, 80, 443, 2377, 7946, 5432, 6443, 9100, 3000, 8443};
  for (auto& in : inputs) {
    auto& p = in.packet;
    p.in = "eth0";
    int i = std::uniform_int_distribution<int>(0, 5000)(rng);
    p.src = *netfilter::IpAddress::Parse(fmt::format("10.{}.{}.{}", i / 250, i % 250, 1 + (rng() & 1)));
    p.protocol = 6;
    p.sport = static_cast<uint16_t>(30000 + (rng() & 0x7fff));
    if (rng() & 1) {
      p.dst = *netfilter::IpAddress::Parse("203.0.113.11");
      p.dport = static_cast<uint16_t>(kPorts[rng() % 10]);
    } else {
      p.dst = *netfilter::IpAddress::Parse("203.0.113.11");
      p.dport = static_cast<uint16_t>(8000 + rng() % 50);
    }
  }
  size_t accepted = 0, forwarded = 0;
  auto start = std::chrono::steady_clock::now();
  for (size_t n = 0; n < packets; ++n) {
    auto o = model.Verdict(inputs[n & 4095]);
    accepted += analyze::Accepted(o.fate);
    forwarded += o.fate == analyze::Fate::kForward;
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  // The full trace (every rule met, recorded), for comparison.
  size_t full = std::min<size_t>(packets / 500, 10000);
  auto start2 = std::chrono::steady_clock::now();
  size_t steps = 0;
  for (size_t n = 0; n < full; ++n) steps += model.Trace(inputs[n & 4095]).steps.size();
  double secs2 = std::chrono::duration<double>(std::chrono::steady_clock::now() - start2).count();
  std::printf("ruleset: %zu rules\n", parsed.ruleset->RuleCount());
  std::printf("verdict: %zu packets in %.3f s = %.0f packets/s (one core); %zu accepted, %zu forwarded\n",
              packets, secs, packets / secs, accepted, forwarded);
  std::printf("full trace (every rule recorded): %zu packets in %.3f s = %.0f packets/s, %.0f rules met per packet\n",
              full, secs2, full / secs2, full ? static_cast<double>(steps) / full : 0.0);
  return 0;
}
