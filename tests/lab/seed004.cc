// The seed-004 cluster as a lab (see seed004.h).
#include "seed004.h"

#include <algorithm>
#include <filesystem>
#include <future>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "swarm.h"

namespace swarmwall::lab {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

void MustOk(Host& host, const std::string& cmd) {
  ProcessResult r = host.Sh(cmd);
  if (!r.ok()) throw std::runtime_error(fmt::format("lab: `{}` in {} failed: {}", cmd, host.name(), r.err));
}

// Runs F for every node at once (docker CLI calls only; nothing that
// touches the Lab object). Rethrows the first failure.
template <typename F>
void ForEachNode(std::vector<ClusterNode>& nodes, F f) {
  std::vector<std::future<void>> running;
  for (auto& n : nodes) running.push_back(std::async(std::launch::async, [&n, &f] { f(n); }));
  for (auto& r : running) r.get();
}

// busybox httpd on kHostServicePort in a `docker run --network host`
// container (like a node exporter), listening before this returns.
void RunHostNetworkService(ClusterNode& n) {
  const std::string port = std::to_string(Seed004::kHostServicePort);
  std::vector<std::string> args{"run", "-d", "--name", "hostsvc", "--network", "host", "local/busybox:1",
                                "httpd", "-f", "-p", port, "-h", "/bin"};
  ProcessResult r = n.docker->Docker(args);
  if (!r.ok()) throw std::runtime_error("lab: docker run --network host on " + n.name + ": " + r.err);
  for (int i = 0; i < 100; ++i) {
    if (!n.host->Exec({"ss", "-Hltn", "sport = :" + port}).out.empty()) return;
    std::this_thread::sleep_for(50ms);
  }
  throw std::runtime_error("lab: the host-network service on " + n.name + " does not listen on " + port);
}

}  // namespace

Seed004::Seed004(Seed004Options options) : options_(std::move(options)) {
  lab_ = std::make_unique<Lab>(options_.tag);
  try {
    Build();
  } catch (...) {
    lab_->Cleanup();
    throw;
  }
}

void Seed004::Step(const std::string& text) {
  if (options_.progress) options_.progress(text);
}

ClusterNode& Seed004::node(const std::string& name) {
  for (auto& n : nodes_) {
    if (n.name == name) return n;
  }
  throw std::invalid_argument("lab: no cluster node " + name);
}

void Seed004::Build() {
  const DockerVersion v = options_.version;
  if (!options_.policy.empty()) {
    const fs::path src(options_.policy);
    policy_ = lab_->RunDir() + "/swarm-cluster.yaml";
    fs::copy_file(src, policy_, fs::copy_options::overwrite_existing);
    fs::copy_file(src.parent_path() / "admins.txt", lab_->RunDir() + "/admins.txt",
                  fs::copy_options::overwrite_existing);
  }

  Step("Network: a public switch (eth0, 203.0.113.0/24) and a cluster switch (ens11, 10.10.10.0/24)");
  Switch& pub = lab_->AddSwitch("pub");
  Switch& clu = lab_->AddSwitch("clu");
  nodes_ = {
      {"manager-1", true, true, "203.0.113.11", "10.10.10.1", {80, 443, 8080, 8081}, {22, 9100}},
      {"node-1", false, false, "203.0.113.12", "10.10.10.2", {8080, 8081}, {22, 9100}},
      {"node-2", false, false, "203.0.113.13", "10.10.10.3", {8080, 8081}, {22, 9100}},
  };
  outsiders_ = {{"stranger", "203.0.113.100"}, {"office", "198.51.100.10"}, {"admin", "203.0.113.70"}};
  for (auto& n : nodes_) {
    n.host = &lab_->AddHost(n.name);
    lab_->Connect(*n.host, pub, "eth0", {n.public_addr + "/24"});
    lab_->Connect(*n.host, clu, "ens11", {n.cluster_addr + "/24"});
    // The office is on the same wire with another prefix: on-link routes.
    MustOk(*n.host, "ip route add 198.51.100.0/24 dev eth0");
    n.state_dir = n.host->dir() + "/state";
  }
  for (auto& o : outsiders_) {
    o.host = &lab_->AddHost(o.name);
    lab_->Connect(*o.host, pub, "eth0", {o.addr + "/24"});
  }
  MustOk(*office().host, "ip route add 203.0.113.0/24 dev eth0");

  Step(fmt::format("Three nodes, each with its own dockerd {}", DockerVersionName(v)));
  for (auto& n : nodes_) n.docker = &lab_->StartDocker(*n.host, v);
  ForEachNode(nodes_, [](ClusterNode& n) { n.docker->EnsureBusyboxImage(); });

  Step("Swarm: docker swarm init --advertise-addr ens11 on manager-1, the workers join over ens11");
  const std::string token = SwarmInit(*manager().docker, "ens11");
  for (auto& n : nodes_) {
    if (!n.manager) SwarmJoin(*n.docker, token, manager().cluster_addr, "ens11");
  }
  std::string report;
  if (!WaitNodesReady(*manager().docker, nodes_.size(), 60s, &report)) throw std::runtime_error("lab: " + report);
  CreateOverlay(*manager().docker, kOverlay, kOverlaySubnet);

  Step("Containers: docker run -p on every node, and one container per node on the overlay");
  ForEachNode(nodes_, [](ClusterNode& n) {
    for (int port : n.published) n.docker->RunWebContainer(fmt::format("web{}", port), {fmt::format("{}:80", port)});
    n.docker->RunWebContainer(kOverlayContainer, {}, kOverlay);
  });

  Step("Host services on every node: 22 (ssh) and 9100 (a --network host container)");
  for (auto& n : nodes_) {
    n.host->Listen(kSshPort);
    RunHostNetworkService(n);
  }
  stranger().host->Listen(kStrangerPort);
}

std::vector<int> Seed004::ExposedPorts(const ClusterNode& node) const {
  std::vector<int> ports = node.listeners;
  ports.insert(ports.end(), node.published.begin(), node.published.end());
  ports.push_back(7946);
  if (node.manager) ports.push_back(2377);
  std::sort(ports.begin(), ports.end());
  ports.erase(std::unique(ports.begin(), ports.end()), ports.end());
  return ports;
}

ProcessResult Seed004::Swarmwall(const ClusterNode& node, const std::string& binary,
                                 const std::vector<std::string>& args, const std::vector<std::string>& env) {
  std::vector<std::string> argv{"env", "DOCKER_HOST=unix://" + node.docker->Socket(),
                                "SWARMWALL_STATE_DIR=" + node.state_dir};
  argv.insert(argv.end(), env.begin(), env.end());
  argv.push_back(binary);
  argv.insert(argv.end(), args.begin(), args.end());
  ProcessOptions o;
  o.timeout = 300s;
  return node.host->Exec(argv, o);
}

bool Seed004::SwarmHealthy(std::string* report) {
  std::string listing;
  if (!WaitNodesReady(*manager().docker, nodes_.size(), 30s, &listing)) {
    if (report) *report = listing;
    return false;
  }
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    ClusterNode& from = nodes_[i];
    ClusterNode& to = nodes_[(i + 1) % nodes_.size()];
    const std::string ip = ContainerIpOn(*to.docker, kOverlayContainer, kOverlay);
    if (ip.empty() || !ContainerPing(*from.docker, kOverlayContainer, ip)) {
      if (report) {
        *report = fmt::format("{}'s container cannot ping {}'s ({}) over the overlay", from.name, to.name,
                              ip.empty() ? "no address" : ip);
      }
      return false;
    }
  }
  if (report) *report = listing;
  return true;
}

}  // namespace swarmwall::lab
