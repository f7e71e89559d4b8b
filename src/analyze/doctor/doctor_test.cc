// Every doctor check, triggered from fabricated facts; a clean host gives none.
#include "analyze/doctor/doctor.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "netfilter/parser.h"

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
  // swarmwall's nftables backend: its tables' input chains close them too
  // (the doctor said "exposed" on a Docker 29 nftables node after apply).
  h.v4.input_policy = "ACCEPT";
  h.v6.swarmwall_input_first = false;
  EXPECT_TRUE(Has(h, "swarm-port-exposed"));
  h.nft_tables = std::vector<std::string>{"ip docker-bridges", "ip swarmwall", "ip6 swarmwall"};
  EXPECT_FALSE(Has(h, "swarm-port-exposed"));
  h.nft_tables = std::vector<std::string>{"ip swarmwall"};
  EXPECT_TRUE(Has(h, "swarm-port-exposed")) << "the :: socket's IPv6 side is open";
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

// ------------------------------------------------- nftables and Docker 29

const Finding* FindCode(const std::vector<Finding>& f, const std::string& code) {
  for (const auto& x : f)
    if (x.code == code) return &x;
  return nullptr;
}

// A healthy Docker 29 host in nftables mode: no Docker chains in iptables,
// empty iptables tables with ACCEPT policies, forwarding on.
DoctorFacts NftClean() {
  DoctorFacts h;
  h.system_variant = "nft";
  h.chosen_variant = "nft";
  for (FilterFacts* f : {&h.v4, &h.v6}) {
    f->read = true;
    f->input_policy = "ACCEPT";
    f->forward_policy = "ACCEPT";
  }
  h.docker_reachable = true;
  h.docker_firewall = "nftables";
  h.nft_tables = std::vector<std::string>{"ip docker-bridges", "ip6 docker-bridges"};
  h.ip_forward = "1";
  h.ip6_forward = "1";
  h.br_netfilter = true;
  h.bridge_nf_call_iptables = "1";
  h.world_published.emplace();
  return h;
}

TEST(Doctor, DockerNftablesMode) {
  DoctorFacts h = NftClean();
  EXPECT_TRUE(DockerNftablesMode(h));
  EXPECT_TRUE(Diagnose(h).empty()) << Diagnose(h).front().code;
  h.docker_firewall = "iptables";   // the API's answer wins over a leftover table
  EXPECT_FALSE(DockerNftablesMode(h));
  h.docker_reachable = false;       // no API: the table says it
  EXPECT_TRUE(DockerNftablesMode(h));
  h.nft_tables = std::vector<std::string>{"inet firewalld"};
  EXPECT_FALSE(DockerNftablesMode(h));
  h.nft_tables.reset();
  EXPECT_FALSE(DockerNftablesMode(h));
  h.docker_reachable = true;
  h.docker_firewall = "nftables+firewalld";
  EXPECT_TRUE(DockerNftablesMode(h));
}

TEST(Doctor, NftablesServiceFlushRuleset) {
  DoctorFacts h = NftClean();
  h.nftables_service_enabled = true;
  h.nftables_conf = {{"/etc/nftables.conf", "#!/usr/sbin/nft -f\n# flush ruleset\ntable inet mine {}\n"}};
  EXPECT_FALSE(Has(h, "nftables-service-flushes")) << "commented out";
  h.nftables_conf.push_back({"/etc/nftables.d/0.nft", "\n  flush ruleset # all of it\n"});
  auto f = Diagnose(h);
  const Finding* x = FindCode(f, "nftables-service-flushes");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->severity, Severity::kWarning);
  EXPECT_NE(x->message.find("/etc/nftables.d/0.nft:2"), std::string::npos) << x->message;
  EXPECT_NE(x->fix.find("delete table inet NAME"), std::string::npos) << x->fix;
  EXPECT_NE(x->fix.find("systemctl disable nftables"), std::string::npos) << x->fix;
  h.nftables_service_enabled = false;
  EXPECT_FALSE(Has(h, "nftables-service-flushes")) << "not started at boot nor restarted by it";
  // Docker's iptables-nft chains are nftables tables too; legacy ones are not.
  DoctorFacts c = Clean();
  c.nftables_service_enabled = true;
  c.nftables_conf = {{"/etc/nftables.conf", "flush ruleset\n"}};
  EXPECT_TRUE(Has(c, "nftables-service-flushes"));
  c.system_variant = "legacy";
  c.docker_in_nft = false;
  c.docker_in_legacy = true;
  EXPECT_FALSE(Has(c, "nftables-service-flushes"));
}

