#include "lab.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

namespace swarmwall::lab {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char kRunRoot[] = "/run/swl";
constexpr const char kNetnsDir[] = "/var/run/netns";
constexpr const char kCgroupRoot[] = "/sys/fs/cgroup";
constexpr const char kDefaultCache[] = "/var/cache/swarmwall-lab/docker-unstable";
constexpr const char kSystemPath[] = "/usr/sbin:/usr/bin:/sbin:/bin";
constexpr const char kBusyboxImage[] = "local/busybox:1";
constexpr std::size_t kMaxTag = 8;
constexpr std::size_t kMaxName = 20;
constexpr std::size_t kMaxUnixPath = 107;  // sizeof(sockaddr_un::sun_path) - 1

// ---------------------------------------------------------------- helpers

std::string Trim(std::string s) {
  auto not_space = [](unsigned char c) { return !std::isspace(c); };
  s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
  s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
  return s;
}

std::string Join(const std::vector<std::string>& v, const char* sep = " ") {
  std::string out;
  for (const auto& s : v) {
    if (!out.empty()) out += sep;
    out += s;
  }
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

bool WriteFile(const std::string& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << content;
  return static_cast<bool>(out);
}

bool IsExecutable(const std::string& path) { return access(path.c_str(), X_OK) == 0; }

std::string Describe(const std::vector<std::string>& argv, const ProcessResult& r) {
  return fmt::format("`{}` failed (exit {}{}): {}{}", Join(argv), r.exit_code,
                     r.timed_out ? ", timed out" : "", Trim(r.err),
                     r.out.empty() ? "" : " / " + Trim(r.out));
}

ProcessResult Run(const std::vector<std::string>& argv,
                  std::chrono::milliseconds timeout = 30s) {
  ProcessOptions o;
  o.timeout = timeout;
  return RunProcess(argv, o);
}

ProcessResult Must(const std::vector<std::string>& argv,
                   std::chrono::milliseconds timeout = 30s) {
  ProcessResult r = Run(argv, timeout);
  if (!r.ok()) throw std::runtime_error("lab: " + Describe(argv, r));
  return r;
}

std::string LastLines(const std::string& text, int lines) {
  if (lines <= 0) return {};
  std::size_t pos = text.size();
  if (pos > 0 && text[pos - 1] == '\n') --pos;
  int seen = 0;
  while (pos > 0) {
    --pos;
    if (text[pos] == '\n' && ++seen == lines) return text.substr(pos + 1);
  }
  return text;
}

// "<pid> <starttime>" of a process, "" when it does not exist.
std::string ProcStartTime(pid_t pid) {
  std::string stat = ReadFile(fmt::format("/proc/{}/stat", pid));
  auto close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream in(stat.substr(close + 2));
  std::string field;
  // Fields after comm start at 3 (state); starttime is field 22.
  for (int i = 3; i <= 22 && (in >> field); ++i) {
    if (i == 22) return field;
  }
  return {};
}

char ProcState(pid_t pid) {
  std::string stat = ReadFile(fmt::format("/proc/{}/stat", pid));
  auto close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return 0;
  return stat[close + 2];
}

// Running (a zombie counts as gone).
bool PidAlive(pid_t pid) {
  if (pid <= 0) return false;
  char state = ProcState(pid);
  return state != 0 && state != 'Z' && state != 'X';
}

std::string Cmdline(pid_t pid) {
  std::string c = ReadFile(fmt::format("/proc/{}/cmdline", pid));
  std::replace(c.begin(), c.end(), '\0', ' ');
  return c;
}

std::vector<pid_t> AllPids() {
  std::vector<pid_t> pids;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string n = e.path().filename().string();
    if (!n.empty() && std::all_of(n.begin(), n.end(), ::isdigit)) pids.push_back(std::stoi(n));
  }
  return pids;
}

// Splits "swl<tag><pid>[-rest]" into the prefix and the pid. False for any
// other name (so names of other tools are never touched).
bool ParsePrefix(const std::string& name, std::string* prefix, pid_t* pid) {
  if (name.rfind("swl", 0) != 0) return false;
  std::size_t i = 3, letters = 0, digits = 0;
  while (i < name.size() && name[i] >= 'a' && name[i] <= 'z') ++i, ++letters;
  const std::size_t digits_at = i;
  while (i < name.size() && name[i] >= '0' && name[i] <= '9') ++i, ++digits;
  if (letters == 0 || letters > kMaxTag || digits == 0 || digits > 9) return false;
  if (i != name.size() && name[i] != '-') return false;
  if (prefix) *prefix = name.substr(0, i);
  if (pid) *pid = static_cast<pid_t>(std::stol(name.substr(digits_at, digits)));
  return true;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) names.push_back(e.path().filename().string());
  return names;
}

// Namespaces of a prefix: /var/run/netns/<prefix>-*.
std::vector<std::string> NetnsOf(const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& n : ListDir(kNetnsDir)) {
    if (n.rfind(prefix + "-", 0) == 0) out.push_back(n);
  }
  return out;
}

// Like `ip netns pids NAME`: processes whose network namespace is NAME.
std::vector<pid_t> PidsInNetns(const std::string& netns) {
  std::vector<pid_t> out;
  struct stat want {};
  if (stat((std::string(kNetnsDir) + "/" + netns).c_str(), &want) != 0) return out;
  for (pid_t pid : AllPids()) {
    struct stat st {};
    if (stat(fmt::format("/proc/{}/ns/net", pid).c_str(), &st) != 0) continue;
    if (st.st_dev == want.st_dev && st.st_ino == want.st_ino) out.push_back(pid);
  }
  return out;
}

