// The firewalld backend judged by firewalld itself (label "lab", needs root).
//
// Offline: for every example and node, the rendered script runs with
// firewall-offline-cmd against a temporary configuration folder
// (--system-config; the host's /etc/firewalld is never touched): every
// command must succeed without a warning, and what firewalld then holds
// (zones, policy, rich rules, ipsets, direct rules) must be what swarmwall
// meant. Running a script twice must give the same configuration.
//
// Daemon: a real firewalld in a network namespace of the lab, in its own
// mount namespace with a private /run (its own system dbus-daemon) and the
// configuration bind-mounted on /etc/firewalld. Packets from other
// namespaces check the host part (zones, policy), and with Docker 20.10 the
// DOCKER-USER part (direct rules), before and after `firewall-cmd --reload`.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include "backend/firewalld_render.h"
#include "base/process.h"
#include "compile/compiler.h"
#include "lab/lab.h"

namespace swarmwall {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kSource = SWARMWALL_SOURCE_DIR;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteFile(const fs::path& p, const std::string& text) {
  std::ofstream(p, std::ios::binary) << text;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line))
    if (!line.empty()) out.push_back(line);
  return out;
}

std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  std::string w;
  while (in >> w) out.push_back(w);
  return out;
}

std::vector<std::string> Sorted(std::vector<std::string> v) {
  std::sort(v.begin(), v.end());
  return v;
}

bool Contains(const std::string& text, std::string_view what) {
  return text.find(what) != std::string::npos;
}

std::string Indent(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += "    " + l + "\n";
  return s;
}

// Why the tests cannot run here ("" when they can).
std::string Unsupported() {
  if (geteuid() != 0) return "needs root (firewall-offline-cmd refuses to run otherwise)";
  if (!ProgramExists("firewall-offline-cmd"))
    return "firewall-offline-cmd is missing (apt-get install firewalld)";
  return "";
}

class TempDir {
 public:
  TempDir() {
    std::string templ = (fs::temp_directory_path() / "swarmwall-firewalld-XXXXXX").string();
    if (!mkdtemp(templ.data())) throw std::runtime_error("mkdtemp failed");
    path_ = templ;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// A configuration folder for --system-config: the host's firewalld.conf
// (so the backend and defaults are the distribution's), nothing else.
void PrepareConfig(const fs::path& dir) {
  fs::create_directories(dir);
  if (fs::exists("/etc/firewalld/firewalld.conf"))
    fs::copy_file("/etc/firewalld/firewalld.conf", dir / "firewalld.conf",
                  fs::copy_options::overwrite_existing);
}

// firewall-offline-cmd on the folder.
ProcessResult Offline(const fs::path& config, std::vector<std::string> args) {
  args.insert(args.begin(), {"firewall-offline-cmd", "--system-config=" + config.string()});
  ProcessOptions o;
  o.timeout = 120s;
  return RunProcess(args, o);
}

// Runs the script with firewall-offline-cmd on CONFIG.
ProcessResult RunScript(const fs::path& script, const fs::path& config) {
  ProcessOptions o;
  o.timeout = 600s;
  o.extra_env = {"FIREWALL_CMD=firewall-offline-cmd --system-config=" + config.string()};
  return RunProcess({"/bin/sh", script.string()}, o);
}

// The configuration files (without firewalld's *.old backups).
std::map<std::string, std::string> Snapshot(const fs::path& config) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(config))
    if (e.is_regular_file() && e.path().extension() != ".old")
      out[fs::relative(e.path(), config).string()] = ReadFile(e.path());
  return out;
}

// ------------------------------------------------------------- examples

policy::Policy LoadExample(const std::string& file) {
  auto r = policy::LoadPolicyText(ReadFile(kSource + "/examples/" + file), "examples/" + file,
                                  kSource + "/examples");
  if (!r.policy) throw std::runtime_error("cannot load examples/" + file);
  return *r.policy;
}

// As the golden test: a policy without nodes gets one worker named "host".
std::vector<policy::Node> NodesOf(const policy::Policy& p) {
  if (!p.nodes.empty()) return p.nodes;
  policy::Node host;
  host.name = "host";
  host.addresses = {*netfilter::IpAddress::Parse("192.0.2.1")};
  return {host};
}

