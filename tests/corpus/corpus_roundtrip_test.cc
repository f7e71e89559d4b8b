// Corpus round trip judged by the real tools. For every dump in the shared
// corpus (net-network, iptables' shell-test dumps) and the fixtures'
// *-save files, in a throwaway network namespace:
//
//   A = save(restore(original))      (or of a cleaned original, see below)
//   B = save(restore(our printout))  (from a freshly emptied state)
//
// and A must equal B, ignoring '#' lines: what we print means to the kernel
// exactly what the original meant. When the kernel rejects the original we
// also try it cleaned (CRLF -> LF, text before the first "*table" dropped,
// trailing blanks trimmed); when it rejects that too we record its reason.
// ipsets a file names are created (hash:net) before each restore.
//
// Needs root (skips otherwise); the namespace is "swrt-<pid>", removed at the
// end, and leftovers of killed runs are removed first.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "base/process.h"
#include "netfilter/parser.h"
#include "netfilter/printer.h"

namespace swarmwall {
namespace {

namespace fs = std::filesystem;
using netfilter::Family;

constexpr std::string_view kPrefix = "swrt-";
constexpr std::chrono::milliseconds kTimeout{60000};

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The kernel's reason: iptables-restore's stderr, its most telling line.
std::string Reason(const ProcessResult& r) {
  std::string out;
  std::istringstream in(r.err);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.starts_with("Try `")) continue;
    if (!out.empty()) out += " / ";
    out += line;
    if (out.size() > 160) break;
  }
  if (out.empty()) out = fmt::format("exit status {}", r.exit_code);
  return out;
}

// CRLF -> LF, lines before the first "*table" dropped, trailing blanks
// trimmed.
std::string Clean(std::string_view text) {
  std::string out;
  bool started = false;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string line(text.substr(pos, end - pos));
    pos = end + 1;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t'))
      line.pop_back();
    if (!started && !line.starts_with("*")) continue;
    started = true;
    out += line;
    out += '\n';
  }
  return out;
}

std::vector<std::string> Lines(std::string_view text) {
  std::vector<std::string> out;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line))
    if (!line.starts_with("#")) out.push_back(line);
  return out;
}

// Names of the ipsets a file uses (set match and SET target).
std::set<std::string> SetNames(std::string_view text) {
  std::set<std::string> names;
  std::istringstream in{std::string(text)};
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::vector<std::string> w;
    for (std::string s; words >> s;) w.push_back(s);
    bool set_match = false;
    for (size_t i = 0; i + 1 < w.size(); ++i) {
      if (w[i] == "-m" && w[i + 1] == "set") set_match = true;
      bool takes = w[i] == "--match-set" || w[i] == "--add-set" || w[i] == "--del-set" ||
                   w[i] == "--map-set" || (set_match && w[i] == "--set");
      if (!takes) continue;
      std::string n = w[i + 1];
      if (n == "!" && i + 2 < w.size()) n = w[i + 2];
      n.erase(std::remove(n.begin(), n.end(), '"'), n.end());
      if (!n.empty() && n[0] != '-') names.insert(n);
    }
  }
  return names;
}

class Netns {
 public:
  Netns() : name_(fmt::format("{}{}", kPrefix, getpid())) {
    RemoveLeftovers();
    ok_ = RunProcess({"ip", "netns", "add", name_}, Options()).ok();
  }
  ~Netns() { RunProcess({"ip", "netns", "del", name_}, Options()); }
  Netns(const Netns&) = delete;
  Netns& operator=(const Netns&) = delete;

  bool ok() const { return ok_; }
  ProcessResult Exec(std::vector<std::string> argv, std::string input = {}) const {
    argv.insert(argv.begin(), {"ip", "netns", "exec", name_});
    ProcessOptions o = Options();
    o.input = std::move(input);
    return RunProcess(argv, o);
  }

