#include "analyze/model/docker_layout.h"

#include <algorithm>
#include <map>

#include <fmt/format.h>

#include "analyze/model/docker_nft_layout.h"
#include "analyze/model/filter_owners.h"
#include "netfilter/modules.h"
#include "netfilter/printer.h"

namespace swarmwall::analyze {
namespace {

using netfilter::Chain;
using netfilter::Family;
using netfilter::Part;
using netfilter::Rule;
using netfilter::Ruleset;
using netfilter::TargetKind;

struct ChainPurpose {
  std::string_view table, chain;
  Owner owner;
  std::string_view purpose;
};

constexpr ChainPurpose kKnownChains[] = {
    {"filter", "DOCKER-USER", Owner::kDocker,
     "your rules for traffic to and from containers: FORWARD jumps here first and Docker never changes it"},
    {"filter", "DOCKER", Owner::kDocker,
     "accepts new connections to published container ports (one ACCEPT per port); from 28.0 also drops the rest to each bridge"},
    {"filter", "DOCKER-FORWARD", Owner::kDocker,
     "Docker's FORWARD rules (28.0.1+), kept out of FORWARD so other programs can append there"},
    {"filter", "DOCKER-CT", Owner::kDocker,
     "accepts replies (RELATED,ESTABLISHED) going to each bridge"},
    {"filter", "DOCKER-BRIDGE", Owner::kDocker,
     "sends new connections to each bridge on to DOCKER"},
    {"filter", "DOCKER-ISOLATION-STAGE-1", Owner::kDocker,
     "keeps Docker networks apart: traffic leaving one bridge for another goes to stage 2"},
    {"filter", "DOCKER-ISOLATION-STAGE-2", Owner::kDocker,
     "drops traffic arriving at a bridge from another Docker bridge"},
    {"filter", "DOCKER-INTERNAL", Owner::kDocker,
     "drops traffic into or out of --internal networks (29+)"},
    {"filter", "DOCKER-INGRESS", Owner::kSwarm,
     "Swarm routing mesh: accepts published service ports on their way to the ingress sandbox"},
    {"nat", "DOCKER", Owner::kDocker,
     "DNAT of published ports (docker run -p) to container addresses"},
    {"nat", "DOCKER-INGRESS", Owner::kSwarm,
     "Swarm routing mesh: DNAT of published service ports to the ingress sandbox"},
};

struct PrefixOwner {
  std::string_view prefix;
  std::string_view who;
};
constexpr PrefixOwner kOtherOwners[] = {
    {"KUBE-", "kube-proxy"},     {"CNI-", "a CNI plugin"},
    {"cali-", "Calico"},         {"FLANNEL", "flannel"},
    {"f2b-", "fail2ban"},        {"fail2ban", "fail2ban"},
    {"ufw", "ufw"},              {"OPENSHIFT-", "OpenShift"},
    {"LIBVIRT_", "libvirt"},     {"IN_", "firewalld"},
    {"FWD", "firewalld"},        {"INPUT_", "firewalld"},
    {"FORWARD_", "firewalld"},   {"OUTPUT_", "firewalld"},
    {"PRE", "firewalld"},        {"POST", "firewalld"},
    {"WEAVE", "Weave Net"},      {"CILIUM", "Cilium"},
};

bool IsDockerChain(std::string_view name) { return name.starts_with("DOCKER"); }

bool IsBridgeName(std::string_view name) {
  return name == "docker0" || name == "docker_gwbridge" || name.starts_with("br-");
}

std::string DportText(const Rule& rule) {
  static const uint16_t tcp = netfilter::FindOptionId("tcp", "dport");
  static const uint16_t udp = netfilter::FindOptionId("udp", "dport");
  static const uint16_t multi = netfilter::FindOptionId("multiport", "dports");
  for (const Part& p : rule.parts)
    if ((p.kind == Part::Kind::kOption) && (p.id == tcp || p.id == udp || p.id == multi))
      return std::string(p.text);
  return "";
}

std::string TargetOption(const Rule& rule, std::string_view option) {
  for (const Part& p : rule.parts)
    if (p.kind == Part::Kind::kTargetOption &&
        netfilter::OptionById(p.id).name == option)
      return std::string(p.text);
  return "";
}

bool IsAny(const netfilter::Cidr& c) { return c.PrefixLength() == 0; }

class Explainer {
 public:
  DockerExplanation Run(const Ruleset& v4, const Ruleset* v6) {
    CollectBridges(v4);
    if (v6) CollectBridges(*v6);
    DetectLayout(v4);
    Chains(v4, "");
    if (v6) Chains(*v6, " (ip6)");
    Ports(v4);
    if (v6) Ports(*v6);
    DirectAccess(v4);
    if (v6) DirectAccess(*v6);
    Foreign(v4, "");
    if (v6) Foreign(*v6, " (ip6)");
    for (auto& [name, b] : bridges_) out_.bridges.push_back(b);
    std::sort(out_.bridges.begin(), out_.bridges.end(),
              [&](const Bridge& a, const Bridge& b) { return order_[a.name] < order_[b.name]; });
    Advise(v4);
    return std::move(out_);
  }

