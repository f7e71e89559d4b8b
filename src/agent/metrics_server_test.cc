// The metrics server under hostile clients, on unix sockets: a slow-loris
// client, thousands of idle connections, malformed requests, and what
// `--metrics unix:PATH` may remove. Assertions are about who got answered,
// never about how fast (the bounds are generous).
#include <fcntl.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "agent/metrics_server.h"

namespace swarmwall::agent {
namespace {

using namespace std::chrono_literals;

std::string SocketPath(const std::string& tag) {
  return (std::filesystem::temp_directory_path() /
          ("swarmwall-ms-" + std::to_string(getpid()) + "-" + tag + ".sock")).string();
}

sockaddr_un Address(const std::string& path) {
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  std::memcpy(sa.sun_path, path.data(), path.size());
  return sa;
}

// A connected socket, or -1. NONBLOCKING connects never wait for a full
// accept queue.
int Connect(const std::string& path, bool nonblocking = false) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblocking ? SOCK_NONBLOCK : 0), 0);
  auto sa = Address(path);
  if (connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Everything FD says until it closes, waiting at most 15 s in all.
std::string ReadToEnd(int fd) {
  std::string out;
  auto until = std::chrono::steady_clock::now() + 15s;
  char buf[4096];
  while (std::chrono::steady_clock::now() < until) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 200) <= 0) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n <= 0) return out;
    out.append(buf, static_cast<size_t>(n));
  }
  return out + "<no end after 15 s>";
}

// The answer to REQUEST ("" when the server closed without one).
std::string Ask(const std::string& path, const std::string& request) {
  int fd = Connect(path);
  if (fd < 0) return "<cannot connect>";
  if (send(fd, request.data(), request.size(), MSG_NOSIGNAL) < 0) {
  }
  std::string answer = ReadToEnd(fd);
  close(fd);
  return answer;
}

TEST(MetricsServer, ASlowClientDoesNotHoldProbesUp) {
  std::string path = SocketPath("slow");
  Metrics metrics;
  metrics.AddCheck(true);
  std::string error;
  auto server = MetricsServer::Start("unix:" + path, metrics, error);
  ASSERT_TRUE(server) << error;
  // A byte every 0.3 s, a head that never ends: each read is quick, the
  // request is not.
  std::atomic<bool> dropped{false}, stop{false};
  std::thread slow([&] {
    int fd = Connect(path);
    if (fd < 0) return;
    std::string head = "GET /metrics HTTP/1.0\r\nX-Slow: ";
    for (size_t i = 0; !stop; ++i) {
      char c = i < head.size() ? head[i] : 'a';
      if (send(fd, &c, 1, MSG_NOSIGNAL) != 1) {
        dropped = true;
        break;
      }
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 300) > 0) {  // the server answered or closed: it gave up on us
        dropped = true;
        break;
      }
    }
    close(fd);
  });
  std::this_thread::sleep_for(500ms);  // the slow client is in
  EXPECT_TRUE(Ask(path, "GET /healthz HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 200")) << "probe 1";
  std::this_thread::sleep_for(700ms);
  EXPECT_TRUE(Ask(path, "GET /metrics HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 200")) << "probe 2";
  // The whole request has a deadline: the trickle is cut off (bound 30 s).
  for (int i = 0; i < 300 && !dropped; ++i) std::this_thread::sleep_for(100ms);
  stop = true;
  slow.join();
  EXPECT_TRUE(dropped) << "the slow client was never cut off";
}

TEST(MetricsServer, ThousandsOfIdleConnectionsDoNotKeepAProbeOut) {
  constexpr size_t kIdle = 2000;
  rlimit lim{};
  getrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur < kIdle + 300) {
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, kIdle + 1000);
    setrlimit(RLIMIT_NOFILE, &lim);
    getrlimit(RLIMIT_NOFILE, &lim);
  }
  if (lim.rlim_cur < kIdle + 300) GTEST_SKIP() << "RLIMIT_NOFILE hard limit " << lim.rlim_max << " too low";
  std::string path = SocketPath("idle");
  Metrics metrics;
  std::string error;
  auto server = MetricsServer::Start("unix:" + path, metrics, error);
  ASSERT_TRUE(server) << error;
  std::vector<int> idle;
  for (size_t i = 0; i < kIdle; ++i) {
    int fd = -1;
    // A full accept queue: try again for a while, then stop opening.
    for (int attempt = 0; attempt < 200 && fd < 0; ++attempt) {
      fd = Connect(path, true);
      if (fd < 0) std::this_thread::sleep_for(5ms);
    }
    if (fd < 0) break;
    idle.push_back(fd);
  }
  EXPECT_GE(idle.size(), kIdle / 2) << "could not even open the idle connections";
  std::string answer = Ask(path, "GET /metrics HTTP/1.0\r\n\r\n");
  EXPECT_TRUE(answer.starts_with("HTTP/1.0 200")) << answer.substr(0, 200);
  EXPECT_NE(answer.find("swarmwall_up 1"), std::string::npos);
  // The oldest idle connection was closed by the server, not left open.
  if (!idle.empty()) {
    fcntl(idle.front(), F_SETFL, 0);
    EXPECT_EQ(ReadToEnd(idle.front()), "");
  }
  for (int fd : idle) close(fd);
  // And it still answers.
  EXPECT_TRUE(Ask(path, "GET /healthz\r\n\r\n").starts_with("HTTP/1.0 503"));
}

