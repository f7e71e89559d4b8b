#!/bin/sh
# swarmwall: firewalld configuration of node master-1 (manager) from examples/openshift-egress.yaml
# DesiredState digest d0e0f1c35875b571 (the state the iptables backend renders).
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
  --add-entry=10.20.1.1/32 \
  --add-entry=10.20.1.11/32 \
  --add-entry=10.20.1.21/32 \
  --add-entry=10.20.1.22/32
fw --new-ipset=swarmwall-registry-v4 --type=hash:net --option=family=inet
fw --ipset=swarmwall-registry-v4 --add-entry=10.20.0.5/32
fw --new-ipset=swarmwall-resolvers-v4 --type=hash:net --option=family=inet
fw --ipset=swarmwall-resolvers-v4 \
  --add-entry=10.20.0.2/32 \
  --add-entry=10.20.0.3/32

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
  '--add-rich-rule=rule family="ipv4" source address="10.20.0.0/16" port port="22" protocol="tcp" accept' \
  '--add-rich-rule=rule family="ipv4" port port="8443" protocol="tcp" accept' \
  '--add-rich-rule=rule family="ipv6" port port="8443" protocol="tcp" accept' \
  '--add-rich-rule=rule priority="32767" log prefix="swarmwall input: " limit value="5/m"'

# 4. Zone swarmwall-cluster: the cluster interfaces, Swarm ports only (host.cluster: swarm-only).
fw --new-zone=swarmwall-cluster
fw --zone=swarmwall-cluster --set-target=DROP
fw --zone=swarmwall-cluster --change-interface=eth1

# 5. Policy swarmwall-swarm: the Swarm ports from swarm.from only, on every interface
#    (ANY -> HOST, run before every zone's own rules).
fw --new-policy=swarmwall-swarm
fw --policy=swarmwall-swarm --set-priority=-100
fw --policy=swarmwall-swarm --add-ingress-zone=ANY
fw --policy=swarmwall-swarm --add-egress-zone=HOST
fw --policy=swarmwall-swarm \
  '--add-rich-rule=rule priority="-2" family="ipv4" source ipset="swarmwall-nodes-v4" port port="2377" protocol="tcp" accept' \
  '--add-rich-rule=rule priority="-2" family="ipv4" source ipset="swarmwall-nodes-v4" port port="7946" protocol="tcp" accept' \
  '--add-rich-rule=rule priority="-2" family="ipv4" source ipset="swarmwall-nodes-v4" port port="4789" protocol="udp" accept' \
  '--add-rich-rule=rule priority="-2" family="ipv4" source ipset="swarmwall-nodes-v4" port port="7946" protocol="udp" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv4" port port="2377" protocol="tcp" log prefix="swarmwall swarm: " limit value="5/m" drop' \
  '--add-rich-rule=rule priority="-1" family="ipv4" port port="7946" protocol="tcp" log prefix="swarmwall swarm: " limit value="5/m" drop' \
  '--add-rich-rule=rule priority="-1" family="ipv4" port port="4789" protocol="udp" log prefix="swarmwall swarm: " limit value="5/m" drop' \
  '--add-rich-rule=rule priority="-1" family="ipv4" port port="7946" protocol="udp" log prefix="swarmwall swarm: " limit value="5/m" drop' \
  '--add-rich-rule=rule priority="-1" family="ipv6" port port="2377" protocol="tcp" log prefix="swarmwall swarm: " limit value="5/m" drop' \
  '--add-rich-rule=rule priority="-1" family="ipv6" port port="7946" protocol="tcp" log prefix="swarmwall swarm: " limit value="5/m" drop' \
  '--add-rich-rule=rule priority="-1" family="ipv6" port port="4789" protocol="udp" log prefix="swarmwall swarm: " limit value="5/m" drop' \
  '--add-rich-rule=rule priority="-1" family="ipv6" port port="7946" protocol="udp" log prefix="swarmwall swarm: " limit value="5/m" drop'

