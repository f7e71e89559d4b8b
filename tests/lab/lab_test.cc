// Tests of the lab itself: namespaces, veths, probes, real dockerd nodes of
// each Docker version, clean-up and removal of a killed run's leftovers.
// Needs root; skips otherwise, and skips a Docker version that is missing.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "lab.h"

namespace swarmwall::lab {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

bool Contains(const std::string& haystack, const std::string& needle) {
  return haystack.find(needle) != std::string::npos;
}

// Entries of `ip netns list` that belong to PREFIX.
std::vector<std::string> NetnsWithPrefix(const std::string& prefix) {
  std::vector<std::string> out;
  std::istringstream in(Shell("ip netns list").out);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix + "-", 0) == 0) out.push_back(line);
  }
  return out;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Running processes whose command line contains NEEDLE (zombies excluded).
std::vector<std::string> ProcessesMentioning(const std::string& needle) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string pid = e.path().filename().string();
    if (pid.empty() || !std::isdigit(static_cast<unsigned char>(pid[0])) || pid == std::to_string(getpid())) {
      continue;
    }
    std::string cmd = ReadAll("/proc/" + pid + "/cmdline");
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    std::string stat = ReadAll("/proc/" + pid + "/stat");
    auto close = stat.rfind(") ");
    if (close != std::string::npos && stat[close + 2] == 'Z') continue;
    if (Contains(cmd, needle)) out.push_back(pid + " " + cmd);
  }
  return out;
}

bool PidRunning(pid_t pid) {
  std::string stat = ReadAll(fmt::format("/proc/{}/stat", pid));
  auto close = stat.rfind(") ");
  return close != std::string::npos && stat[close + 2] != 'Z';
}

std::vector<std::string> MountsUnder(const std::string& dir) {
  std::vector<std::string> out;
  std::istringstream in(ReadAll("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string a, b, c, d, mp;
    f >> a >> b >> c >> d >> mp;
    if (mp == dir || mp.rfind(dir + "/", 0) == 0) out.push_back(mp);
  }
  return out;
}

std::vector<std::string> CgroupsWithPrefix(const std::string& prefix) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& ctrl : fs::directory_iterator("/sys/fs/cgroup", ec)) {
    if (ctrl.path().filename().string().rfind(prefix + "-", 0) == 0) out.push_back(ctrl.path());
    std::error_code ec2;
    for (const auto& e : fs::directory_iterator(ctrl.path(), ec2)) {
      if (e.path().filename().string().rfind(prefix + "-", 0) == 0) out.push_back(e.path());
    }
  }
  return out;
}

// Asserts that nothing of PREFIX is left on the machine.
void ExpectNothingLeft(const std::string& prefix) {
  const std::string run = Lab::RunRoot() + "/" + prefix;
  EXPECT_TRUE(NetnsWithPrefix(prefix).empty()) << fmt::format("{}", fmt::join(NetnsWithPrefix(prefix), ", "));
  auto procs = ProcessesMentioning(run + "/");
  EXPECT_TRUE(procs.empty()) << fmt::format("{}", fmt::join(procs, "\n"));
  EXPECT_TRUE(MountsUnder(run).empty()) << fmt::format("{}", fmt::join(MountsUnder(run), "\n"));
  EXPECT_TRUE(CgroupsWithPrefix(prefix).empty()) << fmt::format("{}", fmt::join(CgroupsWithPrefix(prefix), "\n"));
  EXPECT_FALSE(fs::exists(run)) << run;
}

// ---------------------------------------------- one dockerd per Docker version
//
// A public switch, a node (eth0 203.0.113.11/24) running dockerd with a
// published web container, and an outside host (203.0.113.100/24).

template <DockerVersion V>
struct Version {
  static constexpr DockerVersion value = V;
  static constexpr const char* tag = V == DockerVersion::k20_10  ? "dkold"
                                     : V == DockerVersion::k28_5 ? "dknew"
                                     : V == DockerVersion::k29_7 ? "dkipt"
                                                                 : "dknft";
};

template <typename T>
class DockerLabTest : public ::testing::Test {
 protected:
  static constexpr DockerVersion kVersion = T::value;

