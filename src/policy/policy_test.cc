#include "policy/policy.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "policy/internal.h"
#include "policy/services.h"
#include "policy/yaml_tree.h"

namespace swarmwall::policy {
namespace {

const std::string kSource = SWARMWALL_SOURCE_DIR;
const std::string kExamples = kSource + "/examples";

LoadResult Load(std::string_view yaml, const std::string& base_dir = kExamples) {
  return LoadPolicyText(yaml, "p.yaml", base_dir);
}

std::string All(const LoadResult& r) {
  std::string s;
  for (const auto& d : r.errors) s += "  " + d.ToString() + "\n";
  for (const auto& d : r.warnings) s += "  " + d.ToString() + "\n";
  return s;
}

// TEXT is "FILE:LINE:COL: message" (without "warning: ").
bool Has(const std::vector<Diagnostic>& list, const std::string& text) {
  for (const auto& d : list)
    if (d.ToString() == text || d.where.ToString() + ": " + d.message == text) return true;
  return false;
}

#define EXPECT_ERROR(result, text)                                                             \
  do {                                                                                         \
    const auto& r_ = (result);                                                                 \
    EXPECT_TRUE(Has(r_.errors, text)) << "missing error: " << (text) << "\ngot:\n" << All(r_); \
    EXPECT_FALSE(r_.ok());                                                                     \
  } while (0)

#define EXPECT_WARNING(result, text)                                                               \
  do {                                                                                             \
    const auto& r_ = (result);                                                                     \
    EXPECT_TRUE(Has(r_.warnings, text)) << "missing warning: " << (text) << "\ngot:\n" << All(r_); \
  } while (0)

#define EXPECT_CLEAN(result)                                                     \
  do {                                                                           \
    const auto& r_ = (result);                                                   \
    EXPECT_TRUE(r_.ok() && r_.errors.empty() && r_.warnings.empty()) << All(r_); \
  } while (0)

// A valid policy the tests add to. Lines 1-7.
const std::string kHead = R"(version: 1
interfaces: { public: [eth0], cluster: [ens11] }
nodes:
  - { name: manager-1, role: manager, address: 10.0.0.1, labels: [ingress] }
  - { name: node-1, role: worker, address: 10.0.0.2 }
sets: { office: [198.51.100.0/24, 2001:db8:100::/48] }
containers: { default: drop, allow: [{ ports: 80, from: office }] }
)";

// ------------------------------------------------------------------- valid

TEST(PolicyLoad, MinimalIsClean) { EXPECT_CLEAN(Load(kHead)); }

TEST(PolicyLoad, EveryExampleIsClean) {
  int n = 0;
  for (const auto& e : std::filesystem::directory_iterator(kExamples)) {
    if (e.path().extension() != ".yaml") continue;
    ++n;
    SCOPED_TRACE(e.path().string());
    EXPECT_CLEAN(LoadPolicyFile(e.path().string()));
  }
  EXPECT_GE(n, 5);
}

// ------------------------------------------------------------ YAML, keys

TEST(PolicyErrors, YamlSyntax) {
  auto r = Load("version: 1\nhost: { allow: [1, 2 }\n");
  auto comma = Load(" ,4 #");  // yaml-cpp's LoadAll would loop forever
  EXPECT_ERROR(comma, "p.yaml:1:2: YAML: unexpected ','");
  ASSERT_EQ(r.errors.size(), 1u) << All(r);
  EXPECT_ERROR(r, "p.yaml:2:22: YAML: illegal flow end");
  EXPECT_ERROR(Load("version: 1\n\tinterfaces: x\n"),
               "p.yaml:2:1: YAML: illegal tab when looking for indentation");
}

TEST(PolicyErrors, EmptyAndNotAMapping) {
  EXPECT_ERROR(Load(""), "p.yaml:1:1: empty policy: it starts with 'version: 1'");
  EXPECT_ERROR(Load("# nothing\n"), "p.yaml:1:1: empty policy: it starts with 'version: 1'");
  EXPECT_ERROR(Load("- a\n- b\n"), "p.yaml:1:1: the policy must be a mapping, got a list");
  EXPECT_ERROR(Load(kHead + "---\nversion: 1\n"),
               "p.yaml:8:1: a second YAML document: a policy is one document");
}

TEST(PolicyErrors, UnknownKeyEverywhereWithSuggestion) {
  auto r = Load(kHead + R"(versoin: 2
host:
  alow: []
  icmp: { echo_limt: 8/second }
  deny:
    - { service: ssh, protocol: tcp, colour: red }
swarm: { frm: nodes }
)");
  EXPECT_ERROR(r, "p.yaml:8:1: unknown key 'versoin' in the policy; did you mean 'version'?");
  EXPECT_ERROR(r, "p.yaml:10:3: unknown key 'alow' in host; did you mean 'allow'?");
  EXPECT_ERROR(r, "p.yaml:11:11: unknown key 'echo_limt' in host.icmp; did you mean 'echo_limit'?");
  EXPECT_ERROR(r,
               "p.yaml:13:23: unknown key 'protocol' in a host deny rule; did you mean 'proto'?");
  EXPECT_ERROR(r,
               "p.yaml:13:38: unknown key 'colour' in a host deny rule (expected one of: service, "
               "ports, proto, from, on, comment)");
  EXPECT_ERROR(r, "p.yaml:14:10: unknown key 'frm' in swarm; did you mean 'from'?");
  auto n = Load(R"(version: 1
interfaces: { public: eth0, privat: eth1 }
nodes: [{ name: a, role: worker, adress: 10.0.0.1 }]
sets: { s: { entries: [10.0.0.0/8], fil: x } }
)");
  EXPECT_ERROR(
      n, "p.yaml:2:29: unknown key 'privat' in interfaces (expected one of: public, cluster)");
  EXPECT_ERROR(n, "p.yaml:3:34: unknown key 'adress' in a node; did you mean 'address'?");
  EXPECT_ERROR(n, "p.yaml:3:17: node 'a' has no address");
  EXPECT_ERROR(n, "p.yaml:4:37: unknown key 'fil' in set 's'; did you mean 'file'?");
}

TEST(PolicyErrors, DuplicateKey) {
  auto r = Load(kHead + "host:\n  cluster: accept\n  cluster: swarm-only\n");
  EXPECT_ERROR(r, "p.yaml:10:3: duplicate key 'cluster' in host (first at 9:3)");
}

TEST(PolicyErrors, WrongTypes) {
  auto r = Load(kHead + R"(ipv6: yes
log_drops: "true"
host:
  allow:
    - { ports: { a: 1 } }
    - { from: [[office]] }
    - just-a-string
  cluster: [accept]
egress: [1]
)");
  EXPECT_ERROR(r, "p.yaml:8:7: ipv6 must be true or false, got 'yes'");
  EXPECT_ERROR(r, "p.yaml:9:12: log_drops must be true or false, got 'true'");
  EXPECT_ERROR(r, "p.yaml:12:16: ports must be a value or a list, got a mapping");
  EXPECT_ERROR(r, "p.yaml:13:16: an item of from must be a single value, got a list");
  EXPECT_ERROR(r, "p.yaml:14:7: a host allow rule must be a mapping, got 'just-a-string'");
  EXPECT_ERROR(r, "p.yaml:15:12: host.cluster must be a single value, got a list");
  EXPECT_ERROR(r, "p.yaml:16:9: egress must be a mapping, got a list");
  auto nodes = Load("version: 1\ninterfaces: { public: eth0 }\nnodes: 5\n");
  EXPECT_ERROR(nodes, "p.yaml:3:8: nodes must be a list of nodes or 'auto', got '5'");
}

TEST(PolicyErrors, EmptyValuePointsAtTheKey) {
  auto r = Load(kHead + "host:\n  allow:\n    - { from: }\n");
  EXPECT_ERROR(r, "p.yaml:10:9: from must be a value or a list, got nothing");
  auto e = Load(kHead + "host: { allow: [{ on: [] }] }\n");
  EXPECT_ERROR(e, "p.yaml:8:23: on is an empty list (leave the key out instead)");
}

TEST(PolicyErrors, Version) {
  EXPECT_ERROR(Load("interfaces: { public: eth0 }\ncontainers: {}\n"),
               "p.yaml:1:1: version missing: a policy starts with 'version: 1'");
  EXPECT_ERROR(Load("version: 2\ninterfaces: { public: eth0 }\n"),
               "p.yaml:1:10: unsupported policy version 2: this swarmwall reads version 1");
  EXPECT_ERROR(Load("version: one\ninterfaces: { public: eth0 }\n"),
               "p.yaml:1:10: version must be 1, got 'one'");
  EXPECT_ERROR(Load("version: \"1\"\ninterfaces: { public: eth0 }\n"),
               "p.yaml:1:10: version must be 1, got '1'");
}

TEST(PolicyErrors, Interfaces) {
  EXPECT_ERROR(Load("version: 1\ncontainers: {}\n"),
               "p.yaml:1:1: interfaces missing: name the public interfaces ('interfaces: { public: "
               "[eth0] }')");
  auto r =
      Load("version: 1\ninterfaces: { public: [eth0, this-name-is-too-long], cluster: [eth0] }\n");
  EXPECT_ERROR(
      r,
      "p.yaml:2:30: bad interface name 'this-name-is-too-long' (at most 15 letters, digits, "
      "'-', '_', '.', '@'; a trailing '+' matches every name it begins)");
  EXPECT_ERROR(r, "p.yaml:2:64: interface 'eth0' is both public and cluster (public at 2:24)");
  EXPECT_ERROR(Load("version: 1\ninterfaces: { cluster: [ens11] }\n"),
               "p.yaml:2:1: interfaces.public missing: the interfaces filtering applies to");
}

// ------------------------------------------------------------- addresses

TEST(PolicyErrors, BadAddressesAndCidrs) {
  auto s = Load(R"(version: 1
interfaces: { public: eth0 }
sets:
  a: [10.0.0.0/33, 300.1.2.3, "2001:db8::/129", 10.0.0.0/255.0.255.0, 10.1.2.3/8]
host: { allow: [{ from: [10.0.0.256], to: x }] }
containers: { allow: [{ from: [a, 10.1] }] }
)");
  EXPECT_ERROR(s, "p.yaml:4:7: bad address or CIDR '10.0.0.0/33'");
  EXPECT_ERROR(s, "p.yaml:4:20: bad address or CIDR '300.1.2.3'");
  EXPECT_ERROR(s, "p.yaml:4:31: bad address or CIDR '2001:db8::/129'");
  EXPECT_ERROR(
      s, "p.yaml:4:49: '10.0.0.0/255.0.255.0' has a non-contiguous netmask; write a prefix length");
  EXPECT_WARNING(s, "p.yaml:4:71: '10.1.2.3/8' has host bits set; it stands for 10.0.0.0/8");
  EXPECT_ERROR(s, "p.yaml:5:26: bad address or CIDR '10.0.0.256'");
  EXPECT_ERROR(
      s,
      "p.yaml:5:39: unknown key 'to' in a host allow rule (expected one of: service, ports, "
      "proto, from, on, comment)");
  EXPECT_ERROR(s, "p.yaml:6:35: bad address or CIDR '10.1'");
  auto n = Load(R"(version: 1
interfaces: { public: eth0 }
nodes:
  - { name: a, role: worker, address: [10.0.0.1, 10.0.0.0/24, fe80::1%eth0] }
)");
  EXPECT_ERROR(n, "p.yaml:4:50: '10.0.0.0/24' is a network; a node address is one address");
  EXPECT_ERROR(n, "p.yaml:4:63: bad address 'fe80::1%eth0'");
}

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/policy_test.XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::filesystem::remove_all(path_); }
  void Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ + "/" + name) << text;
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(PolicyErrors, AddressFiles) {
  TempDir dir;
  dir.Write("ok.txt", "# friends\n192.0.2.1\n  192.0.2.0/28   # a comment\r\n\n2001:db8::1\n");
  dir.Write("bad.txt", "192.0.2.1\n\n    192.0.2.300\n10.0.0.0/8 10.1.0.0/16\n");
  std::string policy = R"(version: 1
interfaces: { public: eth0 }
sets:
  good: { file: ok.txt }
  bad: { file: bad.txt }
  none: { file: missing.txt }
containers: { allow: [{ from: [good, bad, none] }] }
)";
  auto r = LoadPolicyText(policy, "p.yaml", dir.path());
  EXPECT_ERROR(r, dir.path() + "/bad.txt:3:5: bad address or CIDR '192.0.2.300'");
  EXPECT_ERROR(r, dir.path() + "/bad.txt:4:12: one address or CIDR per line");
  EXPECT_ERROR(r, "p.yaml:6:17: cannot read address file '" + dir.path() +
                      "/missing.txt': No such file or directory");
  // Errors of the policy come first, then those of the address files.
  ASSERT_EQ(r.errors.size(), 3u) << All(r);
  EXPECT_EQ(r.errors[0].where.file, "p.yaml");
  // The good file alone.
  auto g = LoadPolicyText(R"(version: 1
interfaces: { public: eth0 }
sets: { good: { file: ok.txt } }
containers: { allow: [{ from: good }] }
)",
                          "p.yaml", dir.path());
  ASSERT_TRUE(g.ok()) << All(g);
  const AddressSet* s = g.policy->FindSet("good");
  ASSERT_NE(s, nullptr);
  ASSERT_EQ(s->ipv4.size(), 2u);
  EXPECT_EQ(s->ipv4[0].ToString(), "192.0.2.0/28");
  EXPECT_EQ(s->ipv4[1].ToString(), "192.0.2.1/32");
  ASSERT_EQ(s->ipv6.size(), 1u);
  EXPECT_EQ(s->ipv6[0].ToString(), "2001:db8::1/128");
  EXPECT_EQ(s->file, dir.path() + "/ok.txt");
  // Not a regular file.
  auto d = LoadPolicyText(
      "version: 1\ninterfaces: { public: eth0 }\nsets: { x: { file: /dev } }\n"
      "containers: { allow: [{ from: x }] }\n",
      "p.yaml", dir.path());
  EXPECT_ERROR(d, "p.yaml:3:20: cannot read address file '/dev': not a regular file");
}

