#!/bin/sh
# bench baseline: what bench/both.yaml does (playbooks/bridged.yaml + playbooks/nat-network.yaml),
# written by hand the way a careful operator would: idempotent, every step checked before it is
# done, one `ip`/`virsh` call per check, no cleverness. bench/run.js feeds it to ONE OpenSSH exec
# per host (`ssh … sh -s < bench/baseline.sh`), all hosts in parallel.
#
#   CHECK=1  only report what would change (the baseline's --check)
#
# Prints one line per change (`changed: …`, or `would: …` with CHECK=1) and `changed=N` last.
# Exits non-zero on the first failed change.
export LC_ALL=C
CHECK=${CHECK:-0}
changed=0

change() {
  changed=$((changed + 1))
  if [ "$CHECK" = 1 ]; then
    echo "would: $*"
  else
    echo "changed: $*"
    "$@" || { echo "FAILED: $*" >&2; exit 1; }
  fi
}

# -- bridge br0 with STP, up ---------------------------------------------------------------
if ! ip link show br0 >/dev/null 2>&1; then
  change ip link add br0 type bridge stp_state 1
  change ip link set br0 up
else
  ip -d link show br0 | grep -q 'stp_state 1 ' || change ip link set br0 type bridge stp_state 1
  ip link show br0 | grep -q '[<,]UP[,>]' || change ip link set br0 up
fi

# -- uplink eth1 as a port of br0, up ---------------------------------------------------------
ip link show eth1 2>/dev/null | grep -q '[<,]UP[,>]' || change ip link set eth1 up
ip link show eth1 2>/dev/null | grep -q ' master br0 ' || change ip link set eth1 master br0

# -- address on br0 ---------------------------------------------------------------------------
ip -4 addr show dev br0 2>/dev/null | grep -q ' inet 192\.168\.0\.90/24 ' || change ip address add 192.168.0.90/24 dev br0

# -- libvirt networks -------------------------------------------------------------------------
define_net() { # name, xml file
  virsh -q net-define "$2" >/dev/null
}

# ensure_net NAME XML PATTERN…: defined (and, when its definition lacks one of the grep PATTERNs,
# redefined; a running network is restarted so the new definition applies), active, autostarted.
ensure_net() {
  name=$1 xml=$2
  shift 2
  if ! info=$(virsh -q net-info "$name" 2>/dev/null); then
    change define_net "$name" "$xml"
    change virsh -q net-start "$name"
    change virsh -q net-autostart "$name"
    return
  fi
  current=$(virsh -q net-dumpxml --inactive "$name")
  for pattern in "$@"; do
    if ! printf '%s\n' "$current" | grep -q "$pattern"; then
      change define_net "$name" "$xml"
      if printf '%s\n' "$info" | grep -q '^Active: *yes'; then change virsh -q net-destroy "$name"; info=; fi
      break
    fi
  done
  printf '%s\n' "$info" | grep -q '^Active: *yes' || change virsh -q net-start "$name"
  printf '%s\n' "$info" | grep -q '^Autostart: *yes' || change virsh -q net-autostart "$name"
}

tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

cat > "$tmp/bridged-network.xml" <<'XML'
<network>
  <name>bridged-network</name>
  <forward mode="bridge"/>
  <bridge name="br0"/>
</network>
XML
ensure_net bridged-network "$tmp/bridged-network.xml" \
  "<forward mode='bridge'/>" "<bridge name='br0'/>"

cat > "$tmp/net10.xml" <<'XML'
<network>
  <name>net10</name>
  <forward mode="nat"><nat><port start="1024" end="65535"/></nat></forward>
  <bridge name="br10" stp="on" delay="0"/>
  <ip address="192.168.30.1" netmask="255.255.255.0">
    <dhcp>
      <range start="192.168.30.50" end="192.168.30.200"/>
    </dhcp>
  </ip>
</network>
XML
ensure_net net10 "$tmp/net10.xml" \
  "<forward mode='nat'>" "<port start='1024' end='65535'/>" "<bridge name='br10' stp='on' delay='0'/>" \
  "<ip address='192.168.30.1' netmask='255.255.255.0'>" "<range start='192.168.30.50' end='192.168.30.200'/>"

cat > "$tmp/default.xml" <<'XML'
<network>
  <name>default</name>
  <forward mode="nat"/>
  <bridge name="virbr0" stp="on" delay="0"/>
  <ip address="192.168.122.1" netmask="255.255.255.0">
    <dhcp>
      <range start="192.168.122.2" end="192.168.122.254"/>
    </dhcp>
  </ip>
</network>
XML
ensure_net default "$tmp/default.xml" \
  "<forward mode='nat'/>" "<bridge name='virbr0' stp='on' delay='0'/>" \
  "<ip address='192.168.122.1' netmask='255.255.255.0'>" "<range start='192.168.122.2' end='192.168.122.254'/>"

echo "changed=$changed"