  static void SetUpTestSuite() {
    std::string why;
    if (!LabSupported(&why)) {
      skip_ = why;
      return;
    }
    if (!DockerAvailable(kVersion)) {
      skip_ = DockerUnavailableReason(kVersion);
      return;
    }
    had_default_socket_ = fs::exists("/var/run/docker.sock");
    had_default_data_ = fs::exists("/var/lib/docker");
    const auto start = std::chrono::steady_clock::now();
    try {
      lab_ = std::make_unique<Lab>(T::tag);
      Switch& pub = lab_->AddSwitch("pub");
      node_host_ = &lab_->AddHost("node");
      outside_ = &lab_->AddHost("outside");
      lab_->Connect(*node_host_, pub, "eth0", {"203.0.113.11/24", "2001:db8:1::11/64"});
      lab_->Connect(*outside_, pub, "eth0", {"203.0.113.100/24", "2001:db8:1::100/64"});
      node_ = &lab_->StartDocker(*node_host_, kVersion);
      web_id_ = node_->RunWebContainer("web", {"8080:80"});
    } catch (const std::exception& e) {
      error_ = e.what();
    }
    fmt::print("[   LAB    ] Docker {} node up in {} ms (prefix {})\n", DockerVersionName(kVersion),
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
                   .count(),
               lab_ ? lab_->Prefix() : "-");
  }

  static void TearDownTestSuite() {
    if (!lab_) return;
    const std::string prefix = lab_->Prefix();
    const std::string exec_root = node_ ? node_->ExecRoot() : lab_->RunDir();
    const auto start = std::chrono::steady_clock::now();
    lab_->Cleanup();
    fmt::print("[   LAB    ] clean-up of {} took {} ms\n", prefix,
               std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start)
                   .count());
    // After Cleanup(): no namespace with our prefix, no dockerd with our
    // exec-root, nothing mounted, no cgroup, no run dir.
    EXPECT_TRUE(NetnsWithPrefix(prefix).empty());
    EXPECT_TRUE(ProcessesMentioning("--exec-root " + exec_root).empty());
    ExpectNothingLeft(prefix);
    lab_.reset();
    node_ = nullptr;
    node_host_ = outside_ = nullptr;
  }

  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << "Docker " << DockerVersionName(kVersion) << ": " << skip_;
    ASSERT_TRUE(error_.empty()) << error_;
    ASSERT_NE(node_, nullptr);
  }

  static inline std::unique_ptr<Lab> lab_;
  static inline DockerNode* node_ = nullptr;
  static inline Host* node_host_ = nullptr;
  static inline Host* outside_ = nullptr;
  static inline std::string skip_, error_, web_id_;
  static inline bool had_default_socket_ = false, had_default_data_ = false;
};

using Versions = ::testing::Types<Version<DockerVersion::k20_10>, Version<DockerVersion::k28_5>,
                                  Version<DockerVersion::k29_7>, Version<DockerVersion::k29_7_nft>>;
class VersionNames {
 public:
  template <typename T>
  static std::string GetName(int) {
    switch (T::value) {
      case DockerVersion::k20_10: return "Docker20_10";
      case DockerVersion::k28_5: return "Docker28_5";
      case DockerVersion::k29_7: return "Docker29_7";
      case DockerVersion::k29_7_nft: return "Docker29_7_nft";
    }
    return "Docker";
  }
};
TYPED_TEST_SUITE(DockerLabTest, Versions, VersionNames);

TYPED_TEST(DockerLabTest, ServerVersionMatches) {
  const DockerVersion v = TestFixture::kVersion;
  const std::string got = this->node_->Version();
  if (v == DockerVersion::k29_7 || v == DockerVersion::k29_7_nft) {
    EXPECT_EQ(got, "29.7.2");
  } else {
    const std::string want = DockerVersionName(v) + ".";
    EXPECT_EQ(got.rfind(want, 0), 0u) << "server version " << got << ", want " << want << "*";
  }
}

