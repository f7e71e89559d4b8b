// swarmwall explain --live against real dockerd nodes in namespaces, for both
// Docker versions that run here. Each version's node is brought up once for
// the suite: a Swarm manager with published containers.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "lab/docker_params.h"
#include "lab/lab.h"

namespace swarmwall {
namespace {

using lab::DockerVersion;

struct Node {
  std::unique_ptr<lab::Lab> lab;
  lab::DockerNode* docker = nullptr;
  std::string web_ip, db_ip;
  std::string setup_error;
};

class ExplainLive : public ::testing::TestWithParam<DockerVersion> {
 protected:
  static Node& Get(DockerVersion v) {
    static std::map<DockerVersion, Node> nodes;
    auto it = nodes.find(v);
    if (it != nodes.end()) return it->second;
    Node& n = nodes[v];
    try {
      n.lab = std::make_unique<lab::Lab>(lab::LabTag("ex", v));
      auto& pub = n.lab->AddSwitch("pub");
      auto& host = n.lab->AddHost("m1");
      n.lab->Connect(host, pub, "eth0", {"203.0.113.11/24"});
      n.docker = &n.lab->StartDocker(host, v);
      n.docker->EnsureBusyboxImage();
      auto init = n.docker->Docker({"swarm", "init", "--advertise-addr", "203.0.113.11"});
      if (!init.ok()) throw std::runtime_error("swarm init: " + init.err);
      n.docker->RunWebContainer("web", {"8080:80"});
      n.docker->RunWebContainer("db", {"127.0.0.1:5432:80"});
      n.web_ip = n.docker->ContainerIp("web");
      n.db_ip = n.docker->ContainerIp("db");
    } catch (const std::exception& e) {
      n.setup_error = e.what();
    }
    return n;
  }

  static void TearDownTestSuite() {}

  nlohmann::json Explain(Node& n) {
    auto r = n.docker->host().Exec(
        {"env", "DOCKER_HOST=unix://" + n.docker->Socket(), SWARMWALL_BINARY, "explain",
         "--live", "--output", "json"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << r.out;
    return j;
  }
};

TEST_P(ExplainLive, ShowsLayoutPortsAndVersion) {
  std::string why;
  if (!lab::LabSupported(&why)) GTEST_SKIP() << why;
  if (!lab::DockerAvailable(GetParam())) GTEST_SKIP() << lab::DockerUnavailableReason(GetParam());
  Node& n = Get(GetParam());
  ASSERT_TRUE(n.setup_error.empty()) << n.setup_error;
  auto j = Explain(n);
  const DockerVersion v = GetParam();
  EXPECT_EQ(j["docker_version"].get<std::string>().substr(0, 4), v == DockerVersion::k20_10  ? "20.1"
                                                                 : v == DockerVersion::k28_5 ? "28.5"
                                                                                             : "29.7");
  // Docker 29's nftables mode has no iptables chains; what explain says of
  // its nftables tables comes with issue 14.
  if (lab::DockerUsesNftables(v)) return;
  EXPECT_EQ(j["layout"], v == DockerVersion::k20_10 ? "20.10-27" : v == DockerVersion::k28_5 ? "28.1-28.5" : "29");
  EXPECT_TRUE(j["swarm"].get<bool>());
  EXPECT_TRUE(j["docker_user_hooked"].get<bool>());
  EXPECT_NE(j["variant"].get<std::string>().find("nft"), std::string::npos) << j["variant"];
  bool web = false, db = false;
  for (const auto& p : j["ports"]) {
    if (p["host_ports"] == "8080" && p["family"] == 4) {
      web = true;
      EXPECT_EQ(p["container"], n.web_ip + ":80");
      EXPECT_FALSE(p["loopback_only"].get<bool>());
      EXPECT_EQ(p["protocol"], "tcp");
    }
    if (p["host_ports"] == "5432" && p["family"] == 4) {
      db = true;
      EXPECT_EQ(p["container"], n.db_ip + ":80");
      EXPECT_TRUE(p["loopback_only"].get<bool>());
    }
  }
  EXPECT_TRUE(web) << j.dump(2);
  EXPECT_TRUE(db) << j.dump(2);
  bool gwbridge = false;
  for (const auto& b : j["bridges"]) gwbridge |= b["name"] == "docker_gwbridge";
  EXPECT_TRUE(gwbridge);
}

TEST_P(ExplainLive, TextNamesThePublishedPort) {
  std::string why;
  if (!lab::LabSupported(&why)) GTEST_SKIP() << why;
  if (!lab::DockerAvailable(GetParam())) GTEST_SKIP() << lab::DockerUnavailableReason(GetParam());
  Node& n = Get(GetParam());
  ASSERT_TRUE(n.setup_error.empty()) << n.setup_error;
  auto r = n.docker->host().Exec(
      {"env", "DOCKER_HOST=unix://" + n.docker->Socket(), SWARMWALL_BINARY, "explain", "--live"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  if (lab::DockerUsesNftables(GetParam())) GTEST_SKIP() << "published ports in Docker's nftables tables: issue 14";
  EXPECT_NE(r.out.find("*:8080/tcp -> " + n.web_ip + ":80"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("127.0.0.1:5432/tcp -> " + n.db_ip + ":80  loopback only"),
            std::string::npos) << r.out;
}

TEST_P(ExplainLive, RulesetRoundTripsThroughNormalize) {
  std::string why;
  if (!lab::LabSupported(&why)) GTEST_SKIP() << why;
  if (!lab::DockerAvailable(GetParam())) GTEST_SKIP() << lab::DockerUnavailableReason(GetParam());
  Node& n = Get(GetParam());
  ASSERT_TRUE(n.setup_error.empty()) << n.setup_error;
  for (std::string tool : {"iptables-save", "ip6tables-save"}) {
    auto saved = n.docker->host().Exec({tool});
    ASSERT_TRUE(saved.ok()) << saved.err;
    std::string family = tool[2] == '6' ? "6" : "4";
    auto norm = n.docker->host().Exec({SWARMWALL_BINARY, "normalize", "--family", family, "-"},
                                      {.input = saved.out});
    ASSERT_EQ(norm.exit_code, 0) << norm.err;
    std::string expected;
    std::istringstream in(saved.out);
    for (std::string line; std::getline(in, line);)
      if (!line.starts_with("#")) expected += line + "\n";
    EXPECT_EQ(norm.out, expected) << tool;
  }
}

INSTANTIATE_TEST_SUITE_P(Docker, ExplainLive, lab::CoreDockers(lab::Suite::kAnalyzes), lab::DockerParamName);

}  // namespace
}  // namespace swarmwall

// Labs are static: remove them before the process exits.
int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  return rc;
}