TEST(Doctor, NftablesDockerWithLeftoverForwardDrop) {
  DoctorFacts h = NftClean();
  h.v4.forward_policy = "DROP";
  auto f = Diagnose(h);
  ASSERT_EQ(f.size(), 1u);
  EXPECT_EQ(f[0].code, "nftables-docker-forward-drop");
  EXPECT_EQ(f[0].severity, Severity::kError);
  EXPECT_NE(f[0].message.find("IPv4"), std::string::npos);
  EXPECT_NE(f[0].fix.find("iptables -P FORWARD ACCEPT"), std::string::npos) << f[0].fix;
  h = NftClean();
  h.v6.forward_policy = "DROP";
  EXPECT_TRUE(Diagnose(h).empty()) << "no IPv6 container traffic";
  h.docker_ipv6_networks = true;
  EXPECT_TRUE(Has(h, "nftables-docker-forward-drop"));
  // The same policy in iptables mode is Docker's own choice.
  h = Clean();
  h.docker_reachable = true;
  h.docker_firewall = "iptables";
  EXPECT_TRUE(Diagnose(h).empty());
}

TEST(Doctor, NftablesDockerWithDockerUserNothingReaches) {
  DoctorFacts h = NftClean();
  h.v4.docker_user_exists = true;
  h.v4.docker_user_not_hooked = true;
  h.v4.docker_user_filters = true;
  auto f = Diagnose(h);
  ASSERT_EQ(f.size(), 1u) << f[0].code;
  EXPECT_EQ(f[0].code, "nftables-docker-user-unreached");
  EXPECT_NE(f[0].fix.find("priority filter - 1"), std::string::npos) << f[0].fix;
  h.v4.docker_user_filters = false;   // an empty leftover chain filters nothing and matters not
  EXPECT_TRUE(Diagnose(h).empty());
  h.v4.docker_user_filters = true;
  h.v4.forward_jumps_to_docker_user = true;   // a jump left too: its drops still drop
  h.v4.docker_user_not_hooked = false;
  EXPECT_TRUE(Diagnose(h).empty());
}

TEST(Doctor, SwarmwallIptablesAppliedOnNftablesDocker) {
  DoctorFacts h = NftClean();
  h.swarmwall_applied = true;
  h.v4.docker_user_exists = true;
  h.v4.docker_user_not_hooked = true;
  h.v4.docker_user_filters = true;
  h.v4.swarmwall_user_hooked = true;
  auto f = Diagnose(h);
  ASSERT_EQ(f.size(), 1u) << "one finding, not the DOCKER-USER ones besides";
  EXPECT_EQ(f[0].code, "swarmwall-iptables-on-nftables-docker");
  EXPECT_EQ(f[0].severity, Severity::kError);
  EXPECT_NE(f[0].message.find("FirewallBackend nftables"), std::string::npos) << f[0].message;
  EXPECT_NE(f[0].fix.find("nftables backend"), std::string::npos) << f[0].fix;
  EXPECT_NE(f[0].fix.find("iptables mode"), std::string::npos) << f[0].fix;
  h.docker_firewall = "iptables";
  EXPECT_FALSE(Has(h, "swarmwall-iptables-on-nftables-docker"));
  h = NftClean();
  h.swarmwall_applied = true;
  h.v4.forward_jumps_to_docker_user = true;   // reached after all: it filters
  EXPECT_FALSE(Has(h, "swarmwall-iptables-on-nftables-docker"));
}