TYPED_TEST(DockerLabTest, DaemonIsIsolated) {
  DockerNode& node = *this->node_;
  const std::string run = this->lab_->RunDir() + "/";
  EXPECT_EQ(node.Socket().rfind(run, 0), 0u) << node.Socket();
  EXPECT_LT(node.Socket().size(), 108u);
  auto info = node.Docker({"info", "--format", "{{.Name}} {{.DockerRootDir}}"});
  ASSERT_TRUE(info.ok()) << info.err;
  // unshare --uts gave the daemon the host's logical name.
  EXPECT_EQ(info.out, "node " + node.DataRoot() + "\n");
  EXPECT_EQ(fs::exists("/var/run/docker.sock"), this->had_default_socket_);
  EXPECT_EQ(fs::exists("/var/lib/docker"), this->had_default_data_);
  // The daemon runs in the node's namespace.
  auto pids = node.host().Exec({"ip", "netns", "identify", std::to_string(node.pid())});
  EXPECT_EQ(pids.out, node.host().netns() + "\n");
}

TYPED_TEST(DockerLabTest, PublishedPortReachableFromOutside) {
  EXPECT_FALSE(this->web_id_.empty());
  EXPECT_TRUE(this->outside_->CanConnect("203.0.113.11", 8080));
}

TYPED_TEST(DockerLabTest, ClosedPortIsNotReachable) {
  const auto start = std::chrono::steady_clock::now();
  EXPECT_FALSE(this->outside_->CanConnect("203.0.113.11", 9));
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
}

TYPED_TEST(DockerLabTest, ContainerReachableFromItsNode) {
  const std::string ip = this->node_->ContainerIp("web");
  ASSERT_FALSE(ip.empty());
  EXPECT_TRUE(this->node_host_->CanConnect(ip, 80)) << ip;
}

TYPED_TEST(DockerLabTest, IptablesShowsDockerChainsInNodeNamespaceOnly) {
  if (DockerUsesNftables(TestFixture::kVersion)) GTEST_SKIP() << "no iptables chains in nftables mode";
  auto save = this->node_host_->Exec({"iptables-save"});
  ASSERT_TRUE(save.ok()) << save.err;
  EXPECT_TRUE(Contains(save.out, ":DOCKER-USER")) << save.out;
  EXPECT_TRUE(Contains(save.out, "--dport 8080 -j DNAT")) << save.out;
  if (TestFixture::kVersion == DockerVersion::k28_5 || TestFixture::kVersion == DockerVersion::k29_7) {
    EXPECT_TRUE(Contains(save.out, ":DOCKER-FORWARD")) << save.out;
  } else {
    EXPECT_FALSE(Contains(save.out, ":DOCKER-FORWARD")) << save.out;
  }
  // The outside host and the root namespace never see this daemon's rules.
  auto outside = this->outside_->Exec({"iptables-save"});
  EXPECT_FALSE(Contains(outside.out, "DOCKER")) << outside.out;
  const std::string ip = this->node_->ContainerIp("web");
  auto root = RunProcess({"iptables-save"});
  EXPECT_FALSE(Contains(root.out, "--to-destination " + ip + ":80")) << root.out;
}

// Docker 29's nftables mode: tables of its own, the published port's DNAT
// in them, and no iptables chain at all (no DOCKER-USER to hook).
TYPED_TEST(DockerLabTest, NftablesModeHasDockerTablesAndNoDockerUser) {
  if (!DockerUsesNftables(TestFixture::kVersion)) GTEST_SKIP() << "iptables mode";
  auto tables = this->node_host_->Exec({"nft", "list", "tables"});
  ASSERT_TRUE(tables.ok()) << tables.err;
  EXPECT_TRUE(Contains(tables.out, "table ip docker-bridges")) << tables.out;
  EXPECT_TRUE(Contains(tables.out, "table ip6 docker-bridges")) << tables.out;
  auto ruleset = this->node_host_->Exec({"nft", "list", "table", "ip", "docker-bridges"});
  EXPECT_TRUE(Contains(ruleset.out, "tcp dport 8080")) << ruleset.out;
  auto user = this->node_host_->Exec({"iptables", "-S", "DOCKER-USER"});
  EXPECT_FALSE(user.ok()) << user.out;
  auto save = this->node_host_->Exec({"iptables-save"});
  EXPECT_FALSE(Contains(save.out, "DOCKER")) << save.out;
  // Forwarding was turned on before the daemon started (it refuses otherwise).
  EXPECT_EQ(this->node_host_->Sh("cat /proc/sys/net/ipv4/ip_forward").out, "1\n");
  // Nothing of it outside the node's namespace.
  auto outside = this->outside_->Exec({"nft", "list", "tables"});
  EXPECT_FALSE(Contains(outside.out, "docker")) << outside.out;
  auto root = RunProcess({"nft", "list", "ruleset"});
  EXPECT_FALSE(Contains(root.out, this->node_->ContainerIp("web") + ":80")) << root.out;
}

