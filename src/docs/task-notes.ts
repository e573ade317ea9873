// The prose of the task reference (docs/tasks/<type>.md, `kvmnet doc TYPE`) that a schema cannot
// hold: a summary, descriptions of the fields whose schema has none, how the task behaves, what it
// refuses, and an example. The fields themselves (names, types, defaults, allowed values) are read
// from the task modules' zod schemas, so they cannot drift; test/unit/task-docs.test.ts fails when
// a field has no description, when a note names a field the schema does not have, and when an
// example does not load.
import type { TaskType } from '../tasks/registry.js';

export interface TaskNotes {
  /** One line: what the task makes true. */
  summary: string;
  /** Descriptions of fields (dotted paths, `[]` for list items) whose schema has no description. */
  fields: Record<string, string>;
  /** Paragraphs (Markdown) on how the task plans and applies its changes. */
  behaviour: string[];
  /** Checked by `validate` (and `run` before contacting any host), at the field's file:line:col. */
  invalid: string[];
  /** Refused on a host, from its facts: the task fails there and nothing is changed. */
  refused: string[];
  /** A task as written in a playbook's `tasks:` (YAML, without the leading indentation). */
  example: string;
}

const SSH_PATH_REFUSAL =
  "any change that would remove, down, re-parent, reconfigure, re-address or re-route the SSH path without the task's consent (`migrate`, `force`) or `confirm: true` (see [Safe changes](../safe-changes.md))";

const present = 'present: make it exist as described; absent: remove it';
const mtu = 'MTU in bytes (68–65535)';
const up = 'bring the link up (false: set it down)';