TEST(PolicyErrors, SetNames) {
  auto r = Load(R"(version: 1
interfaces: { public: eth0 }
sets:
  nodes: [10.0.0.0/8]
  1st: [10.0.0.0/8]
  empty: []
  unused: [10.0.0.0/8]
  nothing:
containers: { allow: [{ from: [1st, empty] }] }
)");
  EXPECT_ERROR(r, "p.yaml:4:3: set name 'nodes' is reserved");
  EXPECT_ERROR(
      r, "p.yaml:5:3: bad set name '1st' (a letter, then letters, digits, '-' or '_'; at most 24)");
  EXPECT_ERROR(r, "p.yaml:8:3: set 'nothing' needs a list of addresses or { file: PATH }");
  // Empty sets are pointed out when no error explains them.
  auto e = Load(
      "version: 1\ninterfaces: { public: eth0 }\nsets: { empty: [], unused: [::1] }\n"
      "containers: { allow: [{ from: empty }] }\n");
  EXPECT_TRUE(e.ok()) << All(e);
  EXPECT_WARNING(e, "p.yaml:3:9: set 'empty' is empty: rules using it match nothing");
  EXPECT_WARNING(e, "p.yaml:3:20: set 'unused' is never used");
}

// ----------------------------------------------------------------- names

TEST(PolicyErrors, UnknownSetLabelNodeRole) {
  auto r = Load(kHead + R"(host:
  allow:
    - { service: ssh, from: [ofice, admins], on: [label:ingres, node-3, role:boss, zone:x] }
egress: { deny: [{ to: offcie }] }
swarm: { from: [nodes, ofice] }
)");
  EXPECT_ERROR(r, "p.yaml:10:30: unknown set 'ofice' in host rule's from; did you mean 'office'?");
  EXPECT_ERROR(r, "p.yaml:10:37: unknown set 'admins' in host rule's from");
  EXPECT_ERROR(r,
               "p.yaml:10:51: label:ingres selects no node: no node has label 'ingres'; did you "
               "mean 'ingress'?");
  EXPECT_ERROR(
      r, "p.yaml:10:65: unknown node 'node-3' in on: selects no node; did you mean 'node-1'?");
  EXPECT_ERROR(r, "p.yaml:10:73: unknown role 'boss' (manager or worker)");
  EXPECT_ERROR(r, "p.yaml:10:84: unknown selector 'zone:' in on (role:, node: or label:)");
  EXPECT_ERROR(r, "p.yaml:11:24: unknown set 'offcie' in egress rule's to; did you mean 'office'?");
  EXPECT_ERROR(r, "p.yaml:12:24: unknown set 'ofice' in swarm.from; did you mean 'office'?");
}

TEST(PolicyErrors, UnknownService) {
  auto r = Load(kHead + "host: { allow: [{ service: [ssh, htps, SSH, gopher] }] }\n");
  EXPECT_ERROR(r, "p.yaml:8:34: unknown service 'htps'; did you mean 'https'?");
  EXPECT_ERROR(r, "p.yaml:8:40: unknown service 'SSH'; did you mean 'ssh'?");
  EXPECT_ERROR(r, "p.yaml:8:45: unknown service 'gopher'");
  auto both = Load(kHead + "host: { allow: [{ service: ssh, ports: 22 }] }\n");
  EXPECT_ERROR(both,
               "p.yaml:8:28: service cannot be combined with ports or proto; write two rules");
}