// Top-level cgroup directories named <prefix>-* in every hierarchy
// (cgroup v1 controllers and v2).
std::vector<std::string> CgroupDirsOf(const std::string& prefix) {
  std::vector<std::string> out;
  auto scan = [&](const std::string& dir) {
    for (const auto& n : ListDir(dir)) {
      std::string p;
      if (ParsePrefix(n, &p, nullptr) && (prefix.empty() || p == prefix)) {
        std::error_code ec;
        if (fs::is_directory(dir + "/" + n, ec)) out.push_back(dir + "/" + n);
      }
    }
  };
  scan(kCgroupRoot);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(kCgroupRoot, ec)) {
    if (e.is_symlink(ec) || !e.is_directory(ec)) continue;
    scan(e.path().string());
  }
  return out;
}

void CollectCgroupPids(const std::string& dir, std::set<pid_t>* out) {
  std::istringstream procs(ReadFile(dir + "/cgroup.procs"));
  pid_t pid;
  while (procs >> pid) out->insert(pid);
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory(ec) && !e.is_symlink(ec)) CollectCgroupPids(e.path().string(), out);
  }
}

bool RemoveCgroupTree(const std::string& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_directory(ec) && !e.is_symlink(ec)) RemoveCgroupTree(e.path().string());
  }
  return rmdir(dir.c_str()) == 0 || errno == ENOENT;
}

std::string UnescapeMountPath(const std::string& s) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && std::isdigit(static_cast<unsigned char>(s[i + 1]))) {
      out += static_cast<char>(std::stoi(s.substr(i + 1, 3), nullptr, 8));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

std::vector<std::string> MountPoints() {
  std::vector<std::string> out;
  std::istringstream in(ReadFile("/proc/self/mountinfo"));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string id, parent, devno, root, mp;
    if (f >> id >> parent >> devno >> root >> mp) out.push_back(UnescapeMountPath(mp));
  }
  return out;
}

