// What kvmnet knows about a host: parsed once per play from one remote exec, then updated
// in memory after each change so later tasks plan against the state earlier ones produce.

export interface BridgeInfo {
  stp: boolean;
  /** Effective forward delay in seconds, as the kernel reports it (centiseconds / 100). */
  forwardDelay: number;
  /** VLAN filtering (a VLAN-aware bridge); undefined when the facts do not say. */
  vlanFiltering?: boolean;
  /** The VLAN a new port gets as PVID, untagged (0: none). */
  defaultPvid?: number;
}

/** One VLAN of a port of a VLAN-aware bridge (`bridge -j vlan show`). */
export interface PortVlan {
  id: number;
  /** Untagged frames arriving on the port belong to this VLAN. */
  pvid: boolean;
  /** Frames of this VLAN leave the port untagged. */
  untagged: boolean;
}

/** A bond's settings and LACP state (ensure_bond's facts fragment: `ip -j -d link` and /proc/net/bonding). */
export interface BondInfo {
  /** Kernel name: 802.3ad, active-backup, balance-xor, balance-alb, balance-tlb, broadcast, balance-rr. */
  mode: string;
  miimon: number;
  /** `slow` | `fast` (the kernel reports it in every mode; it only matters in 802.3ad). */
  lacpRate?: string;
  xmitHashPolicy?: string;
  primary?: string;
  /** The member that carries traffic (active-backup, tlb, alb). */
  activeMember?: string;
  /** 802.3ad: the active aggregator and its LACP partner (00:00:00:00:00:00 = no partner). */
  aggregator?: { id: number; ports: number; partnerMac: string };
}

/** A bond member's state as the bond sees it. */
export interface BondMemberInfo {
  /** ACTIVE | BACKUP */
  state: string;
  /** MII status: UP | DOWN */
  mii: string;
  /** 802.3ad: the aggregator this port is in. */
  aggregatorId?: number;
  /** From /proc/net/bonding: `1000 Mbps`, `Unknown`. */
  speed?: string;
}

export interface VxlanInfo {
  vni: number;
  local?: string;
  group?: string;
  dev?: string;
  dstport: number;
  learning: boolean;
}

export interface LinkFact {
  name: string;
  /** `bridge`, `veth`, `dummy`, …; undefined for plain physical NICs. */
  kind?: string;
  /** The bridge (or bond) this link is a port of. */
  master?: string;
  /** The device this one sits on (a VLAN's parent, a veth's peer index is not a name and is left out). */
  lower?: string;
  /** Administratively up (the UP flag). */
  up: boolean;
  operstate: string;
  mtu: number;
  mac?: string;
  bridge?: BridgeInfo;
  /** Set for bonds by ensure_bond's facts fragment. */
  bond?: BondInfo;
  /** Set for bond members by ensure_bond's facts fragment. */
  bondMember?: BondMemberInfo;
  /** Set for 802.1Q links by ensure_vlan's facts fragment (the parent is `lower`). */
  vlan?: { id: number; protocol: string };
  /** Set for VXLANs by ensure_vxlan's facts fragment (from `ip -j -d link`). */
  vxlan?: VxlanInfo;
  /** A VXLAN's unicast flooding remotes (all-zero MAC forwarding entries, `bridge -j fdb show dev`), by ensure_vxlan's fragment. */
  fdbRemotes?: string[];
  /** Ports of VLAN-aware bridges (and such bridges themselves): the VLAN set, from `bridge -j vlan show`. */
  vlans?: PortVlan[];
}

export interface AddrFact {
  dev: string;
  family: 4 | 6;
  address: string;
  prefix: number;
  scope: string;
}

export interface RouteFact {
  family: 4 | 6;
  dst: string;
  dev?: string;
  gateway?: string;
  metric?: number;
  protocol?: string;
  scope?: string;
  prefsrc?: string;
  /** Routing table; undefined: main (the core facts read main; ensure_route's fragment adds the others). */
  table?: string;
  onlink?: boolean;
  mtu?: number;
}

