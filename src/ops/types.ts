// The vocabulary of host operations: every change kvmnet makes to a host is a list of these. An
// operation is plain, JSON-serialisable data (a plan can be saved, reviewed and applied later);
// what it means is defined ONCE per kind, in this folder: its shell lines, what it touches (for
// the SSH-path guard and the rollback), its effect on the facts (later tasks plan on it), its
// inverse (the rollback) and how to tell, from facts read back after it ran, whether it took.
import type { Facts, RouteFact, RuleFact } from '../model/facts.js';
import type { Touch } from '../model/plan.js';

/** A bridge's settings as `ip link add|set … type bridge` takes them (forward delay in seconds). */
export interface BridgeSettings {
  stp?: boolean;
  forwardDelayS?: number;
  vlanFiltering?: boolean;
  defaultPvid?: number;
}

export interface BondSettings {
  mode?: string;
  miimon?: number;
  lacpRate?: string;
  xmitHashPolicy?: string;
  /** The preferred member; '' clears it (through sysfs: `ip link` only takes an existing link). */
  primary?: string;
  /** The member to make active now (active-backup, tlb, alb). */
  activeMember?: string;
}

/** A VXLAN as `ip link add … type vxlan` takes it; fixed at creation (a change is a re-create). */
export interface VxlanSettings {
  vni: number;
  /** The underlay address the tunnel's packets leave from. */
  local?: string;
  /** Multicast group for flooding (instead of unicast forwarding entries). */
  group?: string;
  /** The underlay device. */
  dev?: string;
  dstport: number;
  learning: boolean;
}

export type LinkOp =
  | { op: 'link.add'; name: string; kind: 'bridge'; bridge: BridgeSettings }
  | { op: 'link.add'; name: string; kind: 'bond'; bond: BondSettings }
  | { op: 'link.add'; name: string; kind: 'vlan'; parent: string; id: number }
  | { op: 'link.add'; name: string; kind: 'dummy' }
  | { op: 'link.add'; name: string; kind: 'vxlan'; vxlan: VxlanSettings }
  | { op: 'link.del'; name: string }
  | { op: 'link.up'; name: string; up: boolean }
  | { op: 'link.master'; name: string; master: string | null }
  | { op: 'link.mtu'; name: string; mtu: number }
  | { op: 'link.mac'; name: string; mac: string }
  | { op: 'link.bridge'; name: string; bridge: BridgeSettings }
  | { op: 'link.bond'; name: string; bond: BondSettings };

/** An address; `replace` (ip address replace) does not fail when it is already there. */
export type AddrOp =
  | { op: 'addr.add'; dev: string; address: string; prefix: number; family: 4 | 6; replace?: boolean }
  | { op: 'addr.del'; dev: string; address: string; prefix: number; family: 4 | 6 };

/** A route as the facts hold it, on a device (`ip route replace` keys it by family, table, dst and metric). */
export type RouteSpec = RouteFact & { dev: string };

export type RouteOp = { op: 'route.replace'; route: RouteSpec } | { op: 'route.del'; route: RouteSpec };

/** A policy-routing rule as `ip -j rule` lists it, looking up a table. */
export type RuleSpec = RuleFact & { table: string };

export type RuleOp = { op: 'rule.add'; rule: RuleSpec } | { op: 'rule.del'; rule: RuleSpec };

/** A VXLAN's unicast flooding entry (all-zero MAC): broadcast and unknown frames go to `dst` too. */
export type FdbOp = { op: 'fdb.append'; dev: string; dst: string } | { op: 'fdb.del'; dev: string; dst: string };

/** A port's VLANs on a VLAN-aware bridge; `vid` is one id or an inclusive range. */
export type BridgeVlanOp =
  | { op: 'bridge-vlan.add'; dev: string; vid: number | [number, number]; pvid: boolean; untagged: boolean }
  | { op: 'bridge-vlan.del'; dev: string; vid: number | [number, number] };

export type NetUpdateSection = 'ip-dhcp-host' | 'ip-dhcp-range' | 'dns-host' | 'dns-txt' | 'dns-srv' | 'forward-interface' | 'portgroup';

