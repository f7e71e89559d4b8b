// libFuzzer target for the host's facts a command reads from files: `ip -j
// addr` and `ip -j route` JSON (--addr, --route, --route6) and `ipset save`
// text (--ipsets). Arbitrary bytes must give true or false with an error,
// never an exception, a crash or a read out of bounds; on false nothing was
// added for the JSON inputs.
//
// Build: CC=clang CXX=clang++ cmake -DSWARMWALL_FUZZ=ON ...; run
// `host_facts_fuzz CORPUS_DIR` (ctest -L fuzz runs it for a minute).

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "host/network.h"

namespace {

using swarmwall::host::HostNetwork;
using swarmwall::netfilter::Family;

void Check(bool ok, const std::string& error, bool added, const char* what) {
  if (!ok && error.empty()) {
    std::fprintf(stderr, "host_facts_fuzz: %s failed without saying why\n", what);
    std::abort();
  }
  if (!ok && added) {
    std::fprintf(stderr, "host_facts_fuzz: %s failed but added facts\n", what);
    std::abort();
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  {
    HostNetwork net;
    std::string error;
    bool ok = swarmwall::host::ParseIpAddrJson(text, net, error);
    Check(ok, error, !net.interfaces.empty(), "ParseIpAddrJson");
    for (const auto& i : net.interfaces)
      for (const auto& a : i.addresses)
        if (a.prefix_length < 0 || a.prefix_length > a.address.Bits()) std::abort();
  }
  for (Family f : {Family::kIPv4, Family::kIPv6}) {
    HostNetwork net;
    std::string error;
    bool ok = swarmwall::host::ParseIpRouteJson(text, f, net, error);
    Check(ok, error, !net.routes.empty(), "ParseIpRouteJson");
    if (ok) (void)net.Lookup(*swarmwall::netfilter::IpAddress::Parse(f == Family::kIPv4 ? "192.0.2.1" : "2001:db8::1"));
  }
  {
    HostNetwork net;
    std::string error;
    bool ok = swarmwall::host::ParseIpsetSave(text, net, error);
    Check(ok, error, false, "ParseIpsetSave");
  }
  return 0;
}