 private:
  static ProcessOptions Options() {
    ProcessOptions o;
    o.timeout = kTimeout;
    return o;
  }
  // Namespaces of earlier runs whose process is gone, and our own name.
  void RemoveLeftovers() {
    ProcessResult list = RunProcess({"ip", "netns", "list"}, Options());
    std::istringstream in(list.out);
    std::string line;
    while (std::getline(in, line)) {
      std::string n = line.substr(0, line.find(' '));
      if (!n.starts_with(kPrefix)) continue;
      long pid = std::strtol(n.c_str() + kPrefix.size(), nullptr, 10);
      bool alive = pid > 0 && pid != getpid() && kill(static_cast<pid_t>(pid), 0) == 0;
      if (!alive) RunProcess({"ip", "netns", "del", n}, Options());
    }
  }
  std::string name_;
  bool ok_ = false;
};

struct Tools {
  std::string restore, save;
  explicit Tools(Family f)
      : restore(f == Family::kIPv6 ? "ip6tables-restore" : "iptables-restore"),
        save(f == Family::kIPv6 ? "ip6tables-save" : "iptables-save") {}
};

// Empties every table of the family and recreates the ipsets SETS.
bool Reset(const Netns& ns, Family family, const std::set<std::string>& sets,
           std::string& why) {
  Tools tools(family);
  std::string empty;
  for (std::string_view table : {"filter", "nat", "mangle", "raw", "security"}) {
    empty += fmt::format("*{}\n", table);
    for (std::string_view chain : netfilter::BuiltinChains(table))
      empty += fmt::format(":{} ACCEPT [0:0]\n", chain);
    empty += "COMMIT\n";
  }
  ProcessResult r = ns.Exec({tools.restore}, empty);
  if (!r.ok()) {
    why = "emptying the tables failed: " + Reason(r);
    return false;
  }
  ns.Exec({"ipset", "destroy"});
  for (const auto& s : sets) {
    r = ns.Exec({"ipset", "create", s, "hash:net", "family",
                 family == Family::kIPv6 ? "inet6" : "inet"});
    if (!r.ok()) {
      why = fmt::format("ipset create {} failed: {}", s, Reason(r));
      return false;
    }
  }
  return true;
}

// Restores TEXT from an empty state and returns the saved result.
bool RestoreAndSave(const Netns& ns, Family family, const std::set<std::string>& sets,
                    const std::string& text, std::string& saved, std::string& why) {
  Tools tools(family);
  if (!Reset(ns, family, sets, why)) return false;
  ProcessResult r = ns.Exec({tools.restore}, text);
  if (!r.ok()) {
    why = Reason(r);
    return false;
  }
  r = ns.Exec({tools.save});
  if (!r.ok()) {
    why = "save failed: " + Reason(r);
    return false;
  }
  saved = r.out;
  return true;
}

std::string Diff(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::string out;
  size_t i = 0;
  while (i < a.size() && i < b.size() && a[i] == b[i]) ++i;
  size_t ea = a.size(), eb = b.size();
  while (ea > i && eb > i && a[ea - 1] == b[eb - 1]) --ea, --eb;
  int shown = 0;
  for (size_t k = i; k < ea && shown < 6; ++k, ++shown) out += "    - " + a[k] + "\n";
  for (size_t k = i; k < eb && shown < 12; ++k, ++shown) out += "    + " + b[k] + "\n";
  return out;
}

std::vector<fs::path> CorpusFiles(const fs::path& shared) {
  std::vector<fs::path> files;
  auto add_tree = [&](const fs::path& dir, bool only_save) {
    if (!fs::is_directory(dir)) return;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (!e.is_regular_file()) continue;
      std::string name = e.path().filename().string();
      if (name == "LICENSE" || name.starts_with("README")) continue;
      if (only_save && !name.ends_with("-save")) continue;
      files.push_back(e.path());
    }
  };
  add_tree(shared / "corpus/net-network", false);
  add_tree(shared / "corpus/iptables-tests/shell_dumps", false);
  add_tree(shared / "fixtures", true);
  std::sort(files.begin(), files.end());
  return files;
}

