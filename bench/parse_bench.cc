// parse_bench: swarmwall's iptables-save parser and printer against the
// kernel tools' own parser (`iptables-restore --test`), on the same text, in
// one run. Prints Markdown tables (bench/run.sh puts them in RESULTS.md).
//
// What is measured, per input:
//   ours     ParseRuleset(text) and PrintRuleset(ruleset), in this process,
//            wall clock, best and median of repeated runs (destroying the
//            result is not timed);
//   memory   Ruleset::MemoryBytes() (the model's own estimate: arena plus
//            vector capacities, no malloc overhead), and the peak resident
//            growth of a fresh process (this binary re-executed) while it
//            parses: VmRSS with the text loaded, then /proc/self/clear_refs
//            "5" resets VmHWM, parse, VmHWM again; the difference includes
//            the parser's temporaries and malloc overhead;
//   kernel   iptables-restore --test (and iptables-legacy-restore --test)
//            fed the same bytes on stdin, wall clock from fork to wait4
//            (process start-up included, see the start-up row), best of N,
//            peak RSS from wait4's rusage; run inside a throwaway network
//            namespace (`ip netns add`, then setns() in the child, which is
//            what `ip netns exec` does minus its own start-up), deleted after.
//
// Inputs: corpus (the largest file of ../shared/corpus, its anonymized MACs
// "XX:XX:XX:XX:XX:XX" replaced in memory by 02:00:00:00:00:01, the same
// length, because iptables-restore and our parser both reject them),
// kube:N (bench/gen_kube_dump.h, kube-proxy's argument order), kube-saved:N
// (the same ruleset printed canonically, i.e. what iptables-save would list).
#include <fcntl.h>
#include <malloc.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "base/process.h"
#include "gen_kube_dump.h"
#include "netfilter/parser.h"
#include "netfilter/printer.h"

#ifndef SWARMWALL_SHARED_DIR
#define SWARMWALL_SHARED_DIR "../shared"
#endif

namespace nf = swarmwall::netfilter;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::string_view kCorpusFile =
    "corpus/net-network/configs_chair_for_Network_Architectures_and_Services/"
    "iptables-save-2016-06-27_16-29-01";
constexpr std::string_view kAnonMac = "XX:XX:XX:XX:XX:XX";
constexpr std::string_view kSaneMac = "02:00:00:00:00:01";

struct Config {
  std::string corpus;
  std::vector<std::string> inputs = {"corpus", "kube:1000", "kube:10000", "kube:100000",
                                     "kube-saved:100000"};
  uint64_t seed = 1;
  double min_time = 1.0;   // seconds of our parse per input, at least
  double max_time = 20.0;  // ... and at most this much once there are 3 runs
  int min_runs = 5;
  int max_runs = 200;
  int tool_runs = 5;
  bool tools = true;
};

[[noreturn]] void Die(const std::string& message) {
  fmt::print(stderr, "parse_bench: {}\n", message);
  std::exit(2);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) Die(fmt::format("cannot read {}", path));
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

size_t CountRuleLines(std::string_view text) {
  size_t n = 0, pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    n += line.starts_with("-A ") || (line.starts_with('[') && line.find("] -A ") != line.npos);
    pos = end + 1;
  }
  return n;
}

struct Input {
  std::string spec;
  std::string label;
  std::string text;
  size_t rule_lines = 0;
  size_t replaced_macs = 0;
};

nf::ParseResult ParseOrDie(std::string_view text, const std::string& name) {
  nf::ParseOptions options;
  options.file_name = name;
  auto r = nf::ParseRuleset(text, options);
  if (!r.ruleset) Die(fmt::format("our parser rejects {}: {}", name, r.error->ToString()));
  return r;
}

