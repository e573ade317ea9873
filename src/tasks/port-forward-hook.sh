#!/bin/sh
# Written by kvmnet (ensure_port_forward); kvmnet overwrites changes.
# libvirt runs it on network events (network.d: $1 network, $2 started|stopped|...) and daemon
# events (daemon.d: $2 start|reload|shutdown). It rebuilds kvmnet's rules from /etc/libvirt/hooks/kvmnet-port-forwards/*.rules:
# iptables: kvmnet's chains (nat KVMNET_DNAT, filter KVMNET_FWD), jumped to first;
# nftables: kvmnet's table (ip kvmnet_pf) and its accepts on top of libvirt's base chain
# ip libvirt_network forward (tagged "kvmnet-pf:…", removed by handle).
# It never calls libvirt (libvirtd waits for its hooks: calling back could deadlock) and exits 0
# (a failing network hook would stop the network from starting).
PATH=/usr/sbin:/usr/bin:/sbin:/bin
D=/etc/libvirt/hooks/kvmnet-port-forwards
first() { iptables -w -t "$1" -S "$2" 2>/dev/null | sed -n 2p; }
jump() {
  [ "$(first "$1" "$2")" = "-A $2 -j $3" ] && return 0
  while iptables -w -t "$1" -D "$2" -j "$3" 2>/dev/null; do :; done
  iptables -w -t "$1" -I "$2" 1 -j "$3"
}
unjump() {
  while iptables -w -t "$1" -D "$2" -j "$3" 2>/dev/null; do :; done
  iptables -w -t "$1" -F "$3" 2>/dev/null; iptables -w -t "$1" -X "$3" 2>/dev/null; return 0
}
ipt_apply() {
  if ! grep -qs '^nat ' "$@"; then
    # No iptables forward: remove kvmnet's chains if any (never create iptables tables on an nftables host).
    command -v iptables-save >/dev/null 2>&1 && iptables-save 2>/dev/null | grep -q KVMNET_ || return 0
    unjump nat PREROUTING KVMNET_DNAT; unjump filter FORWARD KVMNET_FWD; return 0
  fi
  { echo '*nat'; echo ':KVMNET_DNAT - [0:0]'; sed -n 's/^nat //p' "$@"; echo COMMIT
    echo '*filter'; echo ':KVMNET_FWD - [0:0]'; sed -n 's/^filter //p' "$@"; echo COMMIT
  } | iptables-restore -w --noflush || return 1
  jump nat PREROUTING KVMNET_DNAT && jump filter FORWARD KVMNET_FWD
}
L="ip libvirt_network forward"
# One nft transaction: kvmnet's table rebuilt, kvmnet's accepts in libvirt's chain replaced on top.
nft_apply() {
  command -v nft >/dev/null 2>&1 || return 0
  dn=$(sed -n 's/^nft-dnat //p' "$@"); ac=$(sed -n 's/^nft-accept //p' "$@")
  {
    nft list table ip kvmnet_pf >/dev/null 2>&1 && echo 'delete table ip kvmnet_pf'
    if [ -n "$dn" ]; then
      echo 'add table ip kvmnet_pf'
      echo 'add chain ip kvmnet_pf prerouting { type nat hook prerouting priority dstnat; policy accept; }'
      printf '%s\n' "$dn" | sed 's/^/add rule ip kvmnet_pf prerouting /'
    fi
    nft -a list chain $L 2>/dev/null | sed -n "s/.* comment \"kvmnet-pf:.* # handle \([0-9]*\)$/delete rule $L handle \1/p"
    if [ -n "$ac" ] && nft list chain $L >/dev/null 2>&1; then printf '%s\n' "$ac" | sed "s/^/insert rule $L /"; fi
  } | nft -f /dev/stdin
}
apply() {
  set -- "$D"/*.rules
  [ -e "$1" ] || set -- /dev/null
  ipt_apply "$@"; r=$?
  nft_apply "$@" || r=1
  return $r
}
# At its start (and reload) libvirtd runs this hook BEFORE it re-creates its own rules: wait in
# the background (the hook must return) until libvirt's rules are there, then apply.
ipt_later() {
  i=0
  while [ $i -lt 120 ]; do
    iptables -w -S FORWARD 2>/dev/null | grep -q -- '-j LIBVIRT_FW' && break
    sleep 0.5; i=$((i + 1))
  done
  apply; sleep 2; apply
}
# nftables: once libvirt's forward chain is there (it makes its table at its start when missing),
# keep kvmnet's accepts above libvirt's jumps until that has held for 2 s.
ours_first() { nft list chain $L 2>/dev/null | awk '/comment "kvmnet-pf:/ { if (j) bad = 1; k = 1 } / jump / { j = 1 } END { exit (bad || !k) }'; }
nft_later() {
  i=0; ok=0
  while [ $i -lt 120 ] && [ $ok -lt 4 ]; do
    sleep 0.5; i=$((i + 1))
    nft list chain $L >/dev/null 2>&1 || continue
    if ours_first; then ok=$((ok + 1)); else ok=0; apply; fi
  done
}
later() {
  grep -qs '^nat ' "$D"/*.rules && ipt_later
  grep -qs '^nft-accept ' "$D"/*.rules && nft_later
  return 0
}
case "$2" in
  apply) apply; exit $? ;;
  started|stopped) apply >/dev/null 2>&1 ;;
  start|reload) ( later ) </dev/null >/dev/null 2>&1 & ;;
esac
exit 0
