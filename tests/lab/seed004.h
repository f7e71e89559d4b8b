// The seed-004 cluster as a lab, for tests/e2e/cluster_test.cc and the demo:
// a public switch (eth0, 203.0.113.0/24) and a cluster switch (ens11,
// 10.10.10.0/24); three nodes with their own real dockerd, joined into one
// Swarm over ens11 (manager-1 10.10.10.1 is the manager and the ingress,
// node-1 .2 and node-2 .3 are workers); an attachable overlay network with a
// container of every node on it; containers published with `docker run -p`
// (80, 443, 8080, 8081 on the manager, 8080 and 8081 on the workers); on
// every node host listeners on 22 (ssh, socat) and 9100 (busybox httpd in a
// `docker run --network host` container: a host-network service);
// and three hosts outside: a stranger, an office and an admin.
//
// The nodes and sets are those of examples/swarm-cluster.yaml (copied with
// its admins.txt into the lab's run dir). The office (198.51.100.10) sits
// on the public switch with on-link routes both ways; the admin
// (203.0.113.70) is in admins.txt's 203.0.113.64/28.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "lab.h"

namespace swarmwall::lab {

struct Seed004Options {
  DockerVersion version = DockerVersion::k20_10;
  std::string tag = "seed";  // the Lab's tag (1 to 8 lowercase letters)
  std::string policy;        // path of examples/swarm-cluster.yaml; admins.txt is taken from beside it
  // Told each step while the lab comes up (the demo prints them); may be empty.
  std::function<void(const std::string&)> progress;
};

struct ClusterNode {
  std::string name;  // manager-1, node-1, node-2: hostname, Swarm node name, the policy's name
  bool manager = false;
  bool ingress = false;             // labels: [ingress] in the policy
  std::string public_addr;          // on eth0
  std::string cluster_addr;         // on ens11
  std::vector<int> published;       // host ports of `docker run -p PORT:80` (busybox httpd), container "web<PORT>"
  std::vector<int> listeners;       // host TCP listeners: 22 (socat) and 9100 (a --network host container)
  Host* host = nullptr;
  DockerNode* docker = nullptr;
  std::string state_dir;            // SWARMWALL_STATE_DIR of this node
};

struct Outsider {
  std::string name;
  std::string addr;
  Host* host = nullptr;
};

class Seed004 {
 public:
  static constexpr const char* kOverlay = "appnet";          // attachable overlay network
  static constexpr const char* kOverlaySubnet = "10.20.0.0/24";
  static constexpr const char* kOverlayContainer = "ov";     // one per node, on kOverlay
  static constexpr int kStrangerPort = 5000;                 // a listener on the stranger (egress checks)
  static constexpr int kSshPort = 22;                        // socat on every node, standing in for sshd
  static constexpr int kHostServicePort = 9100;              // busybox httpd, docker run --network host

  // Brings everything up; throws std::runtime_error (the daemons' logs
  // included) when something fails, after removing what it made.
  explicit Seed004(Seed004Options options);
  Seed004(const Seed004&) = delete;
  Seed004& operator=(const Seed004&) = delete;

  Lab& lab() { return *lab_; }
  DockerVersion version() const { return options_.version; }
  std::vector<ClusterNode>& nodes() { return nodes_; }
  ClusterNode& manager() { return nodes_.front(); }
  ClusterNode& node(const std::string& name);
  Outsider& stranger() { return outsiders_[0]; }
  Outsider& office() { return outsiders_[1]; }
  Outsider& admin() { return outsiders_[2]; }
  // The policy's copy in the run dir.
  const std::string& policy() const { return policy_; }

  // Every TCP port of NODE that something listens on or publishes, i.e. what
  // an unfiltered full scan of it finds: its listeners, its published ports,
  // 7946 (Swarm gossip) and, on a manager, 2377. Sorted.
  std::vector<int> ExposedPorts(const ClusterNode& node) const;

  // `swarmwall ARGS...` (BINARY) on NODE: in its namespace, with DOCKER_HOST
  // its daemon and SWARMWALL_STATE_DIR its state dir, plus ENV ("NAME=value").
  ProcessResult Swarmwall(const ClusterNode& node, const std::string& binary, const std::vector<std::string>& args,
                          const std::vector<std::string>& env = {});

  // All nodes Ready, and every node's overlay container pings the next
  // node's over the overlay. False with what failed in *REPORT.
  bool SwarmHealthy(std::string* report);

  // Removes the whole lab (also done by the destructor).
  void Down() { lab_->Cleanup(); }

 private:
  void Step(const std::string& text);
  void Build();

  Seed004Options options_;
  std::unique_ptr<Lab> lab_;
  std::vector<ClusterNode> nodes_;
  std::vector<Outsider> outsiders_;
  std::string policy_;
};

}  // namespace swarmwall::lab