TEST(MetricsServer, MalformedRequests) {
  std::string path = SocketPath("bad");
  Metrics metrics;
  std::string error;
  auto server = MetricsServer::Start("unix:" + path, metrics, error);
  ASSERT_TRUE(server) << error;
  EXPECT_TRUE(Ask(path, std::string("\x00\x01\xff\xe9 / x\r\n\r\n", 12)).starts_with("HTTP/1.0 400"));
  EXPECT_TRUE(Ask(path, "GET\r\n\r\n").starts_with("HTTP/1.0 400"));
  EXPECT_TRUE(Ask(path, "GET nothing HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 400"));
  EXPECT_TRUE(Ask(path, "DELETE /metrics HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 405"));
  EXPECT_TRUE(Ask(path, std::string(20000, 'A')).starts_with("HTTP/1.0 431"));
  EXPECT_TRUE(Ask(path, "GET /metrics HTTP/1.0\r\n" + std::string(20000, 'h') + "\r\n\r\n").starts_with("HTTP/1.0 431"));
  EXPECT_TRUE(Ask(path, "GET /nope HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 404"));
  EXPECT_EQ(Ask(path, ""), "");  // said nothing: closed at its deadline, no answer
  // A client that sends its request and closes at once still gets nothing
  // wrong on the server's side.
  for (int i = 0; i < 50; ++i) {
    int fd = Connect(path);
    ASSERT_GE(fd, 0);
    if (send(fd, "GET /metrics HTTP/1.0\r\n\r\n", 25, MSG_NOSIGNAL) < 0) {
    }
    close(fd);
  }
  EXPECT_TRUE(Ask(path, "GET /metrics?x=1 HTTP/1.1\r\nHost: a\r\n\r\n").starts_with("HTTP/1.0 200"));
}

TEST(MetricsServer, UnixPathIsRemovedOnlyWhenItIsAStaleSocket) {
  Metrics metrics;
  std::string error;
  // A regular file: an error, and the file is intact.
  std::string file = SocketPath("file");
  std::ofstream(file) << "precious\n";
  EXPECT_FALSE(MetricsServer::Start("unix:" + file, metrics, error));
  EXPECT_NE(error.find("not a socket"), std::string::npos) << error;
  std::ifstream in(file);
  std::string content;
  std::getline(in, content);
  EXPECT_EQ(content, "precious");
  std::filesystem::remove(file);
  // A directory.
  std::string dir = SocketPath("dir");
  std::filesystem::create_directory(dir);
  error.clear();
  EXPECT_FALSE(MetricsServer::Start("unix:" + dir, metrics, error));
  EXPECT_NE(error.find("not a socket"), std::string::npos) << error;
  EXPECT_TRUE(std::filesystem::is_directory(dir));
  std::filesystem::remove(dir);
  // A socket somebody listens on: left alone.
  std::string live = SocketPath("live");
  auto first = MetricsServer::Start("unix:" + live, metrics, error);
  ASSERT_TRUE(first) << error;
  error.clear();
  EXPECT_FALSE(MetricsServer::Start("unix:" + live, metrics, error));
  EXPECT_NE(error.find("another process listens"), std::string::npos) << error;
  EXPECT_TRUE(Ask(live, "GET /metrics HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 200"));
  first.reset();
  // A stale socket (its listener gone, the file left): taken over.
  std::string stale = SocketPath("stale");
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  auto sa = Address(stale);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa), 0);
  close(fd);
  ASSERT_TRUE(std::filesystem::is_socket(stale));
  auto server = MetricsServer::Start("unix:" + stale, metrics, error);
  ASSERT_TRUE(server) << error;
  EXPECT_TRUE(Ask(stale, "GET /metrics HTTP/1.0\r\n\r\n").starts_with("HTTP/1.0 200"));
  server.reset();
  EXPECT_FALSE(std::filesystem::exists(stale));  // its own socket is removed at the end...
  // ...but not what replaced it meanwhile.
  server = MetricsServer::Start("unix:" + stale, metrics, error);
  ASSERT_TRUE(server) << error;
  std::filesystem::remove(stale);
  std::ofstream(stale) << "precious\n";
  server.reset();
  EXPECT_TRUE(std::filesystem::is_regular_file(stale));
  std::filesystem::remove(stale);
}

}  // namespace
}  // namespace swarmwall::agent