TEST(PolicyErrors, Ports) {
  auto r = Load(kHead + R"(host:
  allow:
    - { ports: [0, 70000, 99999999999, 8100-8000, http, 80-, 1-65535] }
    - { ports: 22, proto: [tcp, icmp, tpc] }
)");
  EXPECT_ERROR(r, "p.yaml:10:17: port 0 out of range (1-65535)");
  EXPECT_ERROR(r, "p.yaml:10:20: port 70000 out of range (1-65535)");
  EXPECT_ERROR(r, "p.yaml:10:27: port 99999999999 out of range (1-65535)");
  EXPECT_ERROR(
      r, "p.yaml:10:40: reversed port range 8100-8000: the first port must not exceed the last");
  EXPECT_ERROR(r,
               "p.yaml:10:51: bad port 'http': a number 1-65535 or a range like 8000-8100 (for the "
               "service write 'service: http')");
  EXPECT_ERROR(r, "p.yaml:10:57: bad port '80-': a number 1-65535 or a range like 8000-8100");
  EXPECT_ERROR(r, "p.yaml:11:33: proto icmp is not a rule protocol: ICMP is set under host.icmp");
  EXPECT_ERROR(r, "p.yaml:11:39: unknown protocol 'tpc' (tcp, udp or sctp); did you mean 'tcp'?");
  EXPECT_EQ(r.errors.size(), 8u) << All(r);
}

TEST(PolicyErrors, SelectorSelectsNoNode) {
  auto r = Load(R"(version: 1
interfaces: { public: eth0 }
nodes: [{ name: m, role: manager, address: 10.0.0.1 }]
host: { allow: [{ service: ssh, on: worker }] }
containers: { allow: [{ ports: 80, on: [m, label:web] }] }
)");
  EXPECT_ERROR(r, "p.yaml:4:37: worker selects no node: no node has role worker");
  EXPECT_ERROR(r, "p.yaml:5:44: label:web selects no node: no node has label 'web'");
  EXPECT_EQ(r.errors.size(), 2u) << All(r);
}

// ----------------------------------------------------------------- nodes

TEST(PolicyErrors, Nodes) {
  auto r = Load(R"(version: 1
interfaces: { public: eth0 }
nodes:
  - { name: a, role: manager, address: 10.0.0.1 }
  - { name: a, role: worker, address: 10.0.0.2 }
  - { name: b, role: boss, address: [10.0.0.3, 10.0.0.1] }
  - { name: c, address: 10.0.0.4 }
  - { name: d, role: worker }
  - { role: worker, address: 10.0.0.5 }
  - { name: manager, role: worker, address: 10.0.0.6 }
  - { name: "e f", role: worker, address: 10.0.0.7 }
  - 42
containers: {}
)");
  EXPECT_ERROR(r, "p.yaml:5:13: duplicate node name 'a' (first at 4:13)");
  EXPECT_ERROR(r, "p.yaml:6:22: unknown role 'boss' (manager or worker)");
  EXPECT_ERROR(r, "p.yaml:6:48: duplicate node address 10.0.0.1: node 'a' has it too (at 4:40)");
  EXPECT_ERROR(r, "p.yaml:7:13: node 'c' has no role (manager or worker)");
  EXPECT_ERROR(r, "p.yaml:8:13: node 'd' has no address");
  EXPECT_ERROR(r, "p.yaml:9:5: node without a name");
  EXPECT_ERROR(r, "p.yaml:10:13: node name 'manager' is reserved");
  EXPECT_ERROR(r, "p.yaml:11:13: bad node name 'e f' (letters, digits, '.', '-', '_')");
  EXPECT_ERROR(r,
               "p.yaml:12:5: a node must be a mapping { name, role, address } or 'auto', got '42'");
  EXPECT_EQ(r.errors.size(), 9u) << All(r);
  EXPECT_ERROR(Load("version: 1\ninterfaces: { public: eth0 }\nnodes: []\n"),
               "p.yaml:3:8: nodes is an empty list: list the nodes, or write 'nodes: auto'");
}

TEST(PolicyErrors, Swarm) {
  auto r = Load("version: 1\ninterfaces: { public: eth0 }\nswarm: {}\ncontainers: {}\n");
  EXPECT_ERROR(
      r,
      "p.yaml:3:1: swarm needs the cluster's nodes: list them under nodes, or write 'nodes: auto'");
  EXPECT_ERROR(
      r, "p.yaml:3:1: 'nodes' in swarm.from stands for no address: the policy lists no nodes");
  auto any = Load(kHead + "swarm: { from: any }\n");
  EXPECT_TRUE(any.ok()) << All(any);
  EXPECT_WARNING(
      any,
      "p.yaml:8:1: swarm.from is any: the Swarm's ports (2377, 7946, 4789) are open to everyone");
}

TEST(PolicyErrors, EveryProblemIsReported) {
  auto r = Load(R"(version: 3
interfaces: { public: eth0 }
nodes: [{ name: a, role: manager, address: 10.0.0.300 }]
host: { allow: [{ ports: 0 }, { service: nope }, { from: nobody }, { on: zz }] }
colour: blue
)");
  EXPECT_EQ(r.errors.size(), 7u) << All(r);
  EXPECT_FALSE(r.policy.has_value());
  // Sorted by position.
  for (size_t i = 1; i < r.errors.size(); ++i) EXPECT_LE(r.errors[i - 1].where, r.errors[i].where);
}

// ------------------------------------------------------------- shadowing

TEST(PolicyWarnings, ShadowedRules) {
  auto r = Load(kHead + R"(host:
  allow:
    - { ports: [22, 80-90], from: office }
    - { ports: 85, from: 198.51.100.7, on: node-1 }
    - { ports: 85, from: 198.51.100.7, proto: udp }
    - { ports: 22, from: [office, 10.0.0.0/8] }
    - { service: ssh, from: office, on: label:ingress }
  deny:
    - { from: 203.0.113.0/24 }
    - { ports: 443, from: 203.0.113.9 }
egress:
  default: drop
  deny: [{ to: 10.0.0.0/8 }]
  allow: [{ to: 10.1.0.0/16, ports: 443 }, { to: 192.0.2.0/24 }]
)");
  EXPECT_TRUE(r.ok()) << All(r);
  EXPECT_WARNING(
      r,
      "p.yaml:11:7: rule is shadowed by the allow rule at 10:7, which matches everything it "
      "does: it never decides anything");
  EXPECT_WARNING(
      r,
      "p.yaml:14:7: rule is shadowed by the allow rule at 10:7, which matches everything it "
      "does: it never decides anything");
  EXPECT_WARNING(
      r,
      "p.yaml:17:7: rule is shadowed by the deny rule at 16:7, which matches everything it "
      "does: it never decides anything");
  EXPECT_WARNING(
      r, "p.yaml:21:11: rule never matches: the deny rule at 20:10 drops everything it allows");
  // Not shadowed: other protocol, wider sources.
  EXPECT_EQ(r.warnings.size(), 4u) << All(r);
}

TEST(PolicyWarnings, UselessAndRisky) {
  auto r = Load(kHead + R"(host: { allow: [{ service: docker, from: office }, {}] }
egress: { allow: [{ ports: 443 }] }
)");
  EXPECT_TRUE(r.ok()) << All(r);
  EXPECT_WARNING(r,
                 "p.yaml:8:28: service docker is the Docker API without TLS: whoever reaches it is "
                 "root on the node");
  EXPECT_WARNING(r, "p.yaml:8:52: rule allows everything from anywhere on every node");
  EXPECT_WARNING(r, "p.yaml:9:19: allow rule does nothing: egress.default is accept");
  auto c = Load("version: 1\ninterfaces: { public: eth0 }\n");
  EXPECT_WARNING(
      c,
      "p.yaml:1:1: no containers section: published container ports are closed to public "
      "interfaces (containers.default is drop)");
  auto d =
      Load("version: 1\ninterfaces: { public: eth0 }\ncontainers: { deny: [{ ports: 80 }] }\n");
  EXPECT_WARNING(
      d,
      "p.yaml:3:22: deny rule does nothing: containers.default is drop and there is no allow rule");
}

// ----------------------------------------------------------------- model

Policy LoadExample(const std::string& name) {
  auto r = LoadPolicyFile(kExamples + "/" + name);
  EXPECT_TRUE(r.ok()) << All(r);
  return r.policy.value_or(Policy{});
}

std::vector<std::string> Strings(const std::vector<Cidr>& v) {
  std::vector<std::string> out;
  for (const auto& c : v) out.push_back(c.ToString());
  return out;
}

using Names = std::vector<std::string>;