Input LoadInput(const std::string& spec, const Config& config) {
  Input in;
  in.spec = spec;
  auto colon = spec.find(':');
  std::string kind = spec.substr(0, colon);
  std::string arg = colon == std::string::npos ? "" : spec.substr(colon + 1);
  if (kind == "corpus" || kind == "file") {
    std::string path = kind == "corpus" ? (arg.empty() ? config.corpus : arg) : arg;
    in.text = ReadFile(path);
    for (size_t pos = 0; (pos = in.text.find(kAnonMac, pos)) != std::string::npos;
         pos += kSaneMac.size()) {
      in.text.replace(pos, kAnonMac.size(), kSaneMac);
      ++in.replaced_macs;
    }
    std::string base = path.substr(path.rfind('/') + 1);
    in.label = kind == "corpus" ? fmt::format("corpus `{}`", base) : fmt::format("`{}`", base);
  } else if (kind == "kube" || kind == "kube-saved") {
    size_t n = std::stoul(arg);
    auto dump = swarmwall::bench::GenerateKubeDump(n, config.seed);
    if (kind == "kube") {
      in.text = std::move(dump.text);
      in.label = fmt::format("kube-proxy-like {}k", n / 1000.0);
    } else {
      auto r = ParseOrDie(dump.text, spec);
      in.text = nf::PrintRuleset(*r.ruleset);
      in.label = fmt::format("kube {}k, canonical", n / 1000.0);
    }
  } else {
    Die(fmt::format("unknown input '{}' (corpus[:PATH], file:PATH, kube:N, kube-saved:N)", spec));
  }
  in.rule_lines = CountRuleLines(in.text);
  return in;
}

// ---- timing ---------------------------------------------------------------

struct Timing {
  double best_ms = 0, median_ms = 0;
  int runs = 0;
};

Timing Summarize(std::vector<double> ms) {
  std::sort(ms.begin(), ms.end());
  return {ms.front(), ms[ms.size() / 2], static_cast<int>(ms.size())};
}

double MsSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
}

template <typename F>
Timing Measure(const Config& config, F&& once) {
  std::vector<double> ms;
  double total = 0;
  // At least min_runs and min_time; a slow input stops after max_time, but
  // never with fewer than 3 runs.
  auto more = [&] {
    int n = static_cast<int>(ms.size());
    if (n >= config.max_runs) return false;
    if (n >= 3 && total >= config.max_time * 1000) return false;
    return n < config.min_runs || total < config.min_time * 1000;
  };
  while (more()) {
    double t = once();
    ms.push_back(t);
    total += t;
  }
  return Summarize(std::move(ms));
}

// ---- memory: a fresh process ----------------------------------------------

std::string SelfExe() {
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) Die("cannot find /proc/self/exe");
  return std::string(self, static_cast<size_t>(n));
}


long StatusKb(const char* field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.starts_with(field)) return std::stol(line.substr(std::strlen(field)));
  return -1;
}

int RssChild(const std::string& spec, const Config& config) {
  Input in = LoadInput(spec, config);
  malloc_trim(0);   // what loading freed goes back, so parsing must fault it in again
  long before = StatusKb("VmRSS:");
  {
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";   // reset VmHWM to the current RSS
  }
  auto r = ParseOrDie(in.text, spec);
  long peak = StatusKb("VmHWM:");
  long retained = StatusKb("VmRSS:");
  fmt::print("{} {} {} {}\n", before, peak, retained, r.ruleset->MemoryBytes());
  return 0;
}

struct RssFigures {
  long before_kb = -1, peak_kb = -1, retained_kb = -1;
  size_t model_bytes = 0;
};

RssFigures MeasureRss(const std::string& spec, const Config& config) {
  std::vector<std::string> argv = {SelfExe(), "--rss-child", spec, "--seed", std::to_string(config.seed)};
  if (!config.corpus.empty()) argv.insert(argv.end(), {"--corpus", config.corpus});
  auto r = swarmwall::RunProcess(argv);
  RssFigures f;
  if (!r.ok() || std::sscanf(r.out.c_str(), "%ld %ld %ld %zu", &f.before_kb, &f.peak_kb,
                             &f.retained_kb, &f.model_bytes) != 4)
    Die(fmt::format("memory child for {} failed: {}{}", spec, r.out, r.err));
  return f;
}