 private:
  Bridge& GetBridge(std::string_view name) {
    std::string n(name);
    if (!bridges_.count(n)) {
      order_[n] = order_.size();
      bridges_[n].name = n;
      bridges_[n].swarm_gateway = n == "docker_gwbridge";
    }
    return bridges_[n];
  }

  void CollectBridges(const Ruleset& rs) {
    if (const Chain* post = rs.FindChain("nat", "POSTROUTING"))
      for (const Rule& r : post->rules)
        if (r.target == "MASQUERADE" && r.out_negated && !r.out_interface.empty() &&
            !IsAny(r.source)) {
          Bridge& b = GetBridge(r.out_interface);
          subnets_.push_back(r.source);
          if (b.subnet.empty()) b.subnet = r.source.ToString();
          else b.subnet += ", " + r.source.ToString();
        }
    if (const Chain* dnat = rs.FindChain("nat", "DOCKER"))
      for (const Rule& r : dnat->rules)
        if (r.target_kind == TargetKind::kReturn && !r.in_interface.empty() && !r.in_negated)
          GetBridge(r.in_interface);
    // -i BR -o BR: ACCEPT means containers on BR may talk (icc), DROP not.
    for (std::string_view name : {"FORWARD", "DOCKER-FORWARD"}) {
      const Chain* fwd = rs.FindChain("filter", name);
      if (!fwd) continue;
      for (const Rule& r : fwd->rules) {
        bool same = !r.in_interface.empty() && r.in_interface == r.out_interface &&
                    !r.in_negated && !r.out_negated;
        if (!same) continue;
        if (r.target_kind == TargetKind::kDrop) GetBridge(r.in_interface).icc = false;
        else if (IsBridgeOrKnown(r.in_interface) && r.target_kind == TargetKind::kAccept)
          GetBridge(r.in_interface).icc = true;
      }
    }
    if (const Chain* iso = rs.FindChain("filter", "DOCKER-ISOLATION-STAGE-1"))
      for (const Rule& r : iso->rules) {
        if (r.target == "DOCKER-ISOLATION-STAGE-2" && !r.in_interface.empty())
          GetBridge(r.in_interface).isolated = true;
        if (r.target_kind == TargetKind::kDrop &&
            ((r.source_negated && !r.out_interface.empty()) ||
             (r.destination_negated && !r.in_interface.empty())))
          GetBridge(r.out_interface.empty() ? r.in_interface : r.out_interface).internal = true;
      }
    if (const Chain* internal = rs.FindChain("filter", "DOCKER-INTERNAL"))
      for (const Rule& r : internal->rules)
        if (r.target_kind == TargetKind::kDrop) {
          std::string_view br = r.out_interface.empty() ? r.in_interface : r.out_interface;
          if (!br.empty()) GetBridge(br).internal = true;
        }
  }

  bool IsBridgeOrKnown(std::string_view name) {
    return IsBridgeName(name) || bridges_.count(std::string(name));
  }

  void DetectLayout(const Ruleset& rs) {
    auto has = [&](std::string_view chain) { return rs.FindChain("filter", chain) != nullptr; };
    bool ext_bridges = false;
    if (const Chain* fwd = rs.FindChain("filter", "FORWARD"))
      for (const Rule& r : fwd->rules)
        for (const Part& p : r.parts)
          if (p.kind == Part::Kind::kOption && p.text.starts_with("docker-ext-bridges"))
            ext_bridges = true;
    auto& ev = out_.evidence;
    if (has("DOCKER-FORWARD")) {
      ev.push_back("filter has DOCKER-FORWARD (Docker 28.0.1 and later)");
      bool isolation = has("DOCKER-ISOLATION-STAGE-1");
      if (has("DOCKER-INTERNAL") || !isolation) {
        out_.layout = DockerLayout::k29;
        if (has("DOCKER-INTERNAL")) ev.push_back("filter has DOCKER-INTERNAL (29)");
        if (!isolation) ev.push_back("no DOCKER-ISOLATION-STAGE chains (29)");
      } else {
        out_.layout = DockerLayout::k28_1;
        ev.push_back("DOCKER-ISOLATION-STAGE-1/2 and no DOCKER-INTERNAL (28.x)");
      }
      if (has("DOCKER-CT")) ev.push_back("filter has DOCKER-CT and DOCKER-BRIDGE");
    } else if (ext_bridges) {
      out_.layout = DockerLayout::k28_0;
      ev.push_back("FORWARD matches the docker-ext-bridges ipset (Docker 28.0.0)");
    } else if (has("DOCKER") || has("DOCKER-USER") || rs.FindChain("nat", "DOCKER")) {
      out_.layout = DockerLayout::kLegacy;
      ev.push_back("Docker's chains without DOCKER-FORWARD: its rules sit directly in FORWARD (20.10 to 27.x)");
    } else {
      ev.push_back("no DOCKER chain in filter or nat");
    }
    if (const Chain* raw = rs.FindChain("raw", "PREROUTING"))
      for (const Rule& r : raw->rules)
        if (r.target_kind == TargetKind::kDrop && r.in_negated && !IsAny(r.destination)) {
          ev.push_back("raw PREROUTING drops direct access to container addresses (28.0+)");
          break;
        }
    out_.swarm = has("DOCKER-INGRESS") || rs.FindChain("nat", "DOCKER-INGRESS") ||
                 bridges_.count("docker_gwbridge");
    out_.docker_user_first_in_forward = ReadFilterOwners(rs).DockerUserFirstInForward();
  }

