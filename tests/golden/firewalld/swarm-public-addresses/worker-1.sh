#!/bin/sh
# swarmwall: firewalld configuration of node worker-1 (worker) from examples/swarm-public-addresses.yaml
# DesiredState digest 8f804c84d221286d (the state the iptables backend renders).
# Generated; do not edit. It writes firewalld's permanent configuration:
#   firewalld stopped:  sh SCRIPT
#   firewalld running:  FIREWALL_CMD='firewall-cmd --permanent' sh SCRIPT && firewall-cmd --reload
# Everything it makes is named swarmwall-* (zones, policy, ipsets) or SWARMWALL-*
# (direct chains). See docs/backends.md.
set -eu
fw() { ${FIREWALL_CMD:-firewall-offline-cmd} "$@"; }

# 1. Remove what an earlier run made: the jumps to SWARMWALL-* chains, those
#    chains, a DOCKER-USER declaration left empty, then swarmwall-* policies,
#    zones and ipsets.
fw --direct --get-all-rules | while read -r ipv table chain priority args; do
  case "$args" in
    "-j SWARMWALL-"*) fw --direct --remove-rule "$ipv" "$table" "$chain" "$priority" $args ;;
  esac
done
fw --direct --get-all-chains | while read -r ipv table chain; do
  case "$chain" in
    SWARMWALL-*)
      fw --direct --remove-rules "$ipv" "$table" "$chain"
      fw --direct --remove-chain "$ipv" "$table" "$chain" ;;
    DOCKER-USER)
      fw --direct --get-all-rules | grep -q "^$ipv $table DOCKER-USER " ||
        fw --direct --remove-chain "$ipv" "$table" "$chain" ;;
  esac
done
for name in $(fw --get-policies); do
  case "$name" in swarmwall-*) fw --delete-policy="$name" ;; esac
done
for name in $(fw --get-zones); do
  case "$name" in swarmwall-*) fw --delete-zone="$name" ;; esac
done
for name in $(fw --get-ipsets); do
  case "$name" in swarmwall-*) fw --delete-ipset="$name" ;; esac
done

# 2. ipsets (hash:net), as the compiled state names them.
fw --new-ipset=swarmwall-nodes-v4 --type=hash:net --option=family=inet
fw --ipset=swarmwall-nodes-v4 \
  --add-entry=10.132.0.10/32 \
  --add-entry=10.132.0.11/32 \
  --add-entry=10.132.0.12/32 \
  --add-entry=203.0.113.10/32 \
  --add-entry=203.0.113.11/32 \
  --add-entry=203.0.113.12/32
fw --new-ipset=swarmwall-ops-v4 --type=hash:net --option=family=inet
fw --ipset=swarmwall-ops-v4 --add-entry=192.0.2.0/28

# 3. Zone swarmwall-public: the public interfaces. Anything not accepted is dropped.
fw --new-zone=swarmwall-public
fw --zone=swarmwall-public --set-target=DROP
fw --zone=swarmwall-public --change-interface=eth0
fw --zone=swarmwall-public \
  '--add-rich-rule=rule priority="-1" family="ipv4" icmp-type name="destination-unreachable" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv4" icmp-type name="time-exceeded" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv4" icmp-type name="echo-request" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="destination-unreachable" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="packet-too-big" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="time-exceeded" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="parameter-problem" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="router-solicitation" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="router-advertisement" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="neighbour-solicitation" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="neighbour-advertisement" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="echo-request" accept' \
  '--add-rich-rule=rule family="ipv4" source ipset="swarmwall-ops-v4" port port="22" protocol="tcp" accept'

# 4. No cluster interfaces.

# 5. Policy swarmwall-swarm: the Swarm ports from swarm.from only, on every interface
#    (ANY -> HOST, run before every zone's own rules).
fw --new-policy=swarmwall-swarm
fw --policy=swarmwall-swarm --set-priority=-100
fw --policy=swarmwall-swarm --add-ingress-zone=ANY
fw --policy=swarmwall-swarm --add-egress-zone=HOST
fw --policy=swarmwall-swarm \
  '--add-rich-rule=rule priority="-2" family="ipv4" source ipset="swarmwall-nodes-v4" port port="2376" protocol="tcp" accept' \
  '--add-rich-rule=rule priority="-2" family="ipv4" source ipset="swarmwall-nodes-v4" port port="7946" protocol="tcp" accept' \
  '--add-rich-rule=rule priority="-2" family="ipv4" source ipset="swarmwall-nodes-v4" port port="4789" protocol="udp" accept' \
  '--add-rich-rule=rule priority="-2" family="ipv4" source ipset="swarmwall-nodes-v4" port port="7946" protocol="udp" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv4" port port="2376-2377" protocol="tcp" drop' \
  '--add-rich-rule=rule priority="-1" family="ipv4" port port="7946" protocol="tcp" drop' \
  '--add-rich-rule=rule priority="-1" family="ipv4" port port="4789" protocol="udp" drop' \
  '--add-rich-rule=rule priority="-1" family="ipv4" port port="7946" protocol="udp" drop' \
  '--add-rich-rule=rule priority="-1" family="ipv6" port port="2376-2377" protocol="tcp" drop' \
  '--add-rich-rule=rule priority="-1" family="ipv6" port port="7946" protocol="tcp" drop' \
  '--add-rich-rule=rule priority="-1" family="ipv6" port port="4789" protocol="udp" drop' \
  '--add-rich-rule=rule priority="-1" family="ipv6" port port="7946" protocol="udp" drop'

# 6. Direct rules: the compiled DOCKER-USER part, chain by chain, then the hooks.
fw --direct --add-chain ipv4 filter SWARMWALL-USER
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i eth0 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 80 -m comment --comment 'swarmwall: containers allow #1: the web service published by the Swarm routing mesh' -j RETURN
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i eth0 -j DROP
fw --direct --query-chain ipv4 filter DOCKER-USER >/dev/null || fw --direct --add-chain ipv4 filter DOCKER-USER
fw --direct --add-rule ipv4 filter DOCKER-USER 0 -j SWARMWALL-USER
fw --direct --add-chain ipv6 filter SWARMWALL-USER
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i eth0 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 80 -m comment --comment 'swarmwall: containers allow #1: the web service published by the Swarm routing mesh' -j RETURN
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i eth0 -j DROP
fw --direct --query-chain ipv6 filter DOCKER-USER >/dev/null || fw --direct --add-chain ipv6 filter DOCKER-USER
fw --direct --add-rule ipv6 filter DOCKER-USER 0 -j SWARMWALL-USER
