// GET /containers/json and GET /services as Docker answers them (20.10 to
// 29.7.2 agree on these fields), and answers that are not well formed.
#include "docker/published_ports.h"

#include <gtest/gtest.h>

namespace swarmwall::docker {
namespace {

using nlohmann::json;

const char* kContainers = R"([
  {"Id": "1", "Names": ["/api"], "Labels": {"com.example.expose": "public"},
   "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8081, "Type": "tcp"},
             {"IP": "::", "PrivatePort": 80, "PublicPort": 8081, "Type": "tcp"},
             {"PrivatePort": 443, "Type": "tcp"},
             {"IP": "0.0.0.0", "PrivatePort": 53, "PublicPort": 5353, "Type": "udp"}]},
  {"Id": "2", "Names": ["/web.1.x8k2"], "Labels": {"com.docker.swarm.service.name": "web", "tier": "task"},
   "Ports": [{"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": 8082, "Type": "tcp"}]},
  {"Id": "3", "Names": ["/quiet"], "Labels": null, "Ports": []},
  {"Id": "4", "Names": ["/odd"], "Ports": [{"PublicPort": 70000, "Type": "tcp"},
                                           {"PublicPort": 80, "Type": "icmp"},
                                           {"PublicPort": "80", "Type": "tcp"}]},
  {"Id": "5", "Names": [], "Ports": [{"PublicPort": 81, "Type": "tcp"}]}
])";

const char* kServices = R"([
  {"ID": "s1", "Spec": {"Name": "web", "Labels": {"com.example.expose": "public", "tier": "service"}},
   "Endpoint": {"Ports": [{"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8080, "PublishMode": "ingress"},
                          {"Protocol": "tcp", "TargetPort": 80, "PublishedPort": 8082, "PublishMode": "host"}]}},
  {"ID": "s2", "Spec": {"Name": "internal"}, "Endpoint": {"Spec": {}}},
  {"ID": "s3", "Spec": {}}
])";

TEST(PublishedPorts, ContainersPortBindings) {
  std::vector<std::string> skipped;
  auto ports = ContainerPorts(json::parse(kContainers), skipped);
  ASSERT_EQ(ports.size(), 3u);
  EXPECT_EQ(ports[0], (PublishedPort{"tcp", 8081, "api", "", {{"com.example.expose", "public"}}}));
  EXPECT_EQ(ports[1].protocol, "udp");
  EXPECT_EQ(ports[1].port, 5353);
  EXPECT_EQ(ports[2].container, "web.1.x8k2");
  EXPECT_EQ(ports[2].service, "web");
  // Three bad bindings of "odd", one nameless container.
  EXPECT_EQ(skipped.size(), 4u);
}

TEST(PublishedPorts, ServicesIngressPortsAndLabels) {
  std::vector<std::string> skipped;
  auto ports = ContainerPorts(json::parse(kContainers), skipped);
  skipped.clear();
  auto ingress = ServicePorts(json::parse(kServices), ports, skipped);
  ASSERT_EQ(ingress.size(), 1u);  // the host-mode port is its task's
  EXPECT_EQ(ingress[0].port, 8080);
  EXPECT_EQ(ingress[0].container, "");
  EXPECT_EQ(ingress[0].service, "web");
  EXPECT_EQ(ingress[0].labels.at("com.example.expose"), "public");
  // The task's container gets its service's labels; its own win.
  EXPECT_EQ(ports[2].labels.at("com.example.expose"), "public");
  EXPECT_EQ(ports[2].labels.at("tier"), "task");
  EXPECT_EQ(skipped, (std::vector<std::string>{"a service without a name"}));
}

TEST(PublishedPorts, NotAList) {
  std::vector<std::string> skipped;
  std::vector<PublishedPort> none;
  EXPECT_TRUE(ContainerPorts(json::parse(R"({"message": "x"})"), skipped).empty());
  EXPECT_TRUE(ServicePorts(json::parse("42"), none, skipped).empty());
  EXPECT_EQ(skipped.size(), 2u);
}

}  // namespace
}  // namespace swarmwall::docker