// Mount points at DIR or below it, deepest first.
std::vector<std::string> MountsUnder(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& mp : MountPoints()) {
    if (mp == dir || mp.rfind(dir + "/", 0) == 0) out.push_back(mp);
  }
  std::sort(out.begin(), out.end(),
            [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
  return out;
}

void UnmountUnder(const std::string& dir) {
  for (int pass = 0; pass < 10; ++pass) {
    auto mounts = MountsUnder(dir);
    if (mounts.empty()) return;
    for (const auto& mp : mounts) umount2(mp.c_str(), MNT_DETACH);
  }
}

void DeleteNetns(const std::string& netns) {
  const std::string path = std::string(kNetnsDir) + "/" + netns;
  umount2(path.c_str(), MNT_DETACH);
  if (unlink(path.c_str()) != 0 && errno != ENOENT) {
    Run({"ip", "netns", "delete", netns}, 10s);
  }
}

// The shims of containerd write their sockets to /run/containerd/s, named
// sha256(<containerd address>/<namespace>/<container id>); a killed shim
// leaves its socket. Removes those of the containers under RUN.
void RemoveShimSockets(const std::string& run) {
  for (const auto& node : ListDir(run)) {
    const std::string address = run + "/" + node + "/exec/containerd/containerd.sock";
    for (const auto& id : ListDir(run + "/" + node + "/data/containers")) {
      ProcessOptions o;
      o.input = address + "/moby/" + id;
      o.timeout = 10s;
      ProcessResult r = RunProcess({"sha256sum"}, o);
      std::istringstream in(r.out);
      std::string hex;
      if (!r.ok() || !(in >> hex) || hex.size() != 64) continue;
      const std::string sock = "/run/containerd/s/" + hex;
      struct stat st {};
      if (lstat(sock.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) unlink(sock.c_str());
    }
  }
}

// Waits until none of PIDS runs any more, reaping those that are REAPABLE
// (our own children). True when all are gone within TIMEOUT.
bool WaitGone(const std::vector<pid_t>& pids, const std::set<pid_t>& reapable,
              std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    bool any = false;
    for (pid_t p : pids) {
      if (reapable.count(p)) waitpid(p, nullptr, WNOHANG);
      if (PidAlive(p)) any = true;
    }
    if (!any) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(50ms);
  }
}

// Removes everything of PREFIX: SIGTERM to its daemons (pidfiles) and up to
// GRACE for them to exit, then
// SIGKILL to whatever is left in its namespaces, cgroups or mentions its run
// dir, unmounts under the run dir, deletes namespaces, cgroups, run dir.
void CleanupPrefixImpl(const std::string& prefix, const std::set<pid_t>& reapable,
                       std::chrono::milliseconds grace) {
  const std::string run = std::string(kRunRoot) + "/" + prefix;
  const std::string needle = run + "/";
  const pid_t self = getpid();

  // 1. Daemons by their pidfiles: SIGTERM, wait.
  std::vector<pid_t> daemons;
  for (const auto& node : ListDir(run)) {
    std::string text = Trim(ReadFile(run + "/" + node + "/docker.pid"));
    if (text.empty() || !std::all_of(text.begin(), text.end(), ::isdigit)) continue;
    pid_t pid = static_cast<pid_t>(std::stol(text));
    if (pid > 1 && pid != self && PidAlive(pid) && Cmdline(pid).find(needle) != std::string::npos) {
      kill(pid, SIGTERM);
      daemons.push_back(pid);
    }
  }
  if (!daemons.empty()) WaitGone(daemons, reapable, grace);

  // 2. SIGKILL the rest until nothing is left.
  auto leftovers = [&] {
    std::set<pid_t> pids;
    for (const auto& ns : NetnsOf(prefix)) {
      for (pid_t p : PidsInNetns(ns)) pids.insert(p);
    }
    for (const auto& dir : CgroupDirsOf(prefix)) CollectCgroupPids(dir, &pids);
    for (pid_t p : AllPids()) {
      if (Cmdline(p).find(needle) != std::string::npos) pids.insert(p);
    }
    std::vector<pid_t> out;
    for (pid_t p : pids) {
      if (p > 1 && p != self && PidAlive(p)) out.push_back(p);
    }
    return out;
  };
  for (int round = 0; round < 20; ++round) {
    auto pids = leftovers();
    if (pids.empty()) break;
    for (pid_t p : pids) kill(p, SIGKILL);
    WaitGone(pids, reapable, 2s);
  }
  for (pid_t p : reapable) waitpid(p, nullptr, WNOHANG);

  // 3. Mounts (overlay, nsfs, the data root's private bind mount).
  UnmountUnder(run);
  // 4. Namespaces.
  for (const auto& ns : NetnsOf(prefix)) DeleteNetns(ns);
  // 5. Cgroups (the daemons' --cgroup-parent).
  for (const auto& dir : CgroupDirsOf(prefix)) {
    if (!RemoveCgroupTree(dir) && errno != ENOENT) {
      fmt::print(stderr, "lab: cannot remove cgroup {}: {}\n", dir, strerror(errno));
    }
  }
  // 6. Sockets of the shims killed above (containerd-shim-runc-v2 leaves
  // /run/containerd/s/<sha256(address/moby/id)> behind when killed).
  RemoveShimSockets(run);
  // 7. The run dir, unless something is still mounted under it (never
  // delete through a mount).
  std::error_code ec;
  if (fs::exists(run, ec)) {
    if (MountsUnder(run).empty()) {
      fs::remove_all(run, ec);
      // A file that vanished meanwhile (a shim exiting, another cleaner)
      // stops remove_all half-way: once more.
      if (ec) {
        ec.clear();
        fs::remove_all(run, ec);
      }
      if (ec && fs::exists(run)) fmt::print(stderr, "lab: cannot remove {}: {}\n", run, ec.message());
    } else {
      fmt::print(stderr, "lab: {} still has mounts, not removed\n", run);
    }
  }
}

// Serializes the removal of stale leftovers between processes (tests running
// in parallel would otherwise remove the same prefix at the same time).
// flock: released by the kernel when a holder is killed.
class CleanupLock {
 public:
  CleanupLock() {
    std::error_code ec;
    fs::create_directories(kRunRoot, ec);
    fd_ = open((std::string(kRunRoot) + "/.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd_ >= 0) {
      while (flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
      }
    }
  }
  ~CleanupLock() {
    if (fd_ >= 0) close(fd_);
  }
  CleanupLock(const CleanupLock&) = delete;
  CleanupLock& operator=(const CleanupLock&) = delete;

 private:
  int fd_ = -1;
};

// ------------------------------------------------- live labs of this process

std::mutex& RegistryMutex() {
  static std::mutex m;
  return m;
}
std::map<std::string, Lab*>& Registry() {
  static auto* r = new std::map<std::string, Lab*>();  // leaked: used at exit
  return *r;
}
bool IsLivePrefix(const std::string& prefix) {
  std::lock_guard lock(RegistryMutex());
  return Registry().count(prefix) != 0;
}

void CleanupLiveLabsAtExit() {
  std::vector<Lab*> labs;
  {
    std::lock_guard lock(RegistryMutex());
    for (auto& [prefix, lab] : Registry()) labs.push_back(lab);
  }
  for (Lab* lab : labs) {
    try {
      lab->Cleanup();
    } catch (...) {
    }
  }
}

bool IsStale(const std::string& prefix, pid_t pid) {
  if (!PidAlive(pid)) return true;
  if (pid == getpid()) return !IsLivePrefix(prefix);
  // The pid runs, but maybe it is a later process that got the same pid.
  std::istringstream owner(ReadFile(std::string(kRunRoot) + "/" + prefix + "/owner"));
  pid_t owner_pid = 0;
  std::string start;
  if (owner >> owner_pid >> start) return start != ProcStartTime(pid);
  return false;
}

std::string CachePath(const std::string& rel) { return DockerUnstableCacheDir() + "/" + rel; }

bool IsDocker29(DockerVersion v) { return v == DockerVersion::k29_7 || v == DockerVersion::k29_7_nft; }

std::string DaemonBinary(DockerVersion v) {
  if (v == DockerVersion::k20_10) return "/usr/sbin/dockerd";
  if (IsDocker29(v)) return Docker29CacheDir() + "/dockerd";
  return CachePath("usr/sbin/dockerd");
}

// 29.7 has no CLI of its own: 28.5's talks to it (API version negotiated).
std::string CliBinary(DockerVersion v) {
  if (v != DockerVersion::k20_10 && IsExecutable(CachePath("usr/bin/docker"))) {
    return CachePath("usr/bin/docker");
  }
  return "/usr/bin/docker";
}

// dockerd finds docker-proxy and containerd on PATH: 29.7's own folder
// first (its docker-proxy), then 28.5's (containerd).
std::string DaemonPath(DockerVersion v) {
  if (v == DockerVersion::k20_10) return kSystemPath;
  if (IsDocker29(v)) {
    return Docker29CacheDir() + ":" + CachePath("usr/bin") + ":" + CachePath("usr/sbin") + ":" + kSystemPath;
  }
  return CachePath("usr/sbin") + ":" + CachePath("usr/bin") + ":" + kSystemPath;
}

// daemon.json: never the host's /etc/docker/daemon.json. Debian 12's runc
// knows no time namespace (29.x asks for one unless told not to); Swarm
// refuses nftables mode without its experimental switch.
std::string DaemonConfig(DockerVersion v) {
  if (v == DockerVersion::k29_7) return "{\"features\": {\"time-namespaces\": false}}\n";
  if (v == DockerVersion::k29_7_nft) {
    return "{\"features\": {\"time-namespaces\": false, \"swarm-nftables\": true}}\n";
  }
  return "{}\n";
}

std::string SharedDir() {
  const char* env = getenv("SWARMWALL_SHARED");
  if (env && *env) return env;
#ifdef SWARMWALL_SHARED_DEFAULT
  return SWARMWALL_SHARED_DEFAULT;
#else
  return "../shared";
#endif
}

constexpr const char kDocker29Tarball[] = "docker-29/docker-29.7.2-linux-amd64.tar.xz";
constexpr const char kDocker29Sha256[] = "3af9229601405e9674cb281acdc8de341dc8bbd3477c86e0794374d649448255";

std::string Sha256Of(const std::string& path) {
  ProcessResult r = Run({"sha256sum", "--", path}, 120s);
  std::istringstream in(r.out);
  std::string hex;
  if (!r.ok() || !(in >> hex)) return {};
  return hex;
}

bool Docker29Unpacked() {
  const std::string dir = Docker29CacheDir();
  return IsExecutable(dir + "/dockerd") && IsExecutable(dir + "/docker-proxy") &&
         Trim(ReadFile(dir + "/.sha256")) == kDocker29Sha256;
}

// Unpacks Docker 29.7.2's tarball from the shared folder into
// Docker29CacheDir() unless it is there already (its .sha256 stamp names the
// tarball it came from). Checks the tarball's sha256 first; unpacks into a
// temporary folder and renames it, under an flock, so test processes running
// at once never see half a folder. "" when ready, else why not.
std::string EnsureDocker29() {
  static std::mutex mu;
  std::lock_guard guard(mu);
  if (Docker29Unpacked()) return {};
  const std::string tarball = SharedDir() + "/" + kDocker29Tarball;
  if (!fs::exists(tarball)) {
    return "Docker 29.7.2 is not available: " + tarball + " is missing (set SWARMWALL_SHARED)";
  }
  const std::string dir = Docker29CacheDir();
  const std::string parent = fs::path(dir).parent_path().string();
  std::error_code ec;
  fs::create_directories(parent, ec);
  int fd = open((parent + "/.docker-29.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return "Docker 29.7.2: cannot create a lock file in " + parent + ": " + strerror(errno);
  while (flock(fd, LOCK_EX) != 0 && errno == EINTR) {
  }
  std::string why;
  if (!Docker29Unpacked()) {
    const std::string sum = Sha256Of(tarball);
    if (sum != kDocker29Sha256) {
      why = fmt::format("Docker 29.7.2: {} has sha256 {}, expected {}", tarball, sum.empty() ? "(unreadable)" : sum,
                        kDocker29Sha256);
    } else {
      const std::string tmp = fmt::format("{}.tmp{}", dir, getpid());
      fs::remove_all(tmp, ec);
      fs::create_directories(tmp, ec);
      ProcessResult r = Run({"tar", "-xJf", tarball, "-C", tmp}, 300s);
      if (!r.ok() || !WriteFile(tmp + "/.sha256", std::string(kDocker29Sha256) + "\n")) {
        why = "Docker 29.7.2: cannot unpack " + tarball + " into " + tmp + ": " + Trim(r.err);
      } else {
        fs::remove_all(dir, ec);
        fs::rename(tmp, dir, ec);
        if (ec) why = "Docker 29.7.2: cannot rename " + tmp + " to " + dir + ": " + ec.message();
      }
      if (!why.empty()) fs::remove_all(tmp, ec);
    }
  }
  close(fd);
  return why;
}

std::string FindRunc() {
  for (const char* p : {"/usr/sbin/runc", "/usr/bin/runc", "/sbin/runc", "/bin/runc"}) {
    if (IsExecutable(p)) return p;
  }
  return {};
}

std::string NetnsArg(const std::string& netns) {
  return std::string("--net=") + kNetnsDir + "/" + netns;
}

bool IsV6(const std::string& addr) { return addr.find(':') != std::string::npos; }

// lo up; no IPv6 duplicate address detection on the namespace's interfaces
// (also link-local ones): with DAD, the first IPv6 connections through a
// router host are lost for about 3 s after the links come up.
void PrepareNamespace(const std::string& ns) {
  Must({"ip", "-n", ns, "link", "set", "lo", "up"});
  Must({"nsenter", NetnsArg(ns), "/bin/sh", "-c",
        "echo 0 >/proc/sys/net/ipv6/conf/all/accept_dad && "
        "echo 0 >/proc/sys/net/ipv6/conf/default/accept_dad"});
}

}  // namespace

// ------------------------------------------------------------ free functions

std::string DockerUnstableCacheDir() {
  const char* env = getenv("SWARMWALL_LAB_CACHE");
  return env && *env ? env : kDefaultCache;
}

std::string Docker29CacheDir() {
  std::string base = DockerUnstableCacheDir();
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return fs::path(base).parent_path().string() + "/docker-29.7.2";
}

std::string DockerVersionName(DockerVersion v) {
  switch (v) {
    case DockerVersion::k20_10: return "20.10";
    case DockerVersion::k28_5: return "28.5";
    case DockerVersion::k29_7: return "29.7";
    case DockerVersion::k29_7_nft: return "29.7-nft";
  }
  return "?";
}

bool DockerUsesNftables(DockerVersion v) { return v == DockerVersion::k29_7_nft; }

std::string DockerUnavailableReason(DockerVersion v) {
  std::vector<std::string> missing;
  if (FindRunc().empty()) missing.push_back("runc (Debian 12's runc package)");
  if (v == DockerVersion::k20_10) {
    for (const char* p : {"/usr/sbin/dockerd", "/usr/bin/docker", "/usr/bin/containerd"}) {
      if (!IsExecutable(p)) missing.push_back(p);
    }
    if (!missing.empty()) {
      return "Docker 20.10 is not installed (apt-get install docker.io): missing " + Join(missing, ", ");
    }
    return {};
  }
  for (const char* rel : {"usr/sbin/dockerd", "usr/bin/containerd", "usr/bin/containerd-shim-runc-v2"}) {
    if (IsDocker29(v) && std::string(rel) == "usr/sbin/dockerd") continue;
    if (!IsExecutable(CachePath(rel))) missing.push_back(CachePath(rel));
  }
  if (!IsExecutable(CliBinary(v))) missing.push_back(CliBinary(v));
  if (!missing.empty()) {
    return fmt::format("Docker {} needs Docker 28.5{} in the cache folder (run tests/lab/fetch-docker-unstable.sh "
                       "as root): missing {}",
                       DockerVersionName(v), IsDocker29(v) ? "'s containerd and CLI" : "", Join(missing, ", "));
  }
  for (const char* rel : {"usr/sbin/runc", "usr/bin/runc"}) {
    if (fs::exists(CachePath(rel))) {
      return "the cache folder holds " + CachePath(rel) +
             " (needs a newer glibc); delete it or rerun fetch-docker-unstable.sh";
    }
  }
  if (IsDocker29(v)) {
    if (v == DockerVersion::k29_7_nft && !ProgramExists("nft")) {
      return "Docker 29.7-nft drives the nft program: apt-get install nftables";
    }
    return EnsureDocker29();
  }
  return {};
}

bool DockerAvailable(DockerVersion v) { return DockerUnavailableReason(v).empty(); }

bool LabSupported(std::string* why) {
  std::string reason;
  if (geteuid() != 0) {
    reason = "the lab needs root (network namespaces, dockerd)";
  } else {
    std::vector<std::string> missing;
    for (const char* tool : {"ip", "nsenter", "unshare", "socat", "tar", "ss"}) {
      if (!ProgramExists(tool)) missing.push_back(tool);
    }
    if (!missing.empty()) reason = "missing tools: " + Join(missing, ", ");
  }
  if (why) *why = reason;
  return reason.empty();
}

// ------------------------------------------------------------------ Switch

ProcessResult Switch::Exec(const std::vector<std::string>& argv, const ProcessOptions& options) {
  std::vector<std::string> full{"nsenter", NetnsArg(netns_)};
  full.insert(full.end(), argv.begin(), argv.end());
  return RunProcess(full, options);
}

ProcessResult Switch::Sh(const std::string& cmd) {
  ProcessOptions o;
  o.timeout = 60s;
  return Exec({"/bin/sh", "-c", cmd}, o);
}

// -------------------------------------------------------------------- Host

ProcessResult Host::Exec(const std::vector<std::string>& argv, const ProcessOptions& options) {
  std::vector<std::string> full{"nsenter", NetnsArg(netns_)};
  full.insert(full.end(), argv.begin(), argv.end());
  return RunProcess(full, options);
}

ProcessResult Host::Sh(const std::string& cmd) {
  ProcessOptions o;
  o.timeout = 60s;
  return Exec({"/bin/sh", "-c", cmd}, o);
}

bool Host::CanConnect(const std::string& addr, int port, std::chrono::milliseconds timeout) {
  const double secs = static_cast<double>(timeout.count()) / 1000.0;
  const std::string target =
      IsV6(addr) ? fmt::format("TCP6:[{}]:{},connect-timeout={:.3f}", addr, port, secs)
                 : fmt::format("TCP4:{}:{},connect-timeout={:.3f}", addr, port, secs);
  ProcessOptions o;
  o.timeout = timeout + 3s;
  return Exec({"socat", "-u", "OPEN:/dev/null", target}, o).ok();
}

void Host::Listen(int port, const std::string& bind) {
  lab_->CheckUsable();
  const std::string listen =
      IsV6(bind) ? fmt::format("TCP6-LISTEN:{},bind=[{}],reuseaddr,fork", port, bind)
                 : fmt::format("TCP4-LISTEN:{},bind={},reuseaddr,fork", port, bind);
  const std::string log = fmt::format("{}/listen-{}.log", dir_, port);
  if (listeners_.count({port, bind})) {
    ProcessOptions o;
    o.timeout = 5s;
    ProcessResult r = Exec({"ss", "-Hltn", fmt::format("sport = :{}", port)}, o);
    if (r.ok() && !Trim(r.out).empty()) return;
  }
  pid_t pid = lab_->Spawn({"nsenter", NetnsArg(netns_), "socat", listen, "EXEC:/bin/cat"}, log);
  const std::string filter = fmt::format("sport = :{}", port);
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) break;
    ProcessOptions o;
    o.timeout = 5s;
    ProcessResult r = Exec({"ss", "-Hltn", filter}, o);
    // Listening, and by our socat (not one that failed on a port in use).
    if (r.ok() && !Trim(r.out).empty() && waitpid(pid, nullptr, WNOHANG) == 0) {
      listeners_.insert({port, bind});
      return;
    }
    std::this_thread::sleep_for(50ms);
  }
  throw std::runtime_error(fmt::format("lab: listener on {}:{} in {} did not start: {}", bind,
                                       port, netns_, LastLines(ReadFile(log), 10)));
}

// -------------------------------------------------------------- DockerNode

std::vector<std::string> DockerNode::CliPrefix() const {
  return {"nsenter",
          NetnsArg(host_->netns()),
          "env",
          "-u", "DOCKER_CONTEXT",
          "-u", "DOCKER_TLS_VERIFY",
          "-u", "DOCKER_CERT_PATH",
          "DOCKER_HOST=unix://" + Socket(),
          "DOCKER_CONFIG=" + dir_ + "/cli",
          CliBinary(version_)};
}

ProcessResult DockerNode::Docker(const std::vector<std::string>& args) {
  ProcessOptions o;
  o.timeout = 120s;
  return Docker(args, o);
}

ProcessResult DockerNode::Docker(const std::vector<std::string>& args, const ProcessOptions& options) {
  std::vector<std::string> argv = CliPrefix();
  argv.insert(argv.end(), args.begin(), args.end());
  return RunProcess(argv, options);
}

std::string DockerNode::Version() {
  std::vector<std::string> args{"version", "--format", "{{.Server.Version}}"};
  ProcessResult r = Docker(args);
  if (!r.ok()) throw std::runtime_error("lab: docker " + Describe(args, r));
  return Trim(r.out);
}

void DockerNode::EnsureBusyboxImage() {
  if (have_busybox_) return;
  if (Docker({"image", "inspect", "--format", "{{.Id}}", kBusyboxImage}).ok()) {
    have_busybox_ = true;
    return;
  }
  const std::string busybox = "/bin/busybox";
  if (!IsExecutable(busybox)) {
    throw std::runtime_error("lab: /bin/busybox missing (apt-get install busybox-static)");
  }
  const std::string root = dir_ + "/busybox-rootfs";
  std::error_code ec;
  fs::remove_all(root, ec);
  fs::create_directories(root + "/bin");
  fs::create_directories(root + "/tmp");
  fs::copy_file(busybox, root + "/bin/busybox", fs::copy_options::overwrite_existing);
  fs::permissions(root + "/bin/busybox", fs::perms(0755));
  for (const char* applet : {"sh", "httpd", "nc", "sleep", "ping", "cat", "echo", "ls", "ip",
                             "hostname", "true", "false", "env"}) {
    fs::create_symlink("busybox", root + "/bin/" + applet);
  }
  ProcessResult tar = Must({"tar", "-C", root, "-c", "."});
  ProcessOptions o;
  o.input = tar.out;
  o.timeout = 120s;
  std::vector<std::string> args{"import", "-", kBusyboxImage};
  ProcessResult r = Docker(args, o);
  if (!r.ok()) throw std::runtime_error("lab: docker " + Describe(args, r));
  fs::remove_all(root, ec);
  have_busybox_ = true;
}

std::string DockerNode::RunWebContainer(const std::string& name,
                                        const std::vector<std::string>& publish,
                                        const std::string& network) {
  EnsureBusyboxImage();
  std::vector<std::string> args{"run", "-d", "--name", name};
  if (!network.empty()) {
    args.push_back("--network");
    args.push_back(network);
  }
  for (const auto& p : publish) {
    args.push_back("-p");
    args.push_back(p);
  }
  for (const char* a : {kBusyboxImage, "httpd", "-f", "-p", "80", "-h", "/bin"}) args.push_back(a);
  ProcessResult r = Docker(args);
  if (!r.ok()) throw std::runtime_error("lab: docker " + Describe(args, r));
  return LastLines(Trim(r.out), 1);
}

std::string DockerNode::ContainerIp(const std::string& name) {
  ProcessResult r = Docker({"inspect", "--format",
                            "{{range .NetworkSettings.Networks}}{{.IPAddress}} {{end}}", name});
  if (!r.ok()) return {};
  std::istringstream in(r.out);
  std::string ip;
  in >> ip;
  return ip;
}

std::string DockerNode::LogTail(int lines) const { return LastLines(ReadFile(LogFile()), lines); }

std::string DockerNode::FailureReport() const {
  const std::string log = ReadFile(LogFile());
  const std::string tail = LastLines(log, 30);
  // Error lines from before the tail (a usage text can hide the cause).
  std::string errors;
  std::istringstream in(log.substr(0, log.size() - tail.size()));
  std::string line;
  int n = 0;
  while (std::getline(in, line) && n < 10) {
    std::string lower = line;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower.rfind("lab: ", 0) == 0) continue;
    if (lower.find("level=error") != std::string::npos || lower.find("level=fatal") != std::string::npos ||
        lower.find("unknown") != std::string::npos || lower.find("failed") != std::string::npos) {
      errors += line + "\n";
      ++n;
    }
  }
  return fmt::format("{} {}:\n{}{}", LogFile(), errors.empty() ? "ends with" : "has errors, then ends with",
                     errors.empty() ? "" : errors + "...\n", tail);
}