struct Job {
  std::string label;  // "swarm-cluster/manager-1"
  policy::Policy policy;
  policy::Node node;
  bool twice = false;  // also check that a second run converges
};

bool Covers(const netfilter::Cidr& a, const netfilter::Cidr& b) {
  int la = a.PrefixLength(), lb = b.PrefixLength();
  return la >= 0 && la <= lb && a.family() == b.family() && a.Contains(b.address);
}

// firewalld's way of printing a direct rule's arguments (joinArgs: each
// argument shell-quoted, as ShellQuote does).
std::string DirectLine(const std::string& ipv, const std::string& table, const std::string& chain,
                       const std::vector<std::string>& args) {
  std::string s = fmt::format("{} {} {} 0", ipv, table, chain);
  for (const auto& a : args) s += " " + backend::ShellQuote(a);
  return s;
}

// Everything wrong with one job ("" when nothing).
std::string CheckJob(const Job& job) {
  std::string failures;
  auto fail = [&](const std::string& what) { failures += "  " + what + "\n"; };
  TempDir tmp;
  fs::path config = tmp.path() / "etc";
  PrepareConfig(config);
  auto state = compile::Compile(job.policy, job.node, compile::NodeFacts{});
  fs::path script = tmp.path() / "script.sh";
  WriteFile(script, backend::RenderFirewalld(job.policy, job.node, state));

  auto run = RunScript(script, config);
  if (!run.ok()) return fmt::format("  the script failed ({}):\n{}{}", run.exit_code, run.out, run.err);
  if (!run.err.empty()) fail("firewall-offline-cmd complained:\n" + run.err);
  for (const auto& line : Lines(run.out))
    if (line != "success") fail("unexpected output: " + line);

  auto check = Offline(config, {"--check-config"});
  if (!check.ok()) fail("--check-config: " + check.out + check.err);

  auto expected = backend::FirewalldRules(job.policy, job.node, state);
  const auto& ifaces = job.policy.InterfacesOf(job.node);
  auto query = [&](std::vector<std::string> args) {
    auto r = Offline(config, args);
    if (!r.ok()) fail(fmt::format("{}: {}{}", fmt::join(args, " "), r.out, r.err));
    return r.out;
  };
  auto same = [&](const std::string& what, std::vector<std::string> got, std::vector<std::string> want) {
    got = Sorted(std::move(got));
    want = Sorted(std::move(want));
    if (got != want) fail(fmt::format("{}: firewalld has\n{}  swarmwall meant\n{}", what, Indent(got), Indent(want)));
  };

  // The zones.
  std::string pub = backend::kFirewalldPublicZone;
  same(pub + " rich rules", Lines(query({"--zone=" + pub, "--list-rich-rules"})), expected.public_zone);
  same(pub + " target", Words(query({"--zone=" + pub, "--get-target"})), {"DROP"});
  same(pub + " interfaces", Words(query({"--zone=" + pub, "--list-interfaces"})), ifaces.public_);
  std::vector<std::string> zones = Words(query({"--get-zones"}));
  bool has_cluster = std::find(zones.begin(), zones.end(), backend::kFirewalldClusterZone) != zones.end();
  if (has_cluster != !ifaces.cluster.empty()) fail("swarmwall-cluster zone present: " + std::to_string(has_cluster));
  if (!ifaces.cluster.empty()) {
    std::string z = backend::kFirewalldClusterZone;
    bool accept = job.policy.host.cluster == policy::ClusterMode::kAccept;
    same(z + " target", Words(query({"--zone=" + z, "--get-target"})), {accept ? "ACCEPT" : "DROP"});
    same(z + " interfaces", Words(query({"--zone=" + z, "--list-interfaces"})), ifaces.cluster);
    same(z + " rich rules", Lines(query({"--zone=" + z, "--list-rich-rules"})), {});
  }

  // The Swarm policy.
  std::vector<std::string> policies = Words(query({"--get-policies"}));
  bool has_policy = std::find(policies.begin(), policies.end(), backend::kFirewalldSwarmPolicy) != policies.end();
  if (has_policy != job.policy.swarm.enabled) fail("swarmwall-swarm policy present: " + std::to_string(has_policy));
  if (job.policy.swarm.enabled) {
    std::string p = backend::kFirewalldSwarmPolicy;
    same(p + " rich rules", Lines(query({"--policy=" + p, "--list-rich-rules"})), expected.swarm_policy);
    std::string info = query({"--info-policy=" + p});
    for (const char* want : {"priority: -100", "ingress-zones: ANY", "egress-zones: HOST", "target: CONTINUE"})
      if (!Contains(info, want)) fail(fmt::format("{}: no '{}' in\n{}", p, want, info));
  }

  // The ipsets: exactly the compiled ones, with the same addresses.
  std::vector<std::string> want_sets;
  for (const auto* fs : {&state.ipv4, &state.ipv6}) {
    for (const auto& set : fs->sets) {
      want_sets.push_back(set.name);
      std::string info = query({"--info-ipset=" + set.name});
      std::string family = fs->family == netfilter::Family::kIPv4 ? "family=inet" : "family=inet6";
      if (!Contains(info, "type: hash:net") || !Contains(info, family))
        fail(set.name + ": wrong type or family:\n" + info);
      std::vector<netfilter::Cidr> got;
      for (const auto& line : Lines(info))
        if (line.starts_with("  entries:"))
          for (const auto& w : Words(line.substr(10))) got.push_back(*netfilter::Cidr::Parse(w));
      for (const auto& e : *set.entries)
        if (std::none_of(got.begin(), got.end(), [&](const auto& g) { return Covers(g, e); }))
          fail(set.name + ": " + e.ToString() + " is missing");
      for (const auto& g : got)
        if (std::find(set.entries->begin(), set.entries->end(), g) == set.entries->end())
          fail(set.name + ": " + g.ToString() + " is not in the policy");
    }
  }
  std::vector<std::string> sets;
  for (const auto& s : Words(query({"--get-ipsets"})))
    if (s.starts_with("swarmwall-")) sets.push_back(s);
  same("ipsets", sets, want_sets);

  // The direct rules: the compiled chains rule by rule, and the hooks.
  std::vector<std::string> want_rules, want_chains;
  for (const auto* fs : {&state.ipv4, &state.ipv6}) {
    if (fs->empty()) continue;
    std::string ipv = fs->family == netfilter::Family::kIPv4 ? "ipv4" : "ipv6";
    for (const auto& c : fs->chains) {
      if (c.name == compile::kInputChain) continue;
      want_chains.push_back(fmt::format("{} {} {}", ipv, c.table, c.name));
      for (const auto& r : c.rules) want_rules.push_back(DirectLine(ipv, c.table, c.name, backend::SplitRuleSpec(r)));
    }
    for (const auto& h : fs->hooks) {
      if (h.target == compile::kInputChain) continue;
      if (h.create_chain) want_chains.push_back(fmt::format("{} {} {}", ipv, h.table, h.chain));
      want_rules.push_back(DirectLine(ipv, h.table, h.chain, {"-j", h.target}));
    }
  }
  same("direct rules", Lines(query({"--direct", "--get-all-rules"})), want_rules);
  same("direct chains", Lines(query({"--direct", "--get-all-chains"})), want_chains);

  // Again: the script removes what it made and makes it anew, identically.
  if (job.twice) {
    auto before = Snapshot(config);
    auto again = RunScript(script, config);
    if (!again.ok() || !again.err.empty())
      fail(fmt::format("second run ({}): {}{}", again.exit_code, again.out, again.err));
    auto after = Snapshot(config);
    for (const auto& [file, text] : after)
      if (before[file] != text) fail("second run changed " + file + ":\n" + text + "\nwas:\n" + before[file]);
    if (before.size() != after.size()) fail("second run changed the set of files");
  }
  return failures;
}

