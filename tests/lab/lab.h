// The lab: real Docker hosts in Linux network namespaces, for integration
// tests (explain --live, apply, scans). See tests/lab/README.md.
//
// A Lab owns everything it creates and removes it in its destructor:
//   namespaces   <prefix>-<name>            (ip netns list)
//   run dirs     /run/swl/<prefix>/<name>/  (sockets, pidfiles, logs, data)
//   cgroups      /sys/fs/cgroup/*/<prefix>-<name>  (containers' cgroup parent)
// where prefix = "swl" + tag + pid of the creating process. A new Lab first
// removes whatever an earlier, no longer running process left behind.
//
// Needs root. Nothing here ever touches the root namespace's network or
// iptables, the host's /var/run/docker.sock or /var/lib/docker.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "base/process.h"

namespace swarmwall::lab {

using swarmwall::ProcessOptions;
using swarmwall::ProcessResult;

// k20_10:    Debian 12's docker.io (/usr/sbin/dockerd).
// k28_5:     Debian unstable's, unpacked by fetch-docker-unstable.sh into the
//            cache folder (SWARMWALL_LAB_CACHE, default
//            /var/cache/swarmwall-lab/docker-unstable).
// k29_7:     Docker Engine 29.7.2 (dockerd, docker-proxy from
//            $SWARMWALL_SHARED/docker-29/, unpacked once into the cache
//            folder's sibling docker-29.7.2/), with 28.5's containerd and CLI;
//            iptables firewall backend (the default).
// k29_7_nft: the same daemon with --firewall-backend nftables and Swarm's
//            experimental "swarm-nftables" feature: no DOCKER-USER chain.
enum class DockerVersion { k20_10, k28_5, k29_7, k29_7_nft };

// True when the daemon, containerd, runc and a docker CLI for V are present
// (for 29.7: unpacks the tarball on first use, sha256 checked).
bool DockerAvailable(DockerVersion v);
// "20.10", "28.5", "29.7" or "29.7-nft".
std::string DockerVersionName(DockerVersion v);
// Why DockerAvailable(v) is false ("" when it is true), for skip messages.
std::string DockerUnavailableReason(DockerVersion v);
// The cache folder that holds Docker 28.5.
std::string DockerUnstableCacheDir();
// The folder that holds Docker 29.7.2's dockerd and docker-proxy (beside
// DockerUnstableCacheDir()).
std::string Docker29CacheDir();
// True for the versions whose firewall is nftables tables of Docker's own
// (no iptables chains, no DOCKER-USER).
bool DockerUsesNftables(DockerVersion v);
// True when running as root with the tools the lab needs (ip, nsenter,
// unshare, socat); otherwise *why says what is missing.
bool LabSupported(std::string* why = nullptr);

class Lab;
class Host;

struct DockerOptions {
  std::string bip;                      // --bip; "" derives 172.(17+n).0.1/16 for the n-th daemon
  bool ipv6 = false;                    // --ipv6 (with --fixed-cidr-v6 below)
  std::vector<std::string> extra_args;  // appended to dockerd's arguments
  std::string fixed_cidr_v6;            // "" derives 2001:db8:d0<n>::/64 when ipv6
};

// A namespace holding a Linux bridge "br0"; hosts are plugged into it.
class Switch {
 public:
  const std::string& name() const { return name_; }
  const std::string& netns() const { return netns_; }
  std::string bridge() const { return "br0"; }
  ProcessResult Exec(const std::vector<std::string>& argv,
                     const ProcessOptions& options = {});
  ProcessResult Sh(const std::string& cmd);

 private:
  friend class Lab;
  Switch(std::string name, std::string netns)
      : name_(std::move(name)), netns_(std::move(netns)) {}
  std::string name_, netns_;
  int ports_ = 0;
};

class Host {
 public:
  const std::string& name() const { return name_; }   // logical name
  const std::string& netns() const { return netns_; }  // prefix + "-" + name
  // Runs argv inside the namespace (nsenter --net=/var/run/netns/NS ...).
  ProcessResult Exec(const std::vector<std::string>& argv,
                     const ProcessOptions& options = {});
  // sh -c CMD inside the namespace (60 s timeout).
  ProcessResult Sh(const std::string& cmd);
  // TCP connect probe from this host: true when ADDR:PORT accepts a
  // connection within TIMEOUT (socat). ADDR may be IPv4 or IPv6.
  bool CanConnect(const std::string& addr, int port,
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(1500));
  // Starts a TCP listener (socat, accepts any number of connections) on
  // BIND:PORT in the background and waits until it listens. Killed by the
  // Lab at clean-up. BIND "::" listens on IPv6 and IPv4. A listener this
  // host already has on BIND:PORT (an earlier test's, the lab's nodes live
  // through a suite) is kept.
  void Listen(int port, const std::string& bind = "0.0.0.0");
  // The host's own folder under the lab's run dir (logs of its listeners).
  const std::string& dir() const { return dir_; }

  // Probes (probe.cc). A full TCP SYN scan of ADDR from this host (nmap
  // -sS -p1-65535, output kept in dir() as nmap-<n>.gnmap): the open ports,
  // sorted. Throws std::runtime_error when nmap fails.
  std::vector<int> ScanTcp(const std::string& addr);
  // The same for several addresses of one family in one nmap run (scanned in
  // parallel): address -> open ports (every address present).
  std::map<std::string, std::vector<int>> ScanTcp(const std::vector<std::string>& addrs);
  // Which of PORTS accept a TCP connection to ADDR (all tried at once, each
  // with TIMEOUT): a connect()-level check beside the SYN scan. Sorted.
  std::vector<int> ConnectableTcp(const std::string& addr, const std::vector<int>& ports,
                                  std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));
  // Sends UDP datagrams from this host to ADDR:PORT (an IPv4 address of
  // TARGET) and tells whether TARGET's netfilter let them through to its
  // local stack: true when TARGET's conntrack table holds the flow. A
  // connection-tracking entry is confirmed only after the last INPUT hook,
  // so a datagram dropped by any INPUT rule (or PREROUTING) leaves none.
  // See README.md ("UDP reachability") for why a scan cannot tell this.
  bool UdpDelivered(Host& target, const std::string& addr, int port);