// --------------------------------------------------------------------- Lab

std::string Lab::RunRoot() { return kRunRoot; }

Lab::Lab(std::string tag) : tag_(std::move(tag)) {
  if (tag_.empty() || tag_.size() > kMaxTag ||
      !std::all_of(tag_.begin(), tag_.end(), [](char c) { return c >= 'a' && c <= 'z'; })) {
    throw std::invalid_argument("lab: tag must be 1 to 8 lowercase letters, got \"" + tag_ + "\"");
  }
  prefix_ = fmt::format("swl{}{}", tag_, getpid());
  run_dir_ = std::string(kRunRoot) + "/" + prefix_;
  {
    std::lock_guard lock(RegistryMutex());
    if (Registry().count(prefix_)) {
      throw std::logic_error("lab: this process already has a live Lab with tag " + tag_);
    }
    Registry()[prefix_] = this;
    static bool registered = false;
    if (!registered) {
      std::atexit(CleanupLiveLabsAtExit);
      registered = true;
    }
  }
  try {
    CleanupAllStale();
    // Leftovers of a process that had our pid before (and of this prefix).
    CleanupPrefixImpl(prefix_, {}, 2s);
    fs::create_directories(run_dir_);
    WriteFile(run_dir_ + "/owner", fmt::format("{} {}\n", getpid(), ProcStartTime(getpid())));
  } catch (...) {
    std::lock_guard lock(RegistryMutex());
    Registry().erase(prefix_);
    throw;
  }
}

