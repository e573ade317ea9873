// ensure_bridge: a Linux bridge, its STP, forward delay, MTU and up state; persisted as a
// networkd .netdev + .network pair or an ifupdown bridge stanza.
import { z } from 'zod';
import { RefusedError } from '../errors.js';
import { describeLink, networksUsingBridge, portsOf } from '../facts/describe.js';
import type { Facts, LinkFact } from '../model/facts.js';
import { noop, type Change, type Plan } from '../model/plan.js';
import type { PersistFormat } from '../model/persist-kinds.js';
import { classifyPath, ifupdownPaths, networkdPaths } from '../persist/paths.js';
import { iniValue, ifupdownBridge, ifupdownPorts, ifupdownStanzas, networkdBridgeNetdev, networkdBridgeNetwork } from '../persist/render.js';
import { interfaceName, persist, presence } from './common-args.js';
import type { FileWant } from '../persist/persistence.js';
import type { PlannedTaskModule } from './contract.js';
import { linkMtuChange, linkUpChange } from './link-changes.js';
import { effectiveForwardDelay, KERNEL_DEFAULT_FORWARD_DELAY } from '../ops/link.js';
import type { BridgeSettings, Op } from '../ops/types.js';
import { bridgeVlanFacts, describeVlans } from './bridge-vlans.js';
import { ifupdownBridgeVlanLines, ifupdownDefaultPvid, ifupdownVlanAware, portVlanLinesFor } from './bridge-vlan-persist.js';

const schema = z.strictObject({
  name: interfaceName,
  state: presence,
  stp: z.boolean().optional().meta({ description: 'Spanning Tree Protocol on the bridge' }),
  forward_delay: z.number().min(0).max(30).optional().meta({ description: 'seconds (0–30); with STP on the kernel enforces 2–30' }),
  mtu: z.number().int().min(68).max(65535).optional(),
  up: z.boolean().default(true),
  vlan_filtering: z.boolean().optional().meta({ description: 'a VLAN-aware bridge: ports carry the VLAN sets ensure_port gives them (vlans, pvid, untagged)' }),
  default_pvid: z
    .number()
    .int()
    .min(0)
    .max(4094)
    .optional()
    .meta({ description: 'with vlan_filtering: the VLAN a new port gets as PVID, untagged (0: none; kernel default 1)' }),
  persist,
});

export type EnsureBridgeArgs = z.output<typeof schema>;

export const ensureBridge: PlannedTaskModule<'ensure_bridge', typeof schema> = {
  kind: 'planned',
  type: 'ensure_bridge',
  schema,
  defaultName: (args) => `ensure_bridge ${String(args.name)}`,
  plan: planBridge,
  persistence: { files: bridgeFiles, drift: bridgeDrift },
  facts: bridgeVlanFacts,
  factsView: {
    json: (f) => ({
      bridges: bridgesOf(f),
      persisted_bridges: f.persisted
        ? persistedBridges(f.persisted)
            .map((b) => b.name)
            .sort()
        : null,
      bridge_vlans: bridgeVlansOf(f),
    }),
    sections: (f) => [
      {
        title: 'bridges',
        columns: ['name', 'state', 'stp', 'delay', 'mtu', 'ports'],
        rows: bridgesOf(f).map((b) => [b.name, b.up ? 'up' : 'down', b.stp ? 'on' : 'off', `${b.forward_delay}s`, String(b.mtu), b.ports.join(',') || '-']),
        empty: '(none)',
      },
      {
        title: 'bridge vlans',
        columns: ['bridge', 'port', 'vlans'],
        rows: bridgeVlansOf(f).map((v) => [v.bridge, v.port, describeVlans(v.vlans)]),
      },
    ],
  },
};

/** The VLAN table of every VLAN-aware bridge: its ports' sets, and its own (`self`). */
function bridgeVlansOf(f: Facts) {
  const out: Array<{ bridge: string; port: string; vlans: Array<{ id: number; pvid: boolean; untagged: boolean }> }> = [];
  for (const b of Object.values(f.links).filter((l) => l.bridge?.vlanFiltering)) {
    if (b.vlans) out.push({ bridge: b.name, port: `${b.name} (self)`, vlans: b.vlans });
    for (const p of portsOf(f, b.name)) out.push({ bridge: b.name, port: p, vlans: f.links[p]!.vlans ?? [] });
  }
  return out;
}

