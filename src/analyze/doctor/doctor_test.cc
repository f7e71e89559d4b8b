// Every doctor check, triggered from fabricated facts; a clean host gives none.
#include "analyze/doctor/doctor.h"

#include <gtest/gtest.h>

#include <algorithm>

namespace swarmwall::analyze {
namespace {

using netfilter::Family;

// A healthy Docker host: nft everywhere, DOCKER-USER hooked and filtering,
// FORWARD DROP, forwarding and br_netfilter on, nothing saved or listening.
DoctorFacts Clean() {
  DoctorFacts h;
  h.system_variant = "nft";
  h.docker_in_nft = true;
  h.chosen_variant = "nft";
  for (FilterFacts* f : {&h.v4, &h.v6}) {
    f->read = true;
    f->input_policy = "ACCEPT";
    f->forward_policy = "DROP";
  }
  h.v4.docker_chains = true;
  h.v4.docker_user_exists = true;
  h.v4.forward_jumps_to_docker_user = true;
  h.v4.published_ports = {"8080/tcp -> 172.17.0.2:80"};
  h.v4.swarmwall_user_hooked = true;
  h.ip_forward = "1";
  h.br_netfilter = true;
  h.bridge_nf_call_iptables = "1";
  h.daemon_json_path = "/etc/docker/daemon.json";
  h.daemon_json = R"({"log-driver": "journald"})";
  return h;
}

std::vector<std::string> Codes(const DoctorFacts& h) {
  std::vector<std::string> codes;
  for (const auto& f : Diagnose(h)) codes.push_back(f.code);
  return codes;
}

bool Has(const DoctorFacts& h, const std::string& code) {
  auto c = Codes(h);
  return std::find(c.begin(), c.end(), code) != c.end();
}

const char* kSavedDocker = R"(*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A DOCKER-USER -j RETURN
COMMIT
)";

const char* kSavedOwn = R"(*filter
:INPUT ACCEPT [0:0]
:FORWARD ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
)";

TEST(Doctor, CleanHostHasNoFindings) {
  auto findings = Diagnose(Clean());
  EXPECT_TRUE(findings.empty()) << findings.front().code;
  DoctorFacts no_docker;  // nothing at all: nothing to say
  no_docker.v4.read = no_docker.v6.read = true;
  EXPECT_TRUE(Diagnose(no_docker).empty());
}

TEST(Doctor, VariantMismatch) {
  DoctorFacts h = Clean();
  h.system_variant = "legacy";
  auto f = Diagnose(h);
  ASSERT_FALSE(f.empty());
  EXPECT_EQ(f[0].code, "variant-mismatch");
  EXPECT_EQ(f[0].severity, Severity::kError);
  EXPECT_NE(f[0].fix.find("update-alternatives --set iptables /usr/sbin/iptables-nft"), std::string::npos);
  h.docker_in_legacy = true;
  EXPECT_TRUE(Has(h, "variant-both"));
  EXPECT_FALSE(Has(h, "variant-mismatch"));
}

TEST(Doctor, SavedDockerRules) {
  DoctorFacts h = Clean();
  h.rules_v4 = kSavedOwn;
  EXPECT_TRUE(Diagnose(h).empty());
  h.rules_v6 = kSavedDocker;
  EXPECT_TRUE(Has(h, "persistent-saved-docker-rules"));
  h = Clean();
  h.sysconfig_iptables = kSavedDocker;
  EXPECT_TRUE(Has(h, "iptables-services-saved-docker-rules"));
  EXPECT_TRUE(Has(h, "iptables-services-flushes"));
  h.sysconfig_iptables = kSavedOwn;
  EXPECT_FALSE(Has(h, "iptables-services-saved-docker-rules"));
  EXPECT_TRUE(Has(h, "iptables-services-flushes"));
}

TEST(Doctor, FlushAndSaveSettings) {
  DoctorFacts h = Clean();
  h.netfilter_persistent_default = "# comment\nFLUSH_ON_STOP=0\n";
  EXPECT_TRUE(Diagnose(h).empty());
  h.netfilter_persistent_default = "FLUSH_ON_STOP=\"1\"\n";
  EXPECT_TRUE(Has(h, "persistent-flush-on-stop"));
  h = Clean();
  h.sysconfig_iptables_config = "IPTABLES_SAVE_ON_STOP=\"no\"\nIPTABLES_SAVE_ON_RESTART=\"yes\"\n";
  auto f = Diagnose(h);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].code, "iptables-services-save-on-stop");
  EXPECT_NE(f[0].fix.find("IPTABLES_SAVE_ON_RESTART"), std::string::npos);
}

TEST(Doctor, Firewalld) {
  DoctorFacts h = Clean();
  h.firewalld_running = true;
  EXPECT_TRUE(Has(h, "firewalld-without-docker"));
  h.firewalld_docker_zone = true;
  auto f = Diagnose(h);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].code, "firewalld-running");
  EXPECT_EQ(f[0].severity, Severity::kInfo);
}

TEST(Doctor, KernelSettings) {
  DoctorFacts h = Clean();
  h.v4.forward_policy = "ACCEPT";
  EXPECT_TRUE(Has(h, "forward-policy-accept"));
  h = Clean();
  h.v6.docker_chains = true;
  h.v6.forward_policy = "ACCEPT";
  h.ip6_forward = "0";  // IPv6 does not forward: the policy does not matter
  EXPECT_TRUE(Diagnose(h).empty());
  h.ip6_forward = "1";
  EXPECT_TRUE(Has(h, "forward-policy-accept"));
  h = Clean();
  h.ip_forward = "0";
  EXPECT_TRUE(Has(h, "ip-forward-off"));
  h = Clean();
  h.br_netfilter = false;
  h.bridge_nf_call_iptables.reset();
  EXPECT_TRUE(Has(h, "br-netfilter-missing"));
  h = Clean();
  h.bridge_nf_call_iptables = "0";
  EXPECT_TRUE(Has(h, "br-netfilter-off"));
}