Lab::~Lab() {
  try {
    Cleanup();
  } catch (const std::exception& e) {
    fmt::print(stderr, "lab: clean-up of {} failed: {}\n", prefix_, e.what());
  } catch (...) {
  }
}

void Lab::CheckUsable() const {
  if (cleaned_) throw std::logic_error("lab: " + prefix_ + " was cleaned up and cannot be used");
}

void Lab::CheckName(const std::string& name) const {
  CheckUsable();
  bool ok = !name.empty() && name.size() <= kMaxName && std::isalnum(static_cast<unsigned char>(name[0]));
  for (char c : name) {
    if (!(std::islower(static_cast<unsigned char>(c)) || std::isdigit(static_cast<unsigned char>(c)) ||
          c == '-')) {
      ok = false;
    }
  }
  if (!ok) {
    throw std::invalid_argument("lab: name must be 1 to 20 of [a-z0-9-], got \"" + name + "\"");
  }
  for (const auto& s : switches_) {
    if (s->name() == name) throw std::invalid_argument("lab: name already used: " + name);
  }
  for (const auto& h : hosts_) {
    if (h->name() == name) throw std::invalid_argument("lab: name already used: " + name);
  }
}

Switch& Lab::AddSwitch(const std::string& name) {
  CheckName(name);
  const std::string ns = prefix_ + "-" + name;
  Must({"ip", "netns", "add", ns});
  switches_.push_back(std::unique_ptr<Switch>(new Switch(name, ns)));
  PrepareNamespace(ns);
  if (!Run({"ip", "-n", ns, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"}).ok()) {
    Must({"ip", "-n", ns, "link", "add", "br0", "type", "bridge"});
  }
  Must({"ip", "-n", ns, "link", "set", "br0", "up"});
  return *switches_.back();
}

Host& Lab::AddHost(const std::string& name) {
  CheckName(name);
  const std::string ns = prefix_ + "-" + name;
  const std::string dir = run_dir_ + "/" + name;
  fs::create_directories(dir);
  Must({"ip", "netns", "add", ns});
  hosts_.push_back(std::unique_ptr<Host>(new Host(this, name, ns, dir)));
  PrepareNamespace(ns);
  return *hosts_.back();
}

void Lab::Connect(Host& host, Switch& sw, const std::string& ifname,
                  const std::vector<std::string>& addresses) {
  CheckUsable();
  if (ifname.empty() || ifname.size() > 15) {
    throw std::invalid_argument("lab: interface names are 1 to 15 characters: " + ifname);
  }
  // The peer lives in the switch's namespace only: unique there, <= 15 chars.
  std::string peer = fmt::format("p{}-{}", ++sw.ports_, host.name()).substr(0, 15);
  Must({"ip", "link", "add", ifname, "netns", host.netns(), "type", "veth", "peer", "name", peer,
        "netns", sw.netns()});
  Must({"ip", "-n", sw.netns(), "link", "set", peer, "master", sw.bridge(), "up"});
  for (const auto& a : addresses) {
    if (IsV6(a)) {
      Must({"ip", "-n", host.netns(), "-6", "addr", "add", a, "dev", ifname, "nodad"});
    } else {
      Must({"ip", "-n", host.netns(), "addr", "add", a, "dev", ifname});
    }
  }
  Must({"ip", "-n", host.netns(), "link", "set", ifname, "up"});
}

void Lab::AddDefaultRoute(Host& host, const std::string& via) {
  CheckUsable();
  Must({"ip", "-n", host.netns(), IsV6(via) ? "-6" : "-4", "route", "replace", "default", "via", via});
}

pid_t Lab::Spawn(const std::vector<std::string>& argv, const std::string& log_file) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int log = open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log < 0 || null < 0) {
    int e = errno;
    if (log >= 0) close(log);
    if (null >= 0) close(null);
    throw std::runtime_error(fmt::format("lab: cannot open {}: {}", log_file, strerror(e)));
  }
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    signal(SIGPIPE, SIG_DFL);
    dup2(null, 0);
    dup2(log, 1);
    dup2(log, 2);
    close_range(3, ~0U, 0);
    execvp(args[0], args.data());
    dprintf(2, "lab: cannot run %s: %s\n", args[0], strerror(errno));
    _exit(127);
  }
  int e = errno;
  close(log);
  close(null);
  if (pid < 0) throw std::runtime_error(fmt::format("lab: fork: {}", strerror(e)));
  children_.push_back(pid);
  return pid;
}