TYPED_TEST(DockerLabTest, HostListenerReachableOverIpv4AndIpv6) {
  this->node_host_->Listen(2222, "::");
  EXPECT_TRUE(this->outside_->CanConnect("203.0.113.11", 2222));
  EXPECT_TRUE(this->outside_->CanConnect("2001:db8:1::11", 2222));
  EXPECT_FALSE(this->outside_->CanConnect("2001:db8:1::11", 2223));
}

// ------------------------------------------------------------ no Docker needed

class LabTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string why;
    if (!LabSupported(&why)) GTEST_SKIP() << why;
  }
};

// Sets an environment variable for one scope, then restores it.
class ScopedEnv {
 public:
  ScopedEnv(std::string name, const std::string& value) : name_(std::move(name)) {
    if (const char* old = getenv(name_.c_str())) old_ = old;
    setenv(name_.c_str(), value.c_str(), 1);
  }
  ~ScopedEnv() {
    if (old_) {
      setenv(name_.c_str(), old_->c_str(), 1);
    } else {
      unsetenv(name_.c_str());
    }
  }

 private:
  std::string name_;
  std::optional<std::string> old_;
};

// Docker 29.7.2 comes from a tarball in the shared folder: a missing one or
// one with another sha256 is a skip reason naming it, never unpacked. Runs
// with a cache folder of its own (whose usr/ is the real 28.5 cache's).
TEST_F(LabTest, Docker29TarballIsCheckedBeforeUse) {
  if (!DockerAvailable(DockerVersion::k28_5)) GTEST_SKIP() << DockerUnavailableReason(DockerVersion::k28_5);
  const std::string real_cache = DockerUnstableCacheDir();
  const std::string tmp = fmt::format("/tmp/swarmwall-lab-test-{}", getpid());
  fs::remove_all(tmp);
  fs::create_directories(tmp + "/cache/docker-unstable");
  fs::create_directories(tmp + "/shared/docker-29");
  fs::create_directory_symlink(real_cache + "/usr", tmp + "/cache/docker-unstable/usr");
  ScopedEnv cache("SWARMWALL_LAB_CACHE", tmp + "/cache/docker-unstable");
  ScopedEnv shared("SWARMWALL_SHARED", tmp + "/shared");
  EXPECT_EQ(Docker29CacheDir(), tmp + "/cache/docker-29.7.2");

  std::string missing = DockerUnavailableReason(DockerVersion::k29_7);
  EXPECT_TRUE(Contains(missing, tmp + "/shared/docker-29/docker-29.7.2-linux-amd64.tar.xz is missing")) << missing;
  std::ofstream(tmp + "/shared/docker-29/docker-29.7.2-linux-amd64.tar.xz") << "not docker\n";
  std::string wrong = DockerUnavailableReason(DockerVersion::k29_7_nft);
  EXPECT_TRUE(Contains(wrong, "has sha256 ")) << wrong;
  EXPECT_TRUE(Contains(wrong, "expected 3af92296")) << wrong;
  EXPECT_FALSE(DockerAvailable(DockerVersion::k29_7));
  EXPECT_FALSE(fs::exists(Docker29CacheDir()));
  fs::remove_all(tmp);
}

TEST_F(LabTest, RejectsBadTagsAndNames) {
  EXPECT_THROW(Lab("Ex"), std::invalid_argument);
  EXPECT_THROW(Lab("ex1"), std::invalid_argument);
  EXPECT_THROW(Lab("toolongtag"), std::invalid_argument);
  Lab lab("names");
  EXPECT_THROW(Lab("names"), std::logic_error);  // same tag, same process
  EXPECT_THROW(lab.AddHost("Bad_Name"), std::invalid_argument);
  lab.AddHost("a");
  EXPECT_THROW(lab.AddHost("a"), std::invalid_argument);
  EXPECT_THROW(lab.AddSwitch("a"), std::invalid_argument);
}

