// swarmwall plan / apply / status / remove on a real dockerd node (20.10,
// 28.5, 29.7 with iptables and, through the nftables backend that `auto`
// picks there, 29.7 in nftables mode): changes are made in one transaction, re-applying writes
// nothing, drift is found and repaired, Docker's own rules are identical
// before and after (counters aside), remove restores the earlier state, and
// a failing tool leaves the previous owned state exactly.
#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <thread>

#include "lab/docker_params.h"
#include "lab/lab.h"
#include "lab/rules_view.h"

namespace swarmwall {
namespace {

using lab::DockerVersion;

constexpr const char* kPolicy = R"(version: 1
interfaces: { public: [eth0] }
sets:
  office: [198.51.100.0/24, 2001:db8:100::/48]
nodes:
  - { name: node-a, role: manager, address: 203.0.113.21 }
host:
  allow:
    - { service: ssh, from: office }
swarm: { from: nodes }
containers:
  default: drop
  allow:
    - { ports: [8080], from: office }
)";

struct Node {
  std::unique_ptr<lab::Lab> lab;
  lab::Host* host = nullptr;
  lab::Host* admin = nullptr;   // an SSH client outside, not in the policy's office set
  lab::DockerNode* docker = nullptr;
  std::string dir, error;
};

class Apply : public ::testing::TestWithParam<DockerVersion> {
 protected:
  static Node& Get(DockerVersion v) {
    static std::map<DockerVersion, Node> nodes;
    if (auto it = nodes.find(v); it != nodes.end()) return it->second;
    Node& n = nodes[v];
    try {
      n.lab = std::make_unique<lab::Lab>(lab::LabTag("ap", v));
      auto& pub = n.lab->AddSwitch("pub");
      n.host = &n.lab->AddHost("a");
      n.lab->Connect(*n.host, pub, "eth0", {"203.0.113.21/24"});
      n.admin = &n.lab->AddHost("adm");
      n.lab->Connect(*n.admin, pub, "eth0", {"203.0.113.50/24"});
      n.docker = &n.lab->StartDocker(*n.host, v);
      n.docker->EnsureBusyboxImage();
      n.docker->RunWebContainer("web", {"8080:80"});
      n.dir = n.lab->RunDir();
      std::ofstream(n.dir + "/policy.yaml") << kPolicy;
    } catch (const std::exception& e) {
      n.error = e.what();
    }
    return n;
  }

  Node& N() { return Get(GetParam()); }

  ProcessResult Sw(const std::string& args, const std::string& env = "") {
    Node& n = N();
    return n.host->Sh(env + " SWARMWALL_STATE_DIR=" + n.dir + "/state " + SWARMWALL_BINARY + " " + args);
  }

  // Docker's (and everyone else's) rules; swarmwall's rules and sets.
  std::string Foreign() { return lab::ForeignRules(*N().host); }

  std::string Owned() { return lab::OwnedRules(*N().host); }

  // Docker 29 in nftables mode: `auto` applies through the nftables backend.
  bool Nft() const { return GetParam() == DockerVersion::k29_7_nft; }
  // How an owned rule matching the original destination port PORT reads.
  std::string OrigPort(const std::string& port) const {
    return (Nft() ? "ct original proto-dst " : "--ctorigdstport ") + port;
  }