DockerNode& Lab::StartDocker(Host& host, DockerVersion v, const DockerOptions& opts) {
  CheckUsable();
  if (std::string why = DockerUnavailableReason(v); !why.empty()) throw std::runtime_error("lab: " + why);
  for (const auto& n : nodes_) {
    if (&n->host() == &host) throw std::logic_error("lab: " + host.name() + " already runs a dockerd");
  }
  const std::size_t n = nodes_.size();
  nodes_.push_back(std::unique_ptr<DockerNode>(new DockerNode(&host, v, host.dir())));
  DockerNode& node = *nodes_.back();
  if (node.ExecRoot().size() + std::strlen("/containerd/containerd.sock.ttrpc") > kMaxUnixPath) {
    throw std::runtime_error("lab: run dir path too long for unix sockets: " + node.ExecRoot());
  }
  fs::create_directories(host.dir() + "/cli");
  const std::string config = host.dir() + "/daemon.json";
  WriteFile(config, DaemonConfig(v));
  if (DockerUsesNftables(v)) {
    // nftables mode does not turn forwarding on itself; it refuses to start.
    ProcessResult r = host.Exec({"sysctl", "-q", "-w", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"});
    if (!r.ok()) throw std::runtime_error("lab: sysctl in " + host.netns() + ": " + Trim(r.err));
  }

  std::vector<std::string> argv{"nsenter", NetnsArg(host.netns()), "env", "PATH=" + DaemonPath(v),
                                "unshare", "--uts", "/bin/sh", "-c", "hostname \"$0\" && exec \"$@\"",
                                host.name(), DaemonBinary(v),
                                "--config-file", config,
                                "--data-root", node.DataRoot(),
                                "--exec-root", node.ExecRoot(),
                                "--pidfile", node.PidFile(),
                                "-H", "unix://" + node.Socket(),
                                "--bip", opts.bip.empty() ? fmt::format("172.{}.0.1/16", 17 + n % 15) : opts.bip,
                                "--cgroup-parent", "/" + host.netns()};
  if (opts.ipv6) {
    argv.push_back("--ipv6");
    argv.push_back("--fixed-cidr-v6");
    argv.push_back(opts.fixed_cidr_v6.empty() ? fmt::format("2001:db8:d0{:x}::/64", n % 256)
                                              : opts.fixed_cidr_v6);
  }
  if (DockerUsesNftables(v)) {
    argv.push_back("--firewall-backend");
    argv.push_back("nftables");
  }
  argv.insert(argv.end(), opts.extra_args.begin(), opts.extra_args.end());
  WriteFile(node.LogFile(), fmt::format("lab: {}\n", Join(argv)));
  node.pid_ = Spawn(argv, node.LogFile());

  const auto start = std::chrono::steady_clock::now();
  const auto deadline = start + 30s;
  std::string last_error;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(node.pid_, &status, WNOHANG) == node.pid_) {
      throw std::runtime_error(fmt::format(
          "lab: dockerd {} in {} exited ({}) while starting; {}", DockerVersionName(v), host.netns(),
          WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), node.FailureReport()));
    }
    if (fs::exists(node.Socket())) {
      ProcessOptions o;
      o.timeout = 5s;
      ProcessResult r = node.Docker({"version", "--format", "{{.Server.Version}}"}, o);
      if (r.ok()) return node;
      last_error = Trim(r.err);
    }
    std::this_thread::sleep_for(100ms);
  }
  throw std::runtime_error(fmt::format(
      "lab: dockerd {} in {} did not answer within 30 s ({}); {}", DockerVersionName(v), host.netns(),
      last_error, node.FailureReport()));
}

