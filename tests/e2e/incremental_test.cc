// In-place edits of the owned chains on the real kernel, for both iptables
// variants (nf_tables and legacy) and both families: a random sequence of
// small policy changes (edited in place with -D / -I) and large ones
// (flushed and refilled), each applied on top of the previous one, leaves
// exactly the owned state a fresh apply of the same policy makes. No Docker
// needed: the hook points are made by hand in the variant under test.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "lab/lab.h"

namespace swarmwall {
namespace {

struct Policy {
  std::vector<int> container_ports;
  std::vector<int> host_ports;
  std::vector<std::string> admins = {"198.51.100.0/24", "2001:db8:1::/48"};

  std::string Yaml() const {
    std::ostringstream y;
    y << "version: 1\ninterfaces: { public: [eth0] }\nsets:\n  admins: [";
    for (size_t i = 0; i < admins.size(); ++i) y << (i ? ", " : "") << admins[i];
    y << "]\nnodes:\n  - { name: n1, role: manager, address: 192.0.2.1 }\n";
    if (!host_ports.empty()) {
      y << "host:\n  allow:\n";
      for (int p : host_ports) y << "    - { ports: [" << p << "], from: admins }\n";
    }
    y << "containers:\n  default: drop\n  allow:\n";
    for (int p : container_ports) y << "    - { ports: [" << p << "], from: admins }\n";
    return y.str();
  }
};

struct Node {
  std::unique_ptr<lab::Lab> lab;
  std::map<std::string, lab::Host*> hosts;  // by variant
  std::string dir, error;
};

Node& TheLab() {
  static Node n;
  if (n.lab || !n.error.empty()) return n;
  try {
    n.lab = std::make_unique<lab::Lab>("incr");
    n.dir = n.lab->RunDir();
    for (const char* v : {"nft", "legacy"}) {
      lab::Host& h = n.lab->AddHost(std::string("h") + v);
      n.hosts[v] = &h;
      // Docker 28's hook points, in this variant only.
      for (const char* t : {"iptables", "ip6tables"}) {
        std::string tool = std::string(t) + "-" + v;
        auto r = h.Sh(tool + " -N DOCKER && " + tool + " -N DOCKER-USER && " + tool +
                      " -A FORWARD -j DOCKER-USER && " + tool + " -A FORWARD -j DOCKER");
        if (!r.ok()) throw std::runtime_error(tool + ": " + r.err);
      }
      // The restore tools, logged: which text each apply sent.
      std::string wrap = n.dir + "/wrap-" + v;
      std::filesystem::create_directories(wrap);
      for (const char* t : {"iptables", "ip6tables"}) {
        std::string tool = std::string(t) + "-" + v + "-restore";
        std::string real = h.Sh("command -v " + tool).out;
        real.erase(real.find_last_not_of("\n") + 1);
        std::ofstream(wrap + "/" + tool) << "#!/bin/sh\ntee -a " << n.dir << "/restore-" << v
                                         << ".log | " << real << " \"$@\"\n";
        std::filesystem::permissions(wrap + "/" + tool, std::filesystem::perms::owner_all);
      }
    }
  } catch (const std::exception& e) {
    n.error = e.what();
  }
  return n;
}

class Incremental : public ::testing::TestWithParam<std::string> {
 protected:
  lab::Host& H() { return *TheLab().hosts.at(GetParam()); }
  std::string Dir() { return TheLab().dir; }

  ProcessResult Sw(const std::string& args) {
    std::string v = GetParam();
    return H().Sh("PATH=" + Dir() + "/wrap-" + v + ":$PATH SWARMWALL_STATE_DIR=" + Dir() + "/state-" +
                  v + " " + SWARMWALL_BINARY + " " + args);
  }

  // The owned chains and hooks of both families in this variant (counters
  // aside) and the owned sets (hash seeds aside).
  std::string Owned() {
    std::string out;
    for (const char* t : {"iptables", "ip6tables"}) {
      auto r = H().Exec({std::string(t) + "-" + GetParam() + "-save", "-t", "filter"});
      std::istringstream in(r.out);
      for (std::string line; std::getline(in, line);)
        if (line.find("SWARMWALL") != std::string::npos)
          out += std::regex_replace(line, std::regex("\\[\\d+:\\d+\\]"), "[0:0]") + "\n";
    }
    return out + std::regex_replace(H().Sh("ipset save | grep swarmwall | sort || true").out,
                                    std::regex(" initval 0x[0-9a-f]+"), "");
  }