TEST(PolicyModel, Seed004Cluster) {
  Policy p = LoadExample("swarm-cluster.yaml");
  EXPECT_EQ(p.interfaces.public_, Names{"eth0"});
  EXPECT_EQ(p.interfaces.cluster, Names{"ens11"});
  EXPECT_TRUE(p.ipv6);
  EXPECT_FALSE(p.auto_nodes);
  ASSERT_EQ(p.nodes.size(), 3u);
  const Node& manager = p.nodes[0];
  const Node& worker = p.nodes[1];
  EXPECT_EQ(manager.name, "manager-1");
  EXPECT_EQ(manager.role, Role::kManager);
  EXPECT_EQ(manager.labels, Names{"ingress"});
  EXPECT_EQ(manager.addresses[0].ToString(), "10.10.10.1");
  EXPECT_EQ(worker.role, Role::kWorker);
  EXPECT_EQ(&p.InterfacesOf(worker), &p.interfaces);

  // Sets: `nodes` first, then as written, split by family.
  ASSERT_EQ(p.sets.size(), 3u);
  EXPECT_EQ(p.sets[0].name, "nodes");
  EXPECT_TRUE(p.sets[0].builtin);
  EXPECT_EQ(Strings(p.sets[0].ipv4), (Names{"10.10.10.1/32", "10.10.10.2/32", "10.10.10.3/32"}));
  const AddressSet* office = p.FindSet("office");
  ASSERT_NE(office, nullptr);
  EXPECT_EQ(Strings(office->ipv4), Names{"198.51.100.0/24"});
  EXPECT_EQ(Strings(office->ipv6), Names{"2001:db8:100::/48"});
  const AddressSet* admins = p.FindSet("admins");
  ASSERT_NE(admins, nullptr);
  EXPECT_EQ(Strings(admins->ipv4), (Names{"203.0.113.7/32", "203.0.113.64/28"}));
  EXPECT_EQ(Strings(admins->ipv6), Names{"2001:db8:200::/48"});
  EXPECT_EQ(admins->file, kExamples + "/admins.txt");
  EXPECT_EQ(admins->comment, "people who may ssh in");

  // Host rules: ssh everywhere, 80/443 on the ingress only.
  auto on_manager = p.RulesFor(Section::kHost, manager);
  auto on_worker = p.RulesFor(Section::kHost, worker);
  ASSERT_EQ(on_manager.size(), 2u);
  ASSERT_EQ(on_worker.size(), 1u);
  const Rule& ssh = *on_worker[0];
  EXPECT_EQ(ssh.traffic.ToString(), "22/tcp");
  ASSERT_EQ(ssh.services.size(), 1u);
  EXPECT_EQ(ssh.services[0].name, "ssh");
  ASSERT_EQ(ssh.from.terms.size(), 1u);
  EXPECT_EQ(ssh.from.terms[0].set, "admins");
  EXPECT_EQ(Strings(p.Resolve(ssh.from, Family::kIPv4)),
            (Names{"203.0.113.7/32", "203.0.113.64/28"}));
  EXPECT_EQ(ssh.where.ToString(), kExamples + "/swarm-cluster.yaml:20:7");
  const Rule& web = *on_manager[1];
  EXPECT_EQ(web.traffic.ToString(), "80,443/tcp");
  EXPECT_TRUE(web.from.Any());
  EXPECT_EQ(web.comment, "the ingress");
  EXPECT_EQ(web.Describe(), "host allow #2 (80,443/tcp on label:ingress)");
  EXPECT_EQ(p.host.icmp.echo_limit->ToString(), "8/second");
  EXPECT_TRUE(p.host.icmp.echo);
  EXPECT_EQ(p.host.cluster, ClusterMode::kAccept);

  // Swarm: from the nodes; 2377 on the manager only.
  EXPECT_TRUE(p.swarm.enabled);
  ASSERT_EQ(p.swarm.from.terms.size(), 1u);
  EXPECT_EQ(p.swarm.from.terms[0].set, "nodes");
  EXPECT_EQ(SwarmTraffic(p.swarm, manager.role).ToString(), "2377,7946/tcp 4789,7946/udp");
  EXPECT_EQ(SwarmTraffic(p.swarm, worker.role).ToString(), "7946/tcp 4789,7946/udp");

  // Containers and egress.
  EXPECT_EQ(p.containers.default_action, Action::kDrop);
  EXPECT_EQ(p.RulesFor(Section::kContainers, manager).size(), 2u);
  EXPECT_EQ(p.RulesFor(Section::kContainers, worker).size(), 1u);
  EXPECT_EQ(p.egress.default_action, Action::kAccept);
  ASSERT_EQ(p.egress.rules.size(), 1u);
  EXPECT_EQ(p.egress.rules[0].action, Action::kDrop);
  EXPECT_TRUE(p.egress.rules[0].traffic.Any());
  EXPECT_EQ(Strings(p.Resolve(p.egress.rules[0].to, Family::kIPv4)), Names{"169.254.169.254/32"});
  EXPECT_TRUE(p.Resolve(p.egress.rules[0].to, Family::kIPv6).empty());
}

TEST(PolicyModel, OtherExamples) {
  Policy d = LoadExample("swarm-public-addresses.yaml");
  ASSERT_EQ(d.nodes.size(), 3u);
  EXPECT_EQ(d.nodes[0].addresses.size(), 2u);
  EXPECT_EQ(d.FindSet("nodes")->ipv4.size(), 6u);
  EXPECT_TRUE(d.swarm.docker_machine);
  EXPECT_EQ(SwarmTraffic(d.swarm, Role::kWorker).ToString(), "2376,7946/tcp 4789,7946/udp");
  EXPECT_EQ(d.host.rules[1].traffic.ToString(), "80,443/tcp");

  Policy o = LoadExample("openshift-egress.yaml");
  EXPECT_EQ(o.host.cluster, ClusterMode::kSwarmOnly);
  EXPECT_EQ(o.egress.default_action, Action::kDrop);
  ASSERT_EQ(o.egress.rules.size(), 6u);
  EXPECT_EQ(o.egress.rules[0].action, Action::kDrop);  // deny rules first
  EXPECT_EQ(o.egress.rules[1].action, Action::kDrop);
  EXPECT_EQ(o.egress.rules[2].action, Action::kAccept);
  EXPECT_EQ(o.egress.rules[3].traffic.ToString(), "53/tcp,udp");
  EXPECT_TRUE(o.log_drops);

  Policy s = LoadExample("dual-stack.yaml");
  EXPECT_EQ(s.FindSet("nodes")->ipv6.size(), 1u);
  EXPECT_EQ(Strings(s.Resolve(s.containers.rules[2].from, Family::kIPv6)),
            (Names{"2001:db8:100::/48", "2001:db8:abcd::/64"}));

  Policy f = LoadExample("docker-host-friends.yaml");
  EXPECT_TRUE(f.nodes.empty());
  EXPECT_FALSE(f.swarm.enabled);
  EXPECT_TRUE(f.containers.rules[0].traffic.Any());
}

TEST(PolicyModel, TrafficIsNormalised) {
  auto r = Load(kHead + R"(host:
  allow:
    - { ports: [443, 80, 81-90, 85, 91], proto: [udp, tcp, udp], from: office }
    - { proto: sctp, from: office }
    - { from: office }
    - { service: [dns, ssh], from: office, on: node-1 }
)");
  ASSERT_TRUE(r.ok()) << All(r);
  const auto& rules = r.policy->host.rules;
  EXPECT_EQ(rules[0].traffic.ToString(), "80-91,443/tcp,udp");
  ASSERT_EQ(rules[0].traffic.protocols.size(), 2u);
  EXPECT_EQ(rules[0].traffic.protocols[0].protocol, Protocol::kTcp);
  EXPECT_EQ(rules[1].traffic.ToString(), "sctp");
  EXPECT_TRUE(rules[1].traffic.protocols[0].ports.empty());
  EXPECT_TRUE(rules[2].traffic.Any());
  EXPECT_EQ(rules[3].traffic.ToString(), "22,53/tcp 53/udp");
  EXPECT_TRUE(rules[2].traffic.Covers(rules[0].traffic));
  EXPECT_FALSE(rules[0].traffic.Covers(rules[1].traffic));
}

