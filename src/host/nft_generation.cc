#include "host/nft_generation.h"

#include <arpa/inet.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "host/process_identity.h"

namespace swarmwall::host {

namespace {

// A netlink socket to nf_tables that has sent one GET of TYPE (FLAGS
// besides NLM_F_REQUEST) for every family; -1 when that failed.
int AskNfTables(int type, int flags) {
  int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
  if (fd < 0) return -1;
  struct {
    nlmsghdr nh;
    nfgenmsg nfg;
  } req{};
  req.nh.nlmsg_len = sizeof req;
  req.nh.nlmsg_type = static_cast<uint16_t>((NFNL_SUBSYS_NFTABLES << 8) | type);
  req.nh.nlmsg_flags = static_cast<uint16_t>(NLM_F_REQUEST | flags);
  req.nh.nlmsg_seq = 1;
  req.nfg.nfgen_family = AF_UNSPEC;
  req.nfg.version = NFNETLINK_V0;
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  if (sendto(fd, &req, sizeof req, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) !=
      static_cast<ssize_t>(sizeof req)) {
    close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::optional<uint32_t> NftGeneration() {
  int fd = AskNfTables(NFT_MSG_GETGEN, 0);
  if (fd < 0) return std::nullopt;
  std::optional<uint32_t> result;
  {
    alignas(nlmsghdr) char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    for (auto* nh = reinterpret_cast<nlmsghdr*>(buf); n > 0 && NLMSG_OK(nh, n);
         nh = NLMSG_NEXT(nh, n)) {
      if (nh->nlmsg_type == NLMSG_ERROR) break;
      if ((nh->nlmsg_type & 0xff) != NFT_MSG_NEWGEN) continue;
      auto* attr = reinterpret_cast<nlattr*>(static_cast<char*>(NLMSG_DATA(nh)) +
                                             NLMSG_ALIGN(sizeof(nfgenmsg)));
      int left = static_cast<int>(nh->nlmsg_len) - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(nfgenmsg)));
      while (left >= static_cast<int>(sizeof(nlattr)) && attr->nla_len >= sizeof(nlattr) &&
             attr->nla_len <= left) {
        if ((attr->nla_type & NLA_TYPE_MASK) == NFTA_GEN_ID &&
            attr->nla_len >= NLA_HDRLEN + sizeof(uint32_t)) {
          uint32_t id;
          std::memcpy(&id, reinterpret_cast<char*>(attr) + NLA_HDRLEN, sizeof id);
          result = ntohl(id);
          break;
        }
        int step = NLA_ALIGN(attr->nla_len);
        left -= step;
        attr = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(attr) + step);
      }
      break;
    }
  }
  close(fd);
  return result;
}

namespace {

// The NAME_ATTR of every object one NLM_F_DUMP of GET lists (NEW each),
// prefixed with its TABLE_ATTR and a space when that is not 0.
std::optional<std::vector<std::string>> DumpNames(int get, int reply, int name_attr, int table_attr = 0) {
  int fd = AskNfTables(get, NLM_F_DUMP);
  if (fd < 0) return std::nullopt;
  std::optional<std::vector<std::string>> result;
  std::vector<std::string> names;
  bool done = false, failed = false;
  alignas(nlmsghdr) char buf[32768];
  while (!done && !failed) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) {
      failed = true;
      break;
    }
    for (auto* nh = reinterpret_cast<nlmsghdr*>(buf); NLMSG_OK(nh, n); nh = NLMSG_NEXT(nh, n)) {
      if (nh->nlmsg_type == NLMSG_DONE) {
        done = true;
        break;
      }
      if (nh->nlmsg_type == NLMSG_ERROR) {
        failed = true;
        break;
      }
      if ((nh->nlmsg_type & 0xff) != reply) continue;
      auto* attr = reinterpret_cast<nlattr*>(static_cast<char*>(NLMSG_DATA(nh)) + NLMSG_ALIGN(sizeof(nfgenmsg)));
      int left = static_cast<int>(nh->nlmsg_len) - NLMSG_LENGTH(NLMSG_ALIGN(sizeof(nfgenmsg)));
      std::string name, table;
      while (left >= static_cast<int>(sizeof(nlattr)) && attr->nla_len >= sizeof(nlattr) && attr->nla_len <= left) {
        int type = attr->nla_type & NLA_TYPE_MASK;
        if ((type == name_attr || (table_attr && type == table_attr)) && attr->nla_len > NLA_HDRLEN) {
          const char* text = reinterpret_cast<const char*>(attr) + NLA_HDRLEN;
          size_t size = attr->nla_len - NLA_HDRLEN;
          (type == name_attr ? name : table).assign(text, strnlen(text, size));   // never past the attribute
        }
        int step = NLA_ALIGN(attr->nla_len);
        left -= step;
        attr = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(attr) + step);
      }
      if (!name.empty()) names.push_back(table_attr ? table + " " + name : name);
    }
  }
  close(fd);
  if (done) result = std::move(names);
  return result;
}

}  // namespace

std::optional<std::vector<std::string>> NftTableNamesByNetlink() {
  return DumpNames(NFT_MSG_GETTABLE, NFT_MSG_NEWTABLE, NFTA_TABLE_NAME);
}

std::optional<std::vector<std::string>> NftChainNamesByNetlink() {
  return DumpNames(NFT_MSG_GETCHAIN, NFT_MSG_NEWCHAIN, NFTA_CHAIN_NAME, NFTA_CHAIN_TABLE);
}

std::string NetnsIdentity() {
  std::string boot = BootId();
  struct stat st{};
  if (stat("/proc/self/ns/net", &st) != 0) return "";
  return boot + "/" + std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

}  // namespace swarmwall::host
