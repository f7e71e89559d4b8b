// A namespace holding a real Docker 20.10 Swarm node's rules (the m1
// fixture of shared/fixtures, eth0 192.0.2.1/24, ens11 10.10.10.1/24) and a
// state dir of its own, for the adversarial suite: swarmwall run against
// real netfilter without a dockerd. Policies name node m1 at 10.10.10.1.
#pragma once

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "lab/lab.h"

namespace swarmwall::adversarial {

// The swarmwall under test: SWARMWALL_TEST_BINARY (to run the suite against
// another build, e.g. to see a test fail before its fix), else this build's.
inline std::string Binary() {
  if (const char* env = getenv("SWARMWALL_TEST_BINARY")) return env;
  return SWARMWALL_BINARY;
}

inline std::string SharedDir() {
  if (const char* env = getenv("SWARMWALL_SHARED")) return env;
  return SWARMWALL_SHARED;
}

// The policy of examples/swarm-cluster.yaml reduced to one node (m1) and
// without address files.
inline const char* kPolicy = R"(version: 1
interfaces: { public: [eth0], cluster: [ens11] }
sets:
  office: [198.51.100.0/24, 2001:db8:100::/48]
  admins: [203.0.113.7/32]
nodes:
  - { name: m1, role: manager, address: 10.10.10.1, labels: [ingress] }
  - { name: w1, role: worker, address: 10.10.10.2 }
host:
  allow:
    - { service: ssh, from: admins }
    - { ports: [80, 443], proto: tcp, on: [label:ingress] }
swarm: { from: nodes }
containers:
  default: drop
  allow:
    - { ports: [8080], from: office }
)";

class FixtureNode {
 public:
  // TAG: the lab's tag (lowercase letters, unique per test binary).
  explicit FixtureNode(const std::string& tag) : lab_(std::make_unique<lab::Lab>(tag)) {
    host_ = &lab_->AddHost("m1");
    auto& pub = lab_->AddSwitch("pub");
    auto& cl = lab_->AddSwitch("cl");
    lab_->Connect(*host_, pub, "eth0", {"192.0.2.1/24", "2001:db8:1::1/64"});
    lab_->Connect(*host_, cl, "ens11", {"10.10.10.1/24"});
    dir_ = lab_->RunDir() + "/work";
    std::filesystem::create_directories(dir_);
    for (auto [file, tool] : {std::pair{"m1.iptables-save", "iptables-restore"},
                              std::pair{"m1.ip6tables-save", "ip6tables-restore"}}) {
      std::ifstream in(SharedDir() + "/fixtures/docker-20.10-swarm/" + file);
      if (!in)
        throw std::runtime_error("no fixture " + SharedDir() + "/fixtures/docker-20.10-swarm/" + file +
                                 " (set SWARMWALL_SHARED to shared/)");
      std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      if (text.empty()) continue;   // 20.10 made no IPv6 rules
      auto r = host_->Exec({tool}, {.input = text, .timeout = std::chrono::seconds(30)});
      if (!r.ok()) throw std::runtime_error(std::string(tool) + ": " + r.err);
    }
    WriteFile("policy.yaml", kPolicy);
  }

  lab::Host& host() { return *host_; }
  // A folder of the test's own (removed with the lab).
  const std::string& dir() const { return dir_; }
  std::string StateDir() const { return dir_ + "/state"; }
  std::string Path(const std::string& name) const { return dir_ + "/" + name; }
  void WriteFile(const std::string& name, const std::string& text) const {
    std::ofstream(Path(name), std::ios::binary) << text;
  }

  // swarmwall ARGS in the namespace with --state-dir StateDir().
  ProcessResult Swarmwall(std::vector<std::string> args,
                          std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    std::vector<std::string> argv = {Binary(), "--state-dir", StateDir()};
    argv.insert(argv.end(), args.begin(), args.end());
    return host_->Exec(argv, {.timeout = timeout});
  }

  // Everything of the kernel's rulesets and ipsets in this namespace,
  // counters zeroed, for "exactly as before" comparisons.
  std::string KernelState() {
    auto r = host_->Sh("iptables-save | sed -e 's/\\[[0-9]*:[0-9]*\\]/[0:0]/' -e '/^#/d'; "
                       "ip6tables-save | sed -e 's/\\[[0-9]*:[0-9]*\\]/[0:0]/' -e '/^#/d'; ipset save");
    return r.out;
  }

 private:
  std::unique_ptr<lab::Lab> lab_;
  lab::Host* host_ = nullptr;
  std::string dir_;
};

}  // namespace swarmwall::adversarial
