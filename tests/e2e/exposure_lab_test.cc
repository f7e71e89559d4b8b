// Issue 5 in the seed-004 lab (tests/lab/seed004.h: three Swarm nodes with
// real dockerds, a stranger and an office outside), for Docker 20.10 and
// 28.5, after `swarmwall apply` of examples/swarm-cluster.yaml on every
// node. The cluster comes up once per Docker version, and one test per
// version judges, for every node:
//   (a) what the exposure engine (exposure.h) computes from the node's live
//       ruleset that the stranger's and the office's addresses reach on
//       its public address (`exposure --live --from`, and `audit --live
//       --from`) equals what nmap finds open from the stranger and the
//       office (full TCP scans), for the ports something listens on or
//       publishes (Seed004::ExposedPorts);
//   (b) `audit --live --policy --node N` finds no difference between the
//       ruleset and the policy;
//   (c) `verify` run in the stranger's and the office's namespaces exits 0.
#include <gtest/gtest.h>

#include <future>
#include <iostream>
#include <map>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <nlohmann/json.hpp>

#include "lab/docker_params.h"
#include "lab/exposure_json.h"
#include "lab/lab.h"
#include "lab/seed004.h"

namespace swarmwall {
namespace {

using lab::ClusterNode;
using lab::DockerVersion;
using lab::Outsider;
using lab::Seed004;
using Ports = std::vector<int>;

struct Cluster {
  std::unique_ptr<Seed004> lab;
  std::string error;
};

class ExposureLabTest : public ::testing::TestWithParam<DockerVersion> {
 protected:
  static Cluster& Get(DockerVersion v) {
    static std::map<DockerVersion, Cluster> clusters;
    if (auto it = clusters.find(v); it != clusters.end()) return it->second;
    Cluster& c = clusters[v];
    const auto start = std::chrono::steady_clock::now();
    try {
      lab::Seed004Options o;
      o.version = v;
      o.tag = lab::LabTag("aud", v);
      o.policy = std::string(SWARMWALL_SOURCE_DIR) + "/examples/swarm-cluster.yaml";
      c.lab = std::make_unique<Seed004>(o);
      for (auto& n : c.lab->nodes()) {
        auto r = c.lab->Swarmwall(n, SWARMWALL_BINARY, {"apply", c.lab->policy(), "--node", n.name});
        if (r.exit_code != 0) throw std::runtime_error("apply on " + n.name + ": " + r.out + r.err);
      }
    } catch (const std::exception& e) {
      c.error = e.what();
    }
    std::cout << fmt::format("[   LAB    ] seed-004 cluster, Docker {}: up and applied in {} ms\n",
                             lab::DockerVersionName(v),
                             std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::steady_clock::now() - start).count());
    return c;
  }

  Seed004& L() { return *Get(GetParam()).lab; }

