// The pure half of netlink_socket.h: a request's bytes and the attribute
// walk over them, including a truncated or lying attribute (no socket).
#include "host/netlink_socket.h"

#include <linux/netfilter/nfnetlink.h>

#include <gtest/gtest.h>

namespace swarmwall::host {
namespace {

TEST(NetlinkRequest, HeaderAndAlignedAttributes) {
  NetlinkRequest req(0x0601, NLM_F_REQUEST | NLM_F_DUMP, 2, 7);
  req.PutU8(1, 6);
  req.Put(2, "abcde");
  const std::string& bytes = req.Finish();
  size_t head = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
  ASSERT_EQ(bytes.size(), head + NLA_ALIGN(NLA_HDRLEN + 1) + NLA_ALIGN(NLA_HDRLEN + 5));
  auto* nh = reinterpret_cast<const nlmsghdr*>(bytes.data());
  EXPECT_EQ(nh->nlmsg_len, bytes.size());
  EXPECT_EQ(nh->nlmsg_type, 0x0601);
  EXPECT_EQ(nh->nlmsg_seq, 7u);
  EXPECT_EQ(req.seq(), 7u);

  NetlinkAttrs attrs{bytes.data() + head, bytes.size() - head};
  uint16_t type;
  const char* data;
  size_t len;
  ASSERT_TRUE(attrs.Next(type, data, len));
  EXPECT_EQ(type, 1);
  ASSERT_EQ(len, 1u);
  EXPECT_EQ(data[0], 6);
  ASSERT_TRUE(attrs.Next(type, data, len));
  EXPECT_EQ(type, 2);
  EXPECT_EQ(std::string(data, len), "abcde");
  EXPECT_FALSE(attrs.Next(type, data, len));
}

TEST(NetlinkAttrs, StopsAtATruncatedOrLyingAttribute) {
  NetlinkRequest req(1, NLM_F_REQUEST, 0, 1);
  req.Put(3 | NLA_F_NESTED, "xyzw");
  std::string bytes = req.Finish();
  size_t head = NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg));
  std::string attr = bytes.substr(head);
  uint16_t type;
  const char* data;
  size_t len;
  NetlinkAttrs whole{attr.data(), attr.size()};
  ASSERT_TRUE(whole.Next(type, data, len));
  EXPECT_EQ(type, 3) << "the nested flag is not part of the type";
  NetlinkAttrs cut{attr.data(), attr.size() - 2};  // its length says more than there is
  EXPECT_FALSE(cut.Next(type, data, len));
  NetlinkAttrs tiny{attr.data(), NLA_HDRLEN - 1};
  EXPECT_FALSE(tiny.Next(type, data, len));
  attr[0] = 2;  // nla_len 2: shorter than its own header
  attr[1] = 0;
  NetlinkAttrs lying{attr.data(), attr.size()};
  EXPECT_FALSE(lying.Next(type, data, len));
}

}  // namespace
}  // namespace swarmwall::host