TEST(PolicyModel, Selectors) {
  Node n{.name = "n1", .role = Role::kWorker, .labels = {"a", "zone=eu"}};
  auto term = [](SelectorTerm::Kind k, std::string v, Role role = Role::kWorker) {
    SelectorTerm t;
    t.kind = k;
    t.value = std::move(v);
    t.role = role;
    return t;
  };
  EXPECT_TRUE(Selects(Selector{}, n));
  EXPECT_TRUE(Selects(Selector{{term(SelectorTerm::Kind::kRole, "")}}, n));
  EXPECT_FALSE(Selects(Selector{{term(SelectorTerm::Kind::kRole, "", Role::kManager)}}, n));
  EXPECT_TRUE(Selects(Selector{{term(SelectorTerm::Kind::kName, "n1")}}, n));
  EXPECT_TRUE(Selects(Selector{{term(SelectorTerm::Kind::kLabel, "zone=eu")}}, n));
  EXPECT_FALSE(Selects(Selector{{term(SelectorTerm::Kind::kLabel, "b")}}, n));
  auto r =
      Load(kHead +
           "host: { allow: [{ ports: 1, on: [role:worker, node:manager-1, label:ingress] }] }\n");
  ASSERT_TRUE(r.ok()) << All(r);
  const auto& on = r.policy->host.rules[0].on;
  ASSERT_EQ(on.terms.size(), 3u);
  EXPECT_EQ(on.terms[0].kind, SelectorTerm::Kind::kRole);
  EXPECT_EQ(on.terms[1].kind, SelectorTerm::Kind::kName);
  EXPECT_EQ(on.terms[1].value, "manager-1");
  EXPECT_EQ(on.terms[2].ToString(), "label:ingress");
  EXPECT_EQ(r.policy->NodesSelectedBy(on).size(), 2u);
}

TEST(PolicyModel, AutoNodes) {
  auto r = Load(R"(version: 1
interfaces: { public: eth0 }
nodes: auto
swarm: {}
host: { allow: [{ service: ssh, on: [manager, label:edge] }, { ports: 8080, on: edge-1 }] }
containers: {}
)");
  ASSERT_TRUE(r.ok()) << All(r);
  EXPECT_WARNING(
      r, "p.yaml:5:81: node 'edge-1' is not listed; it must come from the Swarm (nodes: auto)");
  Policy p = *r.policy;
  EXPECT_TRUE(p.auto_nodes);
  EXPECT_TRUE(p.nodes.empty());
  EXPECT_TRUE(p.FindSet("nodes")->Empty());
  // The agent adds the Swarm's nodes and validates again.
  Node edge{.name = "edge-1", .role = Role::kWorker, .labels = {"edge"}};
  edge.addresses.push_back(*IpAddress::Parse("10.9.0.7"));
  p.nodes.push_back(edge);
  auto v = Validate(p);
  ASSERT_TRUE(v.ok()) << All(v);
  EXPECT_EQ(Strings(v.policy->FindSet("nodes")->ipv4), Names{"10.9.0.7/32"});
  EXPECT_EQ(v.policy->RulesFor(Section::kHost, v.policy->nodes[0]).size(), 2u);
  EXPECT_EQ(Validate(*v.policy).policy, v.policy);  // idempotent
  // A node made in code without an address.
  Node bare{.name = "bare", .role = Role::kWorker};
  p.nodes.push_back(bare);
  auto bad = Validate(p);
  EXPECT_ERROR(bad, "node 'bare' has no address");

  auto mixed = Load(R"(version: 1
interfaces: { public: eth0 }
nodes: [auto, { name: m, role: manager, address: 10.0.0.1 }]
containers: {}
)");
  ASSERT_TRUE(mixed.ok()) << All(mixed);
  EXPECT_TRUE(mixed.policy->auto_nodes);
  EXPECT_EQ(mixed.policy->nodes.size(), 1u);
}

TEST(PolicyModel, Defaults) {
  auto r = Load("version: 1\ninterfaces: { public: eth0 }\ncontainers:\nhost:\negress:\n");
  ASSERT_TRUE(r.ok()) << All(r);
  const Policy& p = *r.policy;
  EXPECT_TRUE(p.ipv6);
  EXPECT_FALSE(p.log_drops);
  EXPECT_FALSE(p.swarm.enabled);
  EXPECT_EQ(p.containers.default_action, Action::kDrop);
  EXPECT_EQ(p.egress.default_action, Action::kAccept);
  EXPECT_EQ(p.host.cluster, ClusterMode::kAccept);
  EXPECT_TRUE(p.host.icmp.echo);
  EXPECT_FALSE(p.host.icmp.echo_limit);
  EXPECT_EQ(p.sets.size(), 1u);
}

TEST(PolicyModel, NodeInterfacesOverride) {
  auto r = Load(R"(version: 1
interfaces: { public: eth0, cluster: ens11 }
nodes:
  - { name: a, role: manager, address: 10.0.0.1, interfaces: { public: [enp1s0] } }
  - { name: b, role: worker, address: 10.0.0.2 }
containers: {}
)");
  ASSERT_TRUE(r.ok()) << All(r);
  const auto& ia = r.policy->InterfacesOf(r.policy->nodes[0]);
  EXPECT_EQ(ia.public_, Names{"enp1s0"});
  EXPECT_EQ(ia.cluster, Names{"ens11"});
  EXPECT_EQ(r.policy->InterfacesOf(r.policy->nodes[1]).public_, Names{"eth0"});
}

TEST(PolicyModel, Deterministic) {
  std::ifstream in(kExamples + "/swarm-cluster.yaml");
  std::stringstream ss;
  ss << in.rdbuf();
  auto a = LoadPolicyText(ss.str(), "x.yaml", kExamples);
  auto b = LoadPolicyText(ss.str(), "x.yaml", kExamples);
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a.policy, b.policy);
  // Set entries are sorted whatever order they are written in.
  auto d1 = Load(
      "version: 1\ninterfaces: { public: eth0 }\nsets: { s: [10.0.0.2, 10.0.0.1, 10.0.0.2, ::1] }\n"
      "containers: { allow: [{ from: s }] }\n");
  auto d2 = Load(
      "version: 1\ninterfaces: { public: eth0 }\nsets: { s: [::1, 10.0.0.1, 10.0.0.2] }\n"
      "containers: { allow: [{ from: s }] }\n");
  ASSERT_TRUE(d1.ok() && d2.ok()) << All(d1) << All(d2);
  EXPECT_EQ(d1.policy->sets[1].ipv4, d2.policy->sets[1].ipv4);
  EXPECT_EQ(d1.policy->sets[1].ipv6, d2.policy->sets[1].ipv6);
  EXPECT_EQ(Strings(d1.policy->sets[1].ipv4), (Names{"10.0.0.1/32", "10.0.0.2/32"}));
}

TEST(PolicyModel, AliasesAndAnchors) {
  auto r = Load(R"(version: 1
interfaces: { public: eth0 }
sets: { office: &office [198.51.100.0/24] }
containers:
  allow:
    - &web { ports: [80, 443], from: office }
    - *web
)");
  ASSERT_TRUE(r.ok()) << All(r);
  EXPECT_EQ(r.warnings.size(), 1u) << All(r);  // the second is shadowed by the first
}

// ------------------------------------------------------------- long lists

// The tree yaml_tree.cc builds is the one YAML::Load builds: same kinds,
// tags, scalars, lines and columns, same children in the same order.
void ExpectSameTree(const YamlNode& ours, const YAML::Node& theirs, const std::string& path) {
  ASSERT_EQ(ours.Type(), theirs.Type()) << path;
  EXPECT_EQ(ours.Mark().line, theirs.Mark().line) << path;
  EXPECT_EQ(ours.Mark().column, theirs.Mark().column) << path;
  EXPECT_EQ(ours.Tag(), theirs.Tag()) << path;
  if (theirs.IsScalar()) {
    EXPECT_EQ(ours.Scalar(), theirs.Scalar()) << path;
  }
  ASSERT_EQ(ours.size(), theirs.size()) << path;
  size_t i = 0;
  if (theirs.IsSequence())
    for (const auto& child : theirs) {
      ExpectSameTree(ours.Child(i), child, path + "/" + std::to_string(i));
      ++i;
    }
  if (theirs.IsMap())
    for (const auto& pair : theirs) {
      const YAML::Node k = pair.first, v = pair.second;
      ExpectSameTree(ours.Key(i), k, path + "/key" + std::to_string(i));
      ExpectSameTree(ours.Value(i), v, path + "/" + std::to_string(i));
      ++i;
    }
}

// ... or the same error, when yaml-cpp finds one.
// FAST: how many items should be read without yaml-cpp's scanner.
void ExpectSameTree(const std::string& text, size_t fast = 0) {
  ParsedYaml ours = ParseYamlDocument(text);
  EXPECT_EQ(ours.fast_items, fast) << text.substr(0, 200);
  YAML::Node theirs;
  try {
    theirs = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    ASSERT_TRUE(ours.error) << e.what();
    EXPECT_EQ(*ours.error, "YAML: " + e.msg);
    EXPECT_EQ(ours.line, e.mark.line + 1);
    EXPECT_EQ(ours.column, e.mark.column + 1);
    return;
  }
  ASSERT_FALSE(ours.error) << *ours.error;
  ExpectSameTree(ours.tree.Root(), theirs, "");
}

