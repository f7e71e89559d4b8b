// The README's demo: the seed-004 cluster (tests/lab/seed004.h: three Swarm
// nodes with real dockerds 20.10 in network namespaces, published containers,
// host services, a stranger, an office and an admin outside) before and after
// `swarmwall apply` of examples/swarm-cluster.yaml, shown by full nmap scans.
// Everything it creates is removed at the end, also on failure or Ctrl-C (and
// the leftovers of a demo killed with SIGKILL by the next lab that starts).
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "lab/lab.h"
#include "lab/seed004.h"

namespace {

using swarmwall::ProcessResult;
using swarmwall::lab::ClusterNode;
using swarmwall::lab::DockerVersion;
using swarmwall::lab::Outsider;
using swarmwall::lab::Seed004;
using Ports = std::vector<int>;

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

int step_number = 0;

void Step(const std::string& text) {
  std::cout << fmt::format("\n==> {}. {}\n", ++step_number, text) << std::flush;
}

void Say(const std::string& text) { std::cout << "    " << text << "\n" << std::flush; }

// Prints a command's output indented, at most MAX_LINES lines of it.
void Show(const ProcessResult& r, std::size_t max_lines = 1000) {
  std::istringstream in(r.out + r.err);
  std::size_t n = 0, more = 0;
  for (std::string line; std::getline(in, line);) {
    if (n++ < max_lines)
      std::cout << "    | " << line << "\n";
    else
      ++more;
  }
  if (more) std::cout << fmt::format("    | ... ({} more lines)\n", more);
  std::cout << std::flush;
}

// Prints what a plan or apply said without its rule-by-rule diff (the lines
// it indents), and how many changes that diff holds.
void ShowSummary(const ProcessResult& r) {
  std::istringstream in(r.out + r.err);
  int changes = 0;
  for (std::string line; std::getline(in, line);) {
    if (line.starts_with("  ")) {
      if (line.starts_with("  +") || line.starts_with("  -")) ++changes;
      continue;
    }
    if (line == "IPv4:" || line == "IPv6:") continue;
    std::cout << "    | " << line << "\n";
  }
  std::cout << fmt::format("    | ({} lines of chains, rules, hooks and sets to add or remove)\n", changes) << std::flush;
}

std::string List(const Ports& p) { return p.empty() ? "nothing" : fmt::format("{}", fmt::join(p, " ")); }

// Full TCP scans of every node's public address from each of FROM, at once.
std::map<std::string, std::map<std::string, Ports>> Scan(Seed004& lab, const std::vector<Outsider*>& from) {
  std::vector<std::string> addrs;
  for (auto& n : lab.nodes()) addrs.push_back(n.public_addr);
  std::map<std::string, std::future<std::map<std::string, Ports>>> running;
  for (Outsider* o : from)
    running[o->name] = std::async(std::launch::async, [o, addrs] { return o->host->ScanTcp(addrs); });
  std::map<std::string, std::map<std::string, Ports>> out;
  for (auto& [name, f] : running) {
    auto by_addr = f.get();
    for (auto& n : lab.nodes()) out[name][n.name] = by_addr[n.public_addr];
  }
  return out;
}

Ports Minus(const Ports& a, const Ports& b) {
  Ports out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

// `swarmwall agent` on NODE in the background (the lab's teardown stops
// it with everything else in the namespace), then `iptables -F
// SWARMWALL-INPUT` as iptables.service or a hurried operator would; the
// agent's nf_tables monitor sees it and re-applies. Shows its log.
bool DriftRepair(Seed004& lab, ClusterNode& node, const std::string& swarmwall) {
  std::string log = node.state_dir + "/agent.log";
  std::string cmd = fmt::format(
      "DOCKER_HOST=unix://{} SWARMWALL_STATE_DIR={} setsid {} agent {} --node {} --log-format text "
      "</dev/null >{} 2>&1 &", node.docker->Socket(), node.state_dir, swarmwall, lab.policy(), node.name, log);
  node.host->Sh(cmd);
  auto log_has = [&](const std::string& what) {
    std::ifstream in(log);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str().find(what) != std::string::npos;
  };
  auto until = [&](auto done, std::chrono::milliseconds limit) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return false;
  };
  if (!until([&] { return log_has("watching"); }, std::chrono::seconds(20))) {
    Say("the agent did not start; its log:");
    Show(lab.Swarmwall(node, "cat", {log}));
    return false;
  }
  Say(fmt::format("swarmwall agent {} --node {} runs on {} (nf_tables events, Docker events)",
                  "examples/swarm-cluster.yaml", node.name, node.name));
  auto rules = [&] { return node.host->Sh("iptables -S SWARMWALL-INPUT | wc -l").out; };
  Say("before: SWARMWALL-INPUT holds " + Trim(rules()) + " lines; now: iptables -F SWARMWALL-INPUT");
  std::string full = rules();
  auto t0 = std::chrono::steady_clock::now();
  node.host->Sh("iptables -F SWARMWALL-INPUT");
  bool back = until([&] { return rules() == full; }, std::chrono::seconds(10));
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  Say(back ? fmt::format("after {} ms SWARMWALL-INPUT is whole again ({} lines); the agent's log:", ms, Trim(rules()))
           : "NOT repaired within 10 s; the agent's log:");
  Show(lab.Swarmwall(node, "tail", {"-n", "4", log}));
  ProcessResult status = lab.Swarmwall(node, swarmwall, {"status"});
  Say(fmt::format("swarmwall status: exit {} ({})", status.exit_code,
                  status.exit_code == 0 ? "no drift" : "findings"));
  return back && status.exit_code == 0;
}

// The same cluster on Docker 29.7.2 in its nftables mode: no DOCKER-USER,
// so the same `swarmwall apply` (backend: auto) writes swarmwall's own
// nftables tables instead; the stranger's scans before and after, and
// status naming the backend.
bool NftablesDemo(const std::string& swarmwall, const std::string& policy) {
  const DockerVersion v = DockerVersion::k29_7_nft;
  Step("The same cluster on Docker 29.7.2 in nftables mode (--firewall-backend nftables)");
  if (!swarmwall::lab::DockerAvailable(v)) {
    Say("skipped: " + swarmwall::lab::DockerUnavailableReason(v));
    return true;
  }
  swarmwall::lab::Seed004Options o;
  o.version = v;
  o.tag = "demon";
  o.policy = policy;
  o.progress = [](const std::string& s) { Say(s); };
  Seed004 lab(o);
  Say("Docker keeps its rules in its own nftables tables (ip docker-bridges); there is no DOCKER-USER.");
  auto before = Scan(lab, {&lab.stranger()});
  Say("before, from the stranger:");
  for (auto& n : lab.nodes()) Say(fmt::format("  {:<10} open: {}", n.name, List(before["stranger"][n.name])));
  bool ok = true;
  for (auto& n : lab.nodes()) {
    ProcessResult apply = lab.Swarmwall(n, swarmwall, {"apply", lab.policy(), "--node", n.name});
    ShowSummary(apply);
    ok = ok && apply.exit_code == 0;
  }
  auto after = Scan(lab, {&lab.stranger(), &lab.office()});
  for (Outsider* out : {&lab.stranger(), &lab.office()}) {
    Say(fmt::format("after, from the {} ({}):", out->name, out->addr));
    for (auto& n : lab.nodes())
      Say(fmt::format("  {:<10} open: {:<12} closed now: {}", n.name, List(after[out->name][n.name]),
                      List(Minus(before["stranger"][n.name], after[out->name][n.name]))));
  }
  std::string report;
  bool healthy = lab.SwarmHealthy(&report);
  Say(healthy ? "Swarm healthy: all nodes Ready, the overlay works" : "Swarm NOT healthy: " + report);
  ClusterNode& m = lab.manager();
  Step("swarmwall status on manager-1 (nftables mode), and swarmwall's own table");
  ProcessResult status = lab.Swarmwall(m, swarmwall, {"status"});
  Show(status);
  Show(m.host->Exec({"nft", "list", "chain", "ip", "swarmwall", "SWARMWALL-USER"}), 20);
  Step("Removing the nftables-mode lab");
  lab.Down();
  Say("done");
  return ok && healthy && status.exit_code == 0;
}

int Demo(const std::string& swarmwall, const std::string& policy) {
  const DockerVersion v = DockerVersion::k20_10;
  if (!swarmwall::lab::DockerAvailable(v)) {
    std::cerr << "demo: " << swarmwall::lab::DockerUnavailableReason(v) << "\n";
    return 1;
  }
  Step("The lab: the seed-004 cluster, each node a network namespace with its own dockerd");
  swarmwall::lab::Seed004Options o;
  o.version = v;
  o.tag = "demo";
  o.policy = policy;
  o.progress = [](const std::string& s) { Say(s); };
  Seed004 lab(o);
  for (auto& n : lab.nodes()) {
    Say(fmt::format("{:<10} eth0 {}  ens11 {}  {}; docker run -p {}; host services on {}", n.name, n.public_addr,
                    n.cluster_addr, n.manager ? "Swarm manager, ingress" : "Swarm worker", fmt::join(n.published, ","),
                    fmt::join(n.listeners, ",")));
  }
  Say(fmt::format("outside: stranger {}, office {} (the policy's office set), admin {} (in admins.txt)",
                  lab.stranger().addr, lab.office().addr, lab.admin().addr));
  Say("docker version: " + lab.manager().docker->Version());

  Step(fmt::format("Before: the stranger ({}) scans every node: nmap -sS -p1-65535", lab.stranger().addr));
  auto before = Scan(lab, {&lab.stranger()});
  for (auto& n : lab.nodes())
    Say(fmt::format("{:<10} open: {}", n.name, List(before["stranger"][n.name])));
  Say("Swarm's control (2377) and gossip (7946) ports, ssh, the host service and every published");
  Say("container port are open to anyone on the public network.");

  ClusterNode& m = lab.manager();
  Step("swarmwall explain --live on manager-1: what Docker and Swarm did to its firewall");
  Show(lab.Swarmwall(m, swarmwall, {"explain", "--live"}), 25);

  Step("The policy: examples/swarm-cluster.yaml (one file for the whole cluster)");
  Say("ssh from admins; 80/443 on the ingress; Swarm ports only between the nodes; published");
  Say("ports closed except the ingress's 80/443 and 8080 from the office; ens11 is trusted.");

  for (auto& n : lab.nodes()) {
    Step(fmt::format("On {}: swarmwall plan, then swarmwall apply (swarm-cluster.yaml --node {})", n.name, n.name));
    ProcessResult plan = lab.Swarmwall(n, swarmwall, {"plan", lab.policy(), "--node", n.name});
    // The whole plan once (its IPv4 part); for the other nodes its summary.
    if (&n == &m) {
      Show(plan, 36);
    } else {
      ShowSummary(plan);
    }
    if (plan.exit_code != 2) {
      std::cerr << "demo: plan should report pending changes (exit 2), got " << plan.exit_code << "\n";
      return 1;
    }
    ProcessResult apply = lab.Swarmwall(n, swarmwall, {"apply", lab.policy(), "--node", n.name});
    ShowSummary(apply);
    if (apply.exit_code != 0) return 1;
  }

  Step("After: the stranger, the office and the admin scan every node (at once)");
  auto after = Scan(lab, {&lab.stranger(), &lab.office(), &lab.admin()});
  for (Outsider* out : {&lab.stranger(), &lab.office(), &lab.admin()}) {
    Say(fmt::format("from the {} ({}):", out->name, out->addr));
    for (auto& n : lab.nodes()) {
      const Ports& now = after[out->name][n.name];
      Say(fmt::format("  {:<10} open: {:<12} closed now: {}", n.name, List(now),
                      List(Minus(before["stranger"][n.name], now))));
    }
  }
  Say("Swarm still works over ens11, which the policy trusts:");
  std::string report;
  bool healthy = lab.SwarmHealthy(&report);
  Say(healthy ? "  all nodes Ready, containers ping each other across nodes over the overlay"
              : "  NOT healthy: " + report);

  Step("swarmwall status on manager-1");
  ProcessResult status = lab.Swarmwall(m, swarmwall, {"status"});
  Show(status);

  Step("Drift: someone flushes swarmwall's INPUT chain on manager-1; the agent repairs it");
  bool repaired = DriftRepair(lab, m, swarmwall);

  Step("Removing the lab (daemons, containers, namespaces, mounts)");
  lab.Down();
  Say("done");
  bool nft = NftablesDemo(swarmwall, policy);
  return healthy && status.exit_code == 0 && repaired && nft ? 0 : 1;
}

}  // namespace