  void SetUp() override {
    std::string why;
    if (!lab::LabSupported(&why)) GTEST_SKIP() << why;
    if (!lab::DockerAvailable(GetParam())) GTEST_SKIP() << lab::DockerUnavailableReason(GetParam());
    ASSERT_TRUE(N().error.empty()) << N().error;
  }
};

TEST_P(Apply, FullCycle) {
  Sw("remove");
  std::string docker_before = Foreign();
  auto plan = Sw("plan " + N().dir + "/policy.yaml");
  EXPECT_EQ(plan.exit_code, 2) << plan.out << plan.err;
  EXPECT_NE(plan.out.find(Nft() ? "+ table ip swarmwall (missing)" : "+ hook -I INPUT 1 -j SWARMWALL-INPUT"),
            std::string::npos) << plan.out;

  auto applied = Sw("apply " + N().dir + "/policy.yaml");
  ASSERT_EQ(applied.exit_code, 0) << applied.out << applied.err;
  EXPECT_NE(applied.out.find("applied"), std::string::npos) << applied.out;
  EXPECT_EQ(Foreign(), docker_before) << "apply changed rules it does not own";
  std::string owned = Owned();
  if (Nft()) {
    // Base chains of its own before Docker's (priority 0), nothing in
    // iptables, no DOCKER-USER made.
    EXPECT_NE(owned.find("type filter hook input priority filter - 10; policy accept;\n\t\tjump SWARMWALL-INPUT"),
              std::string::npos) << owned;
    EXPECT_NE(owned.find("type filter hook forward priority filter - 10; policy accept;\n\t\tjump SWARMWALL-USER"),
              std::string::npos) << owned;
    EXPECT_EQ(N().host->Sh("iptables-save | grep -c SWARMWALL || true").out, "0\n");
  } else {
    EXPECT_NE(owned.find("-A INPUT -j SWARMWALL-INPUT"), std::string::npos) << owned;
    EXPECT_NE(owned.find("-A DOCKER-USER -j SWARMWALL-USER"), std::string::npos) << owned;
    auto first = N().host->Sh("iptables -S INPUT | sed -n 2p");
    EXPECT_EQ(first.out, "-A INPUT -j SWARMWALL-INPUT\n");
  }

  // Idempotent: nothing to plan, nothing written.
  EXPECT_EQ(Sw("plan " + N().dir + "/policy.yaml").exit_code, 0);
  auto again = Sw("apply " + N().dir + "/policy.yaml");
  EXPECT_NE(again.out.find("nothing written"), std::string::npos) << again.out;
  EXPECT_EQ(Owned(), owned);

  auto status = Sw("status");
  EXPECT_EQ(status.exit_code, 0) << status.out;
  EXPECT_NE(status.out.find("no findings"), std::string::npos) << status.out;

  // Drift: someone flushes our chain and adds a second jump.
  if (Nft())
    N().host->Sh("nft flush chain ip swarmwall SWARMWALL-INPUT; nft add rule ip swarmwall input jump SWARMWALL-INPUT");
  else
    N().host->Sh("iptables -F SWARMWALL-INPUT; iptables -A INPUT -j SWARMWALL-INPUT");
  auto drift = Sw("status");
  EXPECT_EQ(drift.exit_code, 2) << drift.out;
  EXPECT_NE(drift.out.find("drift"), std::string::npos) << drift.out;
  if (!Nft()) {
    EXPECT_NE(drift.out.find("2 of them"), std::string::npos) << drift.out;
  }
  ASSERT_EQ(Sw("apply " + N().dir + "/policy.yaml").exit_code, 0);
  EXPECT_EQ(Owned(), owned) << "repaired to exactly the applied state";
  EXPECT_EQ(Sw("status").exit_code, 0);

  // Remove: exactly the earlier state.
  auto removed = Sw("remove");
  EXPECT_EQ(removed.exit_code, 0) << removed.err;
  EXPECT_EQ(Owned(), "");
  EXPECT_EQ(Foreign(), docker_before);
}

TEST_P(Apply, StatusShowsDockerVersionAndLayout) {
  Sw("remove");
  ASSERT_EQ(Sw("apply " + N().dir + "/policy.yaml").exit_code, 0);
  std::string docker_host = "DOCKER_HOST=unix://" + N().docker->Socket();
  std::string version = N().docker->Version();
  ASSERT_FALSE(version.empty());
  std::string layout = GetParam() == DockerVersion::k20_10  ? "20.10-27"
                       : GetParam() == DockerVersion::k28_5 ? "28.1-28.5"
                       : Nft()                              ? "29 nftables (ip/ip6 docker-bridges)"
                                                            : "29";
  auto text = Sw("status", docker_host);
  EXPECT_EQ(text.exit_code, 0) << text.out << text.err;
  EXPECT_NE(text.out.find("Docker: " + version + " (unix://" + N().docker->Socket() + ")"),
            std::string::npos) << text.out;
  EXPECT_NE(text.out.find("Docker chain layout: " + layout), std::string::npos) << text.out;
  EXPECT_NE(text.out.find(Nft() ? "backend: nftables" : "backend: iptables, variant nft"), std::string::npos)
      << text.out;
  auto json = Sw("--output json status", docker_host);
  EXPECT_EQ(json.exit_code, 0) << json.out << json.err;
  EXPECT_NE(json.out.find("\"version\": \"" + version + "\""), std::string::npos) << json.out;
  EXPECT_NE(json.out.find("\"layout\": \"" + layout + "\""), std::string::npos) << json.out;
  // Unreachable Docker: said so, not an error.
  auto none = Sw("status", "DOCKER_HOST=unix://" + N().dir + "/no.sock");
  EXPECT_NE(none.out.find("Docker: not reachable"), std::string::npos) << none.out;
}

// The kernel cache (the nf_tables generation) never changes an answer: plan
// and status read through it equal plan and status read in full, before and
// after drift, and after a commit moved the cache on.
TEST_P(Apply, TheKernelCacheNeverChangesAnAnswer) {
  Sw("remove");
  std::string policy = N().dir + "/policy.yaml";
  auto same = [&](const std::string& what) {
    for (const char* cmd : {"--output json plan ", "--output json status"}) {
      std::string args = std::string(cmd) + (std::string(cmd).find("plan") != std::string::npos ? policy : "");
      auto cached = Sw(args);
      auto full = Sw(args, "SWARMWALL_KERNEL_CACHE=0");
      EXPECT_EQ(cached.out, full.out) << what << ": " << cmd;
      EXPECT_EQ(cached.exit_code, full.exit_code) << what << ": " << cmd;
    }
  };
  same("nothing applied");
  ASSERT_EQ(Sw("apply " + policy).exit_code, 0);
  same("after apply");
  auto noop = Sw("apply " + policy);
  EXPECT_NE(noop.out.find("nothing written"), std::string::npos) << noop.out;
  same("after a no-op apply");
  N().host->Sh(Nft() ? "nft add rule ip swarmwall SWARMWALL-INPUT accept" : "iptables -A SWARMWALL-INPUT -j ACCEPT");
  same("after a rule added to an owned chain");
  auto plan = Sw("plan " + policy);
  EXPECT_EQ(plan.exit_code, 2) << plan.out;
  ASSERT_EQ(Sw("apply " + policy).exit_code, 0);
  N().host->Sh(Nft() ? "nft add element ip swarmwall swarmwall-office-v4 '{ 192.0.2.99 }'"
                     : "ipset add swarmwall-office-v4 192.0.2.99");
  same("after a set member added");
  EXPECT_EQ(Sw("plan " + policy).exit_code, 2);
  ASSERT_EQ(Sw("apply " + policy).exit_code, 0);
  same("after the repair");
  Sw("remove");
  same("after remove");
}

// One writer at a time: while someone holds the host lock, apply waits (and
// says so) and status reports the holder.
TEST_P(Apply, TheHostLockSerializesWriters) {
  Sw("remove");
  std::string state = N().dir + "/state";
  N().host->Sh("mkdir -p " + state + " && (flock " + state + "/lock sleep 3 >/dev/null 2>&1 &) ; sleep 0.3");
  auto status = Sw("status");
  EXPECT_EQ(status.exit_code, 2) << status.out;
  EXPECT_NE(status.out.find("another swarmwall holds the host lock"), std::string::npos) << status.out;
  auto start = std::chrono::steady_clock::now();
  auto applied = Sw("apply " + N().dir + "/policy.yaml");
  auto waited = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_NE(applied.err.find("waiting for " + state + "/lock"), std::string::npos) << applied.err;
  EXPECT_GE(waited, std::chrono::milliseconds(1500)) << "apply did not wait for the lock";
  EXPECT_EQ(Sw("status").exit_code, 0);
  Sw("remove");
}

TEST_P(Apply, AFailingToolLeavesThePreviousState) {
  Sw("remove");
  ASSERT_EQ(Sw("apply " + N().dir + "/policy.yaml").exit_code, 0);
  std::string owned = Owned();
  std::string docker = Foreign();
  // A policy change, then the real ip6tables-restore fails after IPv4 was
  // committed: IPv4 must be put back.
  std::string changed = std::regex_replace(std::string(kPolicy), std::regex("8080"), "9090");
  changed = std::regex_replace(changed, std::regex("198.51.100.0/24"), "198.51.100.0/25");
  std::ofstream(N().dir + "/changed.yaml") << changed;
  if (Nft()) {
    // One transaction for both families: the kernel refuses it whole.
    auto broken = Sw("apply " + N().dir + "/changed.yaml", "SWARMWALL_TEST_BREAK_NFT=1");
    EXPECT_EQ(broken.exit_code, 1) << broken.out << broken.err;
    EXPECT_NE(broken.err.find("nothing was changed"), std::string::npos) << broken.err;
    EXPECT_EQ(Owned(), owned);
    EXPECT_EQ(Foreign(), docker);
    ASSERT_EQ(Sw("apply " + N().dir + "/changed.yaml").exit_code, 0);
    EXPECT_NE(Owned().find("ct original proto-dst 9090"), std::string::npos) << Owned();
    Sw("remove");
    return;
  }
  auto broken = Sw("apply " + N().dir + "/changed.yaml", "SWARMWALL_TEST_BREAK_RESTORE=ipv6");
  EXPECT_EQ(broken.exit_code, 1);
  EXPECT_NE(broken.err.find("previous owned state restored"), std::string::npos) << broken.err;
  EXPECT_EQ(Owned(), owned);
  EXPECT_EQ(Foreign(), docker);
  // The real ipset fails while filling the twin (a twin left by a killed
  // committer, of any type, is tolerated since issue 12: the test makes
  // the tool fail instead): nothing at all is written.
  std::string before = Owned();
  auto set_fail = Sw("apply " + N().dir + "/changed.yaml", "SWARMWALL_TEST_BREAK_IPSET=1");
  EXPECT_EQ(set_fail.exit_code, 1) << set_fail.out;
  EXPECT_NE(set_fail.err.find("ipset restore failed"), std::string::npos) << set_fail.err;
  EXPECT_EQ(Owned(), before);
  ASSERT_EQ(Sw("apply " + N().dir + "/changed.yaml").exit_code, 0);
  EXPECT_NE(Owned().find(OrigPort("9090")), std::string::npos);
  Sw("remove");
}

TEST_P(Apply, BadPolicyLeavesTheKernelUntouched) {
  Sw("remove");
  ASSERT_EQ(Sw("apply " + N().dir + "/policy.yaml").exit_code, 0);
  std::string owned = Owned();
  std::ofstream(N().dir + "/bad.yaml") << "version: 1\nnodes:\n  - { name: node-a, role: manager, address: 203.0.113.21 }\n"
                                          "host:\n  allow:\n    - { ports: [99999] }\n";
  auto r = Sw("apply " + N().dir + "/bad.yaml");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.err.find("bad.yaml:6:"), std::string::npos) << r.err;
  EXPECT_EQ(Owned(), owned);
  Sw("remove");
}