  void SetUp() override {
    std::string why;
    if (!lab::LabSupported(&why)) GTEST_SKIP() << why;
    if (!lab::DockerAvailable(GetParam())) GTEST_SKIP() << lab::DockerUnavailableReason(GetParam());
    ASSERT_TRUE(Get(GetParam()).error.empty()) << Get(GetParam()).error;
  }
};

TEST_P(ExposureLabTest, AnalyzerNmapPolicyAndVerifyAgree) {
  Seed004& lab = L();
  std::vector<Outsider*> outsiders = {&lab.stranger(), &lab.office()};

  // Everything from outside at once: full TCP scans for (a), and verify (c).
  std::map<std::pair<std::string, std::string>, std::future<Ports>> scans;
  std::map<std::pair<std::string, std::string>, std::future<ProcessResult>> verifies;
  for (Outsider* o : outsiders)
    for (auto& n : lab.nodes()) {
      scans[{o->name, n.name}] =
          std::async(std::launch::async, [o, &n] { return o->host->ScanTcp(n.public_addr); });
      verifies[{o->name, n.name}] = std::async(std::launch::async, [o, &n, &lab] {
        return o->host->Exec({SWARMWALL_BINARY, "verify", lab.policy(), "--node", n.name, "--target",
                              n.public_addr, "--from-label", o->name},
                             {.timeout = std::chrono::minutes(5)});
      });
    }

  // A negative control for verify: the stranger claiming an admin's address
  // (admins.txt) expects ssh open on the manager; nmap finds it filtered.
  auto pretend = std::async(std::launch::async, [&lab] {
    return lab.stranger().host->Exec({SWARMWALL_BINARY, "verify", lab.policy(), "--node", "manager-1", "--target",
                                      lab.manager().public_addr, "--source", "203.0.113.70", "--no-udp"},
                                     {.timeout = std::chrono::minutes(5)});
  });

  for (auto& n : lab.nodes()) {
    SCOPED_TRACE(n.name);
    // (a) and (b): one audit of the live ruleset.
    std::vector<std::string> args = {"--output", "json", "audit", "--live", "--policy", lab.policy(),
                                     "--node", n.name};
    for (Outsider* o : outsiders) {
      args.push_back("--from");
      args.push_back(o->addr);
    }
    auto r = lab.Swarmwall(n, SWARMWALL_BINARY, args);
    ASSERT_TRUE(r.exit_code == 0 || r.exit_code == 2) << r.out << r.err;
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(r.out)) << r.out;
    // (b)
    EXPECT_EQ(r.exit_code, 0) << r.out;
    EXPECT_TRUE(j["policy"]["differences"].empty()) << j["policy"].dump(2);
    EXPECT_GT(j["policy"]["packets_traced"].get<int>(), 100);
    // (a): reached TCP ports on eth0, per outsider, against what listens or is published.
    auto exposed = lab.ExposedPorts(n);
    for (Outsider* o : outsiders) {
      std::set<int> reached;
      for (const auto& row : j["reach"]) {
        if (row["in"] != "eth0" || row["proto"] != "tcp") continue;
        std::string sources = row["sources"];
        if (sources.find(o->addr + "/32") == std::string::npos) continue;
        std::string to = row["to"];
        if (to.find(n.public_addr + "/32") == std::string::npos) continue;   // to the scanned address
        for (int p : lab::ExpandPorts(row["ports"])) reached.insert(p);
      }
      Ports expected;
      for (int p : exposed)
        if (reached.count(p)) expected.push_back(p);
      // The same from `swarmwall exposure --live` (the exposure command itself).
      auto ex = lab.Swarmwall(n, SWARMWALL_BINARY,
                              {"--output", "json", "exposure", "--live", "--in", "eth0", "--from", o->addr + "/32"});
      ASSERT_TRUE(ex.exit_code == 0 || ex.exit_code == 2) << ex.out << ex.err;
      nlohmann::json e;
      ASSERT_NO_THROW(e = nlohmann::json::parse(ex.out)) << ex.out;
      std::set<int> by_exposure = lab::ExposedTcpPorts(e, n.public_addr);
      Ports expected_by_exposure;
      for (int p : exposed)
        if (by_exposure.count(p)) expected_by_exposure.push_back(p);
      Ports seen = scans[{o->name, n.name}].get();
      EXPECT_EQ(seen, expected_by_exposure) << o->name << " -> " << n.name << ": swarmwall exposure --live\n" << ex.out;
      EXPECT_EQ(seen, expected) << o->name << " -> " << n.name << " (" << n.public_addr << "): nmap "
                                << fmt::format("{}", fmt::join(seen, ",")) << ", analyzer "
                                << fmt::format("{}", fmt::join(expected, ",")) << "\n"
                                << j["reach"].dump(1);
    }
  }
  // (c)
  for (auto& [key, f] : verifies) {
    ProcessResult v = f.get();
    EXPECT_EQ(v.exit_code, 0) << key.first << " -> " << key.second << ":\n" << v.out << v.err;
    std::cout << "[  VERIFY  ] " << v.out;
  }
  ProcessResult p = pretend.get();
  EXPECT_EQ(p.exit_code, 2) << p.out << p.err;
  EXPECT_NE(p.out.find("22/tcp: nmap says filtered, the policy says reached"), std::string::npos) << p.out;