void Lab::Cleanup() {
  if (cleaned_) return;
  cleaned_ = true;
  // Containers first (docker rm -f kills at once; a daemon shutting down
  // would wait for each container's stop timeout), then SIGTERM the daemons
  // together and wait for them.
  std::vector<pid_t> daemons;
  for (const auto& node : nodes_) {
    if (!PidAlive(node->pid())) continue;
    ProcessOptions o;
    o.timeout = 15s;
    ProcessResult ids = node->Docker({"ps", "-aq"}, o);
    std::vector<std::string> rm{"rm", "-f", "-v"};
    std::istringstream in(ids.out);
    std::string id;
    while (in >> id) rm.push_back(id);
    if (ids.ok() && rm.size() > 3) {
      o.timeout = 30s;
      node->Docker(rm, o);
    }
    kill(node->pid(), SIGTERM);
    daemons.push_back(node->pid());
  }
  std::set<pid_t> reapable(children_.begin(), children_.end());
  if (!daemons.empty()) WaitGone(daemons, reapable, 15s);
  CleanupPrefixImpl(prefix_, reapable, 5s);
  // Reap what we started (all were killed above).
  for (pid_t p : children_) {
    for (int i = 0; i < 100 && waitpid(p, nullptr, WNOHANG) == 0; ++i) std::this_thread::sleep_for(20ms);
  }
  children_.clear();
  nodes_.clear();
  hosts_.clear();
  switches_.clear();
  std::lock_guard lock(RegistryMutex());
  auto it = Registry().find(prefix_);
  if (it != Registry().end() && it->second == this) Registry().erase(it);
}

