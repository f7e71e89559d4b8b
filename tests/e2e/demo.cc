// The README's demo: a real Docker host (and a second one with the other
// Docker version when it is available) in network namespaces, with published
// containers, explained by `swarmwall explain --live`. Everything it creates
// is removed at the end, also on failure.
#include <cstdio>
#include <iostream>

#include "lab/lab.h"

using swarmwall::lab::DockerVersion;

namespace {

void Step(const std::string& text) { std::cout << "\n==> " << text << "\n" << std::flush; }

int Demo(const std::string& swarmwall) {
  swarmwall::lab::Lab lab("demo");
  auto& pub = lab.AddSwitch("pub");
  auto& stranger = lab.AddHost("stranger");
  lab.Connect(stranger, pub, "eth0", {"203.0.113.100/24"});
  int n = 0;
  for (DockerVersion v : {DockerVersion::k20_10, DockerVersion::k28_5}) {
    std::string ver = swarmwall::lab::DockerVersionName(v);
    if (!swarmwall::lab::DockerAvailable(v)) {
      Step("Docker " + ver + " is not available here: " + swarmwall::lab::DockerUnavailableReason(v));
      continue;
    }
    ++n;
    std::string addr = "203.0.113.1" + std::to_string(n);
    std::string name = "node" + std::to_string(n);
    Step("Starting " + name + " (" + addr + ") with a real dockerd " + ver +
         " in its own network namespace");
    auto& host = lab.AddHost(name);
    lab.Connect(host, pub, "eth0", {addr + "/24"});
    auto& docker = lab.StartDocker(host, v);
    docker.EnsureBusyboxImage();
    std::cout << "    docker version: " << docker.Version() << "\n";
    docker.Docker({"swarm", "init", "--advertise-addr", addr});
    std::cout << "    docker swarm init: done\n";
    docker.RunWebContainer("web", {"8080:80"});
    docker.RunWebContainer("db", {"127.0.0.1:5432:80"});
    std::cout << "    docker run -p 8080:80 web; docker run -p 127.0.0.1:5432:80 db\n";
    Step("A stranger on the public network (203.0.113.100) tries " + addr + ":8080");
    std::cout << "    reachable: " << (stranger.CanConnect(addr, 8080) ? "YES" : "no")
              << "  (no firewall yet: every published port is open to everyone)\n";
    Step("swarmwall explain --live on " + name);
    auto r = host.Exec({"env", "DOCKER_HOST=unix://" + docker.Socket(), swarmwall, "explain",
                        "--live"});
    std::cout << r.out << r.err;
    if (r.exit_code != 0) return 1;
  }
  Step("Removing the lab (namespaces, daemons, mounts)");
  lab.Cleanup();
  return n > 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: swarmwall_demo PATH-TO-SWARMWALL\n";
    return 1;
  }
  try {
    return Demo(argv[1]);
  } catch (const std::exception& e) {
    std::cerr << "demo failed: " << e.what() << "\n";
    return 1;
  }
}
