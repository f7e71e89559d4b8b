#!/bin/sh
# swarmwall: firewalld configuration of node web-1 (manager) from examples/dual-stack.yaml
# DesiredState digest d8c2dcb600754b66 (the state the iptables backend renders).
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
fw --new-ipset=swarmwall-monitoring-v4 --type=hash:net --option=family=inet
fw --ipset=swarmwall-monitoring-v4 --add-entry=192.0.2.50/32
fw --new-ipset=swarmwall-office-v4 --type=hash:net --option=family=inet
fw --ipset=swarmwall-office-v4 --add-entry=198.51.100.0/24
fw --new-ipset=swarmwall-monitoring-v6 --type=hash:net --option=family=inet6
fw --ipset=swarmwall-monitoring-v6 --add-entry=2001:db8:ffff::50/128
fw --new-ipset=swarmwall-office-v6 --type=hash:net --option=family=inet6
fw --ipset=swarmwall-office-v6 --add-entry=2001:db8:100::/48

# 3. Zone swarmwall-public: the public interfaces. Anything not accepted is dropped.
fw --new-zone=swarmwall-public
fw --zone=swarmwall-public --set-target=DROP
fw --zone=swarmwall-public --change-interface=eth0
fw --zone=swarmwall-public \
  '--add-rich-rule=rule priority="-1" family="ipv4" icmp-type name="destination-unreachable" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv4" icmp-type name="time-exceeded" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv4" icmp-type name="echo-request" accept limit value="20/s"' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="destination-unreachable" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="packet-too-big" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="time-exceeded" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="parameter-problem" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="router-solicitation" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="router-advertisement" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="neighbour-solicitation" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="neighbour-advertisement" accept' \
  '--add-rich-rule=rule priority="-1" family="ipv6" icmp-type name="echo-request" accept limit value="20/s"' \
  '--add-rich-rule=rule family="ipv4" source ipset="swarmwall-office-v4" port port="22" protocol="tcp" accept' \
  '--add-rich-rule=rule family="ipv6" source ipset="swarmwall-office-v6" port port="22" protocol="tcp" accept' \
  '--add-rich-rule=rule family="ipv4" source ipset="swarmwall-monitoring-v4" port port="9100" protocol="tcp" accept' \
  '--add-rich-rule=rule family="ipv6" source ipset="swarmwall-monitoring-v6" port port="9100" protocol="tcp" accept' \
  '--add-rich-rule=rule family="ipv4" port port="80" protocol="tcp" accept' \
  '--add-rich-rule=rule family="ipv4" port port="443" protocol="tcp" accept' \
  '--add-rich-rule=rule family="ipv4" port port="443" protocol="udp" accept' \
  '--add-rich-rule=rule family="ipv6" port port="80" protocol="tcp" accept' \
  '--add-rich-rule=rule family="ipv6" port port="443" protocol="tcp" accept' \
  '--add-rich-rule=rule family="ipv6" port port="443" protocol="udp" accept'

# 4. No cluster interfaces.

# 5. No swarm section: no Swarm policy.

# 6. Direct rules: the compiled DOCKER-USER part, chain by chain, then the hooks.
fw --direct --add-chain ipv4 filter SWARMWALL-USER
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i eth0 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 80 -m comment --comment 'swarmwall: containers allow #1: the reverse proxy container' -j RETURN
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 443 -m comment --comment 'swarmwall: containers allow #1: the reverse proxy container' -j RETURN
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i eth0 -p udp -m conntrack --ctstate DNAT --ctorigdstport 443 -m comment --comment 'swarmwall: containers allow #2: HTTP/3' -j RETURN
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 9000:9010 -m set --match-set swarmwall-office-v4 src -m comment --comment 'swarmwall: containers allow #3' -j RETURN
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i eth0 -j DROP
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i docker0 -o eth0 -j SWARMWALL-EGRESS
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i docker_gwbridge -o eth0 -j SWARMWALL-EGRESS
fw --direct --add-rule ipv4 filter SWARMWALL-USER 0 -i br-+ -o eth0 -j SWARMWALL-EGRESS
fw --direct --add-chain ipv4 filter SWARMWALL-EGRESS
fw --direct --add-rule ipv4 filter SWARMWALL-EGRESS 0 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
fw --direct --add-rule ipv4 filter SWARMWALL-EGRESS 0 -d 169.254.169.254/32 -m comment --comment 'swarmwall: egress deny #1: metadata services (v4 and v6)' -j DROP
fw --direct --query-chain ipv4 filter DOCKER-USER >/dev/null || fw --direct --add-chain ipv4 filter DOCKER-USER
fw --direct --add-rule ipv4 filter DOCKER-USER 0 -j SWARMWALL-USER
fw --direct --add-chain ipv6 filter SWARMWALL-USER
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i eth0 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 80 -m comment --comment 'swarmwall: containers allow #1: the reverse proxy container' -j RETURN
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 443 -m comment --comment 'swarmwall: containers allow #1: the reverse proxy container' -j RETURN
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i eth0 -p udp -m conntrack --ctstate DNAT --ctorigdstport 443 -m comment --comment 'swarmwall: containers allow #2: HTTP/3' -j RETURN
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 9000:9010 -m set --match-set swarmwall-office-v6 src -m comment --comment 'swarmwall: containers allow #3' -j RETURN
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -s 2001:db8:abcd::/64 -i eth0 -p tcp -m conntrack --ctstate DNAT --ctorigdstport 9000:9010 -m comment --comment 'swarmwall: containers allow #3' -j RETURN
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i eth0 -j DROP
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i docker0 -o eth0 -j SWARMWALL-EGRESS
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i docker_gwbridge -o eth0 -j SWARMWALL-EGRESS
fw --direct --add-rule ipv6 filter SWARMWALL-USER 0 -i br-+ -o eth0 -j SWARMWALL-EGRESS
fw --direct --add-chain ipv6 filter SWARMWALL-EGRESS
fw --direct --add-rule ipv6 filter SWARMWALL-EGRESS 0 -m conntrack --ctstate RELATED,ESTABLISHED -j RETURN
fw --direct --add-rule ipv6 filter SWARMWALL-EGRESS 0 -d fd00:ec2::254/128 -m comment --comment 'swarmwall: egress deny #1: metadata services (v4 and v6)' -j DROP
fw --direct --query-chain ipv6 filter DOCKER-USER >/dev/null || fw --direct --add-chain ipv6 filter DOCKER-USER
fw --direct --add-rule ipv6 filter DOCKER-USER 0 -j SWARMWALL-USER
