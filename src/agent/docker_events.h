// Follows the local Docker daemon's event stream (GET /events over its unix
// socket, HTTP/1.0 so the answer is a plain stream of JSON lines) in a
// thread of its own, and tells the agent about what can change the
// firewall's surroundings: the daemon going away and coming back (a
// restart rebuilds Docker's chains), containers starting and stopping
// (published ports), networks, Swarm nodes. The agent answers each with a
// check; nothing here decides anything.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace swarmwall::agent {

struct DockerEvent {
  std::string kind;    // "daemon-up", "daemon-gone", or the event's Type ("container", ...)
  std::string action;  // "start", "die", "update", ...
  std::string name;    // container / network / node name or id
};

// One line of the event stream as a DockerEvent; nullopt for events that
// cannot change a firewall (exec_start, health_status, ...).
std::optional<DockerEvent> ParseDockerEvent(const std::string& line);

class DockerEvents {
 public:
  // SOCKET: the daemon's unix socket. NOTIFY is called from the thread after
  // each event is queued (it must only wake the agent).
  DockerEvents(std::string socket, std::function<void()> notify);
  ~DockerEvents();
  DockerEvents(const DockerEvents&) = delete;
  DockerEvents& operator=(const DockerEvents&) = delete;

  // The events queued since the last call.
  std::deque<DockerEvent> Take();

 private:
  void Run();
  bool Follow(int stop_fd);  // one connection; false when asked to stop
  void Push(DockerEvent e);

  std::string socket_;
  std::function<void()> notify_;
  int stop_fd_;
  std::mutex mu_;
  std::deque<DockerEvent> queue_;
  bool connected_once_ = false, up_ = false;
  std::thread thread_;
};

}  // namespace swarmwall::agent
