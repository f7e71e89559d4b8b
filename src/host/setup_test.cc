// /proc/net's socket tables as doctor reads them: listening TCP and bound
// UDP sockets on the ports asked for, addresses in the kernel's word order.
#include "host/setup.h"

#include <gtest/gtest.h>

namespace swarmwall::host {
namespace {

const std::vector<int> kPorts = {2375, 2377, 7946, 4789};

TEST(HostSetup, ParseProcNet) {
  const char* tcp =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: 00000000:0949 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1\n"
      "   1: 0100007F:0947 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1\n"
      "   2: 0100007F:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 3 1\n"
      "   3: 0B7100CB:0949 0C7100CB:D431 01 00000000:00000000 00:00000000 00000000     0        0 4 1\n";
  auto s = ParseProcNet(tcp, "tcp", 4, kPorts);
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].address, "0.0.0.0");
  EXPECT_EQ(s[0].port, 2377);
  EXPECT_EQ(s[1].address, "127.0.0.1");
  EXPECT_EQ(s[1].port, 2375);
  EXPECT_TRUE(s[1].loopback());
  const char* udp6 =
      "  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops\n"
      "  1: 00000000000000000000000000000000:12B5 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 0 2 0 0\n"
      "  2: 00000000000000000000000001000000:1F0A 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 0 2 0 0\n";
  auto u = ParseProcNet(udp6, "udp", 6, kPorts);
  ASSERT_EQ(u.size(), 2u);
  EXPECT_EQ(u[0].address, "::");
  EXPECT_EQ(u[0].port, 4789);
  EXPECT_EQ(u[1].address, "::1");
  EXPECT_EQ(u[1].port, 7946);
}

}  // namespace
}  // namespace swarmwall::host