TEST(FirewalldOffline, EveryExampleAndNode) {
  if (std::string why = Unsupported(); !why.empty()) GTEST_SKIP() << why;
  std::vector<fs::path> examples;
  for (const auto& e : fs::directory_iterator(kSource + "/examples"))
    if (e.path().extension() == ".yaml") examples.push_back(e.path());
  std::sort(examples.begin(), examples.end());
  // The golden files pin every node's script byte for byte; running them
  // through firewall-offline-cmd (half a second a command, a Python start
  // each: this test was CI's longest CPU user beside the lab) is for the
  // syntax, so CI runs one node per example and the script twice for
  // swarm-cluster's only (zones, the Swarm policy, ipsets and direct rules
  // all removed and made again); SWARMWALL_FULL_TESTS=1 every node, twice
  // for every example's first.
  bool full = getenv("SWARMWALL_FULL_TESTS") != nullptr;
  std::vector<Job> jobs;
  for (const auto& path : examples) {
    auto p = LoadExample(path.filename().string());
    bool first = true;
    for (const auto& node : NodesOf(p)) {
      if (!first && !full) break;
      bool twice = first && (full || path.stem() == "swarm-cluster");
      jobs.push_back({path.stem().string() + "/" + node.name, p, node, twice});
      first = false;
    }
  }
  ASSERT_GE(jobs.size(), full ? 12u : 5u);

  // firewall-offline-cmd takes about half a second a call: a few at once.
  std::vector<std::string> results(jobs.size());
  std::atomic<size_t> next{0};
  unsigned workers = std::clamp(std::thread::hardware_concurrency(), 2u, 6u);
  std::vector<std::thread> pool;
  for (unsigned w = 0; w < workers; ++w)
    pool.emplace_back([&] {
      for (size_t i = next++; i < jobs.size(); i = next++) {
        try {
          results[i] = CheckJob(jobs[i]);
        } catch (const std::exception& e) {
          results[i] = std::string("  exception: ") + e.what() + "\n";
        }
      }
    });
  for (auto& t : pool) t.join();
  for (size_t i = 0; i < jobs.size(); ++i)
    EXPECT_EQ(results[i], "") << jobs[i].label << ":\n" << results[i];
}

