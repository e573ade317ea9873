#!/bin/sh
# Captures libvirt network definitions (`virsh net-dumpxml --inactive`) from a real lab host into
# test/fixtures/netxml/, for the unit tests of the live-update/restart classification
# (test/unit/libvirt-net-live.test.ts), and the facts exec's output on a host with a running guest.
#
#   node bin/kvmnet.js lab up --dir /tmp/labnet -n 1 --guest hv1
#   scripts/lab-capture-netxml.sh /tmp/labnet                 # changes hv1's networks
#   node bin/kvmnet.js lab down --dir /tmp/labnet
set -eu
lab=${1:?usage: $0 LABDIR [OUTDIR]}
out=${2:-$(dirname "$0")/../test/fixtures/netxml}
lab=$(cd "$lab" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$out"

addr() { sed -n "/^        $1:\$/{n;s/^ *host: //p}" "$lab/inventory.yaml"; }
on() { # on COMMAND: run COMMAND on hv1 over ssh, as kvmnet would
  ssh -q -i "$lab/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=yes \
    -o UserKnownHostsFile="$lab/known_hosts" "root@$(addr hv1)" "$@"
}
dump() { on "virsh net-dumpxml --inactive $1" >"$out/$2.xml"; }

# default as the lab made it (libvirt's stock definition, running, with the guest's tap in virbr0).
dump default default-stock
# After live updates of every section net-update has (libvirt's own formatting of each element).
on "virsh -q net-update default add ip-dhcp-host \"<host mac='52:54:00:aa:bb:01' name='web1' ip='192.168.122.11'/>\" --live --config
virsh -q net-update default add dns-host \"<host ip='192.168.122.11'><hostname>web1.lab</hostname></host>\" --live --config
virsh -q net-update default add dns-txt \"<txt name='example' value='kvmnet lab'/>\" --live --config
virsh -q net-update default add dns-srv \"<srv service='ldap' protocol='tcp' domain='lab' target='web1.lab' port='389' priority='10' weight='10'/>\" --live --config
virsh -q net-update default add portgroup \"<portgroup name='engineering'><vlan><tag id='42'/></vlan></portgroup>\" --live --config" >/dev/null
dump default default-updated
# A routed network over a pool of host interfaces (forward-interface), defined only.
printf '%s' "<network><name>pool</name><forward mode='bridge'><interface dev='eth1'/><interface dev='eth2'/></forward></network>" |
  on 'virsh -q net-define /dev/stdin >/dev/null'
dump pool pool
# The facts exec's output on this host (running guest, libvirt version), as kvmnet gathers it.
node -e "import('$repo/dist/run/host-facts.js').then(m => process.stdout.write(m.HOST_FACTS_SCRIPT))" >"$out/facts-script.sh"
on sh <"$out/facts-script.sh" >"$out/facts-guest.stdout"
rm -f "$out/facts-script.sh"
