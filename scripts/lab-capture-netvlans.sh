#!/bin/sh
# Captures an Open vSwitch libvirt network with a <vlan> and portgroups, as libvirt 9.0 stores and
# runs it, into test/fixtures/netxml/ (unit tests of ensure_libvirt_net's vlan/portgroups and of
# `kvmnet facts`). No Open vSwitch is needed: libvirt defines and starts a forward-bridge network
# without looking at the bridge.
#
#   node bin/kvmnet.js lab up --dir /tmp/labvl -n 1
#   scripts/lab-capture-netvlans.sh /tmp/labvl                 # defines and starts ovs-net on hv1
#   node bin/kvmnet.js lab down --dir /tmp/labvl
set -eu
lab=${1:?usage: $0 LABDIR [OUTDIR]}
out=${2:-$(dirname "$0")/../test/fixtures/netxml}
lab=$(cd "$lab" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"

addr() { sed -n "/^        $1:\$/{n;s/^ *host: //p}" "$lab/inventory.yaml"; }
on() {
  ssh -q -i "$lab/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$lab/known_hosts" "root@$(addr hv1)" "$@"
}

on 'virsh -q net-destroy ovs-net >/dev/null 2>&1; virsh -q net-undefine ovs-net >/dev/null 2>&1; :'
printf '%s' "<network><name>ovs-net</name><forward mode='bridge'/><bridge name='ovsbr0'/><virtualport type='openvswitch'/><vlan trunk='yes'><tag id='10' nativeMode='untagged'/><tag id='20'/></vlan><portgroup name='web' default='yes'><vlan><tag id='30'/></vlan></portgroup><portgroup name='trunk'><vlan trunk='yes'><tag id='40'/><tag id='41'/></vlan></portgroup><portgroup name='plain'/></network>" |
  on 'virsh -q net-define /dev/stdin >/dev/null && virsh -q net-start ovs-net >/dev/null'
on 'virsh net-dumpxml --inactive ovs-net' >"$out/ovs-vlans.xml"
# The facts exec's output on this host (the network running), as kvmnet gathers it.
node -e "import('$repo/dist/run/host-facts.js').then(m => process.stdout.write(m.HOST_FACTS_SCRIPT))" >"$out/facts-script.sh"
on sh <"$out/facts-script.sh" >"$out/facts-ovs-vlans.stdout"
rm -f "$out/facts-script.sh"
