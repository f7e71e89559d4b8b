#include "backend/host_facts.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <cstring>

#include "base/process.h"

namespace swarmwall::backend {

std::vector<netfilter::IpAddress> LocalAddresses() {
  std::vector<netfilter::IpAddress> out;
  ifaddrs* list = nullptr;
  if (getifaddrs(&list) != 0) return out;
  for (ifaddrs* i = list; i; i = i->ifa_next) {
    if (!i->ifa_addr) continue;
    netfilter::IpAddress a;
    if (i->ifa_addr->sa_family == AF_INET) {
      a.family = netfilter::Family::kIPv4;
      memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in*>(i->ifa_addr)->sin_addr, 4);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      a.family = netfilter::Family::kIPv6;
      memcpy(a.bytes.data(), &reinterpret_cast<sockaddr_in6*>(i->ifa_addr)->sin6_addr, 16);
    } else {
      continue;
    }
    out.push_back(a);
  }
  freeifaddrs(list);
  return out;
}

compile::NodeFacts GatherNodeFacts(const IptablesVariant& variant) {
  compile::NodeFacts facts;
  facts.local_addresses = LocalAddresses();
  for (auto family : {netfilter::Family::kIPv4, netfilter::Family::kIPv6}) {
    auto r = RunProcess({variant.SaveCommand(family), "-t", "filter"},
                        {.timeout = std::chrono::seconds(30)});
    // Docker's own chains; a DOCKER-USER alone may be the one swarmwall made.
    bool docker = false;
    for (size_t pos = 0; r.ok() && (pos = r.out.find("\n:DOCKER", pos)) != std::string::npos; ++pos)
      docker |= r.out.compare(pos, 14, "\n:DOCKER-USER ") != 0;
    bool jumps = r.ok() && r.out.find("\n-A FORWARD -j DOCKER-USER") != std::string::npos;
    bool v4 = family == netfilter::Family::kIPv4;
    // Docker running and FORWARD jumping to DOCKER-USER: hook there only.
    // Docker not started yet: DOCKER-USER (it keeps ours) and, for IPv6,
    // FORWARD too (Docker 20.10 makes no IPv6 chains; Docker 28 puts its
    // own FORWARD jumps first). Docker running without the jump (20.10's
    // IPv6, or the moby#48560 fail-open): FORWARD.
    (v4 ? facts.docker_user_ipv4 : facts.docker_user_ipv6) = jumps || !docker;
    (v4 ? facts.forward_ipv4 : facts.forward_ipv6) = !jumps && (docker || !v4);
  }
  return facts;
}

}  // namespace swarmwall::backend