 private:
  friend class Lab;
  Host(Lab* lab, std::string name, std::string netns, std::string dir)
      : lab_(lab), name_(std::move(name)), netns_(std::move(netns)), dir_(std::move(dir)) {}
  Lab* lab_;
  std::string name_, netns_, dir_;
  std::set<std::pair<int, std::string>> listeners_;   // (port, bind) started by Listen
};

class DockerNode {
 public:
  Host& host() { return *host_; }
  DockerVersion version() const { return version_; }
  // Unix socket path; DOCKER_HOST = "unix://" + Socket().
  std::string Socket() const { return dir_ + "/docker.sock"; }
  std::string DataRoot() const { return dir_ + "/data"; }
  std::string ExecRoot() const { return dir_ + "/exec"; }
  std::string PidFile() const { return dir_ + "/docker.pid"; }
  std::string LogFile() const { return dir_ + "/dockerd.log"; }
  // The docker CLI against this daemon, run in the host's namespace with
  // DOCKER_HOST set (120 s timeout unless OPTIONS says otherwise).
  ProcessResult Docker(const std::vector<std::string>& args);
  ProcessResult Docker(const std::vector<std::string>& args, const ProcessOptions& options);
  // Server version, e.g. "20.10.24+dfsg1" or "28.5.2+dfsg4".
  std::string Version();
  // local/busybox:1 imported from /bin/busybox (busybox-static) with links
  // sh httpd nc sleep ping (and a few more). Idempotent.
  void EnsureBusyboxImage();
  // docker run -d --name NAME [--network NETWORK] -p P... local/busybox:1
  //   httpd -f -p 80 -h /bin
  // Returns the container id; throws std::runtime_error on failure.
  std::string RunWebContainer(const std::string& name, const std::vector<std::string>& publish,
                              const std::string& network = "");
  // First IPv4 address of container NAME ("" when it has none).
  std::string ContainerIp(const std::string& name);
  // Last LINES lines of the daemon's log.
  std::string LogTail(int lines = 40) const;
  // Error lines of the daemon's log and its tail, for failure messages.
  std::string FailureReport() const;
  pid_t pid() const { return pid_; }

 private:
  friend class Lab;
  DockerNode(Host* host, DockerVersion version, std::string dir)
      : host_(host), version_(version), dir_(std::move(dir)) {}
  std::vector<std::string> CliPrefix() const;
  Host* host_;
  DockerVersion version_;
  std::string dir_;
  pid_t pid_ = -1;
  bool have_busybox_ = false;
};

class Lab {
 public:
  // TAG: 1 to 8 lowercase letters (e.g. "ex"); the prefix is
  // "swl" + TAG + pid. Throws std::invalid_argument for another TAG and
  // std::logic_error when this process already has a live Lab with TAG.
  // Removes the leftovers of earlier runs first (CleanupAllStale()).
  explicit Lab(std::string tag);
  ~Lab();
  Lab(const Lab&) = delete;
  Lab& operator=(const Lab&) = delete;

  Switch& AddSwitch(const std::string& name);
  Host& AddHost(const std::string& name);
  // A veth pair from HOST (named IFNAME there) to SW's bridge, up, with
  // ADDRESSES ("203.0.113.11/24", "2001:db8:1::11/64"; IPv6 without DAD).
  void Connect(Host& host, Switch& sw, const std::string& ifname,
               const std::vector<std::string>& addresses);
  // Default route of HOST via the IPv4 or IPv6 gateway VIA.
  void AddDefaultRoute(Host& host, const std::string& via);
  // A real dockerd in HOST's namespace; waits (30 s) until it answers,
  // throws std::runtime_error with the tail of its log otherwise.
  DockerNode& StartDocker(Host& host, DockerVersion v, const DockerOptions& opts = {});

  std::string Prefix() const { return prefix_; }
  std::string RunDir() const { return run_dir_; }
  // Same as the destructor; idempotent. References handed out before are
  // invalid afterwards and the Lab cannot be used any more.
  void Cleanup();

  // Removes the leftovers (namespaces, processes, mounts, cgroups, run dirs)
  // of every lab whose creating process is gone. Returns the prefixes removed.
  static std::vector<std::string> CleanupAllStale();
  // Removes everything of one prefix unconditionally (used by the above).
  static void CleanupPrefix(const std::string& prefix);
  // The root of all run dirs: /run/swl.
  static std::string RunRoot();

 private:
  friend class Host;
  void CheckUsable() const;
  void CheckName(const std::string& name) const;
  pid_t Spawn(const std::vector<std::string>& argv, const std::string& log_file);

  std::string tag_, prefix_, run_dir_;
  bool cleaned_ = false;
  std::vector<std::unique_ptr<Switch>> switches_;
  std::vector<std::unique_ptr<Host>> hosts_;
  std::vector<std::unique_ptr<DockerNode>> nodes_;
  std::vector<pid_t> children_;  // every background process we spawned
};

}  // namespace swarmwall::lab