function bridgesOf(f: Facts) {
  return Object.values(f.links)
    .filter((l) => l.kind === 'bridge')
    .map((b) => ({
      name: b.name,
      up: b.up,
      stp: b.bridge?.stp ?? false,
      forward_delay: b.bridge?.forwardDelay ?? 0,
      mtu: b.mtu,
      ports: portsOf(f, b.name),
      vlan_filtering: b.bridge?.vlanFiltering ?? false,
    }));
}

function planBridge(args: EnsureBridgeArgs, facts: Facts, host: string): Plan {
  const { name } = args;
  const link = facts.links[name];
  if (args.state === 'absent') return planAbsent(name, link, facts, host);
  if (link && link.kind !== 'bridge')
    throw new RefusedError(`${name} exists on ${host} but is ${link.kind ? `a ${link.kind}` : 'not a bridge'}; refusing to replace it`);

  const changes: Change[] = [];
  if (!link) {
    const stp = args.stp ?? false;
    const delay = effectiveForwardDelay(args.forward_delay ?? KERNEL_DEFAULT_FORWARD_DELAY, stp);
    const bridge: BridgeSettings = { stp, forwardDelayS: args.forward_delay };
    if (args.vlan_filtering !== undefined) bridge.vlanFiltering = args.vlan_filtering;
    if (args.vlan_filtering && args.default_pvid !== undefined) bridge.defaultPvid = args.default_pvid;
    const ops: Op[] = [{ op: 'link.add', name, kind: 'bridge', bridge }];
    if (args.mtu !== undefined) ops.push({ op: 'link.mtu', name, mtu: args.mtu });
    if (args.up) ops.push({ op: 'link.up', name, up: true });
    changes.push({
      summary: `create bridge ${name} (stp ${stp ? 'on' : 'off'}, forward delay ${delay} s${args.vlan_filtering ? `, VLAN filtering, default pvid ${args.default_pvid ?? 1}` : ''}${args.mtu ? `, mtu ${args.mtu}` : ''}${args.up ? ', up' : ''})`,
      ops,
    });
  } else {
    const current = link.bridge ?? { stp: false, forwardDelay: KERNEL_DEFAULT_FORWARD_DELAY };
    const stp = args.stp ?? current.stp;
    const wantDelay =
      args.forward_delay !== undefined
        ? effectiveForwardDelay(args.forward_delay, stp)
        : stp !== current.stp
          ? effectiveForwardDelay(current.forwardDelay, stp)
          : current.forwardDelay;
    if (stp !== current.stp || wantDelay !== current.forwardDelay) {
      const bridge: BridgeSettings = {};
      if (stp !== current.stp) bridge.stp = stp;
      if (args.forward_delay !== undefined && wantDelay !== current.forwardDelay) bridge.forwardDelayS = args.forward_delay;
      const what = [
        stp !== current.stp && `stp ${current.stp ? 'on' : 'off'} → ${stp ? 'on' : 'off'}`,
        wantDelay !== current.forwardDelay && `forward delay ${current.forwardDelay} s → ${wantDelay} s`,
      ].filter(Boolean);
      changes.push({ summary: `set ${name} ${what.join(', ')}`, ops: [{ op: 'link.bridge', name, bridge }] });
    }
    const filtering = current.vlanFiltering ?? false;
    const pvid = current.defaultPvid ?? 1;
    const wantFiltering = args.vlan_filtering ?? filtering;
    if (wantFiltering !== filtering || (args.default_pvid !== undefined && wantFiltering && args.default_pvid !== pvid)) {
      const bridge: BridgeSettings = {};
      const what: string[] = [];
      if (wantFiltering !== filtering) {
        bridge.vlanFiltering = wantFiltering;
        what.push(`VLAN filtering ${filtering ? 'on' : 'off'} → ${wantFiltering ? 'on' : 'off'}`);
      }
      if (args.default_pvid !== undefined && wantFiltering && args.default_pvid !== pvid) {
        bridge.defaultPvid = args.default_pvid;
        what.push(`default pvid ${pvid} → ${args.default_pvid}`);
      }
      changes.push({ summary: `set ${name} ${what.join(', ')}`, ops: [{ op: 'link.bridge', name, bridge }] });
    }
    if (args.mtu !== undefined && args.mtu !== link.mtu) changes.push(linkMtuChange(name, link.mtu, args.mtu));
    if (args.up !== link.up) changes.push(linkUpChange(name, args.up));
  }
  const data = { name, exists: true };
  if (changes.length === 0) return noop(`bridge ${name} exists as wanted (${describeLink(link, name).slice(name.length + 2)})`, data);
  return { changes, data, devices: [name] };
}