// Two switches joined by a router host: addresses, default routes (v4 and
// v6), listeners and probes across it; then clean-up removes everything.
TEST_F(LabTest, RoutedTopologyAndCleanup) {
  auto lab = std::make_unique<Lab>("topo");
  const std::string prefix = lab->Prefix();
  EXPECT_EQ(prefix, fmt::format("swltopo{}", getpid()));
  Switch& left = lab->AddSwitch("left");
  Switch& right = lab->AddSwitch("right");
  Host& a = lab->AddHost("a");
  Host& r = lab->AddHost("r");
  Host& b = lab->AddHost("b");
  EXPECT_EQ(a.netns(), prefix + "-a");
  lab->Connect(a, left, "eth0", {"192.0.2.10/24", "2001:db8:a::10/64"});
  lab->Connect(r, left, "eth0", {"192.0.2.1/24", "2001:db8:a::1/64"});
  lab->Connect(r, right, "ens11", {"198.51.100.1/24", "2001:db8:b::1/64"});
  lab->Connect(b, right, "eth0", {"198.51.100.10/24", "2001:db8:b::10/64"});
  lab->AddDefaultRoute(a, "192.0.2.1");
  lab->AddDefaultRoute(a, "2001:db8:a::1");
  lab->AddDefaultRoute(b, "198.51.100.1");
  lab->AddDefaultRoute(b, "2001:db8:b::1");
  ASSERT_TRUE(r.Sh("echo 1 >/proc/sys/net/ipv4/ip_forward && "
                   "echo 1 >/proc/sys/net/ipv6/conf/all/forwarding").ok());
  // Interfaces carry the requested names inside the namespaces only.
  EXPECT_TRUE(r.Exec({"ip", "link", "show", "ens11"}).ok());
  EXPECT_FALSE(Contains(RunProcess({"ip", "-o", "link", "show"}).out, prefix));
  auto route = a.Exec({"ip", "-6", "route", "show", "default"});
  EXPECT_TRUE(Contains(route.out, "via 2001:db8:a::1")) << route.out;

  b.Listen(8000, "::");
  a.Listen(8001);
  EXPECT_TRUE(a.CanConnect("198.51.100.10", 8000));
  EXPECT_TRUE(a.CanConnect("2001:db8:b::10", 8000));
  EXPECT_TRUE(b.CanConnect("192.0.2.10", 8001));
  EXPECT_FALSE(a.CanConnect("198.51.100.10", 8002));
  EXPECT_FALSE(a.CanConnect("2001:db8:b::10", 8002));

  std::vector<pid_t> listeners;
  for (Host* h : {&a, &b}) {
    std::istringstream pids(RunProcess({"ip", "netns", "pids", h->netns()}).out);
    pid_t pid;
    while (pids >> pid) listeners.push_back(pid);
  }
  ASSERT_GE(listeners.size(), 2u);
  lab->Cleanup();
  lab->Cleanup();  // idempotent
  EXPECT_THROW(lab->AddHost("c"), std::logic_error);
  ExpectNothingLeft(prefix);
  for (pid_t pid : listeners) EXPECT_FALSE(PidRunning(pid)) << pid;
}

