#include "analyze/model/docker_nft_layout.h"

#include <map>

#include <fmt/format.h>
#include <fmt/ranges.h>

namespace swarmwall::analyze {

using netfilter::NftChain;
using netfilter::NftFamily;
using netfilter::NftRule;
using netfilter::NftSelector;
using netfilter::NftStatement;
using netfilter::NftTable;

namespace {

std::string TableName(const NftTable& t) {
  return fmt::format("{} {}", netfilter::NftFamilyName(t.family), t.name);
}

bool IsDockerTable(const NftTable& t) {
  return (t.family == NftFamily::kIp || t.family == NftFamily::kIp6) &&
         (t.name == "docker-bridges" || t.name == "docker-overlay");
}

std::string PartText(const netfilter::NftPart& p, netfilter::NftValueType type) {
  if (type == netfilter::NftValueType::kAddress)
    return p.addr_lo == p.addr_hi ? p.addr_lo.ToString() : p.addr_lo.ToString() + "-" + p.addr_hi.ToString();
  if (type == netfilter::NftValueType::kName) return p.name + (p.wildcard ? "*" : "");
  return p.lo == p.hi ? std::to_string(p.lo) : fmt::format("{}-{}", p.lo, p.hi);
}

// The single value a match compares (==, !=), as text; "" otherwise.
std::string ValueOf(const NftStatement& s) {
  if (s.kind != NftStatement::kMatch || s.key.size() != 1 || s.values.size() != 1 || s.set >= 0) return "";
  return PartText(s.values[0].key[0], netfilter::ValueTypeOf(s.key[0].kind));
}

const NftStatement* Find(const NftRule& r, NftSelector::Kind k) {
  for (const auto& s : r.statements)
    if (s.kind == NftStatement::kMatch && s.key.size() == 1 && s.key[0].kind == k) return &s;
  return nullptr;
}

std::string Purpose(const std::string& chain) {
  auto after = [&](std::string_view prefix) { return chain.substr(prefix.size()); };
  if (chain == "filter-FORWARD") return "forward hook: dispatches by bridge (vmaps on iifname/oifname)";
  if (chain == "filter-INPUT") return "input hook";
  if (chain == "nat-PREROUTING") return "prerouting NAT: to nat-prerouting-and-output for local addresses";
  if (chain == "nat-OUTPUT") return "output NAT: the host's own connections to published ports";
  if (chain == "nat-POSTROUTING") return "postrouting NAT: dispatches by bridge";
  if (chain == "nat-prerouting-and-output") return "DNAT of every published port";
  if (chain == "raw-PREROUTING") return "drops direct access to container addresses";
  if (chain.starts_with("filter-forward-in__"))
    return "into bridge " + after("filter-forward-in__") + ": established, ICC, published ports, then drop";
  if (chain.starts_with("filter-forward-out__")) return "out of bridge " + after("filter-forward-out__");
  if (chain.starts_with("nat-postrouting-in__")) return "NAT into bridge " + after("nat-postrouting-in__");
  if (chain.starts_with("nat-postrouting-out__"))
    return "masquerade out of bridge " + after("nat-postrouting-out__");
  return "";
}

}  // namespace

void ExplainDockerNft(const netfilter::NftRuleset& nft, DockerExplanation& e) {
  std::map<std::string, size_t> bridge_index;
  auto bridge = [&](const std::string& name) -> Bridge& {
    auto [it, fresh] = bridge_index.emplace(name, e.bridges.size());
    if (fresh) {
      Bridge b;
      b.name = name;
      b.icc = false;
      b.swarm_gateway = name == "docker_gwbridge";
      e.bridges.push_back(b);
    }
    return e.bridges[it->second];
  };
  for (const auto& b : e.bridges) bridge_index.emplace(b.name, &b - e.bridges.data());
  bool docker = false;
  for (const NftTable& t : nft.tables) {
    if (!IsDockerTable(t)) {
      if (netfilter::IsXtablesTable(t)) continue;   // iptables-nft's: explained from iptables-save
      std::string owner = t.name == "firewalld" ? "firewalld"
                          : t.name == "swarmwall" ? "swarmwall" : "other";
      e.other_nft_tables.push_back(fmt::format("{} ({})", TableName(t), owner));
      for (const NftChain& c : t.chains) {
        ChainInfo ci;
        ci.table = TableName(t);
        ci.chain = c.name;
        ci.owner = owner == "firewalld" ? Owner::kFirewalld : owner == "swarmwall" ? Owner::kSwarmwall : Owner::kOther;
        ci.purpose = c.base ? fmt::format("{} hook, priority {}", c.hook, c.priority) : "";
        ci.rules = c.rules.size();
        e.chains.push_back(ci);
      }
      continue;
    }
    docker = true;
    e.docker_nft_tables.push_back(TableName(t));
    if (t.name == "docker-overlay") e.swarm = true;
    int family = t.family == NftFamily::kIp6 ? 6 : 4;
    for (const NftChain& c : t.chains) {
      ChainInfo ci;
      ci.table = TableName(t);
      ci.chain = c.name;
      ci.owner = t.name == "docker-overlay" ? Owner::kSwarm : Owner::kDocker;
      ci.purpose = Purpose(c.name);
      if (c.base && ci.purpose.empty()) ci.purpose = fmt::format("{} hook, priority {}", c.hook, c.priority);
      ci.rules = c.rules.size();
      e.chains.push_back(ci);
      if (c.name.starts_with("filter-forward-in__")) {
        Bridge& b = bridge(c.name.substr(19));
        for (const NftRule& r : c.rules) {
          if (r.comment == "ICC") b.icc = true;
          if (r.comment.find("INTERNAL") != std::string::npos) b.internal = true;
        }
      }
      if (c.name.starts_with("nat-postrouting-out__")) {
        Bridge& b = bridge(c.name.substr(21));
        for (const NftRule& r : c.rules) {
          const NftStatement* src = Find(r, family == 4 ? NftSelector::kIpSaddr : NftSelector::kIp6Saddr);
          if (src && b.subnet.empty() && src->values.size() == 1) {
            const auto& p = src->values[0].key[0];
            int bits = 0;   // the prefix the range spans
            for (int i = 0; i < p.addr_lo.Bits(); ++i) {
              bool lo = p.addr_lo.bytes[i / 8] & (0x80 >> (i % 8));
              bool hi = p.addr_hi.bytes[i / 8] & (0x80 >> (i % 8));
              if (lo != hi) break;
              ++bits;
            }
            b.subnet = fmt::format("{}/{}", p.addr_lo.ToString(), bits);
          }
        }
      }
      for (const NftRule& r : c.rules) {
        for (const NftStatement& s : r.statements) {
          if (s.kind == NftStatement::kMatch && s.key.size() == 1 && s.key[0].kind == NftSelector::kMark &&
              c.name.starts_with("filter-"))
            e.fwmark_accepts.push_back(fmt::format("{} {}: {}", TableName(t), c.name, r.text));
          if (s.kind != NftStatement::kDnat) continue;
          // a published port: [ip daddr HOST] [iifname != BRIDGE] PROTO dport P dnat to C:CP
          PublishedPort p;
          p.family = family;
          const NftStatement* dport = Find(r, NftSelector::kDport);
          if (!dport || dport->values.size() != 1) continue;
          p.protocol = dport->key[0].protocol == 17 ? "udp" : dport->key[0].protocol == 6 ? "tcp" : "sctp";
          p.host_ports = ValueOf(*dport);
          if (const NftStatement* d = Find(r, family == 4 ? NftSelector::kIpDaddr : NftSelector::kIp6Daddr)) {
            p.host_address = ValueOf(*d);
            p.loopback_only = p.host_address.starts_with("127.") || p.host_address == "::1";
          }
          if (const NftStatement* in = Find(r, NftSelector::kIifname); in && in->op == NftStatement::kNe)
            p.bridge = ValueOf(*in);
          std::string addr = s.has_addr ? s.addr_lo.ToString() : "?";
          if (family == 6) addr = "[" + addr + "]";
          p.container = s.port_lo ? fmt::format("{}:{}", addr, s.port_lo) : addr;
          e.ports.push_back(p);
        }
        if (c.name == "raw-PREROUTING") {
          bool drops = false;
          for (const auto& s : r.statements)
            drops |= s.kind == NftStatement::kVerdict && s.verdict.kind == netfilter::NftVerdict::kDrop;
          const NftStatement* d = Find(r, family == 4 ? NftSelector::kIpDaddr : NftSelector::kIp6Daddr);
          const NftStatement* in = Find(r, NftSelector::kIifname);
          if (drops && d) e.direct_access_drops.push_back({ValueOf(*d), in ? ValueOf(*in) : ""});
        }
      }
    }
  }
  if (!docker) return;
  if (e.layout == DockerLayout::kNone) e.layout = DockerLayout::kNftables;
  e.evidence.push_back(fmt::format("nftables table(s) {}: Docker's nftables backend (29.x, "
                                   "--firewall-backend nftables); there is no DOCKER-USER",
                                   fmt::join(e.docker_nft_tables, ", ")));
  auto& a = e.advice;
  // The iptables advice (DOCKER-USER) does not apply to this layout.
  std::erase_if(a, [](const std::string& s) {
    return s.find("DOCKER-USER") != std::string::npos || s.starts_with("No Docker chains");
  });
  size_t open = 0;
  for (const auto& p : e.ports) open += !p.loopback_only;
  if (open)
    a.push_back(fmt::format("{} published port(s) reachable on every address: rules on the input hook do "
                            "not protect them (they are DNATed at prerouting and forwarded).",
                            open));
  a.push_back("Docker runs its nftables backend: there is no DOCKER-USER chain, and an accept in one "
              "table does not override a drop in another. Filter in a table of your own (e.g. `table "
              "inet mine`) with a base chain `type filter hook forward priority filter - 10` that runs "
              "before Docker's, matching the ORIGINAL destination of published ports: `ct status dnat "
              "meta l4proto tcp ct original proto-dst 8080 ip saddr != @allowed drop` (and `ct "
              "original ip daddr` for an address), after `ct state established,related accept`.");
  a.push_back("Such a table can only narrow what Docker accepts; to accept what Docker would drop, "
              "start dockerd with --bridge-accept-fwmark and set that mark in your table.");
  if (e.swarm)
    a.push_back("Swarm: 2377/tcp (managers), 7946/tcp+udp and 4789/udp must be reachable only from the "
                "cluster's nodes (an input base chain of your table); 4789 (VXLAN) has no authentication.");
  for (const auto& t : e.other_nft_tables)
    if (t.find("firewalld") != std::string::npos)
      a.push_back("firewalld's tables filter as well: a port your table accepts is still dropped by a "
                  "firewalld zone that does not allow it.");
}

}  // namespace swarmwall::analyze