# 6. Direct rules: the compiled DOCKER-USER part, chain by chain, then the hooks.
fw --direct --add-chain ipv4 filter SWARMWALL-USER
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i eth0 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i eth0 -m limit --limit 5/min -j LOG --log-prefix 'swarmwall containers: '
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i eth0 -j DROP
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i docker0 -o eth0 -j SWARMWALL-EGRESS
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i docker_gwbridge -o eth0 -j SWARMWALL-EGRESS
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i br-+ -o eth0 -j SWARMWALL-EGRESS
fw --direct --add-chain ipv4 filter SWARMWALL-EGRESS
fw --direct --add-rule ipv4 filter SWARMWALL-EGRESS 0 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
fw --direct --add-rule ipv4 filter SWARMWALL-EGRESS 0 -d 169.254.169.254/32 -m comment --comment 'swarmwall: egress deny #1: cloud metadata service' -j DROP
fw --direct --add-rule ipv4 filter SWARMWALL-EGRESS 0 -p tcp -m tcp --dport 25 -m comment --comment 'swarmwall: egress deny #2: no mail straight from containers' -j DROP
fw --direct --add-rule ipv4 filter SWARMWALL-EGRESS 0 -p tcp -m tcp --dport 5000 -m set --match-set swarmwall-registry-v4 dst -m comment --comment 'swarmwall: egress allow #1' -j RETURN
fw --direct --add-rule ipv4 filter SWARMWALL-EGRESS 0 -p tcp -m tcp --dport 53 -m set --match-set swarmwall-resolvers-v4 dst -m comment --comment 'swarmwall: egress allow #2' -j RETURN
fw --direct --add-rule ipv4 filter SWARMWALL-EGRESS 0 -p udp -m udp --dport 53 -m set --match-set swarmwall-resolvers-v4 dst -m comment --comment 'swarmwall: egress allow #2' -j RETURN
fw --direct --add-rule ipv4 filter SWARMWALL-EGRESS 0 -p udp -m udp --dport 123 -m comment --comment 'swarmwall: egress allow #3' -j RETURN
fw --direct --add-rule ipv4 filter SWARMWALL-EGRESS 0 -p tcp -m multiport --dports 80,443 -m comment --comment 'swarmwall: egress allow #4' -j RETURN
fw --direct --add-rule ipv4 filter SWARMWALL-EGRESS 0 -m limit --limit 5/min -j LOG --log-prefix 'swarmwall egress: '
fw --direct --add-rule ipv4 filter SWARMWALL-EGRESS 0 -j DROP
fw --direct --query-chain ipv4 filter DOCKER-USER >/dev/null || fw --direct --add-chain ipv4 filter DOCKER-USER
fw --direct --add-rule ipv4 filter DOCKER-USER 0 -j SWARMWALL-USER
fw --direct --add-chain ipv6 filter SWARMWALL-USER
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i eth0 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i eth0 -m limit --limit 5/min -j LOG --log-prefix 'swarmwall containers: '
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i eth0 -j DROP
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i docker0 -o eth0 -j SWARMWALL-EGRESS
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i docker_gwbridge -o eth0 -j SWARMWALL-EGRESS
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i br-+ -o eth0 -j SWARMWALL-EGRESS
fw --direct --add-chain ipv6 filter SWARMWALL-EGRESS
fw --direct --add-rule ipv6 filter SWARMWALL-EGRESS 0 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
fw --direct --add-rule ipv6 filter SWARMWALL-EGRESS 0 -p tcp -m tcp --dport 25 -m comment --comment 'swarmwall: egress deny #2: no mail straight from containers' -j DROP
fw --direct --add-rule ipv6 filter SWARMWALL-EGRESS 0 -p udp -m udp --dport 123 -m comment --comment 'swarmwall: egress allow #3' -j RETURN
fw --direct --add-rule ipv6 filter SWARMWALL-EGRESS 0 -p tcp -m multiport --dports 80,443 -m comment --comment 'swarmwall: egress allow #4' -j RETURN
fw --direct --add-rule ipv6 filter SWARMWALL-EGRESS 0 -m limit --limit 5/min -j LOG --log-prefix 'swarmwall egress: '
fw --direct --add-rule ipv6 filter SWARMWALL-EGRESS 0 -j DROP
fw --direct --query-chain ipv6 filter DOCKER-USER >/dev/null || fw --direct --add-chain ipv6 filter DOCKER-USER
fw --direct --add-rule ipv6 filter DOCKER-USER 0 -j SWARMWALL-USER