TEST_P(Apply, ConfirmOrTheTimerPutsThePreviousStateBack) {
  Sw("remove");
  ASSERT_EQ(Sw("apply " + N().dir + "/policy.yaml").exit_code, 0);
  std::string a = Owned();
  auto port = [&](const char* p) {
    std::string path = N().dir + "/port" + p + ".yaml";
    std::ofstream(path) << std::regex_replace(std::string(kPolicy), std::regex("8080"), p);
    return path;
  };
  // Not confirmed: back to A after the timeout.
  auto r = Sw("apply " + port("9090") + " --confirm 2");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("swarmwall confirm"), std::string::npos) << r.out;
  EXPECT_NE(Owned().find(OrigPort("9090")), std::string::npos);
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_EQ(Owned(), a) << N().host->Sh("cat " + N().dir + "/state/rollback-timer.log").out;
  // Confirmed: kept.
  ASSERT_EQ(Sw("apply " + port("9090") + " --confirm 2").exit_code, 0);
  EXPECT_EQ(Sw("confirm").exit_code, 0);
  std::string b = Owned();
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_EQ(Owned(), b);
  EXPECT_NE(b.find(OrigPort("9090")), std::string::npos);
  EXPECT_EQ(Sw("confirm").exit_code, 1) << "nothing left to confirm";
  // The apply process killed right after its commit: the timer, armed
  // before anything was written, still puts B back.
  N().host->Sh("(SWARMWALL_TEST_HANG_AFTER_COMMIT=30 SWARMWALL_STATE_DIR=" + N().dir + "/state " +
               SWARMWALL_BINARY + " apply " + port("7070") + " --confirm 3 >/dev/null 2>&1 &); sleep 1.5; "
               "pkill -9 -f 'apply " + N().dir + "/port7070.yaml'");
  EXPECT_NE(Owned().find(OrigPort("7070")), std::string::npos) << "committed before the kill";
  std::this_thread::sleep_for(std::chrono::seconds(4));
  EXPECT_EQ(Owned(), b) << N().host->Sh("cat " + N().dir + "/state/rollback-timer.log").out;
  Sw("remove");
}