  void Chains(const Ruleset& rs, std::string_view suffix) {
    for (const auto& table : rs.tables)
      for (const auto& chain : table.chains) {
        ChainInfo info;
        info.table = std::string(table.name) + std::string(suffix);
        info.chain = chain.name;
        info.rules = chain.rules.size();
        if (chain.builtin) {
          info.owner = Owner::kSystem;
          info.purpose = fmt::format("built-in, policy {}", chain.policy);
          // Only list built-in chains that hold rules.
          if (chain.rules.empty()) continue;
        } else if (chain.name.starts_with("SWARMWALL")) {
          info.owner = Owner::kSwarmwall;
          info.purpose = "swarmwall's own chain, rewritten whole on every apply";
        } else {
          bool known = false;
          for (const auto& k : kKnownChains)
            if (k.table == table.name && k.chain == chain.name) {
              info.owner = k.owner;
              info.purpose = k.purpose;
              known = true;
            }
          if (!known && IsDockerChain(chain.name)) {
            info.owner = Owner::kDocker;
            info.purpose = "a Docker chain this version of swarmwall does not know";
          } else if (!known) {
            info.owner = Owner::kOther;
            info.purpose = "not Docker's";
            for (const auto& o : kOtherOwners)
              if (chain.name.starts_with(o.prefix)) {
                info.purpose = fmt::format("not Docker's (looks like {})", o.who);
                break;
              }
          }
        }
        out_.chains.push_back(std::move(info));
      }
  }

  void Ports(const Ruleset& rs) {
    int family = rs.family == Family::kIPv4 ? 4 : 6;
    for (std::string_view name : {"DOCKER", "DOCKER-INGRESS"}) {
      const Chain* chain = rs.FindChain("nat", name);
      if (!chain) continue;
      for (const Rule& r : chain->rules) {
        if (r.target != "DNAT") continue;
        PublishedPort p;
        p.family = family;
        p.protocol = netfilter::ProtocolName(r.protocol, rs.family);
        p.host_ports = DportText(r);
        p.container = TargetOption(r, "to-destination");
        p.swarm_ingress = name == "DOCKER-INGRESS";
        if (r.in_negated) p.bridge = r.in_interface;
        if (!IsAny(r.destination) && !r.destination_negated) {
          int len = r.destination.PrefixLength();
          p.host_address = len == r.destination.address.Bits()
                               ? r.destination.address.ToString()
                               : r.destination.ToString();
          auto lo4 = *netfilter::Cidr::Parse("127.0.0.0/8");
          auto lo6 = *netfilter::Cidr::Parse("::1/128");
          p.loopback_only = lo4.Contains(r.destination.address) || lo6.Contains(r.destination.address);
        }
        out_.ports.push_back(std::move(p));
      }
    }
  }

  void DirectAccess(const Ruleset& rs) {
    const Chain* raw = rs.FindChain("raw", "PREROUTING");
    if (!raw) return;
    for (const Rule& r : raw->rules)
      if (r.target_kind == TargetKind::kDrop && r.in_negated && !IsAny(r.destination))
        out_.direct_access_drops.push_back(
            {r.destination.address.ToString() +
                 (DportText(r).empty() ? "" : " port " + DportText(r)),
             std::string(r.in_interface)});
  }

