// `lab up --init systemd`: what a VM host's first boot installs before the guest init hands PID 1
// to systemd (vm-guest-init.ts sources it once; /etc then persists on the VM's disk). The
// controller's own enabled units (its sshd, libvirtd sockets, databases…) are dropped: the host
// runs the lab's sshd and libvirtd (the same configuration as a busybox guest's) and the network
// manager the lab was asked for — and that manager is told to leave mgmt0, the lab's management
// NIC the guest init configures on every boot, alone.
import type { LabManager } from './state.js';

const SSHD_UNIT = `[Unit]
Description=kvmnet lab: sshd with the lab's host key and authorized key
[Service]
ExecStart=/usr/sbin/sshd -D -f /run/kvmnet-lab/sshd_config
Restart=always
[Install]
WantedBy=multi-user.target
`;

// The same driver set as a busybox guest's libvirtd (vm-guest-init.ts links it on every boot).
const LIBVIRTD_UNIT = `[Unit]
Description=kvmnet lab: libvirtd (network and QEMU drivers)
After=network.target
[Service]
Type=notify
Environment=LIBVIRT_DRIVER_DIR=/run/kvmnet-lab/libvirt-drivers
ExecStart=/usr/sbin/libvirtd
KillMode=process
Restart=on-failure
[Install]
WantedBy=multi-user.target
`;

// networkd removes routes it did not configure (ManageForeignRoutes=yes by default): the lab's
// default route via mgmt0 is one of them.
const NETWORKD_CONF = `# kvmnet lab: keep the routes the guest init set up on mgmt0 (not networkd's)
[Network]
ManageForeignRoutes=no
ManageForeignRoutingPolicyRules=no
`;

// NetworkManager would otherwise create a DHCP profile ("Wired connection N") for every NIC,
// bond members included, and take mgmt0 over.
const NM_CONF = `# kvmnet lab: mgmt0 is the lab's; no automatic DHCP profiles on the other NICs
[main]
no-auto-default=*
[keyfile]
unmanaged-devices=interface-name:mgmt0
`;

// ifupdown2 reads /etc/network/interfaces; the lab's has nothing but lo and the drop-in dir.
const INTERFACES = `# kvmnet lab: mgmt0 is set up by the lab's init, not here
auto lo
iface lo inet loopback

source /etc/network/interfaces.d/*
`;

// mgmt0 stays the lab init's: this file only says netplan renders for networkd.
const NETPLAN_BASE = `# kvmnet lab: mgmt0 is set up by the lab's init, not here
network:
  version: 2
  renderer: networkd
`;

const WANTS = '/etc/systemd/system/multi-user.target.wants';
const enable = (unit: string, dir = WANTS) => `ln -sf /lib/systemd/system/${unit} ${dir}/${unit}`;
const file = (path: string, content: string) => `cat > ${path} <<'KVMLAB_EOF'\n${content}KVMLAB_EOF`;

/** What each manager needs enabled and configured. */
function managerSetup(manager: LabManager): string[] {
  const networkd = [
    enable('systemd-networkd.service'),
    enable('systemd-networkd.socket', '/etc/systemd/system/sockets.target.wants'),
    'mkdir -p /etc/systemd/networkd.conf.d',
    file('/etc/systemd/networkd.conf.d/kvmlab.conf', NETWORKD_CONF),
  ];
  switch (manager) {
    case 'networkd':
      return networkd;
    case 'netplan':
      // netplan's generator writes networkd files into /run at every boot: networkd applies them.
      // Like an installed Ubuntu: a netplan file exists (here one that defines nothing).
      return [...networkd, 'mkdir -p /etc/netplan', file('/etc/netplan/00-kvmlab.yaml', NETPLAN_BASE), 'chmod 600 /etc/netplan/00-kvmlab.yaml'];
    case 'networkmanager':
      return [
        enable('NetworkManager.service'),
        'mkdir -p /etc/NetworkManager/conf.d /etc/NetworkManager/system-connections',
        file('/etc/NetworkManager/conf.d/kvmlab.conf', NM_CONF),
      ];
    case 'ifupdown':
      return [enable('networking.service'), file('/etc/network/interfaces', INTERFACES)];
    case 'ifupdown2':
      // The VM shares the machine's /usr, where Debian's ifupdown (installed for other tests) has a
      // udev rule that starts `ifup` for every new link its `ifquery --allow hotplug -l DEV` names —
      // and ifupdown2's ifquery names any DEV it has a stanza for, `auto` ones included. So each link
      // kvmnet made was re-upped behind it with the stanza of that moment (measured: a bridge lost
      // the port kvmnet had just added). A Proxmox host has ifupdown2's own hotplug only, which
      // leaves `auto` stanzas alone: masked here, as it is absent there.
      return [
        enable('networking.service'),
        file('/etc/network/interfaces', INTERFACES),
        'mkdir -p /etc/udev/rules.d',
        'ln -sf /dev/null /etc/udev/rules.d/80-ifupdown.rules',
      ];
    case 'none':
      return [];
  }
}

/** The shell the first boot sources (in the guest init, /etc already the persistent overlay). */
export function systemdInstallScript(manager: LabManager): string {
  return [
    '# kvmnet lab: first boot of a systemd host (see vm-systemd.ts)',
    'rm -rf /etc/systemd/system/*.wants /etc/systemd/system/sshd.service /etc/systemd/system/dbus-org.*',
    'mkdir -p /etc/systemd/system/multi-user.target.wants /etc/systemd/system/sockets.target.wants',
    file('/etc/systemd/system/kvmlab-sshd.service', SSHD_UNIT),
    file('/etc/systemd/system/kvmlab-libvirtd.service', LIBVIRTD_UNIT),
    `ln -sf /etc/systemd/system/kvmlab-sshd.service ${WANTS}/kvmlab-sshd.service`,
    `ln -sf /etc/systemd/system/kvmlab-libvirtd.service ${WANTS}/kvmlab-libvirtd.service`,
    // The controller's machine-id would be every VM's (and its DHCP DUIDs, NM's UUIDs…).
    'tr -d - < /proc/sys/kernel/random/uuid > /etc/machine-id',
    ...managerSetup(manager),
    // Libraries of the unpacked manager packages (KVMLAB_PKGROOTS), for the dynamic loader.
    '[ -n "$KVMLAB_PKGROOTS" ] && ldconfig',
    'touch /run/kvmlab-rw/kvmlab-installed',
    '',
  ].join('\n');
}