TEST(CorpusRoundTrip, KernelAgreesWithOurPrintout) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root (network namespaces)";
  for (const char* tool : {"ip", "iptables-restore", "ip6tables-restore", "ipset"})
    if (!ProgramExists(tool)) GTEST_SKIP() << tool << " not installed";
  const char* shared_env = std::getenv("SWARMWALL_SHARED");
  if (!shared_env) GTEST_SKIP() << "SWARMWALL_SHARED is not set";
  fs::path shared(shared_env);
  std::vector<fs::path> files = CorpusFiles(shared);
  if (files.empty()) GTEST_SKIP() << "no corpus under " << shared;

  Netns ns;
  ASSERT_TRUE(ns.ok()) << "cannot create a network namespace";

  int equal = 0;
  std::vector<std::string> differ, kernel_rejects, we_reject_ok, we_reject_bad;
  auto start = std::chrono::steady_clock::now();
  for (const auto& path : files) {
    std::string rel = fs::relative(path, shared).string();
    std::string text = ReadFile(path);
    std::string name = path.filename().string();
    Family family = netfilter::DetectFamily(text);
    if (name.find("ip6") != std::string::npos || name.find("v6") != std::string::npos)
      family = Family::kIPv6;
    std::set<std::string> sets = SetNames(text);

    // A: what the kernel makes of the original (or of it cleaned).
    std::string a, why, why_clean;
    bool kernel_ok = RestoreAndSave(ns, family, sets, text, a, why);
    bool cleaned = false;
    if (!kernel_ok) {
      std::string clean = Clean(text);
      if (clean != text && !clean.empty()) {   // empty: no table at all
        kernel_ok = RestoreAndSave(ns, family, sets, clean, a, why_clean);
        cleaned = kernel_ok;
      }
    }

    // Ours.
    netfilter::ParseOptions options;
    options.file_name = rel;
    options.family = family;
    auto parsed = netfilter::ParseRuleset(text, options);
    if (!parsed.ruleset) {
      std::string msg = rel + ": " + parsed.error->ToString();
      if (kernel_ok) we_reject_bad.push_back(msg);
      else we_reject_ok.push_back(msg);
    }
    if (!kernel_ok) {
      kernel_rejects.push_back(fmt::format("{}: {}{}", rel, why,
                                           parsed.ruleset ? " (we accept it)" : ""));
      continue;
    }
    if (!parsed.ruleset) continue;

    // B: what the kernel makes of our printout.
    std::string ours = netfilter::PrintRuleset(*parsed.ruleset);
    std::string b, why_ours;
    if (!RestoreAndSave(ns, family, sets, ours, b, why_ours)) {
      differ.push_back(fmt::format("{}: the kernel rejects our printout: {}", rel, why_ours));
      continue;
    }
    auto la = Lines(a), lb = Lines(b);
    if (la != lb) {
      differ.push_back(fmt::format("{}{}:\n{}", rel, cleaned ? " (cleaned)" : "", Diff(la, lb)));
      continue;
    }
    ++equal;
  }
  double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  std::string report = fmt::format("corpus round trip over {} files in {:.1f} s\n", files.size(),
                                   seconds);
  report += fmt::format("  equal:                         {}\n", equal);
  report += fmt::format("  ours differ:                   {}\n", differ.size());
  for (const auto& d : differ) report += "    " + d + "\n";
  report += fmt::format("  kernel rejects:                {}\n", kernel_rejects.size());
  for (const auto& k : kernel_rejects) report += "    " + k + "\n";
  report += fmt::format("  we reject, kernel accepts:     {}\n", we_reject_bad.size());
  for (const auto& w : we_reject_bad) report += "    " + w + "\n";
  report += fmt::format("  we reject, kernel rejects too: {}\n", we_reject_ok.size());
  for (const auto& w : we_reject_ok) report += "    " + w + "\n";
  std::fputs(report.c_str(), stdout);

  EXPECT_EQ(differ.size(), 0u) << "the kernel reads our printout differently";
  EXPECT_EQ(we_reject_bad.size(), 0u) << "we reject files the kernel accepts";
  EXPECT_GT(equal, 0);
}

}  // namespace
}  // namespace swarmwall