// kHead without its sets and containers: lines 1-5.
const std::string kListHead = kHead.substr(0, kHead.find("sets:"));

// N lines "INDENT- 10.0.X.Y/32".
std::string LongList(int n, const std::string& indent = "    ", int first = 0) {
  std::string s;
  for (int i = first; i < first + n; ++i)
    s += fmt::format("{}- 10.0.{}.{}/32\n", indent, i / 256, i % 256);
  return s;
}

TEST(PolicyLongLists, TreeIsYamlCppsWhateverTheListsAreIn) {
  // Read fast: a set's list, an indentless list, two lists, a list at the end
  // without a line break, a list beside other items of the same list.
  ExpectSameTree(kListHead + "sets:\n  big:\n" + LongList(100) + "  other:\n" + LongList(70, "  - ") +
                 "containers: { allow: [{ from: big }, { from: other }] }\n",
                 100);  // "  - - ..." is a list in a list: not read fast
  ExpectSameTree("a:\n" + LongList(80, "") + "b: 1\n", 80);
  ExpectSameTree("a:\n  - \"quoted\"\n" + LongList(80, "  ") + "  - 'x'\n" + LongList(90, "  ", 80) +
                 "  - { k: v }\n",
                 170);
  std::string at_end = "a:\n" + LongList(70, "  ");
  at_end.pop_back();
  ExpectSameTree(at_end, 70);
  // Not lists at all, or not only: a block scalar, a plain scalar that goes
  // on, a list item continued on the next line; lists in lists, anchors.
  ExpectSameTree("a: |\n" + LongList(70, "  ") + "b: 1\n");
  ExpectSameTree("a: text\n" + LongList(70, "  ") + "b: 1\n");
  ExpectSameTree("a:\n" + LongList(70, "  ") + "    continued\nb: 1\n");
  ExpectSameTree("a:\n  -\n" + LongList(70, "    ") + "b: 1\n", 70);
  ExpectSameTree("a:\n  - - 1.2.3.4\n" + LongList(70, "    ") + "b: &x [1]\nc: *x\n", 70);
  ExpectSameTree("a: [\n" + LongList(70, "  ") + "]\n");
  ExpectSameTree("a:\n" + LongList(70, "  ") + "  - 2001:db8::\n" + LongList(70, "  ", 70),
                 140);
  // Flow lists on one line: read fast, or not (a quoted string, a comment,
  // a ':' last, nested, two on a line).
  std::string flow;
  for (int i = 0; i < 100; ++i)
    flow += fmt::format("{}{}", i ? ", " : "",
                        i % 10 == 9 ? fmt::format("2001:db8:{:x}::/64", i) : fmt::format("10.0.0.{}/32", i));
  ExpectSameTree("a: [" + flow + "]\nb: [" + flow + "]   \nc: { d: [" + flow + "] }\n", 200);
  ExpectSameTree("a: [[" + flow + "], [" + flow + "]]\n");
  ExpectSameTree("a: \"[" + flow + "]\"\n");
  ExpectSameTree("a: 1 # [" + flow + "]\n");
  ExpectSameTree("a: [" + flow + ", 2001:db8::]\n");
  ExpectSameTree("- [" + flow + "]\n- [" + flow + ",]\n", 100);
}

TEST(PolicyLongLists, PlacesAfterAndInsideALongListAreExact) {
  // Lines 1-5 kListHead, 6 "sets:", 7 "  big:", 8-207 the list (an error
  // at line 58), 208-210 a rule with an error.
  std::string list = LongList(200);
  list.replace(list.find("10.0.0.50/32"), 12, "10.0.0.350/3");
  auto r = Load(kListHead + "sets:\n  big:\n" + list +
                "containers:\n  allow:\n    - { ports: [nope], from: big }\n");
  EXPECT_ERROR(r, "p.yaml:58:7: bad address or CIDR '10.0.0.350/3'");
  EXPECT_ERROR(r, "p.yaml:210:17: bad port 'nope': a number 1-65535 or a range like 8000-8100");
  EXPECT_EQ(r.errors.size(), 2u) << All(r);
  // YAML errors and a second document after a long list: yaml-cpp's own
  // message at the text's own line.
  auto y = Load(kListHead + "sets:\n  big:\n" + LongList(200) + "containers: [\n");
  ASSERT_EQ(y.errors.size(), 1u) << All(y);
  EXPECT_EQ(y.errors[0].where.line, 209) << All(y);
  EXPECT_EQ(Load(kListHead + "sets:\n  big:\n" + LongList(200) + "---\na: 1\n").errors[0].ToString(),
            "p.yaml:208:1: a second YAML document: a policy is one document");
}

TEST(PolicyLongLists, SameResultAsShortLists) {
  // 200 entries read fast, and the same 200 in a flow list (yaml-cpp).
  std::string flow = "[";
  for (int i = 0; i < 200; ++i) flow += fmt::format("{}10.0.{}.{}/32", i ? ", " : "", i / 256, i % 256);
  flow += "]";
  std::string tail = "containers: { allow: [{ ports: [80], from: big }] }\n";
  auto fast = Load(kListHead + "sets:\n  big:\n" + LongList(200) + tail);
  auto slow = Load(kListHead + "sets:\n  big: " + flow + "\n" + tail);
  ASSERT_TRUE(fast.ok() && slow.ok()) << All(fast) << All(slow);
  EXPECT_EQ(fast.policy->sets, slow.policy->sets);
  EXPECT_EQ(fast.policy->sets[1].ipv4.size(), 200u);
}

TEST(PolicyWarnings, ShadowingOnSharedListsAndNodes) {
  // Many rules on one big set and on sets that cover each other: each pair
  // of lists is compared once, and the answers are the ones of before.
  std::string y = kListHead + "sets:\n  big:\n" + LongList(300) + "  part:\n" + LongList(100) +
                  "  more:\n" + LongList(100, "    ", 250) +
                  "containers:\n  allow:\n    - { ports: [1000-2000], from: big }\n";
  for (int p = 1000; p < 1100; ++p) y += fmt::format("    - {{ ports: [{}], from: part }}\n", p);
  y += "    - { ports: [1000], from: more }\n";        // 50 of its 100 are not in big
  y += "    - { ports: [3000], from: [part, more] }\n";
  y += "    - { ports: [3000], from: more, on: [manager-1, node-1] }\n";  // = every node
  auto r = Load(y);
  ASSERT_TRUE(r.ok()) << All(r);
  // Line 6 sets, 7 big, 8-307, 308 part, 309-408, 409 more, 410-509, 510
  // containers, 511 allow, 512 the first rule, 513-612 the part rules,
  // 613-615 the last three.
  EXPECT_EQ(r.warnings.size(), 101u) << All(r);
  EXPECT_WARNING(r, "p.yaml:513:7: warning: rule is shadowed by the allow rule at 512:7, which "
                    "matches everything it does: it never decides anything");
  EXPECT_WARNING(r, "p.yaml:615:7: warning: rule is shadowed by the allow rule at 614:7, which "
                    "matches everything it does: it never decides anything");
}

// ------------------------------------------- what apply can load (issue 12)

TEST(PolicySets, WholeFamilyIsKeptAsTwoHalves) {
  // ipset's hash:net refuses a /0: the set holds the /1 halves instead.
  auto r = Load(R"(version: 1
interfaces: { public: eth0 }
sets: { world: [0.0.0.0/0, "::/0", 10.0.0.0/8, 0.0.0.0/1] }
host: { allow: [{ ports: 22, from: world }] }
containers: {}
)");
  ASSERT_TRUE(r.ok()) << All(r);
  const AddressSet* world = r.policy->FindSet("world");
  ASSERT_NE(world, nullptr);
  EXPECT_EQ(Strings(world->ipv4), (Names{"0.0.0.0/1", "10.0.0.0/8", "128.0.0.0/1"}));
  EXPECT_EQ(Strings(world->ipv6), (Names{"::/1", "8000::/1"}));
  // Validating again changes nothing.
  auto again = Validate(*r.policy);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again.policy, r.policy);
}

TEST(PolicySets, MoreEntriesThanAnIpsetHolds) {
  // apply creates each set with maxelem 1048576: one entry more and ipset
  // says "Hash is full".
  std::string big;
  big.reserve((kMaxSetEntries + 1) * 14);
  for (size_t i = 0; i <= kMaxSetEntries; ++i)
    big += fmt::format("10.{}.{}.{}\n", (i >> 16) & 255, (i >> 8) & 255, i & 255);
  FileReader reader = [&](const std::string& path, std::string&) -> std::optional<std::string> {
    if (path == "dir/big.txt") return big;
    if (path == "dir/fits.txt") return big.substr(0, big.size() - 11);  // one line less
    return std::nullopt;
  };
  auto r = LoadPolicyTextWith(R"(version: 1
interfaces: { public: eth0 }
sets:
  fits: { file: fits.txt }
  big: { file: big.txt }
containers: { allow: [{ from: [big, fits] }] }
)",
                              "p.yaml", "dir", reader);
  EXPECT_ERROR(r,
               "p.yaml:5:3: set 'big' has 1048577 IPv4 entries (with dir/big.txt): the ipset it "
               "becomes holds at most 1048576 (split it into several sets, or merge addresses "
               "into wider CIDRs)");
  EXPECT_EQ(r.errors.size(), 1u) << All(r);
}