TEST(Doctor, ForwardingOffInNftablesModeAndForIpv6) {
  DoctorFacts h = NftClean();
  h.ip_forward = "0";
  auto f = Diagnose(h);
  const Finding* x = FindCode(f, "ip-forward-off");
  ASSERT_NE(x, nullptr) << "Docker in nftables mode has no iptables chains, and still needs it";
  EXPECT_NE(x->fix.find("nftables mode does not turn it on itself"), std::string::npos) << x->fix;
  EXPECT_EQ(Clean().ip_forward, "1");
  DoctorFacts c = Clean();
  c.ip_forward = "0";
  f = Diagnose(c);
  x = FindCode(f, "ip-forward-off");
  ASSERT_NE(x, nullptr);
  EXPECT_EQ(x->fix.find("nftables"), std::string::npos) << "iptables mode: Docker turns it on";
  h = NftClean();
  h.ip6_forward = "0";
  EXPECT_TRUE(Diagnose(h).empty()) << "no IPv6 in Docker";
  h.docker_ipv6_networks = true;
  EXPECT_TRUE(Has(h, "ip6-forward-off"));
  h.docker_ipv6_networks = false;
  h.daemon_json = R"({"ipv6": true, "fixed-cidr-v6": "2001:db8:1::/64"})";
  EXPECT_TRUE(Has(h, "ip6-forward-off"));
}

TEST(Doctor, PublishedPortOpenToTheWorld) {
  DoctorFacts h = NftClean();
  h.world_published = std::vector<OpenPublishedPort>{
      {Family::kIPv4, "8080/tcp", "172.17.0.2:80", "eth0", true},
      {Family::kIPv6, "8080/tcp", "[2001:db8:1::2]:80", "eth0", false}};
  auto f = Diagnose(h);
  ASSERT_EQ(f.size(), 2u);
  EXPECT_EQ(f[0].code, "published-ports-open");
  EXPECT_EQ(f[0].severity, Severity::kWarning);
  EXPECT_NE(f[0].message.find("8080/tcp (to container 172.17.0.2:80)"), std::string::npos) << f[0].message;
  EXPECT_NE(f[0].message.find("on eth0"), std::string::npos) << f[0].message;
  EXPECT_NE(f[0].fix.find("containers.allow"), std::string::npos) << f[0].fix;
  EXPECT_NE(f[0].fix.find("containers.default: drop"), std::string::npos) << f[0].fix;
  EXPECT_NE(f[1].message.find("maybe"), std::string::npos) << f[1].message;
  // With the exposure's answer the approximation says nothing more.
  DoctorFacts c = Clean();
  c.v4.swarmwall_user_hooked = false;
  c.world_published.emplace();
  EXPECT_TRUE(Diagnose(c).empty());
}

// The exposure engine over a Docker host's rules: 8080 is open, 9000 is
// closed by DOCKER-USER, 9100 is published on 127.0.0.1 only.
TEST(Doctor, WorldPublishedPortsFromTheExposure) {
  const char* rules = R"(*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:DOCKER - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
-A DOCKER -i docker0 -j RETURN
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
-A DOCKER ! -i docker0 -p tcp -m tcp --dport 9000 -j DNAT --to-destination 172.17.0.3:80
-A DOCKER -d 127.0.0.1/32 ! -i docker0 -p tcp -m tcp --dport 9100 -j DNAT --to-destination 172.17.0.4:80
COMMIT
*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:DOCKER - [0:0]
:DOCKER-USER - [0:0]
-A FORWARD -j DOCKER-USER
-A FORWARD -o docker0 -j DOCKER
-A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER -d 172.17.0.3/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER -d 172.17.0.4/32 ! -i docker0 -o docker0 -p tcp -m tcp --dport 80 -j ACCEPT
-A DOCKER-USER -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 9000 -j DROP
-A DOCKER-USER -j RETURN
COMMIT
)";
  auto parsed = netfilter::ParseRuleset(rules);
  ASSERT_TRUE(parsed.ruleset) << parsed.error->ToString();
  host::HostNetwork net;
  std::string error;
  ASSERT_TRUE(host::ParseIpAddrJson(
      R"([{"ifname":"lo","addr_info":[{"family":"inet","local":"127.0.0.1","prefixlen":8}]},
          {"ifname":"eth0","addr_info":[{"family":"inet","local":"203.0.113.5","prefixlen":24}]},
          {"ifname":"docker0","addr_info":[{"family":"inet","local":"172.17.0.1","prefixlen":16}]}])",
      net, error))
      << error;
  ASSERT_TRUE(host::ParseIpRouteJson(R"([{"dst":"default","gateway":"203.0.113.1","dev":"eth0"},
      {"dst":"203.0.113.0/24","dev":"eth0","prefsrc":"203.0.113.5"},
      {"dst":"172.17.0.0/16","dev":"docker0","prefsrc":"172.17.0.1"}])",
                                     Family::kIPv4, net, error))
      << error;
  net.ipsets_known = true;
  auto open = WorldPublishedPorts(*parsed.ruleset, net);
  ASSERT_EQ(open.size(), 1u);
  EXPECT_EQ(open[0].port, "8080/tcp");
  EXPECT_EQ(open[0].container, "172.17.0.2:80");
  EXPECT_EQ(open[0].iface, "eth0");
  EXPECT_TRUE(open[0].certain);
  EXPECT_EQ(open[0].protocol, 6);
  EXPECT_EQ(open[0].port_lo, 8080);
  EXPECT_EQ(open[0].port_hi, 8080);
  EXPECT_FALSE(open[0].source.ToString().empty());
}