  // A negative control for audit --policy: a rule that opens 9100 on a
  // worker's public interface is a difference, with 9100 and the rule.
  ClusterNode& w = lab.node("node-1");
  auto saved = lab.Swarmwall(w, SWARMWALL_BINARY, {"--output", "json", "audit", "--live", "--policy", lab.policy(),
                                                    "--node", w.name});
  ASSERT_EQ(saved.exit_code, 0) << saved.out << saved.err;
  const std::string ipt = "iptables";   // the variant Docker uses in the lab (nft on both)
  ASSERT_TRUE(w.host->Exec({ipt, "-I", "INPUT", "1", "-i", "eth0", "-p", "tcp", "--dport", "9100", "-j", "ACCEPT"}).ok());
  auto bad = lab.Swarmwall(w, SWARMWALL_BINARY, {"audit", "--live", "--policy", lab.policy(), "--node", w.name});
  w.host->Exec({ipt, "-D", "INPUT", "-i", "eth0", "-p", "tcp", "--dport", "9100", "-j", "ACCEPT"});
  if (GetParam() == DockerVersion::k29_7_nft) {
    // The nftables backend: swarmwall's own table (priority -10) drops
    // 9100 before iptables' INPUT runs, and an accept there cannot undo a
    // drop in another table: still no difference.
    EXPECT_EQ(bad.exit_code, 0) << bad.out << bad.err;
    EXPECT_FALSE(lab.stranger().host->CanConnect(w.public_addr, 9100, std::chrono::milliseconds(300)));
    // The same accept inside swarmwall's table is one.
    ASSERT_TRUE(w.host->Exec({"nft", "insert", "rule", "ip", "swarmwall", "SWARMWALL-INPUT", "iifname", "eth0", "tcp",
                              "dport", "9100", "accept"}).ok());
    bad = lab.Swarmwall(w, SWARMWALL_BINARY, {"audit", "--live", "--policy", lab.policy(), "--node", w.name});
    auto repaired = lab.Swarmwall(w, SWARMWALL_BINARY, {"apply", lab.policy(), "--node", w.name});
    EXPECT_EQ(repaired.exit_code, 0) << repaired.out << repaired.err;
    EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;
    EXPECT_NE(bad.out.find("host 9100/tcp from"), std::string::npos) << bad.out;
    // Issue 15 item 2: a port the policy allows (ssh from admins) that
    // another owner drops (a distro's REJECT in iptables' INPUT): swarmwall's
    // accept cannot override it, and plan, apply and doctor say so, with
    // the fix.
    std::vector<std::string> reject = {"-i", "eth0", "-p", "tcp", "--dport", "22", "-j", "REJECT"};
    auto with = [&](const char* op, std::vector<std::string> rule) {
      rule.insert(rule.begin(), {ipt, op, "INPUT"});
      return rule;
    };
    ASSERT_TRUE(w.host->Exec(with("-I", reject)).ok());
    // --exposure too: the nftables backend's tables after the commit read
    // back by the analyzer (it failed on their missing handles).
    auto plan = lab.Swarmwall(w, SWARMWALL_BINARY, {"plan", lab.policy(), "--node", w.name, "--exposure"});
    auto doctor = lab.Swarmwall(w, SWARMWALL_BINARY, {"doctor"});
    // An apply that changes something (a chain flushed by hand) reports them too.
    ASSERT_TRUE(w.host->Exec({"nft", "flush", "chain", "ip", "swarmwall", "SWARMWALL-INPUT"}).ok());
    auto applied = lab.Swarmwall(w, SWARMWALL_BINARY, {"--output", "json", "apply", lab.policy(), "--node", w.name});
    w.host->Exec(with("-D", reject));
    auto plan_after = lab.Swarmwall(w, SWARMWALL_BINARY, {"plan", lab.policy(), "--node", w.name});
    EXPECT_EQ(plan.exit_code, 2) << plan.out << plan.err;
    EXPECT_NE(plan.out.find("dropped by another owner's rule"), std::string::npos) << plan.out;
    EXPECT_NE(plan.out.find("host 22/tcp from"), std::string::npos) << plan.out;
    EXPECT_NE(plan.out.find("filter INPUT rule 1 drops it"), std::string::npos) << plan.out;
    EXPECT_NE(plan.out.find("allow 22/tcp there too"), std::string::npos) << plan.out;
    EXPECT_NE(plan.out.find("exposure: unchanged"), std::string::npos) << plan.out << plan.err;
    EXPECT_EQ(doctor.exit_code, 2) << doctor.out << doctor.err;
    EXPECT_NE(doctor.out.find("allowed-but-dropped-by-other-owner"), std::string::npos) << doctor.out;
    EXPECT_EQ(applied.exit_code, 0) << applied.out << applied.err;
    auto aj = nlohmann::json::parse(applied.out, nullptr, false);
    ASSERT_TRUE(aj.is_object()) << applied.out;
    ASSERT_TRUE(aj.contains("dropped_by_other_owners")) << applied.out;
    ASSERT_EQ(aj["dropped_by_other_owners"].size(), 1u) << applied.out;
    EXPECT_NE(aj["dropped_by_other_owners"][0]["what"].get<std::string>().find("host 22/tcp"), std::string::npos)
        << applied.out;
    // The other owner's rule gone: nothing to report, nothing pending.
    EXPECT_EQ(plan_after.exit_code, 0) << plan_after.out << plan_after.err;
    EXPECT_EQ(plan_after.out.find("dropped by another owner"), std::string::npos) << plan_after.out;
    return;
  }
  EXPECT_EQ(bad.exit_code, 2) << bad.out << bad.err;
  EXPECT_NE(bad.out.find("host 9100/tcp from"), std::string::npos) << bad.out;
  EXPECT_NE(bad.out.find("-A INPUT -i eth0 -p tcp -m tcp --dport 9100 -j ACCEPT"), std::string::npos) << bad.out;
}

INSTANTIATE_TEST_SUITE_P(Docker, ExposureLabTest, lab::NewestDockers(lab::Suite::kApplies), lab::DockerParamName);

}  // namespace
}  // namespace swarmwall