// ------------------------------------------------------------------ daemon

// A firewalld daemon in HOST's network namespace, with its own mount
// namespace: a private /run (its own system bus) and CONFIG on /etc/firewalld.
class FirewalldDaemon {
 public:
  FirewalldDaemon(lab::Host& host, fs::path config, fs::path dir)
      : host_(host), config_(std::move(config)), dir_(std::move(dir)) {}
  ~FirewalldDaemon() { Stop(); }

  // Starts it and waits until it runs; "" or why not.
  std::string Start() {
    fs::path wrapper = dir_ / "start-firewalld.sh";
    WriteFile(wrapper, fmt::format(R"(set -e
mount --make-rprivate /
mount -t tmpfs swarmwall-run /run
mkdir -p /run/dbus /run/firewalld
mount --bind {config} /etc/firewalld
dbus-daemon --system --fork --print-pid > {dir}/dbus.pid
exec firewalld --nofork --nopid --log-file {dir}/firewalld.log
)", fmt::arg("config", config_.string()), fmt::arg("dir", dir_.string())));
    std::string log = (dir_ / "start.log").string();
    std::vector<std::string> argv = {"nsenter", "--net=/var/run/netns/" + host_.netns(),
                                     "unshare", "--mount", "/bin/sh", wrapper.string()};
    pid_ = fork();
    if (pid_ == 0) {
      setsid();
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      execvp(args[0], args.data());
      _exit(127);
    }
    if (pid_ < 0) return "fork failed";
    for (auto until = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < until;) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return "firewalld exited:\n" + ReadFile(log) + Tail();
      }
      if (Cmd({"--state"}).out == "running\n") return "";
      std::this_thread::sleep_for(300ms);
    }
    return "firewalld did not come up in 60 s:\n" + Tail();
  }

  // firewall-cmd inside its namespaces.
  ProcessResult Cmd(std::vector<std::string> args) {
    args.insert(args.begin(), {"nsenter", "-t", std::to_string(pid_), "-m", "-n", "firewall-cmd"});
    ProcessOptions o;
    o.timeout = 120s;
    return RunProcess(args, o);
  }

  pid_t pid() const { return pid_; }

  std::string Tail() const {
    auto lines = Lines(ReadFile(dir_ / "firewalld.log"));
    size_t from = lines.size() > 30 ? lines.size() - 30 : 0;
    return Indent(std::vector<std::string>(lines.begin() + static_cast<long>(from), lines.end()));
  }

  void Stop() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      for (int i = 0; i < 100; ++i) {
        if (waitpid(pid_, nullptr, WNOHANG) == pid_) {
          pid_ = -1;
          break;
        }
        std::this_thread::sleep_for(100ms);
      }
      if (pid_ > 0) {
        kill(pid_, SIGKILL);
        waitpid(pid_, nullptr, 0);
        pid_ = -1;
      }
    }
    std::string dbus = ReadFile(dir_ / "dbus.pid");
    if (int p = std::atoi(dbus.c_str()); p > 1) kill(p, SIGTERM);
    fs::remove(dir_ / "dbus.pid");
  }

 private:
  lab::Host& host_;
  fs::path config_, dir_;
  pid_t pid_ = -1;
};

