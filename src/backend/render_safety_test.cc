// What the renderers write of hostile strings (a policy path, node name or
// comment with a newline, quotes, backslashes, $( ), ` and bytes that are
// not UTF-8) and how `render --out-dir` writes its files (issue 12, items 6,
// 11 and 13).
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "backend/firewalld_render.h"
#include "backend/hand_render.h"
#include "backend/iptables_render.h"
#include "backend/output_file.h"
#include "backend/persistent_render.h"
#include "backend/render_text.h"
#include "base/process.h"
#include "compile/compiler.h"

namespace swarmwall::backend {
namespace {

namespace fs = std::filesystem;

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A folder of the test's own, removed when it goes.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "swarmwall-safety-XXXXXX").string();
    path = mkdtemp(tmpl.data());
  }
  ~TempDir() { fs::remove_all(path); }
};

const std::string kHostile = "x/a\ntouch PWNED\n.yaml'\"\\$(touch PWNED2)`touch PWNED3`\r\xff\xfe";

constexpr const char* kPolicy = R"(version: 1
interfaces: { public: [eth0], cluster: [ens11] }
sets:
  office: [198.51.100.0/24, 2001:db8:100::/48]
nodes:
  - { name: m1, role: manager, address: 10.10.10.1 }
host:
  allow:
    - { service: ssh, from: office, comment: "it's \"x\" \\ $(touch C1) `touch C2`\nCOMMIT" }
swarm: { from: nodes }
containers:
  default: drop
  allow:
    - { ports: [8080], from: office, comment: "a\nb" }
egress:
  deny:
    - { to: [169.254.169.254/32], comment: "-j ACCEPT\n-A INPUT -j ACCEPT" }
)";

struct Rendered {
  policy::Policy policy;
  compile::DesiredState state;
  std::map<std::string, std::string> files;   // name -> text
};

// Every renderer's output for a policy loaded under the hostile path.
Rendered RenderAll() {
  auto loaded = policy::LoadPolicyText(kPolicy, kHostile, ".");
  for (const auto& e : loaded.errors) ADD_FAILURE() << e.ToString();
  Rendered r;
  r.policy = *loaded.policy;
  const policy::Node& node = r.policy.nodes[0];
  r.state = compile::Compile(r.policy, node, compile::NodeFacts{});
  r.state.node = kHostile;   // a node name the policy's check let through
  r.files["v4.rules"] = RenderHandRestore(r.state, r.state.ipv4);
  r.files["v6.rules"] = RenderHandRestore(r.state, r.state.ipv6);
  r.files["hooks.sh"] = RenderHookScript(r.state);
  r.files["ipset"] = RenderIpsetRestore(r.state.ipv4) + RenderIpsetRestore(r.state.ipv6);
  for (auto& [name, text] : RenderPersistent(r.state)) r.files["persistent/" + name] = text;
  r.files["firewalld.sh"] = RenderFirewalld(r.policy, node, r.state);
  return r;
}

