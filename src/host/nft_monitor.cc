#include "host/nft_monitor.h"

#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace swarmwall::host {

std::optional<NftMonitor> NftMonitor::Open(std::string& error) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_NETFILTER);
  if (fd < 0) {
    error = std::string("netlink socket: ") + std::strerror(errno);
    return std::nullopt;
  }
  sockaddr_nl sa{};
  sa.nl_family = AF_NETLINK;
  int group = NFNLGRP_NFTABLES;
  int rcvbuf = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  if (bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
      setsockopt(fd, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0) {
    error = std::string("cannot subscribe to nf_tables events: ") + std::strerror(errno);
    close(fd);
    return std::nullopt;
  }
  return NftMonitor(fd);
}

NftMonitor::~NftMonitor() {
  if (fd_ >= 0) close(fd_);
}

int NftMonitor::Drain() {
  alignas(nlmsghdr) static char buf[65536];
  int messages = 0;
  for (;;) {
    ssize_t n = recv(fd_, buf, sizeof buf, 0);
    if (n < 0) {
      if (errno == ENOBUFS) {
        ++messages;
        continue;
      }
      if (errno == EINTR) continue;
      return messages;  // EAGAIN: all read
    }
    if (n == 0) return messages;
    for (auto* nh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n))
      ++messages;
  }
}

}  // namespace swarmwall::host
