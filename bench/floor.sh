#!/bin/sh
# bench floor: the least any tool must do to know whether a host needs a change, in ONE OpenSSH
# exec per host: read the links, the addresses and the three networks (state and definition) with
# ONE virsh invocation whose commands are separated by `;`. Decides nothing, changes nothing.
# The floor for the warm and --check scenarios.
export LC_ALL=C
ip -j -d link show
ip -j addr show
virsh -q 'net-list --all; net-info bridged-network; net-dumpxml --inactive bridged-network; net-info net10; net-dumpxml --inactive net10; net-info default; net-dumpxml --inactive default'
