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
    bool docker = r.ok() && r.out.find(":DOCKER") != std::string::npos;
    bool user = r.ok() && r.out.find(":DOCKER-USER ") != std::string::npos;
    if (family == netfilter::Family::kIPv4) {
      // Docker not started yet: it will jump to a DOCKER-USER made before it.
      facts.docker_user_ipv4 = user || !docker;
    } else {
      // Docker 20.10 (and any Docker with ip6tables off) makes no IPv6
      // chains at all: only FORWARD is sure to be traversed.
      facts.docker_user_ipv6 = user;
    }
  }
  return facts;
}

}  // namespace swarmwall::backend