// ---- the kernel tools -------------------------------------------------------

std::string g_netns_path;   // for the signal handler

void RemoveNetnsNow() {
  if (g_netns_path.empty()) return;
  umount2(g_netns_path.c_str(), MNT_DETACH);   // what `ip netns del` does
  unlink(g_netns_path.c_str());
}

extern "C" void OnSignal(int sig) {
  RemoveNetnsNow();
  signal(sig, SIG_DFL);
  raise(sig);
}

class Netns {
 public:
  Netns() {
    name_ = fmt::format("swarmwall-bench-{}-{:x}", getpid(),
                        Clock::now().time_since_epoch().count() & 0xffffff);
    auto r = swarmwall::RunProcess({"ip", "netns", "add", name_});
    if (!r.ok()) Die(fmt::format("ip netns add {}: {}", name_, r.err));
    g_netns_path = "/run/netns/" + name_;
    signal(SIGINT, OnSignal);
    signal(SIGTERM, OnSignal);
  }
  ~Netns() {
    auto r = swarmwall::RunProcess({"ip", "netns", "del", name_});
    if (!r.ok()) RemoveNetnsNow();
    g_netns_path.clear();
  }
  const std::string& name() const { return name_; }

 private:
  std::string name_;
};

struct ToolFigures {
  bool accepted = false;
  double best_ms = 0;
  long maxrss_kb = 0;
  std::string err;
};

int MemFd(const char* name, std::string_view data) {
  int fd = memfd_create(name, MFD_CLOEXEC);
  if (fd < 0) Die(fmt::format("memfd_create: {}", std::strerror(errno)));
  size_t done = 0;
  while (done < data.size()) {
    ssize_t w = write(fd, data.data() + done, data.size() - done);
    if (w <= 0) Die("write to memfd failed");
    done += static_cast<size_t>(w);
  }
  return fd;
}

// Runs in a freshly exec'd copy of this binary (a few MiB resident): a
// child's ru_maxrss starts from its parent's high-water mark at fork (Linux
// keeps it across exec), and forking a big process costs page-table copies,
// so the tools must not be forked from the process that holds the rulesets.
// Prints "ok BEST_MS MAXRSS_KB" or "fail STATUS" and the tool's stderr.
int ToolChild(const std::string& program, const std::string& netns_path,
              const std::string& input_path, int runs) {
  int ns_fd = open(netns_path.c_str(), O_RDONLY | O_CLOEXEC);
  int input_fd = open(input_path.c_str(), O_RDONLY | O_CLOEXEC);
  if (ns_fd < 0 || input_fd < 0) Die("tool child: cannot open the namespace or the input");
  double best = 0;
  long maxrss = 0;
  for (int i = 0; i < runs; ++i) {
    int err_fd = MemFd("stderr", "");
    lseek(input_fd, 0, SEEK_SET);
    auto t0 = Clock::now();
    pid_t pid = fork();
    if (pid < 0) Die("fork failed");
    if (pid == 0) {
      if (setns(ns_fd, CLONE_NEWNET) != 0) _exit(126);   // as `ip netns exec` does
      int null_fd = open("/dev/null", O_WRONLY);
      dup2(input_fd, 0);
      dup2(null_fd, 1);
      dup2(err_fd, 2);
      execlp(program.c_str(), program.c_str(), "--test", static_cast<char*>(nullptr));
      _exit(127);
    }
    int status = 0;
    rusage usage{};
    wait4(pid, &status, 0, &usage);
    double ms = MsSince(t0);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (code != 0) {
      char buf[2048];
      ssize_t n = pread(err_fd, buf, sizeof buf - 1, 0);
      fmt::print("fail {} {}", code, std::string_view(buf, n > 0 ? static_cast<size_t>(n) : 0));
      return 0;
    }
    close(err_fd);
    if (i == 0 || ms < best) best = ms;
    maxrss = std::max(maxrss, usage.ru_maxrss);
  }
  fmt::print("ok {} {}\n", best, maxrss);
  return 0;
}

