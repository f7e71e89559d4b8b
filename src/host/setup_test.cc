// /proc/net's socket tables as doctor reads them: listening TCP and bound
// UDP sockets on the ports asked for, addresses in the kernel's word order.
#include "host/setup.h"

#include "netfilter/nft_json.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

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

TEST(HostSetup, NftIncludesAndTables) {
  auto inc = NftIncludes("#!/usr/sbin/nft -f\nflush ruleset\ninclude \"/etc/nftables.d/*.nft\"\n"
                         "  include \"local.nft\" # mine\n# include \"/etc/no.nft\"\ninclude_x \"y\"\n");
  ASSERT_EQ(inc.size(), 2u);
  EXPECT_EQ(inc[0], "/etc/nftables.d/*.nft");
  EXPECT_EQ(inc[1], "/etc/local.nft");
  auto nft = netfilter::ParseNftJson(R"({"nftables": [{"table": {"family": "ip", "name": "docker-bridges", "handle": 1}},
    {"table": {"family": "ip6", "name": "docker-bridges", "handle": 2}},
    {"table": {"family": "inet", "name": "firewalld", "handle": 3}}]})");
  ASSERT_TRUE(nft.ruleset);
  auto t = NftTableNames(*nft.ruleset);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[0], "ip docker-bridges");
  EXPECT_EQ(t[2], "inet firewalld");
}

// nftables.service's link and /etc/nftables.conf with what it includes,
// from a copy of a host's /etc (ROOT).
TEST(HostSetup, NftablesServiceAndConf) {
  namespace fs = std::filesystem;
  fs::path root = fs::temp_directory_path() / ("swarmwall-setup-" + std::to_string(getpid()));
  fs::remove_all(root);
  fs::create_directories(root / "etc/nftables.d");
  fs::create_directories(root / "proc");
  auto write = [&](const std::string& path, const std::string& text) { std::ofstream(root / path) << text; };
  write("etc/nftables.conf", "include \"/etc/nftables.d/*.nft\"\ntable inet mine {}\n");
  write("etc/nftables.d/10-flush.nft", "flush ruleset\ninclude \"/etc/nftables.conf\"\n");   // a loop: read once
  SetupOptions o;
  o.root = root.string();
  o.proc = (root / "proc").string();
  o.run_tools = false;
  HostSetup h = ReadHostSetup(o);
  EXPECT_FALSE(h.nftables_service_enabled);
  ASSERT_EQ(h.nftables_conf.size(), 2u);
  EXPECT_EQ(h.nftables_conf[0].path, "/etc/nftables.conf");
  EXPECT_EQ(h.nftables_conf[1].path, "/etc/nftables.d/10-flush.nft");
  EXPECT_EQ(h.nftables_conf[1].text.rfind("flush ruleset", 0), 0u);
  EXPECT_FALSE(h.nft_tables);
  fs::create_directories(root / "etc/systemd/system/sysinit.target.wants");
  fs::create_symlink("/lib/systemd/system/nftables.service",
                     root / "etc/systemd/system/sysinit.target.wants/nftables.service");
  EXPECT_TRUE(ReadHostSetup(o).nftables_service_enabled);
  fs::remove_all(root);
}

}  // namespace
}  // namespace swarmwall::host