// A daemon that cannot start makes StartDocker throw at once, with the tail
// of its log in the message; clean-up still removes everything.
TEST_F(LabTest, StartDockerReportsTheLogOfAFailingDaemon) {
  if (!DockerAvailable(DockerVersion::k20_10)) GTEST_SKIP() << DockerUnavailableReason(DockerVersion::k20_10);
  auto lab = std::make_unique<Lab>("bad");
  const std::string prefix = lab->Prefix();
  Host& h = lab->AddHost("node");
  DockerOptions opts;
  opts.extra_args = {"--no-such-flag"};
  const auto start = std::chrono::steady_clock::now();
  try {
    lab->StartDocker(h, DockerVersion::k20_10, opts);
    ADD_FAILURE() << "StartDocker did not throw";
  } catch (const std::runtime_error& e) {
    EXPECT_TRUE(Contains(e.what(), "unknown flag: --no-such-flag")) << e.what();
    EXPECT_TRUE(Contains(e.what(), "dockerd.log")) << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  lab.reset();
  ExpectNothingLeft(prefix);
}

// The probes tell open from dropped: nmap's full scan and the connect()
// check find exactly the listeners INPUT lets through, and UdpDelivered
// says yes for a datagram INPUT accepts (with and without a socket behind
// it) and no for one INPUT drops.
TEST_F(LabTest, ProbesTellOpenFromDropped) {
  auto lab = std::make_unique<Lab>("probe");
  Switch& sw = lab->AddSwitch("sw");
  Host& target = lab->AddHost("target");
  Host& scanner = lab->AddHost("scanner");
  lab->Connect(target, sw, "eth0", {"192.0.2.11/24"});
  lab->Connect(scanner, sw, "eth0", {"192.0.2.100/24"});
  for (int port : {22, 9100, 12345}) target.Listen(port);
  // Like a Docker host: conntrack in use in the namespace.
  ASSERT_TRUE(target.Sh("iptables -A INPUT -m conntrack --ctstate INVALID -j DROP && "
                        "iptables -A INPUT -p tcp --dport 9100 -j DROP && "
                        "iptables -A INPUT -p udp --dport 7946 -j DROP").ok());
  EXPECT_EQ(scanner.ScanTcp("192.0.2.11"), (std::vector<int>{22, 12345}));
  auto many = scanner.ScanTcp(std::vector<std::string>{"192.0.2.11", "192.0.2.12"});
  EXPECT_EQ(many["192.0.2.11"], (std::vector<int>{22, 12345}));
  EXPECT_EQ(many["192.0.2.12"], std::vector<int>{}) << "no such host: nothing open, still listed";
  EXPECT_EQ(scanner.ConnectableTcp("192.0.2.11", {21, 22, 9100, 12345}, 500ms), (std::vector<int>{22, 12345}));
  EXPECT_TRUE(scanner.UdpDelivered(target, "192.0.2.11", 4789)) << "accepted, no socket";
  EXPECT_FALSE(scanner.UdpDelivered(target, "192.0.2.11", 7946)) << "dropped in INPUT";
  ASSERT_TRUE(target.Sh("iptables -D INPUT -p udp --dport 7946 -j DROP").ok());
  EXPECT_TRUE(scanner.UdpDelivered(target, "192.0.2.11", 7946)) << "accepted once the rule is gone";
}

// A child process that waits until it is killed; killed and reaped when the
// guard goes out of scope (also when an assertion returns early).
class PausedChild {
 public:
  PausedChild() {
    pid_ = fork();
    if (pid_ == 0) {
      pause();
      _exit(0);
    }
  }
  ~PausedChild() { Kill(); }
  pid_t pid() const { return pid_; }
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
  }

 private:
  pid_t pid_;
};

// A run killed with kill -9 leaves namespaces, processes, mounts, cgroups and
// its run dir behind; the next Lab removes them because the pid in their
// prefix is dead. A prefix whose pid is alive is left alone.
TEST_F(LabTest, NewLabRemovesLeftoversOfDeadRuns) {
  // Leftovers are made under the pid of a live child (so no other lab
  // process removes them half-made), which is then killed.
  PausedChild victim, live;
  ASSERT_GT(victim.pid(), 0);
  ASSERT_GT(live.pid(), 0);
  const std::string stale = fmt::format("swlst{}", victim.pid());
  const std::string alive = fmt::format("swlst{}", live.pid());
  struct Remove {  // whatever happens, leave nothing behind
    std::string a, b;
    ~Remove() {
      Lab::CleanupPrefix(a);
      Lab::CleanupPrefix(b);
    }
  } remove{stale, alive};
  const std::string stale_run = Lab::RunRoot() + "/" + stale;
  for (const std::string& ns : {stale + "-sw", stale + "-h", alive + "-h"}) {
    ASSERT_TRUE(RunProcess({"ip", "netns", "add", ns}).ok()) << ns;
  }
  ASSERT_TRUE(RunProcess({"ip", "link", "add", "eth0", "netns", stale + "-h", "type", "veth", "peer",
                          "name", "p1-h", "netns", stale + "-sw"})
                  .ok());
  fs::create_directories(stale_run + "/h/mnt");
  // The owner file of a process with that pid and a start time none has.
  std::ofstream(stale_run + "/owner") << victim.pid() << " 1\n";
  ASSERT_TRUE(RunProcess({"mount", "-t", "tmpfs", "swltest", stale_run + "/h/mnt"}).ok());
  const std::string cgroup = "/sys/fs/cgroup/pids/" + stale + "-h";
  const bool have_cgroup = fs::exists("/sys/fs/cgroup/pids") && fs::create_directory(cgroup);
  // A process left running in the stale namespace, and one in the live one.
  ASSERT_TRUE(Shell(fmt::format("nsenter --net=/var/run/netns/{} sleep 300 </dev/null >/dev/null 2>&1 &", stale + "-h")).ok());
  ASSERT_TRUE(Shell(fmt::format("nsenter --net=/var/run/netns/{} sleep 301 </dev/null >/dev/null 2>&1 &", alive + "-h")).ok());
  auto pids_of = [](const std::string& ns) { return RunProcess({"ip", "netns", "pids", ns}).out; };
  std::string stale_pids;
  for (int i = 0; i < 50 && (stale_pids = pids_of(stale + "-h")).empty(); ++i) usleep(20000);
  ASSERT_FALSE(stale_pids.empty());
  const pid_t sleeper = std::stoi(stale_pids);
  ASSERT_EQ(NetnsWithPrefix(stale).size(), 2u);

  victim.Kill();  // the creator dies: everything of `stale` is now stale
  Lab lab("sc");  // removes it before doing anything

  ExpectNothingLeft(stale);
  EXPECT_FALSE(PidRunning(sleeper));
  if (have_cgroup) {
    EXPECT_FALSE(fs::exists(cgroup));
  }
  // The live prefix is untouched.
  EXPECT_EQ(NetnsWithPrefix(alive).size(), 1u);
  EXPECT_FALSE(pids_of(alive + "-h").empty());

  live.Kill();
  // Now the "live" prefix is stale too (unless a parallel lab process was
  // quicker to remove it).
  auto removed = Lab::CleanupAllStale();
  EXPECT_TRUE(NetnsWithPrefix(alive).empty() ||
              std::find(removed.begin(), removed.end(), alive) != removed.end());
  ExpectNothingLeft(alive);
}