void Lab::CleanupPrefix(const std::string& prefix) {
  if (!ParsePrefix(prefix, nullptr, nullptr) || prefix.find('-') != std::string::npos) {
    throw std::invalid_argument("lab: not a lab prefix: " + prefix);
  }
  CleanupLock lock;
  CleanupPrefixImpl(prefix, {}, 2s);
}

std::vector<std::string> Lab::CleanupAllStale() {
  CleanupLock lock;
  std::map<std::string, pid_t> found;
  auto consider = [&](const std::string& name) {
    std::string prefix;
    pid_t pid = 0;
    if (ParsePrefix(name, &prefix, &pid)) found.emplace(prefix, pid);
  };
  for (const auto& n : ListDir(kNetnsDir)) consider(n);
  for (const auto& n : ListDir(kRunRoot)) consider(n);
  for (const auto& dir : CgroupDirsOf("")) consider(fs::path(dir).filename().string());
  const std::string root = std::string(kRunRoot) + "/";
  auto consider_path = [&](const std::string& text) {
    for (std::size_t at = text.find(root); at != std::string::npos; at = text.find(root, at + 1)) {
      std::size_t begin = at + root.size();
      std::size_t end = text.find_first_of("/ ", begin);
      consider(text.substr(begin, end == std::string::npos ? std::string::npos : end - begin));
    }
  };
  for (const auto& mp : MountPoints()) consider_path(mp);
  for (pid_t p : AllPids()) consider_path(Cmdline(p));

  std::vector<std::string> removed;
  for (const auto& [prefix, pid] : found) {
    if (!IsStale(prefix, pid)) continue;
    CleanupPrefixImpl(prefix, {}, 2s);
    removed.push_back(prefix);
  }
  return removed;
}

}  // namespace swarmwall::lab