export const taskNotes: { [K in TaskType]: TaskNotes } = {
  ensure_bond: {
    summary: 'A Linux bond (link aggregation) with its mode, members and settings.',
    fields: { name: "the bond's interface name", state: present, mtu, up },
    behaviour: [
      'Members are added (new ones first) and released one at a time with the bond up; a `mode` change is a planned re-create in place (down, members released, mode set, members re-added, up: VLANs and bridge membership on the bond stay), `lacp_rate` a down/up of the bond — both shown as such in `--check --diff`, and refused on the SSH path unless `confirm: true`.',
      '`migrate: true`: a member holding addresses, the SSH NIC included, hands them and its routes to the bond in the same guarded step.',
      'Persisted (`persist`): networkd writes a `[Bond]` `.netdev` and a `Bond=` `.network` per member; ifupdown one stanza with `bond-slaves`, `bond-mode`…, which needs ifenslave (see [Surviving a reboot](../persistence.md)).',
    ],
    invalid: [
      'no `mode` with `state: present`',
      '`lacp_rate` with a mode other than 802.3ad; `primary` with a mode other than active-backup, balance-tlb, balance-alb; `xmit_hash_policy` with a mode other than 802.3ad, balance-xor, balance-tlb, balance-alb',
      'a member listed twice, the bond among its own members, a `primary` that is not one of the `members`',
    ],
    refused: [
      'a member that carries the SSH session (without `migrate: true`), that holds addresses (without `migrate`), that is a port of a bridge or a member of another bond, or that does not exist',
      '`state: absent` of the bond under the SSH session (on it or on a VLAN of it)',
      SSH_PATH_REFUSAL,
    ],
    example: 'ensure_bond: { name: bond0, mode: 802.3ad, members: [eth1, eth2], lacp_rate: fast, xmit_hash_policy: layer3+4 }',
  },
  ensure_vlan: {
    summary: 'An 802.1Q VLAN link on a parent device (a NIC, a bond, a bridge).',
    fields: { state: present, up },
    behaviour: [
      'The name defaults to `<parent>.<id>`, which must fit in 15 bytes. Another `id` or `parent` under an existing name is a planned re-create (its addresses go with it, and the summary says so).',
      "`migrate: true` moves the parent's addresses and routes — the management address on a NIC or bond — onto the VLAN in the same step.",
      "Persisted (`persist`): networkd writes a `[VLAN]` `.netdev` and a `VLAN=` drop-in on its parent's `.network` (the parent must be persisted first when it is a bond or a bridge); ifupdown uses `vlan-raw-device` (needs the vlan package), or `pre-up ip link add` for names other than `<parent>.<id>`.",
    ],
    invalid: ['an id outside 1–4094', 'a default name `<parent>.<id>` that is not a usable interface name (too long): give a `name`'],
    refused: [
      'a parent that does not exist (create it in an earlier task) or is a bond member (a bridge port may be a VLAN parent: tagged frames go to the VLAN, the rest to the bridge)',
      "a second VLAN with the same id on one parent; an MTU above the parent's",
      '`state: absent` of the VLAN that carries the SSH session',
      SSH_PATH_REFUSAL,
    ],
    example: 'ensure_vlan: { parent: bond0, id: 100 }',
  },
  ensure_route: {
    summary: 'A static route, IPv4 or IPv6, in the main or another routing table (via, src, onlink, mtu, metric).',
    fields: { state: present },
    behaviour: [
      "The route is compared with the one of the same destination, metric and table as `ip -j route show table …` lists it (addresses in their canonical form, a host route without `/32`/`/128`; an IPv6 route without `metric` has the kernel's 1024); a different gateway, device, source, onlink or MTU is changed in place with `ip route replace`. Routes outside main are read by this task type's facts fragment (`ip -j route show table all`).",
      "`state: absent` deletes the routes of that destination, metric and table (only on `dev`, and only by `via`, when given); the kernel's own routes of an address are never deleted.",
      'Routes are part of the SSH path: a route on a device the session runs over, or one in the main table whose destination covers the SSH client, is refused without `confirm: true`; under `confirm` a route that cuts the session is rolled back by the host.',
      'Persisted in every format (persist the device first in that format): networkd, a `[Route]` drop-in of the `.network` kvmnet wrote for `dev`; ifupdown, an `iface DEV inet manual` stanza of its own with `post-up ip route replace …` / `pre-down ip route del …`; NetworkManager, `routeN=`/`routeN_options=` in the profile of `dev`; netplan, `routes:` of `dev` (see docs/overlays.md).',
    ],
    invalid: [
      'a `dst` that is not `default`, an address or a prefix, or has host bits set',
      '`via`/`src` of another family than `dst`',
      '`onlink` without `via`',
      'no `dev` with `state: present`',
    ],
    refused: ['a device that does not exist', "the kernel's own route of an address (give another metric)", SSH_PATH_REFUSAL],
    example: 'ensure_route: { dst: 10.50.0.0/16, via: 198.18.10.1, dev: br0, table: 100 }',
  },
  ensure_rule: {
    summary: 'A policy-routing rule: traffic matching a selector (from, to, iif, oif, fwmark) looks up a table, at a priority.',
    fields: { state: present },
    behaviour: [
      "Compared as `ip -j rule` lists rules (read by this task type's facts fragment): the same priority, selector and table is no change; a rule at that priority and selector that looks up another table is replaced. `fwmark` is compared in hex (`16` is `0x10`), a mask of all ones left out.",
      '`state: absent` deletes the rule of that priority and selector (only with that table, when `table` is given).',
      "A rule that could steer the SSH session's replies (no `iif` or `iif: lo`, no `fwmark`, `from`/`to` covering the session's addresses) is on the SSH path: refused without `confirm: true`.",
      'Persisted in every format, with `iif`, `oif` or the device holding an address of `from`: networkd, a `[RoutingPolicyRule]` drop-in of its `.network`; ifupdown, a stanza of its own (`post-up ip rule del …` then `ip rule add …`, `pre-down ip rule del …`); NetworkManager, `routing-ruleN=` in its profile; netplan, `routing-policy:` (no `iif`/`oif` or mark mask there: refused).',
    ],
    invalid: ['`from`/`to` that are not addresses or prefixes, of different families', 'no `table` with `state: present`'],
    refused: [SSH_PATH_REFUSAL],
    example: 'ensure_rule: { priority: 1000, from: 198.18.10.0/24, table: 100 }',
  },
  ensure_vxlan: {
    summary: 'A VXLAN overlay link: one layer-2 segment across hypervisors, flooded to unicast remotes or a multicast group.',
    fields: { name: "the VXLAN's interface name", state: present, up },
    behaviour: [
      '`remotes` are kept exactly as listed, as all-zero MAC forwarding entries (`bridge fdb append 00:00:00:00:00:00 dev NAME dst REMOTE`, read back with `bridge -j fdb show dev NAME`): a remote added to the list is added, one no longer listed is removed, an entry equal to `local` is left out (so a playbook can list the whole group). Without `remotes`, the entries are left alone.',
      "`vni`, `local`, `group`, `dev`, `dstport` and `learning` are fixed at creation: a different one is a planned re-create of the link, which keeps its MAC (the kernel would give the new link a random one: the neighbours' ARP and forwarding entries, and the MAC of a bridge it is the lowest port of, would go stale), goes back into its bridge and gets its entries again in the same step.",
      "MTU: VXLAN adds 50 bytes (70 over IPv6); a VXLAN whose MTU plus that overhead is more than its underlay's (`dev`, else the device holding `local`) is reported in the plan (the summary and the diff) and marked in `kvmnet facts`.",
      'Make it a bridge port with `ensure_port` like any other link. `playbooks/vxlan-mesh.yaml` builds the full mesh of a group from the inventory alone.',
      'Persisted in every format: networkd, a `.netdev` (`[VXLAN]`, `Independent=yes`), a `.network` unless kvmnet already wrote one (ensure_port does), and the entries as `[BridgeFDB]` sections of a drop-in; ifupdown, its stanza creates it in `pre-up`, sets `mtu`, appends each entry in `post-up` and deletes it in `post-down`; NetworkManager (a `vxlan` profile, loaded but not activated: NetworkManager cannot take over a VXLAN that floods through forwarding entries, so it creates it at the next boot) and netplan (`tunnels:` with `mode: vxlan`) have one remote only, so a VXLAN with several remotes is refused there; ifupdown2, its own keys (`vxlan-id`, `vxlan-local-tunnelip`, one `vxlan-remoteip` per remote, `vxlan-physdev`, `vxlan-port`, `vxlan-learning`), IPv4 only. The underlay (`dev`) gets no file of its own from this task.',
    ],
    invalid: [
      'no `vni` with `state: present`',
      'both `remotes` and `group`',
      '`group` without `dev`, or not a multicast address',
      'remotes of another family than `local`',
    ],
    refused: [
      'a link of that name that is not a VXLAN',
      'an underlay `dev` that does not exist, a `local` that is not an address of the host',
      'with `persist: ifupdown2`: IPv6, or a `dev` with addresses (or an MTU other than 1500) that has no ifupdown2 stanza: ifupdown2 would take it over with an empty configuration and remove them on the next `ifup -a` or `ifreload -a`',
      SSH_PATH_REFUSAL,
    ],
    example: 'ensure_vxlan: { name: vx100, vni: 100, local: 198.18.0.11, dev: eth0, remotes: [198.18.0.12, 198.18.0.13] }',
  },
  ensure_ovs_bridge: {
    summary: 'An Open vSwitch bridge (ovs-vsctl) and its ports with their access VLAN tags and trunk VLANs.',
    fields: { name: "the OVS bridge's name", state: present, up },
    behaviour: [
      "Read from `ovs-vsctl --format=json list Bridge/Port` (this task type's facts fragment, only where ovs-vsctl reaches ovsdb-server). With `ports`, exactly those ports: a missing one is added (`ovs-vsctl add-port BR PORT tag=N trunks=A,B`) and brought up, a different tag or trunk set is set or cleared in place (trunks compared as the sorted set `ovs-vsctl` reports: their order does not matter), one not listed is removed.",
      'Open vSwitch keeps its configuration in its own database across reboots: nothing is persisted by kvmnet (`persist` does not apply). A libvirt network with `<virtualport type="openvswitch"/>` can then use the bridge (ensure_libvirt_net).',
    ],
    invalid: ['a port listed twice', "a port's tag also in its trunks"],
    refused: [
      'a host where Open vSwitch is not running',
      'a link of that name that is not an OVS bridge',
      'a port that does not exist, is a port of another OVS bridge or of a Linux bridge or bond',
      SSH_PATH_REFUSAL,
    ],
    example: 'ensure_ovs_bridge: { name: ovsbr0, ports: [{ name: eth1, tag: 100 }, { name: eth2, trunks: [200, 201] }] }',
  },
  ensure_nm_unmanaged: {
    summary: 'Devices handed from NetworkManager to kvmnet: NetworkManager leaves them alone, now and after a reboot.',
    fields: {},
    behaviour: [
      "On a host where NetworkManager runs, kvmnet refuses a runtime change (`persist: none`, `networkd`, `ifupdown`) to a device NetworkManager manages: NetworkManager would undo it. This task is the explicit opt-in: put it before the tasks that change those devices. It plans, for each device NetworkManager manages now, `nmcli device set DEV managed no` (shown as `NetworkManager stops managing DEV`), and writes the devices into `/etc/NetworkManager/conf.d/zz-kvmnet-unmanaged.conf` (`[keyfile] unmanaged-devices+=interface-name:DEV;…`, appended to the host's own list), which is what survives a reboot — `managed no` alone is runtime state: NetworkManager 1.42 keeps it across a restart of its own (under /run), a reboot loses it (both measured on the VM lab). Later tasks of the play see the devices unmanaged. A second run changes nothing.",
      "A device that does not exist yet gets no runtime change; the file covers it from NetworkManager's next start (until then NetworkManager shows a software device kvmnet creates as connected externally, which kvmnet does not count as managed).",
      "`state: absent` gives back only the devices kvmnet's file lists (removed from the file, then `nmcli device set DEV managed yes`); a device the host's own configuration keeps unmanaged stays so. NetworkManager may re-configure a device it takes back.",
      'On a host where NetworkManager does not run: nothing to do. The handover is undone by the rollback like any change (the file restored, `managed` set back). See [Surviving a reboot](../persistence.md#networkmanager-handing-a-device-to-kvmnet).',
    ],
    invalid: ['an empty `devices` list, an invalid interface name'],
    refused: [SSH_PATH_REFUSAL],
    example: 'ensure_nm_unmanaged: { devices: [eth1, eth2] }',
  },
  ensure_bridge: {
    summary: 'A Linux bridge with its STP, forward delay, MTU and VLAN filtering.',
    fields: { name: "the bridge's interface name", state: present, mtu, up },
    behaviour: [
      '`forward_delay` is compared as the kernel reports it: with STP on, the kernel clamps it to 2–30 s, so a desired 0 with STP on is not a change on every run.',
      'Persisted (`persist`), the VLAN settings too: networkd `VLANFiltering=`/`DefaultPVID=`; ifupdown `bridge_vlan_aware` and a `post-up … vlan_default_pvid` line (see [Surviving a reboot](../persistence.md)).',
    ],
    invalid: [],
    refused: ['`state: absent` of a bridge a libvirt network uses, or that carries the SSH session', SSH_PATH_REFUSAL],
    example: 'ensure_bridge: { name: br0, stp: true, forward_delay: 15 }',
  },
  ensure_port: {
    summary: 'An interface as a port of a bridge, with its VLANs on a VLAN-aware bridge.',
    fields: { bridge: 'the bridge', interface: 'the interface to add to (or, absent, remove from) the bridge', state: present },
    behaviour: [
      "`migrate: true` moves the interface's addresses and routes to the bridge in one detached step: the bridge takes the interface's MAC, every address and route moves (same metrics, default route included), the interface is enslaved; the host stays reachable at the same address (see [Safe changes](../safe-changes.md)).",
      'On a VLAN-aware bridge, `vlans` (ids and ranges like `"200-299"`: the whole set), `pvid` and `untagged` (ids and ranges) are compared as sets with `bridge -j vlan show` and changed with `bridge vlan add/del`.',
      "Persisted when `vlans` is given: networkd `[BridgeVLAN]` sections; ifupdown `post-up bridge vlan add/del` lines in the bridge's stanza (without `vlans`, the ifupdown lines already there stay).",
    ],
    invalid: ['`vlans`, `pvid` or `untagged` with `state: absent`', 'an `untagged` VLAN the port does not carry (in `vlans` or `pvid`)'],
    refused: [
      'an interface that does not exist',
      'a bridge owned by a libvirt NAT, routed, isolated or open network (virbr0 and friends)',
      'the interface that carries this SSH session (adding it to a bridge would cut the host off — use `migrate: true`)',
      "VLANs on guests' taps (`vnetN`: libvirt re-creates them; give guests VLANs through libvirt, see [Guests on VLANs](../guests.md#guests-on-vlans-libvirts-vlan-and-portgroups))",
      SSH_PATH_REFUSAL,
    ],
    example: 'ensure_port: { bridge: br0, interface: eth1 }',
  },
  ensure_ip: {
    summary: 'An IPv4 or IPv6 address (with its prefix length) on a device.',
    fields: { dev: 'the device that holds the address', state: present },
    behaviour: ['`exclusive: true` removes the other global addresses of that family from `dev`.'],
    invalid: ['an address without a prefix length (`192.168.0.90/24`, `2001:db8::1/64`)'],
    refused: ['`state: absent` of the address this SSH session uses', SSH_PATH_REFUSAL],
    example: 'ensure_ip: { dev: br0, address: 192.168.0.90/24 }',
  },
  ensure_libvirt_net: {
    summary: 'A libvirt virtual network: defined, started and autostarted (or not) as described.',
    fields: {
      state: 'active: defined and running; inactive: defined, not running; defined: defined, running or not; absent: undefined',
      autostart: 'start the network when libvirtd starts',
      forward: 'forward mode of a structured definition',
      bridge: "the network's bridge",
      'bridge.stp': "STP on the network's bridge",
      'bridge.delay': "forward delay of the network's bridge, in seconds",
      ip: "the network's address, and its DHCP",
      'ip.address': "the host's address on the network",
      'ip.netmask': 'the netmask (or prefix)',
      'ip.prefix': 'the prefix length (or netmask)',
      'ip.dhcp': "libvirt's dnsmasq serves DHCP",
      'ip.dhcp.ranges': 'the DHCP ranges',
      'ip.dhcp.ranges[].start': 'first address of the range',
      'ip.dhcp.ranges[].end': 'last address of the range',
      'ip.dhcp.hosts': 'DHCP reservations of the definition (for changes without a restart, see ensure_dhcp_host)',
      'ip.dhcp.hosts[].mac': "the guest's MAC",
      'ip.dhcp.hosts[].ip': 'the address reserved for it',
      'ip.dhcp.hosts[].name': 'its host name',
      nat_ports: 'forward: nat: the source port range of NATed connections',
      'nat_ports.start': 'first port',
      'nat_ports.end': 'last port',
      'portgroups[].name': "the portgroup's name (guests name it)",
    },
    behaviour: [
      'One definition: `template` (+ `vars`), `xml`, or the structured fields (`forward`, `bridge`, `ip`, `nat_ports`, `virtualport`, `vlan`, `portgroups`, `forward_interfaces`, `forward_pf`). Templates are looked up beside the playbook, then in `templates/`. Shipped: `network.xml.hbs` (structured fields), `bridged-network.xml.hbs`, `default-network.xml.hbs`.',
      'The definition is compared as a subset of `virsh net-dumpxml --inactive`: what libvirt adds (uuid, mac, default attributes) is never a change; repeated elements (DHCP ranges and hosts) must match one to one.',
      "An active network is changed live when libvirt can (DHCP ranges and hosts, DNS records, forward interfaces, portgroups), else restarted with its guests' taps re-attached (see [Changing a network under running guests](../guests.md#changing-a-network-under-running-guests)).",
      'VLANs (`vlan`, `portgroups`): see [Guests on VLANs](../guests.md#guests-on-vlans-libvirts-vlan-and-portgroups).',
    ],
    invalid: [
      'more than one definition source (template, xml, structured fields); `vars` without `template`',
      '`ip` with both or neither of `netmask` and `prefix`; `nat_ports.start` above `nat_ports.end`; `nat_ports` without `forward: nat`; `forward: bridge` without `bridge`',
      '`forward_interfaces` or `forward_pf` without `forward: passthrough` or `hostdev`; `passthrough` without either; `hostdev` without `forward_pf`, or with `forward_interfaces`; `bridge`, `ip` or `nat_ports` with `passthrough` or `hostdev`',
      'a VLAN id out of range, a portgroup name given twice, two default portgroups, a `native` not among the `tags`, `trunk: false` with several tags, `native_mode` without `native`, `virtualport: openvswitch` without `forward: bridge`, and a VLAN on a network libvirt cannot tag',
    ],
    refused: ['a host whose libvirtd is not running (`libvirtd is not running on HOST`)', SSH_PATH_REFUSAL],
    example:
      'ensure_libvirt_net: { name: net10, forward: nat, bridge: { name: br10 }, ip: { address: 192.168.30.1, prefix: 24, dhcp: { ranges: [{ start: 192.168.30.100, end: 192.168.30.200 }] } }, autostart: true }',
  },
  ensure_dhcp_host: {
    summary: 'A DHCP reservation (MAC → IPv4 address) in a libvirt network, changed without a restart.',
    fields: { network: 'the libvirt network', name: "the guest's host name", state: present },
    behaviour: [
      'Applied with `virsh net-update … ip-dhcp-host` (`add`, `modify` or `delete`), `--live` when the network is active and `--config` for the persistent definition: no network restart, running guests keep their connectivity. The live and the persistent definition are compared each on its own (see [Guests of a NAT network](../guests.md#guests-of-a-nat-network-dhcp-reservations-and-port-forwards)).',
    ],
    invalid: ['an IPv6 address (only IPv4 reservations are supported)'],
    refused: ["an address outside the network's subnet, the network's own address, or an address or name that another entry holds (naming that entry)"],
    example: 'ensure_dhcp_host: { network: net10, mac: "52:54:00:30:00:11", ip: 192.168.30.11, name: web1 }',
  },
  ensure_dns_host: {
    summary: "A DNS host record that a libvirt network's dnsmasq answers to guests.",
    fields: { network: 'the libvirt network', state: present },
    behaviour: ['Applied with `virsh net-update … dns-host` like `ensure_dhcp_host` (changed names: delete + add, libvirt cannot modify one).'],
    invalid: [],
    refused: ['a name another record holds (naming it)'],
    example: 'ensure_dns_host: { network: net10, ip: 192.168.30.11, hostnames: [www.lab.example] }',
  },
  ensure_port_forward: {
    summary: 'A port forward from the host to a guest on a libvirt NAT network, kept through network and libvirtd restarts.',
    fields: { proto: 'the protocol', state: present },
    behaviour: [
      "Works with the firewall backend the host's libvirt actually uses (iptables or nftables); every rule is tagged `kvmnet-pf:NET:PROTO:LISTEN:PORTS`, and libvirt network and daemon hooks re-apply them (see [Guests of a NAT network](../guests.md#guests-of-a-nat-network-dhcp-reservations-and-port-forwards)).",
    ],
    invalid: [
      'neither or both of `guest_ip` and `guest_mac`; an IPv6 `guest_ip` or `listen`; a `source` that is not an IPv4 network',
      'a `host_port` range that is not low-high within 1–65535; a range of host ports with a different `guest_port`',
    ],
    refused: [
      "a network that is not defined, not a NAT network, or has no bridge name yet; a `guest_mac` without a DHCP reservation in the network; a guest outside the network's subnet",
      'a host port kvmnet already forwards elsewhere; forwarding the port of this SSH session (new SSH connections would go to the guest)',
      'a host whose firewall backend cannot be told (start a NAT network first, or set `firewall_backend` in `/etc/libvirt/network.conf`); on the nftables backend, a host without `nft` (`apt-get install nftables`)',
    ],
    example: 'ensure_port_forward: { network: net10, guest_mac: "52:54:00:30:00:11", host_port: 2222, guest_port: 22 }',
  },
  ensure_guest_nic: {
    summary: "A guest's NIC on a libvirt network or a bridge, attached, moved, its link set, or detached, in the running guest and its persistent definition.",
    fields: { state: present },
    behaviour: [
      "The MAC is the NIC's identity. The domain's live definition (when it runs) and its persistent one (when it has one) are compared each on its own, from `virsh dumpxml` and `virsh dumpxml --inactive`, and changed with `virsh attach-device`, `update-device` or `detach-device` (`--live`, `--config`): a move to another network, portgroup or bridge and a link state are changed in place, so the guest keeps its device, its MAC and its uptime (see [Guests' NICs](../guests.md#guests-nics-attach-move-and-detach)).",
      "libvirt cannot change a running NIC's model or MTU: the plan then says so and detaches and attaches it again with the same MAC (the guest sees the device unplugged and plugged). Hot-plugging needs a guest with ACPI (and, to detach, an OS that answers the unplug request).",
      "Never a cut of the SSH path: the session does not run through a guest's tap.",
    ],
    invalid: ['neither or both of `network` and `bridge` (state present); `portgroup` without `network`; `state: absent` without `mac`'],
    refused: [
      'a domain that does not exist on the host; a network that is not defined or not active there, or has no such portgroup; a bridge that does not exist',
      'a MAC that another guest on the host already uses (naming it); a NIC of a type other than network or bridge',
    ],
    example: 'ensure_guest_nic: { domain: web1, mac: "52:54:00:30:00:11", network: lan, link: up }',
  },
  command: {
    summary: 'A shell command run on the host: the escape hatch, always guarded.',
    fields: {},
    behaviour: [
      'Not planned (its effect is unknown), only run: skipped in `--check` unless `check_mode: false`; always guarded by commit-confirmed rollback, whose timer counts from the moment the command ends (see [Safe changes](../safe-changes.md)).',
      '`changed_when` and `failed_when` see `rc`, `stdout`, `stdout_lines` and `stderr`. Not allowed in a `confirm_group`.',
    ],
    invalid: [],
    refused: [],
    example: 'command: { cmd: [sysctl, -w, net.ipv4.ip_forward=1], changed_when: false }',
  },
};