TEST(PolicyWarnings, SwarmFromReachingTheWorld) {
  const std::string head = kHead.substr(0, kHead.find("sets:"));
  auto r = Load(head + R"(sets: { world: [0.0.0.0/0, "::/0"] }
swarm: { from: [nodes, world] }
containers: {}
)");
  ASSERT_TRUE(r.ok()) << All(r);
  EXPECT_WARNING(r,
                 "p.yaml:7:24: swarm.from reaches every IPv4 address ('world' here): the Swarm's "
                 "ports (2377, 7946, 4789) are open to everyone");
  EXPECT_WARNING(r,
                 "p.yaml:7:24: swarm.from reaches every IPv6 address ('world' here): the Swarm's "
                 "ports (2377, 7946, 4789) are open to everyone");
  auto half = Load(head + "swarm: { from: [nodes, 10.0.0.0/8, 0.0.0.0/1] }\ncontainers: {}\n");
  EXPECT_WARNING(half,
                 "p.yaml:6:36: swarm.from reaches 50% of all IPv4 addresses ('0.0.0.0/1' here): "
                 "the Swarm's ports (2377, 7946, 4789) are open to a large part of the internet");
  // Private ranges, however wide, are a cluster's business.
  EXPECT_CLEAN(Load(head +
                    "swarm: { from: [10.0.0.0/8, 172.16.0.0/12, 192.168.0.0/16, \"fc00::/7\"] }\n"
                    "containers: {}\n"));
}

// ---------------------------------------------------- interfaces, addresses

TEST(PolicyErrors, InterfaceWildcardsMayNotMeetTheOtherClass) {
  auto r = Load("version: 1\ninterfaces: { public: [eth+, ens3], cluster: [eth1, ens+] }\n"
                "containers: {}\n");
  EXPECT_ERROR(r,
               "p.yaml:2:24: public 'eth+' matches cluster interface 'eth1' (at 2:47): an "
               "interface may not be both");
  EXPECT_ERROR(r,
               "p.yaml:2:53: cluster 'ens+' matches public interface 'ens3' (at 2:30): an "
               "interface may not be both");
  EXPECT_EQ(r.errors.size(), 2u) << All(r);
  EXPECT_ERROR(Load("version: 1\ninterfaces: { public: [e+], cluster: [eth+] }\n"),
               "p.yaml:2:24: public 'e+' matches cluster interface 'eth+' (at 2:39): an interface "
               "may not be both");
  EXPECT_CLEAN(Load("version: 1\ninterfaces: { public: [eth+], cluster: [ens11, et] }\n"
                    "containers: {}\n"));
  // A node's own public list meets the policy's cluster list.
  auto n = Load(R"(version: 1
interfaces: { public: eth0, cluster: ens11 }
nodes:
  - { name: a, role: manager, address: 10.0.0.1, interfaces: { public: [ens+] } }
containers: {}
)");
  EXPECT_ERROR(n,
               "p.yaml:4:73: public 'ens+' matches cluster interface 'ens11' (at 2:38): an "
               "interface may not be both");
  EXPECT_EQ(n.errors.size(), 1u) << All(n);
}

TEST(PolicyErrors, InterfacePlusAloneMatchesEverything) {
  auto r = Load("version: 1\ninterfaces: { public: [\"+\"] }\ncontainers: {}\n");
  EXPECT_ERROR(r,
               "p.yaml:2:24: '+' in interfaces.public matches every interface (loopback, Docker's "
               "bridges, the cluster network): name them, or a prefix like 'eth+'");
}

TEST(PolicyErrors, AddressesNoNodeHas) {
  auto r = Load(R"(version: 1
interfaces: { public: eth0 }
nodes:
  - { name: a, role: manager, address: [0.0.0.0, "::", 127.0.0.1, "::1"] }
  - { name: b, role: worker, address: [224.0.0.1, "ff02::1", 255.255.255.255] }
  - { name: c, role: worker, address: [192.0.2.1] }
  - { name: d, role: worker, address: ["::ffff:192.0.2.1"] }
containers: {}
)");
  EXPECT_ERROR(r, "p.yaml:4:41: '0.0.0.0' cannot be a node address: 0.0.0.0/8 is 'this network', "
                  "not a node's address");
  EXPECT_ERROR(r, "p.yaml:4:50: '::' cannot be a node address: the unspecified address");
  EXPECT_ERROR(r, "p.yaml:4:56: '127.0.0.1' cannot be a node address: a loopback address");
  EXPECT_ERROR(r, "p.yaml:4:67: '::1' cannot be a node address: a loopback address");
  EXPECT_ERROR(r, "p.yaml:5:40: '224.0.0.1' cannot be a node address: a multicast address");
  EXPECT_ERROR(r, "p.yaml:5:51: 'ff02::1' cannot be a node address: a multicast address");
  EXPECT_ERROR(r,
               "p.yaml:5:62: '255.255.255.255' cannot be a node address: the broadcast address");
  EXPECT_ERROR(r,
               "p.yaml:7:40: '::ffff:192.0.2.1' cannot be a node address: an IPv4-mapped IPv6 "
               "address; write the IPv4 address 192.0.2.1");
  EXPECT_EQ(r.errors.size(), 8u) << All(r);
}

// ------------------------------------------------------------ bytes, UTF-8

bool Utf8(const std::string& s) { return InvalidUtf8At(s) == std::string::npos; }

TEST(PolicyErrors, BytesThatAreNotUtf8) {
  // Names become ipset, chain and interface names: ASCII only. Comments are
  // free text, but text: UTF-8. Messages show such bytes as \xNN.
  auto r = Load("version: 1\n"
                "interfaces: { public: [\"eth\xe9\"] }\n"
                "sets: { \"caf\xe9\": [10.0.0.1] }\n"
                "nodes:\n"
                "  - { name: \"n\xe9\", role: manager, address: 10.0.0.1, labels: \"l\xe9\" }\n"
                "  - { name: m, role: worker, address: 10.0.0.2, comment: \"x\xe9\" }\n"
                "containers: { allow: [{ from: \"caf\xe9\", comment: \"c\xe9\" }] }\n");
  EXPECT_ERROR(r,
               "p.yaml:2:24: bad interface name 'eth\\xE9' (at most 15 letters, digits, '-', '_', "
               "'.', '@'; a trailing '+' matches every name it begins)");
  EXPECT_ERROR(r, "p.yaml:3:9: bad set name 'caf\\xE9' (a letter, then letters, digits, '-' or "
                  "'_'; at most 24)");
  EXPECT_ERROR(r, "p.yaml:5:13: bad node name 'n\\xE9' (letters, digits, '.', '-', '_')");
  EXPECT_ERROR(r, "p.yaml:5:61: bad label 'l\\xE9' (letters, digits, '-', '_', '.', '/', '=')");
  EXPECT_ERROR(r, "p.yaml:6:58: comment is not UTF-8 text (byte 0xE9 at offset 1)");
  EXPECT_ERROR(r, "p.yaml:7:31: bad from entry 'caf\\xE9': any, nodes, a set name, an address "
                  "or a CIDR");
  EXPECT_ERROR(r, "p.yaml:7:48: comment is not UTF-8 text (byte 0xE9 at offset 1)");
  EXPECT_EQ(r.errors.size(), 7u) << All(r);
  for (const auto& d : r.errors) EXPECT_TRUE(Utf8(d.message)) << d.message;
  // UTF-8 comments are fine; a NUL is not.
  auto c = Load(kHead + "comment: \"caf\xc3\xa9\"\nhost: { allow: [{ ports: 22, comment: \"a\\0b\" }] }\n");
  EXPECT_ERROR(c, "p.yaml:9:39: comment holds a NUL character");
  EXPECT_EQ(c.errors.size(), 1u) << All(c);
}

TEST(PolicyUtf8, InvalidBytesAreFoundAndEscaped) {
  EXPECT_EQ(InvalidUtf8At("plain caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x8b"), std::string::npos);
  EXPECT_EQ(InvalidUtf8At("ab\xe9"), 2u);
  EXPECT_EQ(InvalidUtf8At("\xc0\xaf"), 0u);          // overlong '/'
  EXPECT_EQ(InvalidUtf8At("x\xed\xa0\x80"), 1u);     // a surrogate
  EXPECT_EQ(InvalidUtf8At("\xf4\x90\x80\x80"), 0u);  // past U+10FFFF
  EXPECT_EQ(InvalidUtf8At("\xe2\x82"), 0u);          // cut short
  EXPECT_EQ(EscapeInvalidUtf8("a\xe9" "b\xc3\xa9\xff"), "a\\xE9b\xc3\xa9\\xFF");
}