  std::string TakeRestoreLog() {
    std::string path = Dir() + "/restore-" + GetParam() + ".log";
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    std::filesystem::remove(path);
    return ss.str();
  }

  void SetUp() override {
    std::string why;
    if (!lab::LabSupported(&why)) GTEST_SKIP() << why;
    ASSERT_TRUE(TheLab().error.empty()) << TheLab().error;
  }
};

TEST_P(Incremental, RandomChangesEndAsAFreshApplyWould) {
  std::mt19937 rng(GetParam() == "nft" ? 4 : 5);
  auto pick = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  int next_port = 20000;
  Policy p;
  for (int i = 0; i < 40; ++i) p.container_ports.push_back(next_port++);
  for (int i = 0; i < 4; ++i) p.host_ports.push_back(next_port++);
  std::string yaml = Dir() + "/policy-" + GetParam() + ".yaml";

  int in_place = 0, refills = 0;
  std::string previous;
  for (int step = 0; step < 30; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    bool large = step > 0 && pick(0, 3) == 0, shifting = false;
    if (step == 0) {
      // as generated
    } else if (large) {
      std::vector<int>& list = pick(0, 1) ? p.container_ports : p.host_ports;
      int n = pick(30, 60);
      list.clear();
      for (int i = 0; i < n; ++i) list.push_back(next_port++);
      if (pick(0, 1)) p.admins.push_back("203.0.113." + std::to_string(pick(0, 255)) + "/32");
    } else {
      // Rules carry their number in the policy ("containers allow #N"), so
      // only a change that shifts no number is small: a port changed, a rule
      // added or removed at the end (at most four lines in a chain of 30 or
      // more: in place). An insertion or a move in the middle renumbers the
      // rules after it: in place or refilled, as the edit's size says.
      shifting = pick(0, 3) == 0;
      int ops = pick(1, 2);
      for (int k = 0; k < ops; ++k) {
        std::vector<int>& list = p.container_ports;
        switch (pick(0, 3) + (shifting ? 4 : 0)) {
          case 0: list.push_back(next_port++); break;
          case 1: list.pop_back(); break;
          case 2:
          case 3: list[pick(0, list.size() - 1)] = next_port++; break;
          case 4:
          case 5: list.insert(list.begin() + pick(0, list.size()), next_port++); break;
          case 6: list.erase(list.begin() + pick(0, list.size() - 1)); break;
          default: {  // a move
            size_t from = pick(0, list.size() - 1);
            int port = list[from];
            list.erase(list.begin() + from);
            list.insert(list.begin() + pick(0, list.size()), port);
          }
        }
      }
    }
    bool same = p.Yaml() == previous;  // e.g. a rule added, then removed
    previous = p.Yaml();
    std::ofstream(yaml) << previous;
    auto r = Sw("apply " + yaml + " --node n1");
    ASSERT_TRUE(r.ok()) << r.out << r.err;
    std::string text = TakeRestoreLog();
    if (step > 0) {
      bool edited = std::regex_search(text, std::regex("\n-[DI] SWARMWALL-(USER|INPUT) "));
      bool refilled = text.find(":SWARMWALL-USER - [0:0]") != std::string::npos ||
                      text.find(":SWARMWALL-INPUT - [0:0]") != std::string::npos;
      in_place += edited;
      refills += refilled;
      if (!large && !shifting && !same) {
        EXPECT_TRUE(edited && !refilled) << "a small change is edited in place:\n" << text;
      }
    }
    std::string incremental = Owned();
    // A fresh apply of the same policy, from nothing of ours.
    ASSERT_TRUE(Sw("remove").ok());
    ASSERT_EQ(Owned().find("SWARMWALL"), std::string::npos);
    ASSERT_TRUE(Sw("apply " + yaml + " --node n1").ok());
    TakeRestoreLog();
    ASSERT_EQ(incremental, Owned()) << "policy:\n" << p.Yaml();
    // Re-applying writes nothing.
    r = Sw("apply " + yaml + " --node n1");
    EXPECT_NE(r.out.find("nothing written"), std::string::npos) << r.out;
  }
  EXPECT_GT(in_place, 10);
  EXPECT_GT(refills, 0) << "no large change was drawn: change the seed";
}

INSTANTIATE_TEST_SUITE_P(Variant, Incremental, ::testing::Values("nft", "legacy"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace swarmwall
