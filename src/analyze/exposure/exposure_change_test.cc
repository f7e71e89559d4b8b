#include "analyze/exposure/exposure_change.h"

#include <gtest/gtest.h>

namespace swarmwall::analyze {
namespace {

FamilyExposure One(std::vector<PortSpan> ports, const char* source = "198.51.100.0/24") {
  FamilyExposure f;
  InterfaceExposure i;
  i.interface = "eth0";
  ExposureEntry e;
  e.sources = {*netfilter::Cidr::Parse(source)};
  e.protocol = 6;
  e.ports = std::move(ports);
  i.entries.push_back(e);
  f.interfaces.push_back(i);
  return f;
}

TEST(CompareExposure, PortsThatOpenAndClose) {
  auto lines = ExposureDeltaLines(CompareExposure({One({{22, 22}, {8000, 8100}})}, {One({{22, 22}, {8050, 8200}})}));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[0].find("+ IPv4 eth0 tcp 8101-8200 from 198.51.100.0/24 -> "), std::string::npos) << lines[0];
  EXPECT_NE(lines[1].find("- IPv4 eth0 tcp 8000-8049 from 198.51.100.0/24 -> "), std::string::npos) << lines[1];
}

TEST(CompareExposure, NothingWhenTheSame) {
  EXPECT_TRUE(CompareExposure({One({{22, 22}})}, {One({{22, 22}})}).empty());
}

TEST(CompareExposure, ANewSourceClassOpensAllItsPorts) {
  auto d = CompareExposure({One({{22, 22}})}, {One({{22, 22}}), One({{443, 443}}, "203.0.113.0/24")});
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].sources, "203.0.113.0/24");
  ASSERT_EQ(d[0].opened.size(), 1u);
  EXPECT_EQ(d[0].opened[0].lo, 443);
}

// A change that only splits a source class (a new set carves a range out of
// it) changes no packet's fate: nothing to report.
TEST(CompareExposure, ASplitClassIsNoChange) {
  auto whole = One({{22, 22}}, "198.51.100.0/24");
  auto split = One({{22, 22}}, "198.51.100.0/25");
  split.interfaces[0].entries.push_back(One({{22, 22}}, "198.51.100.128/25").interfaces[0].entries[0]);
  EXPECT_TRUE(CompareExposure({whole}, {split}).empty());
}

}  // namespace
}  // namespace swarmwall::analyze