// Ctrl-C or SIGTERM: remove the lab (every process in its namespaces, its
// mounts, namespaces and folders), then exit. The handler only writes the
// signal's number to a pipe; a thread of its own does the work, so the lab
// goes down whatever the demo is waiting for. (Signals are not blocked:
// the daemons started later must still take SIGTERM.)
int signal_pipe[2] = {-1, -1};
std::atomic<bool> interrupted{false};
std::atomic<bool> unwound{false};  // the demo has returned (its lab destroyed)

void OnSignal(int sig) {
  unsigned char c = static_cast<unsigned char>(sig);
  [[maybe_unused]] auto n = write(signal_pipe[1], &c, 1);
}

void RemoveLabOnSignal() {
  if (pipe2(signal_pipe, O_CLOEXEC) != 0) return;
  std::thread([] {
    unsigned char sig = 0;
    while (read(signal_pipe[0], &sig, 1) != 1) {
    }
    interrupted = true;
    std::cerr << "\ndemo: interrupted, removing the lab\n";
    // Twice: first to stop whatever the demo waits for (it then unwinds and
    // its own clean-up runs); again once that is over, alone.
    // Both labs: the 20.10 one ("demo") and the nftables-mode one ("demon").
    const std::string prefixes[] = {fmt::format("swldemo{}", getpid()), fmt::format("swldemon{}", getpid())};
    for (int pass = 0; pass < 2; ++pass) {
      for (const auto& prefix : prefixes) {
        try {
          swarmwall::lab::Lab::CleanupPrefix(prefix);
        } catch (const std::exception& e) {
          std::cerr << "demo: " << e.what() << "\n";
        }
      }
      for (int i = 0; i < 300 && !unwound; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    _exit(128 + sig);
  }).detach();
  signal(SIGINT, OnSignal);
  signal(SIGTERM, OnSignal);
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: swarmwall_demo PATH-TO-SWARMWALL PATH-TO-examples/swarm-cluster.yaml\n";
    return 1;
  }
  std::string why;
  if (!swarmwall::lab::LabSupported(&why)) {
    std::cerr << "demo: " << why << "\n";
    return 1;
  }
  RemoveLabOnSignal();
  int code = 1;
  try {
    code = Demo(argv[1], argv[2]);
  } catch (const std::exception& e) {
    if (!interrupted) std::cerr << "demo failed: " << e.what() << "\n";
  }
  // Interrupted: the signal's thread removes the lab and exits the process.
  unwound = true;
  while (interrupted) pause();
  return code;
}