// No hostile byte sequence reaches a line that is not a comment.
TEST(RenderSafety, HostileStringsStayInComments) {
  Rendered r = RenderAll();
  for (const auto& [name, text] : r.files) {
    std::istringstream lines(text);
    std::string line;
    int n = 0;
    while (std::getline(lines, line)) {
      ++n;
      if (line.starts_with("#")) continue;
      for (const char* bad : {"PWNED", "\r", "\xff"})
        EXPECT_EQ(line.find(bad), std::string::npos) << name << ":" << n << ": " << line;
    }
  }
  for (const char* name : {"v4.rules", "v6.rules", "hooks.sh", "firewalld.sh", "persistent/etc/iptables/rules.v4"})
    EXPECT_NE(r.files[name].find("x/a\\x0atouch PWNED\\x0a.yaml"), std::string::npos) << name << "\n"
                                                                                    << r.files[name];
  // Rule comments: one restore line each, quoted as iptables quotes them.
  const std::string& v4 = r.files["v4.rules"];
  EXPECT_NE(v4.find(R"(--comment "swarmwall: host allow #1: it\'s \"x\" \\ $(touch C1) `touch C2` COMMIT")"),
            std::string::npos)
      << v4;
  EXPECT_NE(v4.find(R"(--comment "swarmwall: egress deny #1: -j ACCEPT -A INPUT -j ACCEPT")"),
            std::string::npos);
  size_t commits = 0;
  for (size_t at = v4.find("\nCOMMIT\n"); at != std::string::npos; at = v4.find("\nCOMMIT\n", at + 1)) ++commits;
  EXPECT_EQ(commits, 1u);
}

// The scripts run (every firewall tool a harmless stand-in) without
// running anything the strings hold.
TEST(RenderSafety, ScriptsRunNothingOfTheStrings) {
  Rendered r = RenderAll();
  TempDir dir;
  // A stand-in for firewall-cmd, iptables and ip6tables: succeeds, except
  // that a rule to delete is never there.
  std::ofstream(dir.path / "tool") << "#!/bin/sh\ncase \"$*\" in *-D*) exit 1 ;; esac\nexit 0\n";
  fs::permissions(dir.path / "tool", fs::perms::owner_all);
  for (const char* script : {"firewalld.sh", "hooks.sh"}) {
    std::ofstream(dir.path / script, std::ios::binary) << r.files[script];
    auto syntax = RunProcess({"sh", "-n", (dir.path / script).string()});
    EXPECT_TRUE(syntax.ok()) << script << ": " << syntax.err;
    std::string tool = (dir.path / "tool").string();
    auto run = RunProcess({"env", "FIREWALL_CMD=" + tool, "IPTABLES=" + tool, "IP6TABLES=" + tool, "sh",
                           "-c", "cd \"$0\" && sh ./" + std::string(script), dir.path.string()});
    EXPECT_TRUE(run.ok()) << script << ": " << run.err;
    for (const char* made : {"PWNED", "PWNED2", "PWNED3", "C1", "C2"})
      EXPECT_FALSE(fs::exists(dir.path / made)) << script << " ran a command of the policy's path";
  }
}

TEST(RenderSafety, NamesWrittenBareMustBePlain) {
  EXPECT_TRUE(PlainName("eth0"));
  EXPECT_TRUE(PlainName("br-+"));
  EXPECT_TRUE(PlainName("node-1.example.org"));
  for (const char* bad : {"", ".", "..", "a b", "a\nb", "a/b", "-x", "a\"b", "a'b", "a\\b", "$(x)", "`x`",
                          "a\xff"})
    EXPECT_FALSE(PlainName(bad)) << bad;
  auto loaded = policy::LoadPolicyText(kPolicy, "p.yaml", ".");
  ASSERT_TRUE(loaded.ok());
  policy::Policy p = *loaded.policy;
  EXPECT_EQ(UnsafeNames(p, p.nodes[0]), "");
  policy::Policy bad_iface = p;
  bad_iface.interfaces.public_.push_back("eth0\n-A INPUT -j ACCEPT");
  EXPECT_NE(UnsafeNames(bad_iface, bad_iface.nodes[0]).find("interface 'eth0\\x0a-A INPUT"), std::string::npos)
      << UnsafeNames(bad_iface, bad_iface.nodes[0]);
  policy::Policy bad_node = p;
  bad_node.nodes[0].name = "../../etc/cron.d/x";
  EXPECT_NE(UnsafeNames(bad_node, bad_node.nodes[0]).find("node name"), std::string::npos);
  policy::Policy bad_set = p;
  bad_set.sets[0].name = "office src\nadd x";
  EXPECT_NE(UnsafeNames(bad_set, bad_set.nodes[0]).find("set name"), std::string::npos);
}

// render --out-dir: a link planted where a file goes is replaced, never
// written through; a link where a folder goes is refused.
TEST(RenderOutput, NeverWritesThroughALink) {
  TempDir dir;
  fs::path out = dir.path / "od", victim = dir.path / "victim";
  fs::create_directories(out);
  std::ofstream(victim) << "precious\n";
  fs::create_symlink(victim, out / "m1.v4.rules");
  EXPECT_EQ(WriteOutputFile(out.string(), "m1.v4.rules", "rules\n"), "");
  EXPECT_EQ(ReadFile(victim), "precious\n");
  EXPECT_FALSE(fs::is_symlink(out / "m1.v4.rules"));
  EXPECT_EQ(ReadFile(out / "m1.v4.rules"), "rules\n");
  // A dangling link is not followed to create its target either.
  fs::create_symlink(dir.path / "made", out / "m1.ipset");
  EXPECT_EQ(WriteOutputFile(out.string(), "m1.ipset", "sets\n"), "");
  EXPECT_FALSE(fs::exists(dir.path / "made"));
  // A folder of the path that is a link: refused, nothing written there.
  fs::create_directories(dir.path / "elsewhere");
  fs::create_directory_symlink(dir.path / "elsewhere", out / "m1");
  std::string error = WriteOutputFile(out.string(), "m1/etc/iptables/rules.v4", "x\n");
  EXPECT_NE(error.find("refusing to write into"), std::string::npos) << error;
  EXPECT_TRUE(fs::is_empty(dir.path / "elsewhere"));
  EXPECT_NE(WriteOutputFile(out.string(), "../escape", "x\n"), "");
  EXPECT_FALSE(fs::exists(dir.path / "escape"));
  // Folders made as needed; no temporary file left behind.
  EXPECT_EQ(WriteOutputFile(out.string(), "w1/etc/iptables/rules.v4", "v4\n"), "");
  EXPECT_EQ(ReadFile(out / "w1/etc/iptables/rules.v4"), "v4\n");
  for (const auto& e : fs::recursive_directory_iterator(out))
    EXPECT_EQ(e.path().filename().string().find(".tmp"), std::string::npos) << e.path();
}

}  // namespace
}  // namespace swarmwall::backend