export type NetOp =
  | { op: 'net.define'; name: string; xml: string }
  | { op: 'net.undefine'; name: string }
  | { op: 'net.start'; name: string }
  /** `transient`: destroying a transient network removes it altogether. */
  | { op: 'net.destroy'; name: string; transient?: boolean }
  | { op: 'net.autostart'; name: string; on: boolean }
  | {
      op: 'net.update';
      name: string;
      command: 'add' | 'modify' | 'delete';
      section: NetUpdateSection;
      /** The element, on one line, as libvirt's net-update takes it. */
      xml: string;
      parentIndex?: number;
      live: boolean;
      config: boolean;
    };

/** A file kvmnet owns; `mode` in octal, written through a temporary file and renamed. */
export type FileOp = { op: 'file.write'; path: string; content: string; mode?: string } | { op: 'file.remove'; path: string; rmdir?: boolean };

/** Re-applies kvmnet's port forwards from the rules files (the libvirt hook's own `apply`). */
export type FirewallOp = { op: 'firewall.apply'; backend: 'iptables' | 'nftables' };

/** Plugs running guests' taps back into their network's bridge after a restart. */
export type GuestOp = { op: 'guest.reattach'; network: string; taps: Array<{ tap: string; guest: string }> };

/** Open vSwitch, through ovs-vsctl (its database keeps them across reboots). `tag`: the port's access VLAN, null: none. */
export type OvsOp =
  | { op: 'ovs.add-br'; name: string }
  | { op: 'ovs.del-br'; name: string }
  | { op: 'ovs.add-port'; bridge: string; port: string; tag: number | null; trunks?: number[] }
  | { op: 'ovs.del-port'; bridge: string; port: string }
  | { op: 'ovs.set-tag'; port: string; tag: number | null }
  /** The port's trunk VLANs (empty: none, i.e. every VLAN when it has no tag either). */
  | { op: 'ovs.set-trunks'; port: string; trunks: number[] };

/** A guest NIC as kvmnet writes it (the MAC is its identity); `mtu`/`portgroup`/`model` only when set. */
export interface GuestNicSpec {
  mac: string;
  type: 'network' | 'bridge';
  source: string;
  portgroup?: string;
  model?: string;
  link: 'up' | 'down';
  mtu?: number;
}

/**
 * A running or defined guest's NIC, in its live definition, its persistent one, or both
 * (`virsh attach-device|detach-device|update-device --live --config`).
 */
export type GuestNicOp =
  | { op: 'guest-nic.attach'; domain: string; nic: GuestNicSpec; live: boolean; config: boolean }
  | { op: 'guest-nic.detach'; domain: string; nic: GuestNicSpec; live: boolean; config: boolean }
  | { op: 'guest-nic.update'; domain: string; nic: GuestNicSpec; live: boolean; config: boolean };

/**
 * The host's network manager reads the files kvmnet wrote; `nm.managed`: NetworkManager manages
 * a device or leaves it alone (`nmcli device set DEV managed yes|no`, runtime only).
 */
export type ManagerOp =
  | { op: 'nm.load'; paths: string[]; reload: boolean }
  | { op: 'nm.up'; dev: string; profile: string }
  | { op: 'nm.managed'; dev: string; managed: boolean }
  | { op: 'netplan.generate' }
  | { op: 'ifupdown2.check'; devs: string[] };

export type Op = ManagerOp | LinkOp | AddrOp | RouteOp | RuleOp | FdbOp | OvsOp | BridgeVlanOp | NetOp | FileOp | FirewallOp | GuestOp | GuestNicOp;
export type OpName = Op['op'];

/** Everything kvmnet knows about one kind of operation. */
export interface OpKind<O extends Op = Op> {
  /** Shell lines, every value quoted (one `set -e` part runs them). */
  lines(op: O): string[];
  /** What it touches, judged on the facts before it. */
  touches(op: O, facts: Facts): Touch[];
  /** What the host looks like afterwards, in the facts. */
  effect(op: O, facts: Facts): void;
  /** Operations that undo it, from the facts right before it ran. */
  inverse(op: O, before: Facts): Op[];
  /**
   * Whether it took, from the facts read back after the whole step ran: `expected` are the facts
   * with every effect of the step applied. A mismatch says what differs; undefined when it took
   * or when the read-back does not cover it.
   */
  check(op: O, expected: Facts, actual: Facts): string | undefined;
  /** Run again once the rest of a rollback is done (its inverse is itself: it re-derives state from what the rollback restored). */
  reapplyAfterRollback?: boolean;
}

export type OpKinds = { [K in OpName]: OpKind<Extract<Op, { op: K }>> };