function planAbsent(name: string, link: LinkFact | undefined, facts: Facts, host: string): Plan {
  if (!link) return noop(`bridge ${name} does not exist`, { name, exists: false });
  if (link.kind !== 'bridge')
    throw new RefusedError(`${name} on ${host} is ${link.kind ? `a ${link.kind}` : 'not a bridge'}; ensure_bridge will not delete it`);
  const users = networksUsingBridge(facts, name);
  if (users.length)
    throw new RefusedError(
      `bridge ${name} is used by libvirt network ${users.join(', ')} on ${host}; remove the network first (ensure_libvirt_net state: absent)`,
    );
  if (facts.session?.dev === name)
    throw new RefusedError(`bridge ${name} carries this SSH session on ${host} (${facts.session.serverAddress}); deleting it would cut the host off`);
  return {
    changes: [{ summary: `delete bridge ${name}`, ops: [{ op: 'link.del', name }] }],
    data: { name, exists: false },
    devices: [name],
  };
}

const persisted = (facts: Facts) => facts.persisted ?? {};

function bridgeFiles(kind: PersistFormat, args: EnsureBridgeArgs, facts: Facts): FileWant[] {
  const { name } = args;
  const settings = { name, stp: args.stp, forwardDelay: args.forward_delay, mtu: args.mtu, up: args.up };
  const existing = Object.keys(persisted(facts));
  if (kind === 'networkd') {
    if (args.state === 'present') {
      return [
        { path: networkdPaths.netdev(name), content: withVlanFiltering(networkdBridgeNetdev(settings), args) },
        { path: networkdPaths.network(name), content: networkdBridgeNetwork(settings) },
      ];
    }
    // Deleting a bridge releases its ports and drops its addresses: so do its files.
    const dropIns = existing.filter((p) => p.startsWith(`${networkdPaths.dropIns(name)}/`));
    const ports = existing.filter((p) => {
      const c = classifyPath(p);
      return c?.format === 'networkd' && c.role === 'network' && c.name !== name && iniValue(persisted(facts)[p]!, 'Bridge') === name;
    });
    return [networkdPaths.netdev(name), networkdPaths.network(name), ...dropIns, ...ports].map((path) => ({ path, content: null }));
  }
  const main = ifupdownPaths.main(name);
  if (args.state === 'present') {
    const current = persisted(facts)[main];
    // The ports' `bridge vlan` lines (ensure_port's) stay, written for the default PVID the file now gives.
    const defaultPvid = args.vlan_filtering && args.default_pvid !== undefined ? args.default_pvid : 1;
    const vlanLines = [...ifupdownBridgeVlanLines(name, args.vlan_filtering, args.default_pvid), ...portVlanLinesFor(current, defaultPvid)];
    const content = ifupdownBridge(settings, current === undefined ? [] : ifupdownPorts(current)) + vlanLines.map((l) => `    ${l}\n`).join('');
    return [{ path: main, content }];
  }
  const addresses = existing.filter((p) => p.startsWith(`${main}__`));
  return [main, ...addresses].map((path) => ({ path, content: null }));
}

/** The netdev's [Bridge] section with VLANFiltering= and DefaultPVID= (systemd.netdev(5)) when the task sets them. */
function withVlanFiltering(netdev: string, args: EnsureBridgeArgs): string {
  if (args.vlan_filtering === undefined) return netdev;
  const extra = [
    `VLANFiltering=${args.vlan_filtering ? 'yes' : 'no'}`,
    ...(args.vlan_filtering && args.default_pvid !== undefined ? [`DefaultPVID=${args.default_pvid === 0 ? 'none' : args.default_pvid}`] : []),
  ];
  // [Bridge] is the netdev's last section when it is there.
  return netdev.includes('\n[Bridge]\n') ? `${netdev}${extra.join('\n')}\n` : `${netdev}\n[Bridge]\n${extra.join('\n')}\n`;
}

export interface PersistedBridge {
  name: string;
  format: PersistFormat;
  stp?: boolean;
  mtu?: number;
  /** ifupdown lists the ports in the bridge's stanza. */
  ports?: string[];
  vlanFiltering?: boolean;
  defaultPvid?: number;
}

