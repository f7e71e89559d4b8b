// The request sequences of docker/swarm.h (SetAvailability's one retry on a
// stale version, WaitNodeEmpty's polling and its timeout message), checked
// against a scripted HTTP responder on a unix socket. What real daemons
// answer (20.10 and 28.5) is tested in tests/e2e/drain_test.cc; this test
// only pins down which requests swarmwall sends and how it reacts.
#include "docker/swarm.h"

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <mutex>
#include <thread>

namespace swarmwall::docker {
namespace {

struct Reply {
  int status = 200;
  std::string body;
};

// Answers each request on its socket with HANDLER(method, path, body) and
// records "METHOD PATH" and the bodies received.
class ScriptedDaemon {
 public:
  using Handler = std::function<Reply(const std::string&, const std::string&, const std::string&)>;

  explicit ScriptedDaemon(Handler handler) : handler_(std::move(handler)) {
    char tmpl[] = "/tmp/swarmwall-swarm-test-XXXXXX";
    dir_ = mkdtemp(tmpl);
    socket_ = dir_ + "/d.sock";
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    socket_.copy(addr.sun_path, sizeof(addr.sun_path) - 1);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || listen(fd_, 8) != 0) std::abort();
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedDaemon() {
    stop_ = true;
    thread_.join();
    close(fd_);
    std::filesystem::remove_all(dir_);
  }

  Engine engine() const { return Engine("unix://" + socket_, TlsOptions{}); }
  std::vector<std::string> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }
  std::vector<std::string> bodies() {
    std::lock_guard<std::mutex> lock(mu_);
    return bodies_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      int c = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) continue;
      Handle(c);
      close(c);
    }
  }

  void Handle(int c) {
    std::string in;
    char buf[4096];
    size_t header_end = std::string::npos;
    while ((header_end = in.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) return;
      in.append(buf, static_cast<size_t>(n));
    }
    std::string head = in.substr(0, header_end);
    std::string body = in.substr(header_end + 4);
    size_t length = 0;
    if (auto at = head.find("Content-Length: "); at != std::string::npos) length = std::stoul(head.substr(at + 16));
    while (body.size() < length) {
      ssize_t n = read(c, buf, sizeof buf);
      if (n <= 0) return;
      body.append(buf, static_cast<size_t>(n));
    }
    std::string line = head.substr(0, head.find("\r\n"));
    std::string method = line.substr(0, line.find(' '));
    std::string path = line.substr(method.size() + 1, line.rfind(' ') - method.size() - 1);
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(method + " " + path);
      if (!body.empty()) bodies_.push_back(body);
    }
    Reply r = handler_(method, path, body);
    std::string out = "HTTP/1.1 " + std::to_string(r.status) + " X\r\nContent-Type: application/json\r\n" +
                      "Content-Length: " + std::to_string(r.body.size()) + "\r\nConnection: close\r\n\r\n" + r.body;
    for (size_t off = 0; off < out.size();) {
      ssize_t n = write(c, out.data() + off, out.size() - off);
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

  Handler handler_;
  std::string dir_, socket_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> requests_, bodies_;
};

std::string Node(int version, const std::string& availability) {
  return R"({"ID": "n1", "Version": {"Index": )" + std::to_string(version) +
         R"(}, "Spec": {"Labels": {"zone": "b"}, "Role": "worker", "Availability": ")" + availability +
         R"("}, "Description": {"Hostname": "wrk"}, "Status": {"State": "ready", "Addr": "10.10.10.2"}})";
}

const Reply kConflict{500, R"({"message":"rpc error: code = Unknown desc = update out of sequence"})"};

TEST(SetAvailability, RetriesOnceWithAFreshVersion) {
  int reads = 0;
  ScriptedDaemon d([&](const std::string& method, const std::string& path, const std::string&) -> Reply {
    if (method == "GET" && path == "/nodes/n1") return {200, Node(5 + reads++, "active")};
    if (path == "/nodes/n1/update?version=5") return kConflict;  // changed between read and write
    if (path == "/nodes/n1/update?version=6") return {200, ""};
    return {404, R"({"message":"unexpected"})"};
  });
  std::string error;
  ASSERT_TRUE(SetAvailability(d.engine(), "n1", "drain", error)) << error;
  EXPECT_EQ(d.requests(), (std::vector<std::string>{"GET /nodes/n1", "POST /nodes/n1/update?version=5",
                                                    "GET /nodes/n1", "POST /nodes/n1/update?version=6"}));
  ASSERT_EQ(d.bodies().size(), 2u);
  auto spec = nlohmann::json::parse(d.bodies()[1]);
  EXPECT_EQ(spec["Availability"], "drain");
  EXPECT_EQ(spec["Labels"]["zone"], "b");  // the rest of the spec is sent back as read
  EXPECT_EQ(spec["Role"], "worker");
}

TEST(SetAvailability, GivesUpAfterTheSecondConflict) {
  int reads = 0;
  ScriptedDaemon d([&](const std::string& method, const std::string&, const std::string&) -> Reply {
    if (method == "GET") return {200, Node(5 + reads++, "active")};
    return kConflict;
  });
  std::string error;
  EXPECT_FALSE(SetAvailability(d.engine(), "n1", "drain", error));
  EXPECT_EQ(d.requests().size(), 4u);
  EXPECT_NE(error.find("setting node n1 to drain: updating node n1: version conflict"), std::string::npos) << error;
}