TEST(Doctor, DockerUserNotHookedAndPublishedPortsOpen) {
  DoctorFacts h = Clean();
  h.v4.docker_user_not_hooked = true;
  EXPECT_TRUE(Has(h, "docker-user-not-hooked"));
  h = Clean();
  h.v4.swarmwall_user_hooked = false;
  auto f = Diagnose(h);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].code, "published-ports-open");
  EXPECT_NE(f[0].message.find("8080/tcp -> 172.17.0.2:80"), std::string::npos);
  h.v4.docker_user_filters = true;  // the user's own rules in DOCKER-USER
  EXPECT_TRUE(Diagnose(h).empty());
}

TEST(Doctor, SwarmAndApiPorts) {
  DoctorFacts h = Clean();
  h.sockets = {{"tcp", 6, "::", 2377}, {"udp", 4, "0.0.0.0", 4789}, {"tcp", 4, "127.0.0.1", 2375},
               {"tcp", 6, "::1", 7946}};
  auto codes = Codes(h);
  EXPECT_EQ(std::count(codes.begin(), codes.end(), "swarm-port-exposed"), 2);
  EXPECT_FALSE(Has(h, "docker-api-exposed")) << "loopback only";
  h.sockets.push_back({"tcp", 4, "203.0.113.5", 2375});
  EXPECT_TRUE(Has(h, "docker-api-exposed"));
  // swarmwall's INPUT chain first in both families closes them.
  h.v4.swarmwall_input_first = h.v6.swarmwall_input_first = true;
  EXPECT_TRUE(Diagnose(h).empty());
  // A "::" socket also takes IPv4: IPv6 closed alone is not enough.
  h.v4.swarmwall_input_first = false;
  EXPECT_TRUE(Has(h, "swarm-port-exposed"));
  h.v4.input_drops_public = true;
  EXPECT_TRUE(Diagnose(h).empty());
  h.v4.input_drops_public = false;
  h.v4.input_policy = "DROP";
  EXPECT_TRUE(Diagnose(h).empty());
}

TEST(Doctor, DaemonJson) {
  DoctorFacts h = Clean();
  h.daemon_json = R"({"iptables": false})";
  EXPECT_TRUE(Has(h, "docker-iptables-disabled"));
  h.daemon_json = R"({"ipv6": true, "ip6tables": false})";
  EXPECT_TRUE(Has(h, "docker-ip6tables-disabled"));
  h.daemon_json = R"({"ip6tables": false})";
  EXPECT_TRUE(Diagnose(h).empty());
  h.daemon_json = "{ not json";
  EXPECT_TRUE(Has(h, "daemon-json-invalid"));
}

TEST(Doctor, UnreadableRules) {
  DoctorFacts h = Clean();
  h.v6.read = false;
  h.v6.error = "ip6tables-nft-save failed";
  EXPECT_TRUE(Has(h, "rules-unreadable"));
}

TEST(Doctor, ErrorsComeFirst) {
  DoctorFacts h = Clean();
  h.firewalld_running = h.firewalld_docker_zone = true;  // info
  h.bridge_nf_call_iptables = "0";                       // warning
  h.ip_forward = "0";                                    // error
  auto f = Diagnose(h);
  ASSERT_EQ(f.size(), 3u);
  EXPECT_EQ(f[0].severity, Severity::kError);
  EXPECT_EQ(f[1].severity, Severity::kWarning);
  EXPECT_EQ(f[2].severity, Severity::kInfo);
}

TEST(Doctor, FilterFactsFromSave) {
  const char* save = R"(*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:CHECKS - [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
-A INPUT -i eth0 -j CHECKS
-A FORWARD -j DOCKER-USER
-A FORWARD -o docker0 -j DOCKER
-A CHECKS -p tcp -m tcp --dport 22 -j ACCEPT
-A CHECKS -j DROP
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-USER -j RETURN
COMMIT
)";
  FilterFacts f = FilterFactsFromSave(save, Family::kIPv4);
  ASSERT_TRUE(f.read) << f.error;
  EXPECT_TRUE(f.docker_chains);
  EXPECT_TRUE(f.docker_user_exists);
  EXPECT_TRUE(f.forward_jumps_to_docker_user);
  EXPECT_FALSE(f.docker_user_filters);
  EXPECT_FALSE(f.swarmwall_user_hooked);
  EXPECT_FALSE(f.swarmwall_input_first);
  EXPECT_TRUE(f.input_drops_public);
  EXPECT_EQ(f.input_policy, "ACCEPT");
  EXPECT_EQ(f.forward_policy, "DROP");
  ASSERT_EQ(f.published_ports.size(), 1u);
  EXPECT_EQ(f.published_ports[0], "8080/tcp -> 172.17.0.2:80");

  FilterFacts bad = FilterFactsFromSave("*filter\n-A\n", Family::kIPv4);
  EXPECT_FALSE(bad.read);
  EXPECT_FALSE(bad.error.empty());
}

}  // namespace
}  // namespace swarmwall::analyze
