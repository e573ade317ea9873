#!/bin/sh
# Captures the raw output of kvmnet's fact commands from real lab hosts into test/fixtures/hosts/<state>/.
#
#   node -e "import('./dist/lab/index.js').then(m => m.labUp({ dir: '/tmp/labfix', n: 4 }))"
#   scripts/lab-capture-fixtures.sh /tmp/labfix            # needs 4 FRESH hosts: it changes them
#   node -e "import('./dist/lab/index.js').then(m => m.labDown({ dir: '/tmp/labfix' }))"
#
# States: fresh (hv1), bridged (hv2), nat (hv3), no-libvirtd (hv4). Every file holds exactly what
# the command printed on stdout; when a command exits non-zero or writes to stderr, NAME.stderr.txt
# and NAME.exit.txt sit next to it.
set -eu
lab=${1:?usage: $0 LABDIR [OUTDIR]}
out=${2:-$(dirname "$0")/../test/fixtures/hosts}
lab=$(cd "$lab" && pwd)

addr() { sed -n "/^        $1:\$/{n;s/^ *host: //p}" "$lab/inventory.yaml"; }
on() { # on HOST COMMAND: run COMMAND on the lab host over ssh, as kvmnet would
  h=$1; shift
  ssh -q -i "$lab/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$lab/known_hosts" "root@$(addr "$h")" "$@"
}
cap() { # cap HOST DIR FILE COMMAND
  h=$1 d=$2 f=$3; shift 3
  base=${f%.*}
  set +e
  on "$h" "$@" >"$d/$f" 2>"$d/$base.stderr.txt"
  rc=$?
  set -e
  if [ "$rc" -ne 0 ] || [ -s "$d/$base.stderr.txt" ]; then
    echo "$rc" >"$d/$base.exit.txt"
  else
    rm -f "$d/$base.stderr.txt" "$d/$base.exit.txt"
  fi
}
capture() { # capture HOST STATE
  h=$1 d=$out/$2
  rm -rf "$d"
  mkdir -p "$d"
  cap "$h" "$d" ip-link.json 'ip -j -d link show'
  cap "$h" "$d" ip-addr.json 'ip -j addr show'
  cap "$h" "$d" ip-route.json 'ip -j route show'
  cap "$h" "$d" ip-route6.json 'ip -j -6 route show'
  cap "$h" "$d" ssh-connection.txt 'echo "$SSH_CONNECTION"'
  cap "$h" "$d" virsh-net-list.txt 'virsh -q net-list --all'
  cap "$h" "$d" virsh-multi.txt "virsh -q 'net-list --all; net-info default; net-dumpxml --inactive default'"
  for n in $(awk '{print $1}' "$d/virsh-net-list.txt"); do
    cap "$h" "$d" "virsh-net-dumpxml-inactive-$n.xml" "virsh net-dumpxml --inactive $n"
    cap "$h" "$d" "virsh-net-info-$n.txt" "virsh net-info $n"
  done
  echo "captured $2 from $h ($(addr "$h"))"
}

# 1. fresh
capture hv1 fresh

# 2. bridged: the tutorial's steps, typed by hand
on hv2 'ip link add br0 type bridge stp_state 1 forward_delay 1500; ip link set br0 up; ip link set eth1 up; ip link set eth1 master br0; ip address add 192.168.0.90/24 dev br0;
  printf "%s\n" "<network><name>bridged-network</name><forward mode=\"bridge\"/><bridge name=\"br0\"/></network>" >/tmp/bridged-network.xml
  virsh net-define /tmp/bridged-network.xml && virsh net-start bridged-network && virsh net-autostart bridged-network' >/dev/null
capture hv2 bridged
cap hv2 "$out/bridged" bridge-link.json 'bridge -j link show'

# 3. nat: net10 plus the default network, both started and autostarted
on hv3 'printf "%s\n" "<network><name>net10</name><forward mode=\"nat\"><nat><port start=\"1024\" end=\"65535\"/></nat></forward><bridge name=\"br10\" stp=\"on\" delay=\"0\"/><ip address=\"192.168.30.1\" netmask=\"255.255.255.0\"><dhcp><range start=\"192.168.30.50\" end=\"192.168.30.200\"/></dhcp></ip></network>" >/tmp/net10.xml
  virsh net-define /tmp/net10.xml && virsh net-start net10 && virsh net-autostart net10 && virsh net-start default && virsh net-autostart default' >/dev/null
capture hv3 nat

# 4. no-libvirtd: libvirtd killed (SIGKILL: its socket file stays, so virsh gets "Connection refused")
on hv4 'kill -KILL "$(cat /run/libvirtd.pid)"; sleep 0.5'
capture hv4 no-libvirtd
d=$out/no-libvirtd
# The multi-command capture is the one the facts parser must survive: keep all three streams.
set +e
on hv4 "virsh -q 'net-list --all; net-info default; net-dumpxml --inactive default'" >"$d/virsh-multi.txt" 2>"$d/virsh-multi.stderr.txt"
echo $? >"$d/virsh-multi.exit.txt"
set -e