  bool IsDockerRule(const Rule& r, std::string_view table) {
    if (r.target_kind == TargetKind::kChain && IsDockerChain(r.target)) return true;
    if (r.target.starts_with("SWARMWALL")) return true;
    if (!r.in_interface.empty() && IsBridgeOrKnown(r.in_interface)) return true;
    if (!r.out_interface.empty() && IsBridgeOrKnown(r.out_interface)) return true;
    // Docker 28+'s direct-access drops: raw PREROUTING -d C ! -i BR -j DROP,
    // and ! -i lo for ports published on loopback only.
    if (table == "raw" && r.target_kind == TargetKind::kDrop && r.in_negated &&
        !IsAny(r.destination) && (r.in_interface == "lo" || IsBridgeOrKnown(r.in_interface)))
      return true;
    // Masquerading from a bridge's subnet (or hairpin NAT of one container).
    if (table == "nat" && r.target == "MASQUERADE")
      for (const auto& subnet : subnets_)
        if (subnet.Contains(r.source.address) &&
            r.source.PrefixLength() >= subnet.PrefixLength())
          return true;
    for (const Part& p : r.parts)
      if (p.kind == Part::Kind::kOption && p.text.starts_with("docker-"))
        return true;
    return false;
  }

  void Foreign(const Ruleset& rs, std::string_view suffix) {
    for (const auto& table : rs.tables)
      for (const auto& chain : table.chains) {
        if (!chain.builtin) continue;
        for (const Rule& r : chain.rules)
          if (!IsDockerRule(r, table.name))
            out_.foreign_rules.push_back({std::string(table.name) + std::string(suffix),
                                          std::string(chain.name),
                                          netfilter::RuleSpec(r, rs.family)});
      }
  }

  void Advise(const Ruleset& rs) {
    auto& a = out_.advice;
    if (out_.layout == DockerLayout::kNone) {
      a.push_back("No Docker chains: either Docker is not running, runs with \"iptables\": false, "
                  "or uses the other iptables variant (nft vs legacy) or its nftables backend.");
      return;
    }
    DockerUserHook hook = JudgeDockerUserHook(rs);
    if (hook.NotHooked())
      a.push_back("FORWARD has no jump to DOCKER-USER: rules there are never used and published "
                  "ports are open to everyone (the moby#48560 fail-open). Restart Docker or let "
                  "swarmwall apply restore it.");
    else if (hook.jump > 1)
      a.push_back("The jump to DOCKER-USER is not FORWARD's first rule: rules above it decide "
                  "before yours do.");
    size_t open = 0;
    for (const auto& p : out_.ports) open += !p.loopback_only;
    if (open)
      a.push_back(fmt::format(
          "{} published port(s) reachable on every address: rules in INPUT do not protect them "
          "(they are DNATed in PREROUTING and pass FORWARD, not INPUT).", open));
    a.push_back("Put your rules for containers in DOCKER-USER and match the ORIGINAL destination, "
                "which DNAT has already rewritten: -m conntrack --ctstate DNAT --ctorigdstport PORT "
                "(and --ctorigdst ADDRESS); return RELATED,ESTABLISHED first so containers keep "
                "reaching the outside.");
    if (out_.swarm)
      a.push_back("Swarm: 2377/tcp (managers), 7946/tcp+udp and 4789/udp must be reachable only "
                  "from the cluster's nodes; 4789 (VXLAN) has no authentication.");
    if (!out_.foreign_rules.empty())
      a.push_back(fmt::format("{} rule(s) in built-in chains belong to other owners: a flush or "
                              "a service restoring a saved file would remove Docker's rules with "
                              "them (never save Docker's dynamic rules into rules.v4).",
                              out_.foreign_rules.size()));
  }

  DockerExplanation out_;
  std::map<std::string, Bridge> bridges_;
  std::map<std::string, size_t> order_;
  std::vector<netfilter::Cidr> subnets_;   // of the bridges, from MASQUERADE
};

}  // namespace

std::string LayoutName(DockerLayout layout) {
  switch (layout) {
    case DockerLayout::kNone: return "none";
    case DockerLayout::kLegacy: return "20.10-27";
    case DockerLayout::k28_0: return "28.0";
    case DockerLayout::k28_1: return "28.1-28.5";
    case DockerLayout::k29: return "29";
    case DockerLayout::kNftables: return "29 nftables (ip/ip6 docker-bridges)";
  }
  return "?";
}

std::string OwnerName(Owner owner) {
  switch (owner) {
    case Owner::kSystem: return "system";
    case Owner::kDocker: return "docker";
    case Owner::kSwarm: return "swarm";
    case Owner::kSwarmwall: return "swarmwall";
    case Owner::kFirewalld: return "firewalld";
    case Owner::kOther: return "other";
  }
  return "?";
}

DockerExplanation ExplainDocker(const Ruleset& v4, const Ruleset* v6, const netfilter::NftRuleset* nft) {
  DockerExplanation e = Explainer().Run(v4, v6);
  if (nft) ExplainDockerNft(*nft, e);
  return e;
}

}  // namespace swarmwall::analyze
