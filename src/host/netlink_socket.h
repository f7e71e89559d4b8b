// The little of nfnetlink that swarmwall speaks itself: one request, a dump
// read to its end, and the attributes of each message walked in place. Used
// where forking a tool and parsing its text would cost more than the answer
// (ipset's sets, conntrack's table); nothing here knows those subsystems.
#pragma once

#include <linux/netlink.h>

#include <cstdint>
#include <functional>
#include <string>

namespace swarmwall::host {

// The attributes of one nest (or of a message's payload), in order.
struct NetlinkAttrs {
  const char* at = nullptr;
  size_t left = 0;
  // The next attribute: TYPE without its flags, its payload DATA, LEN bytes.
  bool Next(uint16_t& type, const char*& data, size_t& len);
};

// A request: the netlink header, the nfnetlink header, then attributes.
class NetlinkRequest {
 public:
  NetlinkRequest(uint16_t type, uint16_t flags, uint8_t family, uint32_t seq);
  void Put(uint16_t type, const std::string& payload);
  void PutU8(uint16_t type, uint8_t value) { Put(type, std::string(1, static_cast<char>(value))); }
  // The bytes to send (the length filled in).
  const std::string& Finish();
  uint32_t seq() const { return seq_; }

 private:
  std::string buf_;
  uint32_t seq_;
};

// One NETLINK_NETFILTER socket.
class NetlinkSocket {
 public:
  NetlinkSocket();
  ~NetlinkSocket();
  NetlinkSocket(const NetlinkSocket&) = delete;
  NetlinkSocket& operator=(const NetlinkSocket&) = delete;
  bool ok() const { return fd_ >= 0; }

  // Sends REQUEST and reads every answer to NLMSG_DONE; ON_MESSAGE gets the
  // attributes after each message's nfnetlink header and returns false to
  // stop (with ERROR set by it). False with ERROR on any failure.
  bool Dump(NetlinkRequest& request, const std::function<bool(NetlinkAttrs)>& on_message,
            std::string& error);

 private:
  int fd_;
};

}  // namespace swarmwall::host