TEST_P(Apply, LockoutGuardKeepsTheSshClientIn) {
  Sw("remove");
  N().host->Listen(22);
  // An established session from the admin host, held open.
  N().admin->Sh("(sleep 30 | socat - TCP:203.0.113.21:22) </dev/null >/dev/null 2>&1 &");
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  // The policy allows ssh only from the office: the admin would be locked out.
  auto refused = Sw("apply " + N().dir + "/policy.yaml");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.err.find("refusing: the SSH client 203.0.113.50 (seen in conntrack)"),
            std::string::npos) << refused.err;
  EXPECT_EQ(Owned(), "") << "nothing written";
  // Run from an SSH session (SSH_CONNECTION), same answer.
  auto env = Sw("apply " + N().dir + "/policy.yaml",
                "SSH_CONNECTION='203.0.113.50 50000 203.0.113.21 22'");
  EXPECT_EQ(env.exit_code, 1);
  EXPECT_NE(env.err.find("SSH_CONNECTION"), std::string::npos) << env.err;
  // A policy that lets the admin in passes; --force overrides.
  std::ofstream(N().dir + "/admin.yaml") << std::regex_replace(
      std::string(kPolicy), std::regex("office: \\[198.51.100.0/24"), "office: [198.51.100.0/24, 203.0.113.50/32");
  EXPECT_EQ(Sw("apply " + N().dir + "/admin.yaml").exit_code, 0);
  EXPECT_TRUE(N().admin->CanConnect("203.0.113.21", 22)) << "and it can connect again";
  Sw("remove");
  auto forced = Sw("apply " + N().dir + "/policy.yaml --force");
  EXPECT_EQ(forced.exit_code, 0) << forced.err;
  EXPECT_NE(forced.err.find("warning (--force)"), std::string::npos);
  EXPECT_FALSE(N().admin->CanConnect("203.0.113.21", 22));
  Sw("remove");
}

INSTANTIATE_TEST_SUITE_P(Docker, Apply, lab::CoreDockers(lab::Suite::kApplies), lab::DockerParamName);

}  // namespace
}  // namespace swarmwall
