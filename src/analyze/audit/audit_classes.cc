#include "analyze/audit/audit_classes.h"

#include <algorithm>

#include <fmt/format.h>

#include "analyze/model/match.h"
#include "netfilter/modules.h"

namespace swarmwall::analyze {

using netfilter::Cidr;
using netfilter::Family;
using netfilter::IpAddress;

std::optional<IpAddress> NextAddress(const IpAddress& a) {
  IpAddress n = a;
  int bytes = a.family == Family::kIPv4 ? 4 : 16;
  for (int i = bytes - 1; i >= 0; --i) {
    if (++n.bytes[i] != 0) return n;
  }
  return std::nullopt;
}

IpAddress LastAddress(const Cidr& c) {
  IpAddress last = c.address;
  IpAddress mask = c.Mask();
  int bytes = c.family() == Family::kIPv4 ? 4 : 16;
  for (int i = 0; i < bytes; ++i) last.bytes[i] |= static_cast<uint8_t>(~mask.bytes[i]);
  return last;
}

std::string AddressClass::Text() const {
  if (first == last) return first.ToString();
  // A whole prefix reads better as a CIDR.
  for (int p = 0; p <= first.Bits(); ++p) {
    Cidr c = Cidr::Prefix(first, p);
    if (c.address == first && LastAddress(c) == last) return c.ToString();
  }
  return first.ToString() + "-" + last.ToString();
}

std::string PortClass::Text() const {
  return first == last ? std::to_string(first) : fmt::format("{}-{}", first, last);
}

void ClassBuilder::AddRange(const IpAddress& lo, const IpAddress& hi) {
  if (lo.family != family_) return;
  bounds_.push_back(lo);
  if (auto n = NextAddress(hi)) bounds_.push_back(*n);
}

void ClassBuilder::AddCidr(const Cidr& c) {
  if (c.family() != family_ || c.IsAny()) return;
  if (c.PrefixLength() < 0) {   // a non-contiguous mask: its address only
    AddRange(c.address, c.address);
    return;
  }
  AddRange(c.address, LastAddress(c));
}

void ClassBuilder::AddPorts(uint16_t lo, uint16_t hi) {
  port_bounds_.push_back(lo);
  port_bounds_.push_back(static_cast<uint32_t>(hi) + 1);
}

namespace {

bool PortOption(std::string_view name) {
  return name == "dport" || name == "dports" || name == "ports" || name == "destination-ports" ||
         name == "ctorigdstport" || name == "ctrepldstport";
}

}  // namespace

void ClassBuilder::AddRuleset(const netfilter::Ruleset& rs) {
  using K = netfilter::Value::Kind;
  for (const auto& t : rs.tables)
    for (const auto& c : t.chains)
      for (const auto& r : c.rules) {
        AddCidr(r.source);
        AddCidr(r.destination);
        for (const auto& p : r.parts) {
          if (p.kind != netfilter::Part::Kind::kOption) continue;
          if (p.value.kind == K::kCidr) AddCidr(p.value.cidr());
          else if (p.value.kind == K::kAddrRange) AddRange(p.value.range_lo(), p.value.range_hi());
          else if (PortOption(netfilter::OptionById(p.id).name)) {
            if (p.value.kind == K::kPorts) AddPorts(p.value.ports().lo, p.value.ports().hi);
            else if (p.value.kind == K::kPortList)
              for (const auto& pr : p.value.list()) AddPorts(pr.lo, pr.hi);
          }
        }
      }
}

void ClassBuilder::AddHost(const host::HostNetwork& host) {
  for (const auto& [name, set] : host.ipsets)
    for (const auto& e : set.entries) {
      AddCidr(e.net);
      if (e.port) AddPorts(e.port, e.port);
    }
  for (const auto& i : host.interfaces)
    for (const auto& a : i.addresses) {
      AddRange(a.address, a.address);
      AddCidr(Cidr::Prefix(a.address, a.prefix_length));
    }
  if (host.nftables_known) AddNft(host.nftables);
}

void ClassBuilder::AddNft(const netfilter::NftRuleset& nft) {
  using netfilter::NftSelector;
  auto add = [&](const NftSelector& sel, const netfilter::NftPart& part) {
    switch (sel.kind) {
      case NftSelector::kSport: case NftSelector::kDport:
      case NftSelector::kCtProtoSrc: case NftSelector::kCtProtoDst:
        if (part.lo <= 65535) AddPorts(static_cast<uint16_t>(part.lo), static_cast<uint16_t>(std::min<uint64_t>(part.hi, 65535)));
        break;
      case NftSelector::kIpSaddr: case NftSelector::kIpDaddr: case NftSelector::kIp6Saddr:
      case NftSelector::kIp6Daddr: case NftSelector::kCtSaddr: case NftSelector::kCtDaddr:
        if (part.addr_lo.family == family_ && part.addr_hi.family == family_) AddRange(part.addr_lo, part.addr_hi);
        break;
      default:
        break;
    }
  };
  auto add_elements = [&](const std::vector<NftSelector>& key, const std::vector<netfilter::NftElement>& elements) {
    for (const auto& e : elements)
      for (size_t i = 0; i < key.size() && i < e.key.size(); ++i) add(key[i], e.key[i]);
  };
  for (const auto& t : nft.tables)
    for (const auto& c : t.chains)
      for (const auto& r : c.rules)
        for (const auto& st : r.statements) {
          if (st.kind != netfilter::NftStatement::kMatch && st.kind != netfilter::NftStatement::kVmap) continue;
          add_elements(st.key, st.values);
          if (st.set >= 0 && static_cast<size_t>(st.set) < t.sets.size()) add_elements(st.key, t.sets[st.set].elements);
        }
}

namespace {

std::vector<Cidr> Unusable(Family f) {
  static const char* const k4[] = {"0.0.0.0/8", "127.0.0.0/8", "224.0.0.0/3"};
  static const char* const k6[] = {"::/8", "fe80::/10", "ff00::/8"};
  std::vector<Cidr> out;
  for (const char* t : f == Family::kIPv4 ? k4 : k6) out.push_back(*Cidr::Parse(t));
  return out;
}

}  // namespace

std::vector<AddressClass> ClassBuilder::Addresses(const host::HostNetwork* host) const {
  std::vector<IpAddress> b = bounds_;
  auto unusable = Unusable(family_);
  for (const auto& c : unusable) {
    b.push_back(c.address);
    if (auto n = NextAddress(LastAddress(c))) b.push_back(*n);
  }
  b.push_back(IpAddress{{}, family_});
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  std::vector<AddressClass> out;
  IpAddress top{{}, family_};
  for (int i = 0; i < (family_ == Family::kIPv4 ? 4 : 16); ++i) top.bytes[i] = 0xff;
  for (size_t i = 0; i < b.size(); ++i) {
    AddressClass c;
    c.first = b[i];
    c.representative = b[i];
    if (i + 1 < b.size()) {
      // last = next bound - 1
      IpAddress l = b[i + 1];
      int bytes = family_ == Family::kIPv4 ? 4 : 16;
      for (int k = bytes - 1; k >= 0; --k)
        if (l.bytes[k]-- != 0) break;
      c.last = l;
    } else {
      c.last = top;
    }
    bool bad = false;
    for (const auto& u : unusable) bad |= u.Contains(c.first);
    if (host && host->IsLocal(c.first)) bad = true;
    if (!bad) out.push_back(c);
  }
  return out;
}

std::vector<PortClass> ClassBuilder::Ports() const {
  std::vector<uint32_t> b = port_bounds_;
  std::sort(b.begin(), b.end());
  b.erase(std::unique(b.begin(), b.end()), b.end());
  std::vector<PortClass> out;
  for (size_t i = 0; i < b.size(); ++i) {
    if (b[i] == 0 || b[i] > 65535) continue;
    uint32_t last = i + 1 < b.size() ? std::min<uint32_t>(b[i + 1] - 1, 65535) : 65535;
    out.push_back({static_cast<uint16_t>(b[i]), static_cast<uint16_t>(last)});
  }
  return out;
}

std::optional<IpAddress> PickStranger(Family family, const netfilter::Ruleset* rs, const host::HostNetwork* host,
                                      const std::vector<Cidr>& trusted) {
  ClassBuilder b(family);
  if (rs) b.AddRuleset(*rs);
  if (host) b.AddHost(*host);
  for (const auto& c : trusted) b.AddCidr(c);
  auto classes = b.Addresses(host);
  // Prefer the documentation ranges' look: an address in a class that holds
  // one of these, else the largest class.
  const char* preferred = family == Family::kIPv4 ? "198.18.7.7" : "2001:db8:ffff::7";
  auto want = *IpAddress::Parse(preferred);
  // Classes that no rule names are those not inside any named range: the
  // builder cannot tell, so test each candidate against the named ranges.
  std::vector<Cidr> named;
  auto collect = [&](const Cidr& c) {
    if (c.family() == family && !c.IsAny()) named.push_back(c);
  };
  if (rs)
    for (const auto& t : rs->tables)
      for (const auto& ch : t.chains)
        for (const auto& r : ch.rules) {
          collect(r.source);
          collect(r.destination);
        }
  if (host) {
    for (const auto& [n, s] : host->ipsets)
      for (const auto& e : s.entries) collect(e.net);
    for (const auto& i : host->interfaces)
      for (const auto& a : i.addresses) collect(Cidr::Prefix(a.address, a.prefix_length));
  }
  for (const auto& c : trusted) collect(c);
  auto free = [&](const IpAddress& a) {
    for (const auto& c : named)
      if (c.Contains(a)) return false;
    return !(host && host->IsLocal(a));
  };
  if (free(want)) {
    bool usable = false;
    for (const auto& c : classes) usable |= c.first <= want && want <= c.last;
    if (usable) return want;
  }
  for (const auto& c : classes) {
    if (free(c.representative)) return c.representative;
    if (auto n = NextAddress(c.representative); n && *n <= c.last && free(*n)) return *n;
  }
  return std::nullopt;
}

TraceResult TraceNew(const TraceModel& model, const IpAddress& src, const IpAddress& dst, uint16_t protocol,
                     uint16_t port, std::string_view in) {
  TraceInput input;
  input.packet.family = src.family;
  input.packet.src = src;
  input.packet.dst = dst;
  input.packet.protocol = protocol;
  input.packet.sport = 40000;
  input.packet.dport = port;
  input.packet.tcp_flags = kTcpSyn;
  input.packet.in = in;
  input.state = kCtNew;
  return model.Trace(input);
}

std::string DecidedBy(const TraceResult& r) {
  if (!Accepted(r.outcome.fate)) return r.outcome.where;
  for (auto it = r.steps.rbegin(); it != r.steps.rend(); ++it) {
    if (it->table != "filter") continue;
    if (it->kind == TraceStep::kPolicy) return fmt::format("filter {} policy", it->chain);
    if (it->kind == TraceStep::kRule && it->matched == Tri::kTrue && it->rule &&
        (it->rule->target_kind == netfilter::TargetKind::kAccept || it->rule->target_kind == netfilter::TargetKind::kDrop ||
         it->rule->target == "REJECT"))
      return fmt::format("filter {} rule {}", it->chain, it->rule_number);
  }
  return r.outcome.where;
}

std::vector<IpAddress> TargetAddresses(const host::HostNetwork& host, std::string_view name, Family family) {
  std::vector<IpAddress> global, link;
  static const Cidr kLink = *Cidr::Parse("fe80::/10");
  if (const host::Interface* i = host.FindInterface(name))
    for (const auto& a : i->addresses) {
      if (a.address.family != family) continue;
      if (family == Family::kIPv6 && kLink.Contains(a.address)) link.push_back(a.address);
      else global.push_back(a.address);
    }
  return global.empty() ? link : global;
}

}  // namespace swarmwall::analyze