// What the policy opens to everyone is no finding; what it restricts is.
TEST(Doctor, PortsThePolicyOpensToEveryoneAreDropped) {
  auto loaded = policy::LoadPolicyText(R"(version: 1
interfaces: { public: [eth0] }
sets:
  office: [198.51.100.0/24]
nodes:
  - { name: n1, role: manager, address: 10.0.0.1 }
containers:
  default: drop
  allow:
    - { ports: [80, 443] }
    - { ports: [8080], from: office }
)",
                                       "p.yaml", ".");
  ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].ToString());
  auto stranger = *netfilter::IpAddress::Parse("192.0.2.77");
  std::vector<OpenPublishedPort> ports = {
      {Family::kIPv4, "80/tcp", "172.17.0.2:80", "eth0", true, stranger, 6, 80, 80},
      {Family::kIPv4, "8080/tcp", "172.17.0.3:80", "eth0", true, stranger, 6, 8080, 8080},
      {Family::kIPv4, "443-444/tcp", "172.17.0.4", "eth0", true, stranger, 6, 443, 444},
      {Family::kIPv4, "80/tcp", "172.17.0.2:80", "ens11", true, stranger, 6, 80, 80}};
  DropIntendedPorts(ports, *loaded.policy, *loaded.policy->FindNode("n1"));
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(ports[0].port, "8080/tcp") << "only the office";
  EXPECT_EQ(ports[1].port, "443-444/tcp") << "444 is not opened";
  EXPECT_EQ(ports[2].iface, "ens11") << "an interface the policy does not govern";
}

// The seed-004 cluster e2e found it: a port reached on the policy's cluster
// interface (the trusted network) is not open "to the world".
TEST(Doctor, PortsOnTheClusterInterfaceAreNoFinding) {
  auto loaded = policy::LoadPolicyText(R"(version: 1
interfaces: { public: [eth0], cluster: [ens11] }
nodes:
  - { name: n1, role: manager, address: 10.0.0.1 }
containers:
  default: drop
)",
                                       "p.yaml", ".");
  ASSERT_TRUE(loaded.ok()) << (loaded.errors.empty() ? "" : loaded.errors[0].ToString());
  auto stranger = *netfilter::IpAddress::Parse("192.0.2.77");
  std::vector<OpenPublishedPort> ports = {
      {Family::kIPv4, "8081/tcp", "172.17.0.5:80", "ens11", true, stranger, 6, 8081, 8081},
      {Family::kIPv4, "8081/tcp", "172.17.0.5:80", "eth0", true, stranger, 6, 8081, 8081}};
  DropIntendedPorts(ports, *loaded.policy, *loaded.policy->FindNode("n1"));
  ASSERT_EQ(ports.size(), 1u);
  EXPECT_EQ(ports[0].iface, "eth0");
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