/** A policy-routing rule (ensure_rule's facts fragment, `ip -j rule`). */
export interface RuleFact {
  family: 4 | 6;
  priority: number;
  /** Prefix (`10.0.0.0/8`); undefined: all. */
  from?: string;
  to?: string;
  iif?: string;
  oif?: string;
  /** `0x10` or `0x10/0xff`. */
  fwmark?: string;
  /** The table it looks up; undefined for rules of another action (goto, blackhole, …). */
  table?: string;
  /** Actions other than a table lookup. */
  action?: string;
}

export interface NetworkFact {
  name: string;
  active: boolean;
  persistent: boolean;
  autostart: boolean;
  bridge?: string;
  forwardMode?: string;
  /** `virsh net-dumpxml --inactive` output. */
  xml?: string;
}

export interface GuestInterface {
  guest: string;
  interface: string;
  type: string;
  source: string;
  model: string;
  mac: string;
}

export type LibvirtFacts =
  | {
      available: true;
      networks: Record<string, NetworkFact>;
      guests: GuestInterface[];
      /** The network daemon's libvirt version (`9.0.0`), when the facts could tell it. */
      version?: string;
    }
  | { available: false; reason: string };

export interface SessionFact {
  clientAddress: string;
  serverAddress: string;
  serverPort: number;
  /** The link that holds serverAddress: the interface that carries this SSH session. */
  dev?: string;
}

/** A `<host>` of a network's `<ip><dhcp>` (a DHCP reservation). */
export interface DhcpHostEntry {
  mac?: string;
  ip: string;
  name?: string;
}

/** A row of `virsh net-dhcp-leases`. */
export interface DhcpLease {
  expiry: string;
  mac: string;
  protocol: string;
  /** address/prefix, as virsh prints it. */
  address: string;
  hostname?: string;
  clientId?: string;
}

/** A `<dns><host ip>` with its `<hostname>`s. */
export interface DnsHostEntry {
  ip: string;
  hostnames: string[];
}

/** The guests' side of a network: reservations in the persistent and (when active) the live definition, and leases. */
export interface NetworkDhcpFact {
  /** From `net-dumpxml --inactive`. */
  config: DhcpHostEntry[];
  /** From `net-dumpxml` (live); undefined when the network is not active. */
  live?: DhcpHostEntry[];
  /** The running definition itself (`net-dumpxml`), when the network is active. */
  liveXml?: string;
  leases: DhcpLease[];
  /** DNS host records of the persistent definition, and of the live one (undefined when not active). */
  dnsConfig?: DnsHostEntry[];
  dnsLive?: DnsHostEntry[];
}

/** Which firewall backend the host's libvirt uses for its NAT rules, and how kvmnet knows. */
export interface FirewallBackendFact {
  backend: 'iptables' | 'nftables' | 'unknown';
  why: string;
}

/** kvmnet's port forwards as the host has them (ensure_port_forward). */
export interface PortForwardFacts {
  firewall: FirewallBackendFact;
  /**
   * kvmnet's rules: as `iptables-save` prints them, each prefixed with its table (`nat -A KVMNET_DNAT …`),
   * and as `nft list` prints them, prefixed `nft-dnat ` (kvmnet's table) or `nft-accept ` (libvirt's forward chain).
   */
  rules: string[];
  /**
   * Whether kvmnet's rules are evaluated before libvirt's: iptables, kvmnet's chains are jumped to
   * first from PREROUTING (nat) and FORWARD (filter); nftables, kvmnet's accepts in libvirt's
   * forward chain come before libvirt's jumps to its guest_* chains there.
   */
  jumpsFirst: boolean;
  /** Whether the host has `nft` (absent in facts captured before kvmnet looked). */
  nft?: boolean;
  /** kvmnet's files under /etc/libvirt/hooks (hook scripts and one rules file per forward), path → content. */
  files: Record<string, string>;
}

/** A network stack kvmnet can find on a host (and, for `persist: auto`, the one it boots with). */
export type NetworkManagerName = 'networkd' | 'networkmanager' | 'netplan' | 'ifupdown' | 'ifupdown2';

