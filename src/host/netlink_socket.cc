#include "host/netlink_socket.h"

#include <linux/netfilter/nfnetlink.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <memory>

namespace swarmwall::host {

bool NetlinkAttrs::Next(uint16_t& type, const char*& data, size_t& len) {
  if (left < NLA_HDRLEN) return false;
  nlattr a;
  std::memcpy(&a, at, sizeof a);
  if (a.nla_len < NLA_HDRLEN || a.nla_len > left) return false;
  type = a.nla_type & NLA_TYPE_MASK;
  data = at + NLA_HDRLEN;
  len = a.nla_len - NLA_HDRLEN;
  size_t step = std::min<size_t>(NLA_ALIGN(a.nla_len), left);
  at += step;
  left -= step;
  return true;
}

NetlinkRequest::NetlinkRequest(uint16_t type, uint16_t flags, uint8_t family, uint32_t seq)
    : seq_(seq) {
  buf_.resize(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg)));
  auto* nh = reinterpret_cast<nlmsghdr*>(buf_.data());
  nh->nlmsg_type = type;
  nh->nlmsg_flags = flags;
  nh->nlmsg_seq = seq;
  auto* g = reinterpret_cast<nfgenmsg*>(buf_.data() + NLMSG_HDRLEN);
  g->nfgen_family = family;
  g->version = NFNETLINK_V0;
}

void NetlinkRequest::Put(uint16_t type, const std::string& payload) {
  nlattr a{};
  a.nla_type = type;
  a.nla_len = static_cast<uint16_t>(NLA_HDRLEN + payload.size());
  size_t at = buf_.size();
  buf_.resize(at + NLA_ALIGN(a.nla_len), '\0');
  std::memcpy(buf_.data() + at, &a, sizeof a);
  std::memcpy(buf_.data() + at + NLA_HDRLEN, payload.data(), payload.size());
}

const std::string& NetlinkRequest::Finish() {
  reinterpret_cast<nlmsghdr*>(buf_.data())->nlmsg_len = static_cast<uint32_t>(buf_.size());
  return buf_;
}

NetlinkSocket::NetlinkSocket() : fd_(socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER)) {
  if (fd_ < 0) return;
  int size = 1 << 20;
  setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &size, sizeof size);
}

NetlinkSocket::~NetlinkSocket() {
  if (fd_ >= 0) close(fd_);
}

bool NetlinkSocket::Dump(NetlinkRequest& request,
                         const std::function<bool(NetlinkAttrs)>& on_message, std::string& error) {
  if (fd_ < 0) {
    error = "no netlink socket";
    return false;
  }
  const std::string& req = request.Finish();
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd_, req.data(), req.size(), 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) !=
      static_cast<ssize_t>(req.size())) {
    error = std::string("netlink send: ") + std::strerror(errno);
    return false;
  }
  constexpr size_t kBuf = 1 << 18;
  auto buf = std::make_unique_for_overwrite<char[]>(kBuf);
  for (;;) {
    ssize_t n = recv(fd_, buf.get(), kBuf, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      error = n < 0 ? std::string("netlink receive: ") + std::strerror(errno)
                    : "netlink: the kernel closed the dump";
      return false;
    }
    for (auto* nh = reinterpret_cast<nlmsghdr*>(buf.get()); NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
      if (nh->nlmsg_seq != request.seq()) continue;
      if (nh->nlmsg_type == NLMSG_DONE) return true;
      if (nh->nlmsg_type == NLMSG_ERROR) {
        auto* e = static_cast<nlmsgerr*>(NLMSG_DATA(nh));
        if (e->error == 0) continue;
        error = std::strerror(-e->error);
        return false;
      }
      size_t head = NLMSG_ALIGN(sizeof(nfgenmsg));
      if (nh->nlmsg_len < NLMSG_HDRLEN + head) continue;
      NetlinkAttrs attrs{static_cast<const char*>(NLMSG_DATA(nh)) + head,
                         nh->nlmsg_len - NLMSG_HDRLEN - head};
      if (!on_message(attrs)) return false;
    }
  }
}

}  // namespace swarmwall::host