ToolFigures MeasureTool(const std::string& program, const Netns& ns, std::string_view text,
                        int runs) {
  ToolFigures f;
  int fd = MemFd("ruleset", text);
  auto r = swarmwall::RunProcess({SelfExe(), "--tool-child", program, "/run/netns/" + ns.name(),
                                  fmt::format("/proc/{}/fd/{}", getpid(), fd),
                                  std::to_string(runs)});
  close(fd);
  if (r.out.starts_with("ok ")) {
    f.accepted = std::sscanf(r.out.c_str(), "ok %lf %ld", &f.best_ms, &f.maxrss_kb) == 2;
  }
  if (!f.accepted) f.err = r.out + r.err;
  return f;
}

// ---- the report -------------------------------------------------------------

struct Row {
  Input input;
  size_t rules = 0;
  Timing parse, print;
  RssFigures rss;
  bool round_trip = false;
  std::vector<ToolFigures> tools;
};

std::string Mb(double bytes) { return fmt::format("{:.2f}", bytes / (1024.0 * 1024.0)); }
std::string Ms(double ms) { return ms < 10 ? fmt::format("{:.3f}", ms) : fmt::format("{:.1f}", ms); }
std::string Rate(double per_s) {
  return per_s >= 1e6 ? fmt::format("{:.2f} M", per_s / 1e6) : fmt::format("{:.0f} k", per_s / 1e3);
}

std::string Version(const std::string& program) {
  auto r = swarmwall::RunProcess({program, "-V"});
  std::string v = r.out.empty() ? r.err : r.out;
  while (!v.empty() && (v.back() == '\n' || v.back() == ' ')) v.pop_back();
  return v;
}

