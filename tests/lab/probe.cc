// Host probes of the lab: nmap TCP scans, concurrent connect() checks and the
// conntrack-based UDP reachability probe (declared in lab.h).
#include <algorithm>
#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "lab.h"

namespace swarmwall::lab {
namespace {

using namespace std::chrono_literals;

std::atomic<int> scan_counter{0};
std::atomic<int> udp_counter{0};

bool IsV6Address(const std::string& addr) { return addr.find(':') != std::string::npos; }

// Parses nmap's grepable output: "Host: ADDR ()\tPorts: 22/open/tcp//ssh///, ..."
void ParseGrepable(const std::string& text, std::map<std::string, std::vector<int>>* out) {
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (!line.starts_with("Host: ")) continue;
    auto ports_at = line.find("Ports: ");
    if (ports_at == std::string::npos) continue;
    std::string addr = line.substr(6, line.find(' ', 6) - 6);
    std::string list = line.substr(ports_at + 7);
    list = list.substr(0, list.find('\t'));
    std::istringstream items(list);
    for (std::string item; std::getline(items, item, ',');) {
      item.erase(0, item.find_first_not_of(' '));
      // PORT/STATE/PROTO/OWNER/SERVICE/RPC/VERSION
      std::vector<std::string> f;
      std::istringstream fields(item);
      for (std::string x; std::getline(fields, x, '/');) f.push_back(x);
      if (f.size() >= 3 && f[1] == "open" && f[2] == "tcp") (*out)[addr].push_back(std::stoi(f[0]));
    }
  }
  for (auto& [addr, ports] : *out) {
    std::sort(ports.begin(), ports.end());
    ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  }
}

}  // namespace

std::vector<int> Host::ScanTcp(const std::string& addr) { return ScanTcp(std::vector<std::string>{addr})[addr]; }

std::map<std::string, std::vector<int>> Host::ScanTcp(const std::vector<std::string>& addrs) {
  if (addrs.empty()) return {};
  const bool v6 = IsV6Address(addrs.front());
  for (const auto& a : addrs) {
    if (IsV6Address(a) != v6) throw std::invalid_argument("lab: ScanTcp: mixed IPv4 and IPv6 addresses");
  }
  const std::string file = fmt::format("{}/nmap-{}.gnmap", dir(), ++scan_counter);
  // -T5 alone waits up to a minute on a host that drops: 65,535 filtered
  // ports times its retries. A high floor of parallel probes with short
  // timeouts keeps a mostly-dropping host at ~10 s without losing answers;
  // a high --min-rate instead loses SYN-ACKs when most ports answer (nmap
  // cannot read the RSTs fast enough).
  std::vector<std::string> argv{"nmap", "-sS", "-p1-65535", "-T5", "-n", "-Pn", "--open",
                                "--min-parallelism", "2048", "--initial-rtt-timeout", "40ms",
                                "--max-rtt-timeout", "200ms", "--max-retries", "1", "-oG", file};
  if (v6) argv.push_back("-6");
  argv.insert(argv.end(), addrs.begin(), addrs.end());
  ProcessOptions o;
  o.timeout = 300s;
  ProcessResult r = Exec(argv, o);
  if (!r.ok()) {
    throw std::runtime_error(fmt::format("lab: nmap from {} failed (exit {}): {}", name(), r.exit_code, r.err));
  }
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().find("# Nmap done") == std::string::npos) {
    throw std::runtime_error("lab: nmap from " + name() + " left no complete output in " + file);
  }
  std::map<std::string, std::vector<int>> out;
  for (const auto& a : addrs) out[a];
  ParseGrepable(text.str(), &out);
  return out;
}

std::vector<int> Host::ConnectableTcp(const std::string& addr, const std::vector<int>& ports,
                                      std::chrono::milliseconds timeout) {
  const double secs = static_cast<double>(timeout.count()) / 1000.0;
  const std::string target = IsV6Address(addr) ? fmt::format("TCP6:[{}]", addr) : fmt::format("TCP4:{}", addr);
  std::string script;
  for (int p : ports) {
    script += fmt::format("(socat -u OPEN:/dev/null {}:{},connect-timeout={:.3f} 2>/dev/null && echo {}) & ",
                          target, p, secs, p);
  }
  script += "wait";
  ProcessOptions o;
  o.timeout = timeout + 30s;
  ProcessResult r = Exec({"/bin/sh", "-c", script}, o);
  std::vector<int> open;
  std::istringstream in(r.out);
  for (int p; in >> p;) open.push_back(p);
  std::sort(open.begin(), open.end());
  return open;
}

bool Host::UdpDelivered(Host& target, const std::string& addr, int port) {
  if (IsV6Address(addr)) throw std::invalid_argument("lab: UdpDelivered is IPv4 only");
  // A source port of our own per probe, so no earlier flow can answer.
  const int sport = 42000 + (udp_counter++ % 20000);
  const std::vector<std::string> filter{"-p", "udp", "--orig-port-src", std::to_string(sport),
                                        "--orig-port-dst", std::to_string(port)};
  auto conntrack = [&](const char* op) {
    std::vector<std::string> argv{"conntrack", op};
    argv.insert(argv.end(), filter.begin(), filter.end());
    return target.Exec(argv);
  };
  conntrack("-D");
  // Three datagrams, in case one is lost on the way.
  std::string send = fmt::format(
      "for i in 1 2 3; do echo swarmwall-lab-probe | socat -u - UDP4-SENDTO:{}:{},sourceport={}; done", addr,
      port, sport);
  ProcessResult sent = Sh(send);
  if (!sent.ok()) throw std::runtime_error("lab: UDP probe from " + name() + " failed: " + sent.err);
  std::this_thread::sleep_for(200ms);
  ProcessResult listed = conntrack("-L");
  return listed.out.find(fmt::format("dport={}", port)) != std::string::npos;
}

}  // namespace swarmwall::lab
