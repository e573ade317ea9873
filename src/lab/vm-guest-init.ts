// PID 1 of a VM lab guest. The guest's root is this machine's root over virtio-9p, read-only;
// everything it writes goes to tmpfs (overlays on /etc and /var, tmpfs /run, /tmp, /root), so a
// VM leaves nothing on the controller and starts like a fresh install every boot. No systemd by
// default: the kernel plus this script reach sshd in a few seconds under TCG, systemd takes ~27 s.
//
// KVMLAB_INIT=systemd (`lab up --init systemd`, hosts only): the /etc and /var overlays are kept
// on the VM's own disk (/dev/vda, ext4), the "fresh install" steps run on the first boot only,
// and this script ends by handing PID 1 to systemd, with units for the lab's sshd and libvirtd
// and the network manager KVMLAB_MANAGER enabled. So the host reboots like a real one: what was
// persisted in /etc is what comes back. The management address is set here on every boot, before
// any manager runs (each is told to leave mgmt0 alone).
//
// Its settings come from the VM's dir on the controller (kernel argument kvmlab.dir=DIR):
//   DIR/guest.env   KVMLAB_* variables (sh syntax)
//   DIR/nics        "MAC NAME" per line: NICs are renamed by MAC (mgmt0, eth1…, or the switch's ports)
//   DIR/run/kvmnet-lab/  sshd_config, host key, authorized_keys (copied to the guest's /run)
export const GUEST_INIT_SCRIPT = String.raw`#!/bin/sh
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# devtmpfs has no /dev/fd or /dev/std* (udev or systemd make them): 'virsh net-define /dev/stdin' needs them.
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs -o mode=0755 kvmlab-run /run
say() { echo "kvmlab: $* ($(cut -d' ' -f1 /proc/uptime) s)"; }
say "init"

dir=$(sed -n 's/.*kvmlab\.dir=\([^ ]*\).*/\1/p' /proc/cmdline)
# Copy what the guest needs from its dir before /tmp (where the lab dir may be) is covered.
mkdir -p /run/kvmnet-lab /run/sshd /run/libvirt /run/lock
cp "$dir/guest.env" "$dir/nics" /run/kvmnet-lab/
cp -p "$dir"/run/kvmnet-lab/* /run/kvmnet-lab/
. /run/kvmnet-lab/guest.env

mount -t tmpfs -o mode=1777 kvmlab-tmp /tmp
modprobe overlay
mkdir -p /run/kvmlab-rw
if [ "$KVMLAB_INIT" = systemd ]; then
  modprobe virtio_blk; modprobe ext4
  for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 0.2; done
  mount -t ext4 /dev/vda /run/kvmlab-rw || say "cannot mount the VM's disk: nothing will survive a reboot"
fi
# Packages the machine itself must not have (lab up --manager): unpacked trees layered over /usr and /etc.
usr_lower=/usr; etc_lower=/etc
for p in $KVMLAB_PKGROOTS; do
  [ -d "$p/usr" ] && usr_lower="$p/usr:$usr_lower"
  [ -d "$p/etc" ] && etc_lower="$p/etc:$etc_lower"
done
[ "$usr_lower" != /usr ] && mount -t overlay kvmlab-usr -o "lowerdir=$usr_lower" /usr
for d in etc var; do
  lower=/$d; [ $d = etc ] && lower=$etc_lower
  mkdir -p /run/kvmlab-rw/$d/upper /run/kvmlab-rw/$d/work
  mount -t overlay kvmlab-$d -o lowerdir=$lower,upperdir=/run/kvmlab-rw/$d/upper,workdir=/run/kvmlab-rw/$d/work /$d
done
first=1
[ -e /run/kvmlab-rw/kvmlab-installed ] && first=
for d in /var/lib/libvirt /var/cache/libvirt /var/log /var/tmp; do mount -t tmpfs -o mode=0755 kvmlab-var "$d"; done
chmod 1777 /var/tmp
mkdir -p /var/log/libvirt/qemu /var/cache/libvirt/qemu
# No dotfiles of the controller's root (a slow .bashrc costs every SSH session).
mount -t tmpfs -o mode=0700 kvmlab-root /root
mkdir -m 0700 /root/.ssh
cp /run/kvmnet-lab/authorized_keys /root/.ssh/authorized_keys
chmod 0600 /root/.ssh/authorized_keys

if [ -n "$first" ]; then
# A fresh install: no libvirt domains, networks (but the packaged default, not autostarted),
# pools, secrets or hooks of the controller; no network configuration files.
rm -rf /etc/libvirt/qemu/*.xml /etc/libvirt/qemu/networks /etc/libvirt/storage /etc/libvirt/secrets /etc/libvirt/hooks
mkdir -p /etc/libvirt/qemu/networks/autostart /etc/libvirt/storage /etc/libvirt/secrets /etc/libvirt/hooks
cp /usr/share/libvirt/networks/default.xml /etc/libvirt/qemu/networks/default.xml
rm -rf /etc/network/interfaces.d /etc/systemd/network /etc/netplan /etc/NetworkManager/system-connections
mkdir -p /etc/network/interfaces.d /etc/systemd/network
# Otherwise loading bonding (also on demand, by 'ip link add … type bond') creates a bond0.
echo "options bonding max_bonds=0" > /etc/modprobe.d/kvmlab-bonding.conf
[ "$KVMLAB_INIT" = systemd ] && . /run/kvmnet-lab/systemd-install.sh
fi
echo "$KVMLAB_NAME" > /etc/hostname
hostname "$KVMLAB_NAME"
# Its own name resolves, as on a Debian install: sudo looks it up on every call and would wait for DNS.
grep -Eq "^[^#]*[[:space:]]$KVMLAB_NAME([[:space:]]|\$)" /etc/hosts || echo "127.0.1.1 $KVMLAB_NAME" >> /etc/hosts
say "filesystems ready"

modprobe virtio_net
# Every exec costs ~0.1-0.3 s on a busy TCG guest: one 'ip -batch' renames the NICs (through
# temporary names, so mgmt0/eth1… never clash with the kernel's eth0…) and sets up mgmt0.
cd /sys/class/net
n=0
while read -r mac name; do
  for ifname in *; do
    read -r addr < "$ifname/address" || continue
    [ "$addr" = "$mac" ] || continue
    echo "link set dev $ifname name kvmlab$n" >> /run/kvmnet-lab/rename1.ip
    echo "link set dev kvmlab$n name $name" >> /run/kvmnet-lab/rename2.ip
  done
  n=$((n + 1))
done < /run/kvmnet-lab/nics
cd /
{
  cat /run/kvmnet-lab/rename1.ip /run/kvmnet-lab/rename2.ip
  echo "link set lo up"
  echo "address add $KVMLAB_ADDRESS/24 dev mgmt0"
  echo "link set mgmt0 up"
  echo "route add default via $KVMLAB_GATEWAY dev mgmt0"
} > /run/kvmnet-lab/net.ip
ip -batch /run/kvmnet-lab/net.ip || say "network setup failed"

if [ "$KVMLAB_ROLE" = switch ]; then
  # The lab switch: per host, an LACP (802.3ad) bond of the ports facing its eth1 and eth2,
  # and a trunk port facing its eth3; all trunks carry VLANs 2-$KVMLAB_TRUNK_MAX tagged (VLAN 1 untagged);
  # the uplink on the lab bridge is an access port of VLAN $KVMLAB_MGMT_VLAN.
  modprobe bonding max_bonds=0
  {
    echo "link add br0 type bridge vlan_filtering 1 stp_state 0"
    echo "link set uplink master br0"
    for i in $KVMLAB_HOSTS; do
      echo "link add bond$i type bond mode 802.3ad lacp_rate fast miimon 100 xmit_hash_policy layer2+3"
      for s in a b; do echo "link set h$i$s down"; echo "link set h$i$s master bond$i"; done
      echo "link set bond$i master br0"
      echo "link set h"$i"c master br0"
    done
  } > /run/kvmnet-lab/switch.ip
  {
    echo "vlan add vid $KVMLAB_MGMT_VLAN dev uplink pvid untagged"
    echo "vlan del vid 1 dev uplink"
    for i in $KVMLAB_HOSTS; do
      echo "vlan add vid 2-$KVMLAB_TRUNK_MAX dev bond$i"
      echo "vlan add vid 2-$KVMLAB_TRUNK_MAX dev h"$i"c"
    done
  } > /run/kvmnet-lab/switch.bridge
  {
    echo "link set br0 up"
    echo "link set uplink up"
    for i in $KVMLAB_HOSTS; do echo "link set bond$i up"; echo "link set h"$i"c up"; done
  } > /run/kvmnet-lab/switch-up.ip
  if [ -n "$KVMLAB_UNTAGGED_MGMT" ]; then
    # --untagged-mgmt: a veth pair joins VLAN 1 (the host ports' untagged traffic) to the
    # management VLAN, one bridge domain: a host's plain eth1 or untagged bond0 is on the lab subnet.
    echo "link add natv1 type veth peer name natv$KVMLAB_MGMT_VLAN" >> /run/kvmnet-lab/switch.ip
    echo "link set natv1 master br0" >> /run/kvmnet-lab/switch.ip
    echo "link set natv$KVMLAB_MGMT_VLAN master br0" >> /run/kvmnet-lab/switch.ip
    echo "vlan add vid $KVMLAB_MGMT_VLAN dev natv$KVMLAB_MGMT_VLAN pvid untagged" >> /run/kvmnet-lab/switch.bridge
    echo "vlan del vid 1 dev natv$KVMLAB_MGMT_VLAN" >> /run/kvmnet-lab/switch.bridge
    echo "link set natv1 up" >> /run/kvmnet-lab/switch-up.ip
    echo "link set natv$KVMLAB_MGMT_VLAN up" >> /run/kvmnet-lab/switch-up.ip
  fi
  ip -batch /run/kvmnet-lab/switch.ip && bridge -batch /run/kvmnet-lab/switch.bridge && ip -batch /run/kvmnet-lab/switch-up.ip || say "switch setup failed"
  say "switch ready"
else
  mkdir -p /run/kvmnet-lab/libvirt-drivers
  for d in network qemu nwfilter secret storage interface; do
    [ -e "$KVMLAB_DRIVER_SRC/libvirt_driver_$d.so" ] && ln -s "$KVMLAB_DRIVER_SRC/libvirt_driver_$d.so" /run/kvmnet-lab/libvirt-drivers/
  done
  if [ "$KVMLAB_INIT" = systemd ]; then
    say "handing over to systemd"
    exec /lib/systemd/systemd
  fi
  # 'libvirtd -d' returns once the daemon is initialised and listening.
  (cd / && LIBVIRT_DRIVER_DIR=/run/kvmnet-lab/libvirt-drivers /usr/sbin/libvirtd -d) || say "libvirtd failed"
  say "libvirtd started"
fi
/usr/sbin/sshd -f /run/kvmnet-lab/sshd_config || say "sshd failed"
say "ready"

# PID 1 must never exit; the shell's wait reaps orphans adopted by PID 1 while it sleeps.
while :; do
  sleep 3600 &
  wait
done
`;
