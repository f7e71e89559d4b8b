// DOCKER_HOST values and TLS environment read as the docker CLI reads them.
#include "docker/host.h"

#include <gtest/gtest.h>

#include <map>

#include "docker/engine.h"

namespace swarmwall::docker {
namespace {

Endpoint Parse(const std::string& value, bool tls = false) {
  std::string error;
  auto e = ParseDockerHost(value, tls, error);
  EXPECT_TRUE(e) << value << ": " << error;
  return e.value_or(Endpoint{});
}

std::string ErrorOf(const std::string& value) {
  std::string error;
  EXPECT_FALSE(ParseDockerHost(value, false, error)) << value;
  return error;
}

TEST(DockerHost, EmptyIsTheDefaultSocket) {
  Endpoint e = Parse("");
  EXPECT_EQ(e.kind, Endpoint::Kind::kUnix);
  EXPECT_EQ(e.socket, "/var/run/docker.sock");
  EXPECT_EQ(EndpointText(e), "unix:///var/run/docker.sock");
}

TEST(DockerHost, Unix) {
  Endpoint e = Parse("unix:///run/swl/x/docker.sock");
  EXPECT_EQ(e.kind, Endpoint::Kind::kUnix);
  EXPECT_EQ(e.socket, "/run/swl/x/docker.sock");
  EXPECT_NE(ErrorOf("unix://").find("no socket path"), std::string::npos);
}

TEST(DockerHost, TcpWithPort) {
  Endpoint e = Parse("tcp://manager:2376");
  EXPECT_EQ(e.kind, Endpoint::Kind::kTcp);
  EXPECT_EQ(e.host, "manager");
  EXPECT_EQ(e.port, 2376);
  EXPECT_EQ(e.base_path, "");
  EXPECT_EQ(EndpointText(e), "tcp://manager:2376");
}

TEST(DockerHost, TcpDefaultPortDependsOnTls) {
  EXPECT_EQ(Parse("tcp://10.10.10.1").port, 2375);
  EXPECT_EQ(Parse("tcp://10.10.10.1", true).port, 2376);
  EXPECT_EQ(Parse("tcp://10.10.10.1/", true).port, 2376);
}

TEST(DockerHost, TcpWithoutHostIsLocalhost) {
  Endpoint e = Parse("tcp://:2375");
  EXPECT_EQ(e.host, "localhost");
  EXPECT_EQ(e.port, 2375);
}

TEST(DockerHost, SchemeIsCaseInsensitiveAndSpacesTrimmed) {
  Endpoint e = Parse("  TCP://m:1234 ");
  EXPECT_EQ(e.kind, Endpoint::Kind::kTcp);
  EXPECT_EQ(e.port, 1234);
}

TEST(DockerHost, NoSchemeMeansTcp) {
  Endpoint e = Parse("manager:2376");
  EXPECT_EQ(e.kind, Endpoint::Kind::kTcp);
  EXPECT_EQ(e.host, "manager");
  EXPECT_EQ(e.port, 2376);
  EXPECT_EQ(Parse("10.0.0.5", true).port, 2376);
}

TEST(DockerHost, Ipv6) {
  Endpoint e = Parse("tcp://[2001:db8::1]:2376");
  EXPECT_EQ(e.host, "2001:db8::1");
  EXPECT_EQ(e.port, 2376);
  EXPECT_EQ(EndpointText(e), "tcp://[2001:db8::1]:2376");
  EXPECT_EQ(Parse("tcp://[::1]").port, 2375);
  EXPECT_NE(ErrorOf("tcp://2001:db8::1:2376").find("brackets"), std::string::npos);
  EXPECT_NE(ErrorOf("tcp://[2001:db8::1:2376").find("]"), std::string::npos);
  EXPECT_NE(ErrorOf("tcp://[::1]2376").find(":PORT"), std::string::npos);
}

TEST(DockerHost, BasePath) {
  Endpoint e = Parse("tcp://proxy:8080/docker/");
  EXPECT_EQ(e.base_path, "/docker");
  EXPECT_EQ(EndpointText(e), "tcp://proxy:8080/docker");
}

TEST(DockerHost, BadPorts) {
  for (const char* v : {"tcp://m:", "tcp://m:0", "tcp://m:65536", "tcp://m:x1", "tcp://m:-1", "tcp://m:123456"})
    EXPECT_NE(ErrorOf(v).find("port"), std::string::npos) << v;
  EXPECT_EQ(Parse("tcp://m:65535").port, 65535);
}

TEST(DockerHost, Unsupported) {
  EXPECT_NE(ErrorOf("ssh://admin@manager").find("ssh:// is not supported"), std::string::npos);
  EXPECT_NE(ErrorOf("fd://").find("unsupported scheme \"fd://\""), std::string::npos);
  EXPECT_NE(ErrorOf("npipe:////./pipe/docker_engine").find("unsupported scheme"), std::string::npos);
  EXPECT_NE(ErrorOf("http://m:2375").find("unsupported scheme"), std::string::npos);
  EXPECT_NE(ErrorOf("tcp://user@m:2375").find("user info"), std::string::npos);
}

EnvLookup Env(std::map<std::string, std::string> values) {
  return [values](const std::string& name) {
    auto it = values.find(name);
    return it == values.end() ? std::string() : it->second;
  };
}

TEST(TlsEnv, NothingSetMeansPlain) {
  TlsOptions t = TlsFromEnv(Env({{"HOME", "/home/op"}}));
  EXPECT_FALSE(t.enabled);
  EXPECT_FALSE(t.verify);
  EXPECT_EQ(t.ca, "/home/op/.docker/ca.pem");
  EXPECT_EQ(t.cert, "/home/op/.docker/cert.pem");
  EXPECT_EQ(t.key, "/home/op/.docker/key.pem");
}

TEST(TlsEnv, VerifyImpliesTlsAnyNonEmptyValue) {
  for (const char* v : {"1", "true", "0"}) {  // the docker CLI only checks for non-empty
    TlsOptions t = TlsFromEnv(Env({{"DOCKER_TLS_VERIFY", v}, {"DOCKER_CERT_PATH", "/etc/certs/"}}));
    EXPECT_TRUE(t.enabled) << v;
    EXPECT_TRUE(t.verify) << v;
    EXPECT_EQ(t.ca, "/etc/certs/ca.pem");
  }
}

TEST(TlsEnv, TlsWithoutVerify) {
  TlsOptions t = TlsFromEnv(Env({{"DOCKER_TLS", "1"}, {"DOCKER_CONFIG", "/cfg"}}));
  EXPECT_TRUE(t.enabled);
  EXPECT_FALSE(t.verify);
  EXPECT_EQ(t.key, "/cfg/key.pem");
}

TEST(TlsEnv, CertPathBeatsDockerConfig) {
  TlsOptions t = TlsFromEnv(Env({{"DOCKER_CERT_PATH", "/a"}, {"DOCKER_CONFIG", "/b"}, {"HOME", "/c"}}));
  EXPECT_EQ(t.cert, "/a/cert.pem");
}

TEST(Engine, NamesItsHost) {
  TlsOptions tls;
  EXPECT_EQ(Engine("unix:///tmp/d.sock", tls).host(), "unix:///tmp/d.sock");
  EXPECT_EQ(Engine("unix:///tmp/d.sock", tls).socket_path(), "/tmp/d.sock");
  EXPECT_EQ(Engine("tcp://m", tls).host(), "tcp://m:2375");
  EXPECT_EQ(Engine("tcp://m", tls).socket_path(), "");
  tls.enabled = tls.verify = true;
  EXPECT_EQ(Engine("tcp://m", tls).host(), "tcp://m:2376 (TLS)");
  EXPECT_EQ(Engine("unix:///tmp/d.sock", tls).host(), "unix:///tmp/d.sock");  // TLS is for tcp only
}

TEST(Engine, BadHostFailsEveryRequestWithItsReason) {
  Engine e("ssh://manager", TlsOptions{});
  EXPECT_NE(e.config_error().find("ssh://"), std::string::npos);
  Response r = e.Get("/info");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.error, e.config_error());
  EXPECT_EQ(e.Describe(r), e.config_error());
}

TEST(Engine, UnreachableSocketIsDescribed) {
  Engine e("unix:///nonexistent/swarmwall/docker.sock", TlsOptions{});
  Response r = e.Get("/info");
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(e.Describe(r),
            "cannot reach the Docker daemon at unix:///nonexistent/swarmwall/docker.sock: "
            "no socket /nonexistent/swarmwall/docker.sock (is dockerd running?)")
      << e.Describe(r);
}

TEST(Engine, DescribeHttpErrors) {
  Engine e("tcp://m:2376", TlsOptions{});
  Response r;
  r.status = 404;
  r.body = R"({"message":"node x not found"})";
  EXPECT_EQ(e.Describe(r), "Docker daemon at tcp://m:2376: HTTP 404: node x not found");
  // Go's TLS server answering a plain HTTP request.
  r.status = 400;
  r.body = "Client sent an HTTP request to an HTTPS server.\n";
  EXPECT_NE(e.Describe(r).find("the daemon wants TLS: set DOCKER_TLS_VERIFY=1"), std::string::npos) << e.Describe(r);
}

TEST(Engine, DaemonMessage) {
  EXPECT_EQ(DaemonMessage(R"({"message":"boom"})"), "boom");
  EXPECT_EQ(DaemonMessage("plain text\n"), "plain text");
  EXPECT_EQ(DaemonMessage(R"({"other":1})"), R"({"other":1})");
}

}  // namespace
}  // namespace swarmwall::docker
