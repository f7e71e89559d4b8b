// The checks doctor and status share: Docker 29's nftables mode beside
// iptables rules left from before (or swarmwall's own), and published ports
// open to the world as the exposure engine sees them.
#include "analyze/doctor/doctor.h"

#include <algorithm>

#include <fmt/format.h>

namespace swarmwall::analyze {

bool DockerNftablesMode(const DoctorFacts& h) {
  if (h.docker_reachable) return h.docker_firewall.starts_with("nftables");
  return h.nft_tables && std::find(h.nft_tables->begin(), h.nft_tables->end(), "ip docker-bridges") !=
                             h.nft_tables->end();
}

std::vector<Finding> DiagnoseDockerFirewall(const DoctorFacts& h) {
  std::vector<Finding> out;
  auto add = [&](Severity s, std::string code, std::string message, std::string fix) {
    out.push_back({s, std::move(code), std::move(message), std::move(fix)});
  };
  bool nft = DockerNftablesMode(h);
  std::string how = h.docker_reachable ? "(GET /info: FirewallBackend " + h.docker_firewall + ")"
                                       : "(the table ip docker-bridges exists)";

  // swarmwall's iptables rules hang off DOCKER-USER, which Docker's
  // nftables mode never jumps to.
  bool swarmwall_blind = nft && h.swarmwall_applied && h.v4.read && !h.v4.forward_jumps_to_docker_user;
  if (swarmwall_blind)
    add(Severity::kError, "swarmwall-iptables-on-nftables-docker",
        "swarmwall's iptables rules are applied, but Docker runs in nftables mode " + how +
            ": nothing jumps to DOCKER-USER any more, so swarmwall's container rules filter nothing "
            "and every published port is open to everyone",
        "run Docker in iptables mode (remove \"firewall-backend\": \"nftables\" from daemon.json or "
        "--firewall-backend from dockerd, restart docker) and `swarmwall apply` again; or, once it "
        "exists, apply with swarmwall's nftables backend (issue 15)");

  if (nft)
    for (const FilterFacts* f : {&h.v4, &h.v6}) {
      bool v4 = f == &h.v4;
      if (!f->read || (!v4 && !h.docker_ipv6_networks)) continue;
      std::string fam = v4 ? "IPv4" : "IPv6", tool = v4 ? "iptables" : "ip6tables";
      // A drop in any base chain of the hook is final; Docker's accept ends only its own chain.
      if (f->forward_policy == "DROP")
        add(Severity::kError, "nftables-docker-forward-drop",
            fam + ": Docker runs in nftables mode " + how + " but " + tool +
                "'s FORWARD chain has policy DROP (left from Docker's iptables mode or from your own "
                "rules): an accept in Docker's nftables chains ends only that chain, FORWARD still "
                "sees every forwarded packet and drops it, so containers are cut off and published "
                "ports do not answer (unless FORWARD's own rules accept them)",
            "`" + tool + " -P FORWARD ACCEPT` and remove Docker's leftover chains (`" + tool +
                "-save` shows them; or reboot without restoring them), and filter forwarded traffic "
                "in an nftables table of your own instead; or run Docker in iptables mode");
      if (v4 && !swarmwall_blind && f->docker_user_exists && !f->forward_jumps_to_docker_user &&
          f->docker_user_filters)
        add(Severity::kWarning, "nftables-docker-user-unreached",
            "Docker runs in nftables mode " + how +
                ", which has no DOCKER-USER: the iptables chain DOCKER-USER left here is reached by "
                "nothing, and the rules in it filter nothing",
            "move those rules into an nftables table of your own, in a forward base chain that runs "
            "before Docker's (`type filter hook forward priority filter - 1`), matching published "
            "ports on the conntrack original destination (`ct original proto-dst`); then delete "
            "DOCKER-USER (`iptables -F DOCKER-USER; iptables -X DOCKER-USER`)");
    }

  if (h.world_published)
    for (const auto& p : *h.world_published)
      add(Severity::kWarning, "published-port-open-to-world",
          fmt::format("{}: published port {} (to container {}) is reached from any address on {}{}", 
                      p.family == netfilter::Family::kIPv4 ? "IPv4" : "IPv6", p.port, p.container, p.iface,
                      p.certain ? "" : " (maybe: it depends on matches the analyzer cannot decide)"),
          fmt::format("if only some should reach it, say so in the policy: a `containers.allow` rule for "
                      "{} from those sources (with `containers.default: drop`), or a `containers.deny` "
                      "rule, then `swarmwall apply`; or publish it on 127.0.0.1 only",
                      p.port));
  return out;
}

}  // namespace swarmwall::analyze
