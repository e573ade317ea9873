#!/bin/sh
# Captures the facts fixtures of the guests' side of a NAT network (test/fixtures/facts/SET-*.stdout,
# described in test/fixtures/facts/nat-guests-fixtures.md) from a lab of 2 fresh hosts it makes and
# removes again. SET nat: the machine's libvirt (Debian 12: 9.0, iptables backend); SET nft:
# `lab up --libvirt backports` (bookworm-backports' libvirt, nftables backend).
# usage (root, from the repo, after npm run build): scripts/capture-nat-fixtures.sh nat|nft [PREFIX]
set -eu
set_=${1:?usage: $0 nat|nft [PREFIX]}
case "$set_" in nat) libvirt=system; prefix=${2:-nfc} ;; nft) libvirt=backports; prefix=${2:-nfd} ;; *) echo "SET is nat or nft" >&2; exit 2 ;; esac
dir=$(mktemp -d /tmp/kvmnet-capture-XXXXXX)
lab=$dir/lab
inv=$lab/inventory.yaml
kvmnet() { node bin/kvmnet.js "$@"; }
cleanup() {
  ip netns del "$prefix-g1" 2>/dev/null || :
  kvmnet lab down --dir "$lab" >/dev/null 2>&1 || :
  rm -rf "$dir"
}
trap cleanup EXIT
kvmnet lab up --dir "$lab" --prefix "$prefix" -n 2 --libvirt "$libvirt" >/dev/null
field() { node -e "const h = require('$lab/lab.json').hosts.find((x) => x.name === '$1'); console.log(h['$2'])"; }
inhost() { h=$1; shift; nsenter -t "$(field "$h" holderPid)" -m -u -n -- "$@"; }
cap() { sh scripts/capture-facts.sh "$lab" "$(field "$1" address)" "$2"; echo "captured $2 from $1"; }
play() { # play HOST YAML-TASKS
  printf -- '- hosts: %s\n  tasks:\n%s\n' "$1" "$2" > "$dir/play.yaml"
  kvmnet run "$dir/play.yaml" -i "$inv" >/dev/null
}

cap hv1 "$set_-fresh-no-rules"
kvmnet run playbooks/nat-network.yaml -i "$inv" --limit hv1 >/dev/null
cap hv1 "$set_-no-forwards"

kvmnet run playbooks/nat-guests.yaml -i "$inv" --limit hv1 >/dev/null
inhost hv1 virsh -q net-update net10 add ip-dhcp-host "<host mac='52:54:00:30:00:13' ip='192.168.30.13'/>" --live >/dev/null
play hv1 '    - ensure_dhcp_host: { network: net10, mac: "52:54:00:e5:07:e7", ip: 192.168.30.20, name: guest1 }'
# web1 (a namespace on br10 with web1's MAC) takes its lease from libvirt's dnsmasq.
ip netns add "$prefix-g1"
ip link add "${prefix}g1" type veth peer name eth0 netns "$prefix-g1"
ip link set "${prefix}g1" netns "$(field hv1 netns)"
ip -n "$prefix-g1" link set eth0 address 52:54:00:30:00:11 up
inhost hv1 ip link set "${prefix}g1" master br10 up
ip netns exec "$prefix-g1" busybox udhcpc -i eth0 -n -q -f -t 10 -T 2 -s /bin/true -x hostname:web1 >/dev/null 2>&1
cap hv1 "$set_-guests"

# libvirt's and kvmnet's rules gone (the chains or tables left as the flush leaves them).
if [ "$set_" = nat ]; then inhost hv1 sh -c 'for t in filter nat mangle; do iptables -t $t -F; done'; else inhost hv1 nft flush ruleset; fi
cap hv1 "$set_-guests-flushed"

kvmnet run playbooks/nat-guests.yaml -i "$inv" --limit hv2 >/dev/null
play hv2 '    - ensure_dns_host: { network: net10, ip: 192.168.30.11, hostnames: [www.lab.example, web1.lab.example] }'
inhost hv2 virsh -q net-update net10 add dns-host "<host ip='192.168.30.12'><hostname>db.lab.example</hostname></host>" --live >/dev/null
cap hv2 "$set_-dns"
