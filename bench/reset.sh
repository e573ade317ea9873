#!/bin/sh
# bench: put a lab host back to how `kvmnet lab up` made it (the state of a fresh install), undoing
# what bench/both.yaml, bench/baseline.sh and bench/ansible/ converge. Run inside the host (through
# `hostCommand`, i.e. nsenter) by bench/run.js before every cold round. Idempotent; never fails.
export LC_ALL=C
for n in bridged-network net10; do
  virsh -q net-destroy "$n" >/dev/null 2>&1
  virsh -q net-undefine "$n" >/dev/null 2>&1
done
virsh -q net-destroy default >/dev/null 2>&1
# A fresh host has `default` defined (Debian's postinst), inactive and not autostarted.
virsh -q net-info default >/dev/null 2>&1 || virsh -q net-define /usr/share/libvirt/networks/default.xml >/dev/null 2>&1
virsh -q net-autostart --disable default >/dev/null 2>&1
ip link set eth1 nomaster 2>/dev/null
ip link set eth1 down 2>/dev/null
ip link del br0 2>/dev/null
ip link del br10 2>/dev/null
ip link del virbr0 2>/dev/null
exit 0