// The real thing: a process that runs a Docker 20.10 node with a container is
// killed with SIGKILL; a new Lab stops its dockerd, containerd, shim and
// container, unmounts, and deletes everything.
TEST_F(LabTest, NewLabRemovesDockerOfKilledRun) {
  if (!DockerAvailable(DockerVersion::k20_10)) GTEST_SKIP() << DockerUnavailableReason(DockerVersion::k20_10);
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    close(fds[0]);
    std::string msg;
    try {
      auto* lab = new Lab("killed");  // never destroyed: the process is killed
      Host& h = lab->AddHost("node");
      DockerNode& node = lab->StartDocker(h, DockerVersion::k20_10);
      node.RunWebContainer("web", {"8080:80"});
      auto pid = node.Docker({"inspect", "--format", "{{.State.Pid}}", "web"});
      msg = fmt::format("OK {} {}", lab->Prefix(), pid.out);
    } catch (const std::exception& e) {
      msg = std::string("ERR ") + e.what() + "\n";
    }
    if (write(fds[1], msg.data(), msg.size()) < 0) _exit(1);
    close(fds[1]);
    pause();
    _exit(0);
  }
  close(fds[1]);
  std::string msg;
  char buf[4096];
  ssize_t n;
  while (msg.find('\n') == std::string::npos && (n = read(fds[0], buf, sizeof buf)) > 0) {
    msg.append(buf, static_cast<size_t>(n));
  }
  close(fds[0]);
  std::istringstream in(msg.rfind("OK ", 0) == 0 ? msg.substr(3) : "");
  std::string prefix;
  pid_t container_pid = 0;
  in >> prefix >> container_pid;
  const std::string run = Lab::RunRoot() + "/" + prefix;
  // The leftovers are real (checked while the child lives: a stale prefix
  // may be removed by any other lab process at any time).
  const bool real = !prefix.empty() && !NetnsWithPrefix(prefix).empty() &&
                    !ProcessesMentioning(run + "/").empty() && !MountsUnder(run).empty() &&
                    PidRunning(container_pid);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  if (!real) {
    if (!prefix.empty()) Lab::CleanupPrefix(prefix);
    FAIL() << "the child did not make a docker node: " << msg;
  }

  const auto start = std::chrono::steady_clock::now();
  Lab lab("after");
  fmt::print("[   LAB    ] removing the killed run's Docker took {} ms\n",
             std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
  ExpectNothingLeft(prefix);
  EXPECT_FALSE(PidRunning(container_pid));
}

}  // namespace
}  // namespace swarmwall::lab