export interface ManagerFacts {
  /** The host booted systemd. */
  systemd: boolean;
  /** `systemctl is-active` of systemd-networkd, NetworkManager and networking (ifupdown's unit). */
  active: { networkd?: boolean; networkmanager?: boolean; networking?: boolean };
  /** Which ifupdown is installed. */
  ifupdown: 'ifupdown' | 'ifupdown2' | null;
  /** netplan YAML files and their `renderer:` (absent: netplan's default, networkd). */
  netplan: Array<{ file: string; renderer?: string }>;
  /** `nmcli device status` per device (only when NetworkManager runs). */
  nmDevices: Record<string, { type: string; state: string; connection?: string }>;
  /** `networkctl list` per link (only when systemd-networkd runs): setup is e.g. configured, unmanaged. */
  networkdLinks: Record<string, { operational: string; setup: string }>;
  /** Interfaces named by `auto`/`allow-*`/`iface` lines of /etc/network/interfaces(.d). */
  ifupdownStanzas: string[];
}

export interface Facts {
  hostname: string;
  links: Record<string, LinkFact>;
  addrs: AddrFact[];
  routes: RouteFact[];
  libvirt: LibvirtFacts;
  session?: SessionFact;
  /**
   * The files kvmnet persisted (`persist: networkd | ifupdown`), path → content; undefined when
   * the facts do not say (then nothing is known, not "none").
   */
  persisted?: Record<string, string>;
  /** Which of the persistence directories (/etc/systemd/network, /etc/network/interfaces.d) exist. */
  persistDirs?: string[];
  /** Ids of the facts fragments these facts were read with (src/facts/needs.ts); undefined: built by hand, taken as complete. */
  gathered?: string[];
  /** Which network managers run and which devices they own (src/persist/managers.ts). */
  managers?: ManagerFacts;
  /** Rollback timers that fired since the last run took the lock (a guarded change nobody confirmed). */
  rollbacks?: Array<{ at: string; id: string; what: string }>;
  /** The host's rollback log since boot, oldest first (`kvmnet facts` only, src/facts/rollback-log.ts); undefined: not read. */
  rollbackLog?: RollbackLogEntry[];
  /** DHCP reservations and leases per libvirt network (ensure_dhcp_host's facts). */
  dhcp?: Record<string, NetworkDhcpFact>;
  /** Open vSwitch bridges and their ports (ensure_ovs_bridge's facts); undefined: no ovs-vsctl, or its database is not running. */
  ovs?: { bridges: Record<string, { ports: Record<string, OvsPortFact> }> };
  /** Policy-routing rules (ensure_rule's facts); undefined when the facts do not say. */
  rules?: RuleFact[];
  /** kvmnet's port forwards and the firewall libvirt uses (ensure_port_forward's facts). */
  portForwards?: PortForwardFacts;
  /** Every libvirt domain's NICs, live and persistent (ensure_guest_nic's facts), by domain name. */
  guestNics?: Record<string, GuestDomainFact>;
}

/** A guest NIC as `virsh dumpxml` describes it; the MAC is its identity. */
export interface GuestNicFact {
  mac: string;
  /** `network`, `bridge` (the kinds kvmnet changes) or another libvirt interface type. */
  type: string;
  /** The network's or the bridge's name. */
  source: string;
  portgroup?: string;
  model?: string;
  /** The tap (`<target dev>`), live definition only. */
  tap?: string;
  link: 'up' | 'down';
  mtu?: number;
}

export interface GuestDomainFact {
  name: string;
  running: boolean;
  /** Has a persistent definition (in /etc/libvirt/qemu); a transient domain has only the live one. */
  persistent: boolean;
  /** From `dumpxml` (running domains only). */
  live?: GuestNicFact[];
  /** From `dumpxml --inactive` (persistent domains only). */
  config?: GuestNicFact[];
}

/** The key a tracked view of the facts (run/read-tracker.ts) answers with the plain object behind it. */
export const RAW_FACTS = Symbol('kvmnet raw facts');

/** The plain object behind a tracked view of the facts (structuredClone cannot copy a proxy). */
export function rawFacts<T>(value: T): T {
  return ((value as Record<symbol, unknown> | null)?.[RAW_FACTS] as T | undefined) ?? value;
}

/** A rollback a host's timer ran: when, its id, what it restored and why; reported: a run has reported it already. */
export interface RollbackLogEntry {
  at: string;
  id: string;
  what: string;
  reported: boolean;
}

/** An Open vSwitch port: its access VLAN (`tag`) and, when it has any, its trunk VLANs (sorted). */
export interface OvsPortFact {
  tag: number | null;
  trunks?: number[];
}