/** The bridges kvmnet's files define (networkd .netdev with Kind=bridge, ifupdown stanzas with bridge_ports). */
export function persistedBridges(files: Record<string, string>): PersistedBridge[] {
  const out: PersistedBridge[] = [];
  for (const [path, content] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    const c = classifyPath(path);
    if (c?.format === 'networkd' && c.role === 'netdev' && iniValue(content, 'Kind') === 'bridge') {
      const stp = iniValue(content, 'STP');
      const mtu = iniValue(content, 'MTUBytes');
      const filtering = iniValue(content, 'VLANFiltering');
      const pvid = iniValue(content, 'DefaultPVID');
      out.push({
        name: iniValue(content, 'Name') ?? c.name,
        format: 'networkd',
        stp: stp === undefined ? undefined : /^(yes|true|on|1)$/i.test(stp),
        mtu: mtu === undefined ? undefined : Number(mtu),
        vlanFiltering: filtering === undefined ? undefined : /^(yes|true|on|1)$/i.test(filtering),
        defaultPvid: pvid === undefined ? undefined : pvid === 'none' ? 0 : Number(pvid),
      });
    } else if (c?.format === 'ifupdown') {
      for (const s of ifupdownStanzas(content)) {
        const opt = (k: string) => s.options.find(([key]) => key === k)?.[1];
        if (opt('bridge_ports') === undefined) continue;
        const stp = opt('bridge_stp');
        const mtu = opt('mtu');
        const ports = ifupdownPorts(`bridge_ports ${opt('bridge_ports')}`);
        const vlanFiltering = ifupdownVlanAware(content);
        out.push({
          name: s.iface,
          format: 'ifupdown',
          stp: stp === undefined ? undefined : /^(yes|on)$/i.test(stp),
          mtu: mtu === undefined ? undefined : Number(mtu),
          ports,
          vlanFiltering,
          defaultPvid: vlanFiltering ? ifupdownDefaultPvid(content) : undefined,
        });
      }
    }
  }
  return out;
}

function bridgeDrift(facts: Facts, files: Record<string, string>): string[] {
  const bridges = persistedBridges(files);
  const out: string[] = [];
  for (const b of bridges) {
    const link = facts.links[b.name];
    if (!link) out.push(`${b.name}: persisted (${b.format}) but not present at runtime`);
    else if (link.kind !== 'bridge')
      out.push(`${b.name}: persisted (${b.format}) as a bridge, but ${link.kind ? `a ${link.kind}` : 'not a bridge'} at runtime`);
    else {
      const stp = link.bridge?.stp ?? false;
      if (b.stp !== undefined && b.stp !== stp) out.push(`${b.name}: stp ${b.stp ? 'on' : 'off'} persisted (${b.format}), ${stp ? 'on' : 'off'} at runtime`);
      if (b.mtu !== undefined && b.mtu !== link.mtu) out.push(`${b.name}: mtu ${b.mtu} persisted (${b.format}), ${link.mtu} at runtime`);
      const filtering = link.bridge?.vlanFiltering ?? false;
      if (b.vlanFiltering !== undefined && b.vlanFiltering !== filtering)
        out.push(`${b.name}: VLAN filtering ${b.vlanFiltering ? 'on' : 'off'} persisted (${b.format}), ${filtering ? 'on' : 'off'} at runtime`);
      const pvid = link.bridge?.defaultPvid;
      if (b.vlanFiltering && b.defaultPvid !== undefined && pvid !== undefined && b.defaultPvid !== pvid)
        out.push(`${b.name}: default pvid ${b.defaultPvid} persisted (${b.format}), ${pvid} at runtime`);
    }
  }
  // Bridges libvirt creates itself (nat, route, isolated, open networks) come back with the network.
  const names = new Set(bridges.map((b) => b.name));
  const libvirtOwned = new Set(
    facts.libvirt.available
      ? Object.values(facts.libvirt.networks)
          .filter((n) => n.bridge && n.forwardMode !== 'bridge')
          .map((n) => n.bridge!)
      : [],
  );
  for (const link of Object.values(facts.links)) {
    if (link.kind !== 'bridge' || names.has(link.name) || libvirtOwned.has(link.name)) continue;
    const users = networksUsingBridge(facts, link.name);
    out.push(
      `${link.name}: bridge at runtime but not persisted by kvmnet${users.length ? ` (libvirt network ${users.join(', ')} needs it after a reboot)` : ''}`,
    );
  }
  return out;
}
