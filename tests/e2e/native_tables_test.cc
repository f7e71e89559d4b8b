// Issue 14 in the seed-004 lab without swarmwall's rules: Docker's own
// firewall as it is, in every mode, read by the analyzer through every
// table at every hook. For each node:
//   (a) what `exposure --live` says the stranger and the office reach on
//       the node's public address equals nmap's full TCP scan from them
//       (for the ports something listens on or publishes);
//   (b) `explain --live` lists every published port of the node;
// then an administrator's own nftables table on node-1 drops one published
// port for the stranger, matched on the conntrack original destination
// (`ct status dnat ... ct original proto-dst P`, forward priority -10):
//   (c) the stranger's scan loses the port, the office's keeps it, and the
//       exposure says the same;
//   (d) `trace --live` of each one's connection agrees with a real connect.
// Docker 29.7.2 in nftables mode and in iptables mode by default (the
// admin's table sits beside iptables-nft's there); SWARMWALL_LAB_FULL_MATRIX=1
// adds 28.5 and 20.10.
#include <gtest/gtest.h>

#include <future>
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

class NativeTablesLab : public ::testing::TestWithParam<DockerVersion> {
 protected:
  static Cluster& Get(DockerVersion v) {
    static std::map<DockerVersion, Cluster> clusters;
    if (auto it = clusters.find(v); it != clusters.end()) return it->second;
    Cluster& c = clusters[v];
    try {
      lab::Seed004Options o;
      o.version = v;
      o.tag = lab::LabTag("nat", v);
      o.policy = std::string(SWARMWALL_SOURCE_DIR) + "/examples/swarm-cluster.yaml";
      c.lab = std::make_unique<Seed004>(o);
    } catch (const std::exception& e) {
      c.error = e.what();
    }
    return c;
  }

  Seed004& L() { return *Get(GetParam()).lab; }

  void SetUp() override {
    std::string why;
    if (!lab::LabSupported(&why)) GTEST_SKIP() << why;
    if (!lab::DockerAvailable(GetParam())) GTEST_SKIP() << lab::DockerUnavailableReason(GetParam());
    ASSERT_TRUE(Get(GetParam()).error.empty()) << Get(GetParam()).error;
  }

  // The TCP ports `exposure --live` says FROM reaches on NODE's public address.
  std::set<int> Exposed(ClusterNode& n, const std::string& from) {
    auto ex = L().Swarmwall(n, SWARMWALL_BINARY,
                            {"--output", "json", "exposure", "--live", "--in", "eth0", "--from", from + "/32"});
    EXPECT_TRUE(ex.exit_code == 0 || ex.exit_code == 2) << ex.out << ex.err;
    nlohmann::json e = nlohmann::json::parse(ex.out, nullptr, false);
    if (e.is_discarded()) return {};
    return lab::ExposedTcpPorts(e, n.public_addr);
  }

  Ports Expected(ClusterNode& n, const std::set<int>& reached) {
    Ports out;
    for (int p : L().ExposedPorts(n))
      if (reached.count(p)) out.push_back(p);
    return out;
  }
};

TEST_P(NativeTablesLab, ExposureExplainAndTraceAgreeWithTheNetwork) {
  Seed004& lab = L();
  std::vector<Outsider*> outsiders = {&lab.stranger(), &lab.office()};
  std::map<std::pair<std::string, std::string>, std::future<Ports>> scans;
  for (Outsider* o : outsiders)
    for (auto& n : lab.nodes())
      scans[{o->name, n.name}] = std::async(std::launch::async, [o, &n] { return o->host->ScanTcp(n.public_addr); });

  for (auto& n : lab.nodes()) {
    SCOPED_TRACE(n.name);
    // (a)
    for (Outsider* o : outsiders) {
      Ports seen = scans[{o->name, n.name}].get();
      EXPECT_EQ(seen, Expected(n, Exposed(n, o->addr)))
          << o->name << " -> " << n.name << ": nmap " << fmt::format("{}", fmt::join(seen, ","));
    }
    // (b)
    auto ex = lab.Swarmwall(n, SWARMWALL_BINARY, {"--output", "json", "explain", "--live"});
    ASSERT_EQ(ex.exit_code, 0) << ex.err;
    nlohmann::json j = nlohmann::json::parse(ex.out, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << ex.out;
    if (lab::DockerUsesNftables(GetParam())) {
      EXPECT_EQ(j["layout"], "29 nftables (ip/ip6 docker-bridges)");
      EXPECT_FALSE(j["docker_nft_tables"].empty());
    }
    EXPECT_TRUE(j["swarm"].get<bool>()) << ex.out;
    std::set<int> listed;
    for (const auto& p : j["ports"])
      if (p["family"] == 4 && p["protocol"] == "tcp") listed.insert(std::atoi(p["host_ports"].get<std::string>().c_str()));
    for (int p : n.published) EXPECT_TRUE(listed.count(p)) << "explain does not list " << p << ":\n" << ex.out;
  }

  // (c) an administrator's own table drops node-1's first published port for the stranger
  ClusterNode& w = lab.node("node-1");
  ASSERT_FALSE(w.published.empty());
  int port = w.published.front();
  std::string table = fmt::format(
      "table inet admin {{\n"
      "  chain adminfwd {{\n"
      "    type filter hook forward priority filter - 10; policy accept;\n"
      "    ct status dnat meta l4proto tcp ct original proto-dst {} ip saddr {} drop\n"
      "  }}\n"
      "}}\n",
      port, lab.stranger().addr);
  auto load = w.host->Exec({"nft", "-f", "-"}, {.input = table});
  ASSERT_TRUE(load.ok()) << load.err;
  auto stranger_scan = std::async(std::launch::async, [&] { return lab.stranger().host->ScanTcp(w.public_addr); });
  auto office_scan = std::async(std::launch::async, [&] { return lab.office().host->ScanTcp(w.public_addr); });
  Ports stranger_seen = stranger_scan.get(), office_seen = office_scan.get();
  EXPECT_EQ(std::count(stranger_seen.begin(), stranger_seen.end(), port), 0) << "the admin's drop";
  EXPECT_EQ(std::count(office_seen.begin(), office_seen.end(), port), 1);
  EXPECT_EQ(stranger_seen, Expected(w, Exposed(w, lab.stranger().addr)));
  EXPECT_EQ(office_seen, Expected(w, Exposed(w, lab.office().addr)));

  // (d) trace agrees with real connections
  for (Outsider* o : outsiders) {
    auto t = lab.Swarmwall(w, SWARMWALL_BINARY,
                           {"trace", "--live", "--in", "eth0", "--src", o->addr, "--dst", w.public_addr, "--dport",
                            std::to_string(port)});
    bool connects = o->host->CanConnect(w.public_addr, port);
    EXPECT_EQ(t.exit_code == 0, connects) << o->name << ":\n" << t.out << t.err;
    EXPECT_EQ(connects, o == &lab.office()) << o->name;
    if (o == &lab.stranger()) {
      EXPECT_NE(t.out.find("inet admin adminfwd rule 1"), std::string::npos) << t.out;
    }
  }
  w.host->Exec({"nft", "delete", "table", "inet", "admin"});
}

INSTANTIATE_TEST_SUITE_P(Docker, NativeTablesLab, lab::NewestDockers(lab::Suite::kAnalyzes), lab::DockerParamName);

}  // namespace
}  // namespace swarmwall