// ------------------------------------------------------------------ aliases

TEST(PolicyYaml, AliasesMayNotStandForHugeLists) {
  // One rule of 1,900 addresses aliased 2,000 times: 40 KB standing for
  // 3.8 million addresses. Refused at the alias that passes the cap, while
  // parsing (nothing is expanded).
  std::string addresses;
  for (int i = 0; i < 1900; ++i)
    addresses += fmt::format("{}10.0.{}.{}", i ? ", " : "", i / 256, i % 256);
  std::string yaml = "version: 1\ninterfaces: { public: eth0 }\ncontainers:\n  allow:\n"
                     "    - &a { ports: 443, from: [" + addresses + "] }\n";
  for (int i = 0; i < 2000; ++i) yaml += "    - *a\n";
  ASSERT_LT(yaml.size(), 50'000u);
  // The rule is 1,905 nodes (mapping, 2 keys, 443, the list, 1,900
  // addresses): the 53rd alias (line 5 + 53) takes them past 100,000.
  auto r = Load(yaml);
  EXPECT_ERROR(r,
               "p.yaml:58:7: YAML: aliases stand for more than 100,000 nodes beyond those written "
               "(alias *a adds 1,905): put a long address list in a set and name the set where "
               "it is needed");
  EXPECT_EQ(r.errors.size(), 1u) << All(r).substr(0, 2000);
  // The same through yaml-cpp's own scanner (addresses one a line).
  std::string lines = "version: 1\ninterfaces: { public: eth0 }\nsets:\n  s: &list\n";
  for (int i = 0; i < 1000; ++i) lines += fmt::format("    - 10.0.{}.{}\n", i / 256, i % 256);
  lines += "containers: { allow: [{ from: s }] }\nx: [";
  for (int i = 0; i < 101; ++i) lines += i ? ", *list" : "*list";
  lines += "]\n";
  auto l = Load(lines);
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.errors[0].where.line, 1006) << All(l).substr(0, 2000);
  EXPECT_EQ(l.errors[0].where.column, 4 + 7 * 99 + 1);  // the 100th alias: 99 * 1,001 + 1 nodes is < 100,000
  // Aliases inside what they name cannot be expanded at all.
  EXPECT_ERROR(Load("version: 1\ninterfaces: { public: eth0 }\nhost: &h { allow: [*h] }\n"),
               "p.yaml:3:20: YAML: alias *h is inside the node it names (a node cannot contain "
               "itself)");
}

// ---------------------------------------------------------------- services

TEST(PolicyServices, TableIsValidSortedAndDocumented) {
  std::ifstream in(kSource + "/docs/policy.md");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string doc = ss.str();
  ASSERT_FALSE(doc.empty());
  std::string_view previous;
  for (const auto& s : Services()) {
    EXPECT_LT(previous, s.name);
    previous = s.name;
    auto t = ServiceTraffic(s.name);
    ASSERT_TRUE(t.has_value()) << s.name;
    EXPECT_FALSE(t->Any());
    std::string row = "| `" + std::string(s.name) + "` | " + t->ToString() + " |";
    EXPECT_NE(doc.find(row), std::string::npos) << "docs/policy.md lacks the row " << row;
  }
  EXPECT_EQ(ServiceTraffic("ssh")->ToString(), "22/tcp");
  EXPECT_EQ(ServiceTraffic("docker-tls")->ToString(), "2376/tcp");
  EXPECT_FALSE(ServiceTraffic("nope"));
}

// `backend:` of the policy and of a node (which wins for its node); an
// unknown one is an error at its place.
TEST(PolicyLoad, Backend) {
  auto r = Load("version: 1\ninterfaces: { public: eth0 }\nbackend: nftables\nnodes:\n"
                "  - { name: a, role: worker, address: 10.0.0.1, backend: iptables }\n"
                "  - { name: b, role: worker, address: 10.0.0.2 }\n");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.policy->backend, Backend::kNftables);
  EXPECT_EQ(r.policy->BackendOf(r.policy->nodes[0]), Backend::kIptables);
  EXPECT_EQ(r.policy->BackendOf(r.policy->nodes[1]), Backend::kNftables);
  EXPECT_EQ(Load(kHead).policy->backend, Backend::kAuto);
  auto bad = Load(kHead + "backend: nftable\n");
  EXPECT_ERROR(bad, "p.yaml:8:10: unknown backend 'nftable' (auto, iptables or nftables); did you mean 'nftables'?");
}

// --------------------------------------------------- services, containers, labels

// kHead without its containers section. Lines 1-6.
std::string HeadWithout() { return kHead.substr(0, kHead.find("containers:")); }

TEST(PolicyWorkloads, ServiceContainerAndLabelAreParsed) {
  auto r = Load(HeadWithout() + R"(containers:
  default: drop
  allow:
    - { service: web, from: office }
    - { container: [api, db-1], label: com.example.expose=public }
    - { swarm_service: http, label: com.example.public }
    - { service: https }
)");
  ASSERT_TRUE(r.ok()) << All(r);
  const auto& rules = r.policy->containers.rules;
  ASSERT_EQ(rules.size(), 4u);
  ASSERT_EQ(rules[0].workloads.size(), 1u);
  EXPECT_EQ(rules[0].workloads[0].ToString(), "service web");
  EXPECT_EQ(rules[0].workloads[0].where.ToString(), "p.yaml:10:18");
  EXPECT_TRUE(rules[0].Unresolved());
  EXPECT_TRUE(rules[0].services.empty());
  ASSERT_EQ(rules[1].workloads.size(), 3u);
  EXPECT_EQ(rules[1].workloads[0].ToString(), "container api");
  EXPECT_EQ(rules[1].workloads[1].ToString(), "container db-1");
  EXPECT_EQ(rules[1].workloads[2].name, "com.example.expose");
  EXPECT_EQ(rules[1].workloads[2].value, std::optional<std::string>("public"));
  // A Swarm service named like a named service, and a label with any value.
  EXPECT_EQ(rules[2].workloads[0].ToString(), "service http");
  EXPECT_EQ(rules[2].workloads[1].ToString(), "label com.example.public");
  EXPECT_FALSE(rules[2].workloads[1].value.has_value());
  // A named service stays ports.
  EXPECT_TRUE(rules[3].workloads.empty());
  EXPECT_EQ(rules[3].traffic.ToString(), "443/tcp");
  EXPECT_TRUE(r.policy->HasWorkloadRules());
  EXPECT_EQ(rules[0].Describe(), "containers allow #1 (service web from office)");
  // No "allows everything from anywhere": it names what it exposes.
  for (const auto& w : r.warnings) EXPECT_EQ(w.message.find("everything"), std::string::npos) << w.ToString();
}

TEST(PolicyWorkloads, Errors) {
  auto r = Load(HeadWithout() + R"(containers:
  allow:
    - { container: api, ports: 80 }
    - { container: "-bad" }
    - { label: "=x" }
    - { service: [http, web] }
)");
  EXPECT_ERROR(r, "p.yaml:9:20: a rule that names a service, container or label exposes their published "
                  "ports: it cannot be combined with ports or proto; write two rules");
  EXPECT_ERROR(r, "p.yaml:10:20: bad container name '-bad': letters, digits, '_', '.' and '-', starting "
                  "with a letter or a digit");
  EXPECT_ERROR(r, "p.yaml:11:16: bad label '=x': write KEY or KEY=VALUE (label: com.example.expose=public)");
  EXPECT_ERROR(r, "p.yaml:12:19: 'http' is a named service (ports) and the rule also names a Swarm service, "
                  "container or label; write two rules");
  // Only containers rules name what they expose.
  auto host = Load(HeadWithout() + "host: { allow: [{ container: api }] }\n");
  EXPECT_FALSE(host.ok());
  auto egress = Load(HeadWithout() + "egress: { allow: [{ service: web }] }\n");
  EXPECT_ERROR(egress, "p.yaml:7:30: unknown service 'web'");
}

TEST(PolicyWorkloads, NearANamedServiceWarns) {
  auto r = Load(HeadWithout() + "containers: { allow: [{ service: htps }] }\n");
  ASSERT_TRUE(r.ok()) << All(r);
  EXPECT_WARNING(r, "p.yaml:7:34: 'htps' is not a named service: it selects the Swarm service htps; did you "
                    "mean 'https'?");
}

}  // namespace
}  // namespace swarmwall::policy