int Usage() {
  fmt::print(
      "usage: parse_bench [--corpus PATH] [--inputs SPEC,...] [--seed N] [--min-time S]\n"
      "                   [--max-time S] [--min-runs N] [--max-runs N] [--tool-runs N] [--no-tools]\n"
      "       parse_bench --emit SPEC             write the input text to stdout\n"
      "       parse_bench --parse-only SPEC [--repeat N]   for callgrind\n"
      "SPEC: corpus[:PATH] | file:PATH | kube:N | kube-saved:N\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  Config config;
  if (const char* shared = std::getenv("SWARMWALL_SHARED"))
    config.corpus = fmt::format("{}/{}", shared, kCorpusFile);
  else
    config.corpus = fmt::format("{}/{}", SWARMWALL_SHARED_DIR, kCorpusFile);
  std::string rss_child, emit, parse_only;
  int repeat = 1;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) Die(a + " needs a value");
      return argv[++i];
    };
    if (a == "--corpus") config.corpus = value();
    else if (a == "--inputs") {
      config.inputs.clear();
      std::string list = value();
      for (size_t s = 0; s <= list.size();) {
        size_t e = list.find(',', s);
        if (e == std::string::npos) e = list.size();
        if (e > s) config.inputs.push_back(list.substr(s, e - s));
        s = e + 1;
      }
    } else if (a == "--seed") config.seed = std::stoull(value());
    else if (a == "--min-time") config.min_time = std::stod(value());
    else if (a == "--max-time") config.max_time = std::stod(value());
    else if (a == "--min-runs") config.min_runs = std::stoi(value());
    else if (a == "--max-runs") config.max_runs = std::stoi(value());
    else if (a == "--tool-runs") config.tool_runs = std::stoi(value());
    else if (a == "--no-tools") config.tools = false;
    else if (a == "--rss-child") rss_child = value();
    else if (a == "--tool-child") {
      std::string program = value(), netns = value(), input = value();
      return ToolChild(program, netns, input, std::stoi(value()));
    }
    else if (a == "--emit") emit = value();
    else if (a == "--parse-only") parse_only = value();
    else if (a == "--repeat") repeat = std::stoi(value());
    else return Usage();
  }
  if (!rss_child.empty()) return RssChild(rss_child, config);
  if (!emit.empty()) {
    Input in = LoadInput(emit, config);
    fwrite(in.text.data(), 1, in.text.size(), stdout);
    return 0;
  }
  if (!parse_only.empty()) {
    Input in = LoadInput(parse_only, config);
    size_t rules = 0;
    for (int i = 0; i < repeat; ++i) rules += ParseOrDie(in.text, parse_only).ruleset->RuleCount();
    fmt::print(stderr, "parsed {} rules\n", rules);
    return 0;
  }

  std::vector<std::string> programs;
  if (config.tools) {
    if (geteuid() != 0) Die("the kernel tools need root (or pass --no-tools)");
    for (std::string p : {"iptables-restore", "iptables-legacy-restore"})
      if (swarmwall::ProgramExists(p)) programs.push_back(p);
  }
  std::optional<Netns> ns;
  if (!programs.empty()) ns.emplace();

  std::vector<Row> rows;
  for (const auto& spec : config.inputs) {
    fmt::print(stderr, "parse_bench: {} ...\n", spec);
    Row row;
    row.input = LoadInput(spec, config);
    const std::string& text = row.input.text;
    {
      auto r = ParseOrDie(text, spec);
      row.rules = r.ruleset->RuleCount();
      std::string printed = nf::PrintRuleset(*r.ruleset);
      auto again = ParseOrDie(printed, spec + " (printed)");
      row.round_trip = nf::PrintRuleset(*again.ruleset) == printed;
      if (spec.starts_with("kube") && row.rules != row.input.rule_lines)
        Die(fmt::format("{}: parsed {} rules, the text has {}", spec, row.rules,
                        row.input.rule_lines));
    }
    row.parse = Measure(config, [&] {
      auto t0 = Clock::now();
      auto r = nf::ParseRuleset(text);
      double ms = MsSince(t0);
      if (!r.ruleset) Die("parse failed");
      return ms;   // r is destroyed after the clock stopped
    });
    auto parsed = ParseOrDie(text, spec);
    row.print = Measure(config, [&] {
      auto t0 = Clock::now();
      std::string out = nf::PrintRuleset(*parsed.ruleset);
      double ms = MsSince(t0);
      if (out.empty()) Die("print failed");
      return ms;
    });
    row.rss = MeasureRss(spec, config);
    for (const auto& p : programs) {
      row.tools.push_back(MeasureTool(p, *ns, text, config.tool_runs));
      if (!row.tools.back().accepted)
        fmt::print(stderr, "parse_bench: {} --test REJECTS {}: {}\n", p, spec,
                   row.tools.back().err);
    }
    rows.push_back(std::move(row));
  }
  // Process start-up of the kernel tools, for reading the ratios of small inputs.
  std::string startup_text = "*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n";
  std::vector<ToolFigures> startup;
  for (const auto& p : programs) startup.push_back(MeasureTool(p, *ns, startup_text, config.tool_runs));

  // ---- print ---------------------------------------------------------------
  fmt::print("### swarmwall parser: time and memory\n\n");
  fmt::print("| input | rules | file MiB | parse ms (best / median, runs) | rules/s | print ms (best / median) "
             "| model MiB (MemoryBytes) | model / file | RSS peak growth MiB | RSS peak / file "
             "| RSS retained MiB | round trip |\n");
  fmt::print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
  for (const auto& r : rows) {
    double file = static_cast<double>(r.input.text.size());
    double peak = static_cast<double>(r.rss.peak_kb - r.rss.before_kb) * 1024.0;
    double retained = static_cast<double>(r.rss.retained_kb - r.rss.before_kb) * 1024.0;
    fmt::print("| {} | {} | {} | {} / {} ({}) | {} | {} / {} | {} | {:.2f}x | {} | {:.2f}x | {} | {} |\n",
               r.input.label, r.rules, Mb(file), Ms(r.parse.best_ms), Ms(r.parse.median_ms),
               r.parse.runs, Rate(static_cast<double>(r.rules) / (r.parse.best_ms / 1000.0)),
               Ms(r.print.best_ms), Ms(r.print.median_ms), Mb(static_cast<double>(r.rss.model_bytes)),
               static_cast<double>(r.rss.model_bytes) / file, Mb(peak), peak / file, Mb(retained),
               r.round_trip ? "identical" : "DIFFERS");
  }
  if (!programs.empty()) {
    fmt::print("\n### Side by side: the kernel tools' own parser on the same bytes\n\n");
    fmt::print("| input | ours: parse ms | ours: text + parse peak RSS MiB |");
    for (const auto& p : programs) fmt::print(" `{} --test` ms (best of {}) | {} / ours | {} peak RSS MiB |", p, config.tool_runs, p, p);
    fmt::print("\n|---|---:|---:|");
    for (size_t i = 0; i < programs.size(); ++i) fmt::print("---:|---:|---:|");
    fmt::print("\n");
    auto cells = [&](const ToolFigures& t, double ours) {
      if (!t.accepted) return std::string("rejected | - | - |");
      double ratio = t.best_ms / ours;
      std::string r = ratio >= 10 ? fmt::format("{:.0f}", ratio)
                      : ratio >= 1 ? fmt::format("{:.1f}", ratio)
                                   : fmt::format("{:.3f}", ratio);
      return fmt::format(" {} | {}x | {} |", Ms(t.best_ms), r,
                         Mb(static_cast<double>(t.maxrss_kb) * 1024.0));
    };
    for (const auto& r : rows) {
      fmt::print("| {} | {} | {} |", r.input.label, Ms(r.parse.best_ms),
                 Mb(static_cast<double>(r.input.text.size()) +
                    static_cast<double>(r.rss.peak_kb - r.rss.before_kb) * 1024.0));
      for (const auto& t : r.tools) fmt::print("{}", cells(t, r.parse.best_ms));
      fmt::print("\n");
    }
    fmt::print("| start-up only (`*filter` + `COMMIT`) | - | - |");
    for (const auto& t : startup)
      fmt::print(" {} | - | {} |", t.accepted ? Ms(t.best_ms) : "rejected",
                 Mb(static_cast<double>(t.maxrss_kb) * 1024.0));
    fmt::print("\n\nTools: ");
    for (size_t i = 0; i < programs.size(); ++i)
      fmt::print("{}`{}`", i ? ", " : "", Version(programs[i]));
    fmt::print(". Network namespace `{}` (deleted after the run).\n", ns->name());
  }
  fmt::print("\nInputs:\n");
  for (const auto& r : rows) {
    fmt::print("- {}: `{}`, {} bytes, {} `-A` lines", r.input.label, r.input.spec,
               r.input.text.size(), r.input.rule_lines);
    if (r.input.replaced_macs)
      fmt::print(", {} anonymized MACs `{}` replaced by `{}` in memory before timing either parser",
                 r.input.replaced_macs, kAnonMac, kSaneMac);
    fmt::print(".\n");
  }
  for (const auto& r : rows) {
    if (r.input.spec != "kube:100000") continue;
    double file = static_cast<double>(r.input.text.size());
    double peak = static_cast<double>(r.rss.peak_kb - r.rss.before_kb) * 1024.0;
    fmt::print("\nTargets (issue: 100k-rule dump parsed in <= 100 ms, memory <= 2x the file):\n");
    fmt::print("- parse time: {} ms best, {} ms median -> {}\n", Ms(r.parse.best_ms),
               Ms(r.parse.median_ms), r.parse.best_ms <= 100 ? "MET" : "NOT MET");
    fmt::print("- model memory (MemoryBytes): {:.2f}x the file -> {}\n",
               static_cast<double>(r.rss.model_bytes) / file,
               static_cast<double>(r.rss.model_bytes) <= 2 * file ? "MET" : "NOT MET");
    fmt::print("- peak RSS growth while parsing: {:.2f}x the file -> {}\n", peak / file,
               peak <= 2 * file ? "MET" : "NOT MET");
  }
  return 0;
}
