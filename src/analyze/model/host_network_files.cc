#include "analyze/model/host_network_files.h"

#include "base/input_file.h"
#include "host/nftables.h"
#include "netfilter/nft_json.h"

namespace swarmwall::analyze {

bool ReadHostNetworkFiles(const HostNetworkFiles& files, host::HostNetwork& net, std::string& error) {
  struct Source {
    const std::string& file;
    const char* option;
    int kind;
  };
  for (Source s : {Source{files.addr, "--addr", 0}, Source{files.route, "--route", 1},
                   Source{files.route6, "--route6", 2}, Source{files.ipsets, "--ipsets", 3}}) {
    if (s.file.empty()) continue;
    std::string text, why;
    bool ok = ReadInputFile(s.file, kFactsLimit, text, why);
    if (ok) {
      ok = s.kind == 0   ? host::ParseIpAddrJson(text, net, why)
           : s.kind == 1 ? host::ParseIpRouteJson(text, netfilter::Family::kIPv4, net, why)
           : s.kind == 2 ? host::ParseIpRouteJson(text, netfilter::Family::kIPv6, net, why)
                         : host::ParseIpsetSave(text, net, why);
    }
    if (!ok) {
      error = std::string(s.option) + " " + s.file + ": " + why;
      return false;
    }
  }
  if (!files.nft.empty()) {
    std::string text, why;
    if (!ReadInputFile(files.nft, kFactsLimit, text, why)) {
      error = "--nft " + files.nft + ": " + why;
      return false;
    }
    size_t first = text.find_first_not_of(" \t\r\n");
    if (first == std::string::npos || text[first] != '{') {
      // nftables text: libnftables reads its own grammar (errors: FILE:LINE:COL)
      auto json = host::NftTextToJson(files.nft, why);
      if (!json) {
        error = why;
        return false;
      }
      text = std::move(*json);
    }
    auto r = netfilter::ParseNftJson(text, files.nft);
    if (!r.ruleset) {
      error = r.error->ToString();
      return false;
    }
    net.nftables = std::move(*r.ruleset);
    net.nftables_known = true;
  }
  return true;
}

}  // namespace swarmwall::analyze