// iptables -S CHAIN in HOST, as "-A ..." lines (without the -N line).
std::vector<std::string> ChainRules(lab::Host& host, const std::string& tool, const std::string& chain) {
  std::vector<std::string> out;
  for (const auto& line : Lines(host.Exec({tool, "-S", chain}).out))
    if (line.starts_with("-A ")) out.push_back(line);
  return out;
}

struct Probe {
  lab::Host* from;
  std::string addr;
  int port;
  bool open;
};

void ExpectProbes(const std::vector<Probe>& probes, const std::string& when) {
  for (const auto& p : probes)
    EXPECT_EQ(p.from->CanConnect(p.addr, p.port), p.open)
        << when << ": " << p.from->name() << " -> " << p.addr << ":" << p.port << " should be "
        << (p.open ? "open" : "closed");
}

// swarm-cluster.yaml's manager-1 (public eth0, trusted cluster network on
// ens11) under a real firewalld, probed from outside.
TEST(FirewalldDaemon, SwarmClusterManagerWithPackets) {
  if (std::string why = Unsupported(); !why.empty()) GTEST_SKIP() << why;
  std::string why;
  if (!lab::LabSupported(&why)) GTEST_SKIP() << why;
  for (const char* tool : {"firewalld", "dbus-daemon", "unshare", "nsenter", "firewall-cmd"})
    if (!ProgramExists(tool)) GTEST_SKIP() << tool << " is missing";

  auto p = LoadExample("swarm-cluster.yaml");
  const policy::Node& node = *p.FindNode("manager-1");
  auto state = compile::Compile(p, node, compile::NodeFacts{});

  lab::Lab lab("fwd");
  auto& pub = lab.AddSwitch("pub");
  auto& clu = lab.AddSwitch("clu");
  auto& host = lab.AddHost("node");
  auto& stranger = lab.AddHost("stranger");
  auto& admin = lab.AddHost("admin");
  auto& office = lab.AddHost("office");
  auto& peer = lab.AddHost("peer");
  auto& cstranger = lab.AddHost("cstranger");
  lab.Connect(host, pub, "eth0",
              {"203.0.113.10/24", "198.51.100.1/24", "2001:db8:1::10/64", "2001:db8:200::10/64"});
  lab.Connect(host, clu, "ens11", {"10.10.10.1/24"});
  lab.Connect(stranger, pub, "eth0", {"203.0.113.100/24", "2001:db8:1::100/64"});
  lab.Connect(admin, pub, "eth0", {"203.0.113.7/24", "2001:db8:200::7/64"});  // in admins.txt
  lab.Connect(office, pub, "eth0", {"198.51.100.5/24"});                     // in office
  lab.Connect(peer, clu, "eth0", {"10.10.10.2/24"});                         // node-1
  lab.Connect(cstranger, clu, "eth0", {"10.10.10.50/24"});                   // not a node
  // Not 8080 nor 9090: Docker publishes those below (docker-proxy binds them).
  for (int port : {22, 80, 443, 2377, 7946, 8081}) host.Listen(port, "::");

  // Outside /run: the daemon's mount namespace gets a /run of its own.
  TempDir tmp;
  fs::path dir = tmp.path();
  fs::path config = dir / "etc";
  PrepareConfig(config);
  fs::path script = dir / "manager-1.sh";
  WriteFile(script, backend::RenderFirewalld(p, node, state));
  auto run = RunScript(script, config);
  ASSERT_TRUE(run.ok()) << run.out << run.err;

  // Without a firewall everything is open (the probes work).
  ASSERT_TRUE(stranger.CanConnect("203.0.113.10", 2377));
  // Something Docker would own, to see what firewalld does to iptables.
  host.Exec({"iptables", "-N", "DOCKER-MARK"});

  FirewalldDaemon daemon(host, config, dir);
  std::string failed = daemon.Start();
  if (!failed.empty()) {
    // Say exactly why; the offline test still judged the configuration.
    GTEST_SKIP() << "firewalld cannot run here: " << failed;
  }
  bool mark_kept = host.Exec({"iptables", "-S", "DOCKER-MARK"}).ok();
  std::cout << "[ INFO     ] firewalld start " << (mark_kept ? "kept" : "deleted")
            << " an iptables chain it does not own (DOCKER-MARK)\n";

  auto zones = daemon.Cmd({"--get-active-zones"}).out;
  EXPECT_TRUE(Contains(zones, "swarmwall-public\n  interfaces: eth0")) << zones;
  EXPECT_TRUE(Contains(zones, "swarmwall-cluster\n  interfaces: ens11")) << zones;

  std::vector<Probe> host_probes = {
      {&stranger, "203.0.113.10", 80, true},     // the ingress, from anywhere
      {&stranger, "203.0.113.10", 443, true},
      {&stranger, "203.0.113.10", 22, false},    // ssh: admins only
      {&stranger, "203.0.113.10", 2377, false},  // Swarm ports: nodes only
      {&stranger, "203.0.113.10", 7946, false},
      {&stranger, "203.0.113.10", 8081, false},  // nothing allows it
      {&admin, "203.0.113.10", 22, true},
      {&admin, "2001:db8:200::10", 22, true},    // admins' IPv6 range
      {&stranger, "2001:db8:1::10", 22, false},
      {&stranger, "2001:db8:1::10", 443, true},
      {&peer, "10.10.10.1", 2377, true},         // a node, on the cluster network
      {&peer, "10.10.10.1", 7946, true},
      {&peer, "10.10.10.1", 8081, true},         // cluster: accept
      {&cstranger, "10.10.10.1", 8081, true},    // ... for anyone on it
      {&cstranger, "10.10.10.1", 2377, false},   // but the Swarm ports are the nodes' only
      {&cstranger, "10.10.10.1", 7946, false},
  };
  ExpectProbes(host_probes, "firewalld started");
  if (ProgramExists("busybox")) {  // busybox-static is a lab package; iputils-ping is not
    auto v4 = stranger.Sh("busybox ping -c 1 -W 2 203.0.113.10");
    EXPECT_TRUE(v4.ok()) << "echo-request is accepted: " << v4.out << v4.err;
    auto v6 = stranger.Sh("busybox ping6 -c 1 -W 2 2001:db8:1::10");
    EXPECT_TRUE(v6.ok()) << "ICMPv6 echo-request is accepted: " << v6.out << v6.err;
  }

  // The direct rules are the compiled chains, byte for byte, hooked first
  // in DOCKER-USER; the sets they match exist as kernel ipsets.
  for (const auto* fs : {&state.ipv4, &state.ipv6}) {
    std::string tool = fs->family == netfilter::Family::kIPv4 ? "iptables" : "ip6tables";
    for (const auto& c : fs->chains) {
      if (c.name == compile::kInputChain) continue;
      std::vector<std::string> want;
      for (const auto& r : c.rules) want.push_back("-A " + c.name + " " + r);
      EXPECT_EQ(ChainRules(host, tool, c.name), want) << tool << " " << c.name;
    }
    auto user = ChainRules(host, tool, "DOCKER-USER");
    ASSERT_FALSE(user.empty()) << tool;
    EXPECT_EQ(user[0], "-A DOCKER-USER -j SWARMWALL-USER") << tool;
  }
  auto ipsets = host.Exec({"ipset", "list", "-n"}).out;
  for (const char* set : {"swarmwall-office-v4", "swarmwall-office-v6"})
    EXPECT_TRUE(Contains(ipsets, set)) << ipsets;

  // Published container ports through DOCKER-USER, with a real dockerd.
  bool docker = lab::DockerAvailable(lab::DockerVersion::k20_10);
  std::vector<Probe> container_probes;
  if (docker) {
    auto& d = lab.StartDocker(host, lab::DockerVersion::k20_10);
    auto user = ChainRules(host, "iptables", "DOCKER-USER");
    ASSERT_FALSE(user.empty());
    EXPECT_EQ(user[0], "-A DOCKER-USER -j SWARMWALL-USER") << "Docker kept firewalld's DOCKER-USER";
    d.RunWebContainer("web", {"8080:80", "9090:80"});
    // The containers section allows 80 and 443 (the ingress) and 8080 from
    // the office only; the default is drop.
    container_probes = {
        {&office, "198.51.100.1", 8080, true},
        {&stranger, "203.0.113.10", 8080, false},
        {&stranger, "203.0.113.10", 9090, false},
        {&office, "198.51.100.1", 9090, false},
    };
    ExpectProbes(container_probes, "dockerd started after firewalld");
    // Containers' outbound traffic also crosses firewalld's own FORWARD
    // chain, where docker0 is in the default zone unless dockerd put it in
    // firewalld's "docker" zone over D-Bus (this one cannot): report.
    stranger.Listen(9999);
    bool out = d.Docker({"exec", "web", "nc", "-w", "3", "203.0.113.100", "9999"}).ok();
    std::cout << "[ INFO     ] a container reaching 203.0.113.100:9999: " << (out ? "works" : "fails") << "\n";
    if (!out) {
      // What Docker's own firewalld integration does: docker0 in a zone
      // with target ACCEPT (runtime only here).
      daemon.Cmd({"--zone=trusted", "--add-interface=docker0"});
      bool trusted = d.Docker({"exec", "web", "nc", "-w", "3", "203.0.113.100", "9999"}).ok();
      std::cout << "[ INFO     ] ... with docker0 in a zone of target ACCEPT: " << (trusted ? "works" : "fails")
                << "\n";
      daemon.Cmd({"--zone=trusted", "--remove-interface=docker0"});
    }
  } else {
    std::cout << "[ INFO     ] no Docker 20.10: " << lab::DockerUnavailableReason(lab::DockerVersion::k20_10)
              << "; DOCKER-USER not probed with packets\n";
  }

  // The same script against the running daemon (firewall-cmd --permanent)
  // converges on the same permanent configuration.
  auto before = Snapshot(config);
  ProcessOptions online;
  online.timeout = 600s;
  online.extra_env = {fmt::format("FIREWALL_CMD=nsenter -t {} -m -n firewall-cmd --permanent", daemon.pid())};
  auto rerun = RunProcess({"/bin/sh", script.string()}, online);
  ASSERT_TRUE(rerun.ok()) << rerun.out << rerun.err << daemon.Tail();
  EXPECT_EQ(rerun.err, "");
  auto after = Snapshot(config);
  for (const auto& [file, text] : after)
    EXPECT_EQ(before[file], text) << "firewall-cmd --permanent changed " << file;
  EXPECT_EQ(before.size(), after.size());

  // A reload rebuilds firewalld's rules and the direct ones.
  auto reload = daemon.Cmd({"--reload"});
  ASSERT_TRUE(reload.ok()) << reload.out << reload.err << daemon.Tail();
  ExpectProbes(host_probes, "after firewall-cmd --reload");
  EXPECT_EQ(ChainRules(host, "iptables", "DOCKER-USER").at(0), "-A DOCKER-USER -j SWARMWALL-USER");
  if (docker) {
    // firewalld 1.3 flushes every iptables table on reload: Docker's own
    // chains and NAT are gone until dockerd re-creates them (it does on
    // firewalld's Reloaded signal only when it talks to firewalld on D-Bus;
    // this dockerd cannot see the private bus). Report, do not judge.
    bool docker_chain = host.Exec({"iptables", "-t", "nat", "-S", "DOCKER"}).ok();
    std::cout << "[ INFO     ] after --reload Docker's nat DOCKER chain is "
              << (docker_chain ? "still there" : "gone (restart dockerd)") << "\n";
  }
  daemon.Stop();
}

}  // namespace
}  // namespace swarmwall