TEST(SetAvailability, NothingWrittenWhenAlreadySet) {
  ScriptedDaemon d([&](const std::string&, const std::string&, const std::string&) -> Reply {
    return {200, Node(9, "drain")};
  });
  std::string error;
  EXPECT_TRUE(SetAvailability(d.engine(), "n1", "drain", error)) << error;
  EXPECT_EQ(d.requests(), (std::vector<std::string>{"GET /nodes/n1"}));
}

TEST(SetAvailability, OtherFailuresAreNotRetried) {
  ScriptedDaemon d([&](const std::string& method, const std::string&, const std::string&) -> Reply {
    if (method == "GET") return {200, Node(5, "active")};
    return {500, R"({"message":"raft: no leader"})"};
  });
  std::string error;
  EXPECT_FALSE(SetAvailability(d.engine(), "n1", "drain", error));
  EXPECT_EQ(d.requests().size(), 2u);
  EXPECT_NE(error.find("HTTP 500: raft: no leader"), std::string::npos) << error;
}

std::string Tasks(const std::string& state, const std::string& desired) {
  return R"([{"ID": "t1", "ServiceID": "s1", "Slot": 3, "NodeID": "n1", "Status": {"State": ")" + state +
         R"("}, "DesiredState": ")" + desired + R"("},
             {"ID": "t0", "ServiceID": "s1", "Slot": 3, "NodeID": "n1", "Status": {"State": "shutdown"},
              "DesiredState": "shutdown"}])";
}

const std::string kTasksPath = "/tasks?filters=%7B%22node%22%3A%5B%22n1%22%5D%7D";

TEST(WaitNodeEmpty, PollsUntilTheTasksHaveStopped) {
  int polls = 0;
  ScriptedDaemon d([&](const std::string&, const std::string& path, const std::string&) -> Reply {
    if (path == "/nodes/n1") return {200, Node(5, "drain")};
    if (path == kTasksPath) {
      ++polls;
      if (polls == 1) return {200, Tasks("running", "running")};
      if (polls == 2) return {200, Tasks("running", "shutdown")};  // stopping
      return {200, Tasks("shutdown", "shutdown")};
    }
    return {404, "{}"};
  });
  std::string error;
  ASSERT_TRUE(WaitNodeEmpty(d.engine(), "n1", std::chrono::seconds(30), error)) << error;
  EXPECT_EQ(polls, 3);
  EXPECT_EQ(d.requests().front(), "GET /nodes/n1");
}

TEST(WaitNodeEmpty, TimeoutNamesTheTasksLeft) {
  ScriptedDaemon d([&](const std::string&, const std::string& path, const std::string&) -> Reply {
    if (path == "/nodes/n1") return {200, Node(5, "drain")};
    if (path == kTasksPath) return {200, Tasks("running", "shutdown")};
    if (path == "/services") return {200, R"([{"ID": "s1", "Spec": {"Name": "web"}}])"};
    return {404, "{}"};
  });
  std::string error;
  EXPECT_FALSE(WaitNodeEmpty(d.engine(), "n1", std::chrono::seconds(0), error));
  EXPECT_EQ(error, "1 task is still on node n1 after 0 s: web.3 (running, desired shutdown)");
}

TEST(WaitNodeEmpty, UnknownNodeIsAnErrorNotEmpty) {
  ScriptedDaemon d([&](const std::string&, const std::string&, const std::string&) -> Reply {
    return {404, R"({"message":"node n2 not found"})"};
  });
  std::string error;
  EXPECT_FALSE(WaitNodeEmpty(d.engine(), "n2", std::chrono::seconds(5), error));
  EXPECT_NE(error.find("no node \"n2\""), std::string::npos) << error;
  EXPECT_EQ(d.requests().size(), 1u);
}

TEST(Errors, WorkerAndOutsideSwarm) {
  std::string message;
  ScriptedDaemon d([&](const std::string&, const std::string&, const std::string&) -> Reply {
    return {503, nlohmann::json{{"message", message}}.dump()};
  });
  std::string error;
  message = "This node is not a swarm manager. Worker nodes can't be used to view or modify cluster state.";
  EXPECT_FALSE(ListNodes(d.engine(), error));
  EXPECT_NE(error.find("is a swarm worker, not a manager"), std::string::npos) << error;
  message = "This node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect.";
  EXPECT_FALSE(InspectNode(d.engine(), "n1", error));
  EXPECT_NE(error.find("is not in a swarm"), std::string::npos) << error;
  message = "This node is not a swarm manager. Manager is being prepared or has trouble connecting to the cluster.";
  EXPECT_FALSE(ListNodes(d.engine(), error));
  EXPECT_NE(error.find("is not a usable swarm manager"), std::string::npos) << error;
}

TEST(LocalNodeId, FromInfo) {
  ScriptedDaemon d([&](const std::string&, const std::string& path, const std::string&) -> Reply {
    if (path == "/info") return {200, R"({"Swarm": {"NodeID": "n1", "LocalNodeState": "active"}})"};
    return {404, "{}"};
  });
  std::string error;
  auto id = LocalNodeId(d.engine(), error);
  ASSERT_TRUE(id) << error;
  EXPECT_EQ(*id, "n1");
  auto manager = IsManager(d.engine(), error);
  ASSERT_TRUE(manager) << error;
  EXPECT_FALSE(*manager);  // ControlAvailable absent: a worker
}

}  // namespace
}  // namespace swarmwall::docker
