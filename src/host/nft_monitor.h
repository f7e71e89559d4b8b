// Notices every nf_tables commit in this network namespace as it happens: a
// NETLINK_NETFILTER socket subscribed to the NFNLGRP_NFTABLES multicast
// group (what `nft monitor` listens to), read in process. The iptables-nft
// tools commit through nf_tables, so any change to any table by anyone
// (Docker, iptables-restore, firewalld, nft) wakes the agent; it then
// decides by comparing, not by decoding the messages.
#pragma once

#include <optional>
#include <string>
#include <utility>

namespace swarmwall::host {

class NftMonitor {
 public:
  // nullopt with ERROR when the kernel refuses (no nf_tables, no permission).
  static std::optional<NftMonitor> Open(std::string& error);
  NftMonitor(NftMonitor&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  NftMonitor& operator=(NftMonitor&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~NftMonitor();

  int fd() const { return fd_; }  // poll it for POLLIN
  // Reads everything queued; the number of messages (an overrun, when the
  // kernel dropped some, counts as one: something changed).
  int Drain();

 private:
  explicit NftMonitor(int fd) : fd_(fd) {}
  int fd_ = -1;
};

}  // namespace swarmwall::host
