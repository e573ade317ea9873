// ensure_port: an interface as a port of a bridge, up; with `migrate`, the interface's addresses
// and routes move to the bridge in the same step (the way onto a bridge for the SSH interface).
import { z } from 'zod';
import { RefusedError } from '../errors.js';
import { describeDevices, portsOf } from '../facts/describe.js';
import type { Facts } from '../model/facts.js';
import { factsAfter, noop, type Change, type Plan } from '../model/plan.js';
import type { PersistFormat } from '../model/persist-kinds.js';
import { classifyPath, ifupdownPaths, networkdPaths } from '../persist/paths.js';
import { iniValue, ifupdownPorts, networkdPortNetwork, withIfupdownPorts } from '../persist/render.js';
import { interfaceName, persist, presence } from './common-args.js';
import type { FileWant } from '../persist/persistence.js';
import type { PlannedTaskModule } from './contract.js';
import { persistedBridges } from './ensure-bridge.js';
import { ifupdownDefaultPvid, ifupdownPortVlanLines, ifupdownPortVlans, withIfupdownPortVlanLines } from './bridge-vlan-persist.js';
import { linkUpChange } from './link-changes.js';
import { planMigration } from './migrate.js';
import { bridgeVlanFacts, describeVlans, expandVlanList, vlanItemProblem, vlanOps, wantedVlans } from './bridge-vlans.js';
import type { ArgProblem } from './contract.js';
import type { PortVlan } from '../model/facts.js';

const vlanItem = z.union([z.number().int(), z.string()]).superRefine((v, ctx) => {
  const p = vlanItemProblem(v);
  if (p) ctx.addIssue({ code: 'custom', message: p });
});

const schema = z.strictObject({
  bridge: interfaceName,
  interface: interfaceName,
  state: presence,
  migrate: z
    .boolean()
    .default(false)
    .meta({ description: "move the interface's addresses and routes to the bridge in the same step (safe for the interface that carries SSH)" }),
  force: z
    .boolean()
    .default(false)
    .meta({ description: 'add the interface even if it carries the SSH session, without migrating (guarded by an automatic rollback)' }),
  vlans: z
    .array(vlanItem)
    .optional()
    .meta({ description: 'VLAN-aware bridge: the VLANs the port carries (ids and ranges like "200-299"); the whole set, others are removed' }),
  pvid: z.number().int().min(1).max(4094).optional().meta({ description: 'VLAN-aware bridge: the VLAN untagged frames arriving on the port belong to' }),
  untagged: z.array(vlanItem).optional().meta({ description: 'VLAN-aware bridge: VLANs that leave the port untagged (usually the pvid)' }),
  persist,
});

export type EnsurePortArgs = z.output<typeof schema>;

export const ensurePort: PlannedTaskModule<'ensure_port', typeof schema> = {
  kind: 'planned',
  type: 'ensure_port',
  schema,
  defaultName: (args) => `ensure_port ${String(args.interface)} → ${String(args.bridge)}`,
  argProblems: portVlanProblems,
  plan: (args, facts, host) => withPortVlans(args, planPort(args, facts, host), facts, host),
  persistence: { files: portFiles, drift: portDrift },
  // A port's VLAN set (and whether its bridge filters VLANs).
  facts: bridgeVlanFacts,
};

const hasVlanArgs = (a: { vlans?: unknown; pvid?: unknown; untagged?: unknown }) => a.vlans !== undefined || a.pvid !== undefined || a.untagged !== undefined;

function portVlanProblems(args: Record<string, unknown>): ArgProblem[] {
  if (!hasVlanArgs(args)) return [];
  if (args.state === 'absent') return [{ field: 'vlans', message: 'vlans, pvid and untagged only apply with state: present' }];
  const known = (l: unknown) =>
    Array.isArray(l) && l.every((x) => (typeof x === 'number' || typeof x === 'string') && !vlanItemProblem(x) && !(typeof x === 'string' && x.includes('{{')));
  if (!known(args.untagged) || (args.vlans !== undefined && !known(args.vlans)) || (args.pvid !== undefined && typeof args.pvid !== 'number')) return [];
  if (args.vlans === undefined) return [];
  const carried = new Set(expandVlanList(args.vlans as Array<number | string>));
  if (typeof args.pvid === 'number') carried.add(args.pvid);
  const stray = expandVlanList(args.untagged as Array<number | string>).filter((id) => !carried.has(id));
  return stray.length ? [{ field: 'untagged', message: `untagged VLANs must be carried by the port (in vlans or pvid): ${stray.join(', ')}` }] : [];
}

/**
 * The port's VLAN set on a VLAN-aware bridge (`bridge vlan add/del`), after the membership
 * changes of the same task: a port the task adds starts with the bridge's default PVID.
 */
function withPortVlans(args: EnsurePortArgs, plan: Plan, facts: Facts, host: string): Plan {
  if (args.state === 'absent' || !hasVlanArgs(args)) return plan;
  const { bridge, interface: iface } = args;
  const link = facts.links[iface]!;
  // libvirt creates guests' taps anew at every start: VLANs written on them would not last.
  if (link.kind === 'tun' || /^vnet\d+$/.test(iface)) {
    throw new RefusedError(
      `${iface} is a guest's tap on ${host}: libvirt re-creates it when the guest starts, so VLANs set on it would not last. Give guests VLANs through libvirt (<vlan> in the network or its portgroups)`,
    );
  }
  const br = facts.links[bridge]!.bridge;
  if (!br?.vlanFiltering)
    throw new RefusedError(`${bridge} does not filter VLANs on ${host}; set vlan_filtering: true on it (ensure_bridge) before giving ports VLANs`);
  const current: PortVlan[] = link.master === bridge ? (link.vlans ?? []) : br.defaultPvid ? [{ id: br.defaultPvid, pvid: true, untagged: true }] : [];
  let wanted: PortVlan[];
  if (args.vlans !== undefined) wanted = wantedVlans(args.vlans, args.pvid, args.untagged);
  else {
    // Only pvid/untagged given: the set stays, the PVID moves, the listed VLANs leave untagged.
    const untag = new Set(expandVlanList(args.untagged ?? []));
    const byId = new Map(current.map((v) => [v.id, { ...v, pvid: args.pvid !== undefined ? v.id === args.pvid : v.pvid }]));
    if (args.pvid !== undefined && !byId.has(args.pvid)) byId.set(args.pvid, { id: args.pvid, pvid: true, untagged: false });
    for (const id of untag) byId.set(id, { ...(byId.get(id) ?? { id, pvid: false }), untagged: true });
    wanted = [...byId.values()].sort((a, b) => a.id - b.id);
  }
  const ops = vlanOps(iface, current, wanted);
  if (ops.length === 0) return plan.changes.length ? plan : { ...plan, noop: `${plan.noop}, VLANs ${describeVlans(current)}` };
  const change: Change = {
    summary: `set the VLANs of ${iface} on ${bridge}: ${describeVlans(current)} → ${describeVlans(wanted)}`,
    ops,
  };
  const after = factsAfter([...plan.changes, change], facts);
  const show = (f: Facts) => `${describeDevices(f, [iface])}\n${iface} vlans: ${describeVlans(f.links[iface]?.vlans)}`;
  return {
    ...plan,
    noop: undefined,
    changes: [...plan.changes, change],
    devices: plan.devices ?? [iface],
    diff: plan.diff ?? { before: show(facts), after: show(after) },
  };
}

/** Forward modes whose bridge libvirt creates and owns (a NIC must never be plugged into those). */
const LIBVIRT_OWNED_MODES = new Set(['nat', 'route', 'isolated', 'open']);

function planPort(args: EnsurePortArgs, facts: Facts, host: string): Plan {
  const { bridge, interface: iface } = args;
  const link = facts.links[iface];
  if (args.state === 'absent') {
    if (!link) return noop(`${iface} does not exist`, { bridge, ports: portsOf(facts, bridge) });
    if (link.master !== bridge) return noop(`${iface} is not a port of ${bridge}`, { bridge, ports: portsOf(facts, bridge) });
    return {
      changes: [
        {
          summary: `release ${iface} from ${bridge}`,
          ops: [{ op: 'link.master', name: iface, master: null }],
        },
      ],
      devices: [iface],
      data: { bridge, ports: portsOf(facts, bridge).filter((p) => p !== iface) },
    };
  }

  refuseUnsafePort(args, facts, host);
  const ports = [...new Set([...portsOf(facts, bridge), iface])].sort();
  const carriesSession = facts.session?.dev === iface;
  const holdsAddresses = facts.addrs.some((a) => a.dev === iface && a.scope === 'global');
  if (args.migrate && link!.master !== bridge && (holdsAddresses || carriesSession)) {
    return {
      changes: [planMigration(iface, bridge, facts)],
      devices: [iface, bridge],
      data: { bridge, ports },
      consent: 'migrate: true',
    };
  }
  const changes: Change[] = [];
  if (!link!.up) changes.push(linkUpChange(iface, true));
  if (link!.master !== bridge) {
    changes.push({
      summary: link!.master ? `move ${iface} from ${link!.master} to ${bridge}` : `add ${iface} to ${bridge}`,
      ops: [{ op: 'link.master', name: iface, master: bridge }],
    });
  }
  if (changes.length === 0) return noop(`${iface} is already a port of ${bridge} and up`, { bridge, ports });
  // force: the user accepts cutting the session path; the rollback timer is what brings the host back.
  return { changes, devices: [iface], data: { bridge, ports }, consent: args.force ? 'force: true' : undefined };
}

function refuseUnsafePort(args: EnsurePortArgs, facts: Facts, host: string): void {
  const { bridge, interface: iface } = args;
  const link = facts.links[iface];
  if (!link) {
    const candidates = Object.values(facts.links)
      .filter((l) => l.kind !== 'bridge' && l.name !== 'lo')
      .map((l) => l.name);
    throw new RefusedError(`interface ${iface} does not exist on ${host} (interfaces there: ${candidates.join(', ') || 'none'})`);
  }
  const br = facts.links[bridge];
  if (!br) throw new RefusedError(`bridge ${bridge} does not exist on ${host}; add an ensure_bridge task for it before this one`);
  if (br.kind !== 'bridge') throw new RefusedError(`${bridge} on ${host} is ${br.kind ? `a ${br.kind}` : 'not a bridge'}`);
  if (link.kind === 'bridge') throw new RefusedError(`${iface} is itself a bridge; a bridge cannot be a port of another bridge`);
  if (facts.libvirt.available) {
    const owner = Object.values(facts.libvirt.networks).find((n) => n.bridge === bridge && LIBVIRT_OWNED_MODES.has(n.forwardMode ?? ''));
    if (owner) {
      throw new RefusedError(
        `${bridge} belongs to libvirt network '${owner.name}' (forward mode ${owner.forwardMode}) on ${host}; libvirt manages that bridge and a physical interface must never be plugged into it. Use a bridge of your own (ensure_bridge) and a network with forward mode bridge`,
      );
    }
  }
  if (facts.session?.dev === iface && link.master !== bridge && !args.migrate && !args.force) {
    throw new RefusedError(
      `${iface} carries this SSH session on ${host} (${facts.session.serverAddress}); adding it to ${bridge} would cut the host off, because its address stays on ${iface}. Set migrate: true to move its addresses and routes to ${bridge} in the same step`,
    );
  }
}

const persisted = (facts: Facts) => facts.persisted ?? {};
// bridge-utils reads these words in bridge_ports as keywords, not interface names.
const BRIDGE_PORTS_KEYWORDS = new Set(['none', 'all', 'regex', 'noregex']);

function portFiles(kind: PersistFormat, args: EnsurePortArgs, facts: Facts, host: string): FileWant[] {
  const { bridge, interface: iface } = args;
  if (kind === 'networkd') {
    const path = networkdPaths.network(iface);
    const current = persisted(facts)[path];
    if (args.state === 'present') return [{ path, content: withBridgeVlans(networkdPortNetwork(iface, bridge), args) }];
    // Only the file that makes iface a port of THIS bridge goes, as `ip link set nomaster` only would.
    return current !== undefined && iniValue(current, 'Bridge') === bridge ? [{ path, content: null }] : [];
  }
  // bridge-utils lists ports in the bridge's own stanza, which ensure_bridge writes: edit it in place.
  const main = ifupdownPaths.main(bridge);
  const current = persisted(facts)[main];
  if (args.state === 'absent') {
    if (current === undefined || !ifupdownPorts(current).includes(iface)) return [];
    return [{ path: main, content: withoutIfupdownPort(current, iface) }];
  }
  if (BRIDGE_PORTS_KEYWORDS.has(iface))
    throw new RefusedError(`persist: ifupdown cannot list an interface named '${iface}' in bridge_ports: bridge-utils reads it as a keyword`);
  if (current === undefined) {
    throw new RefusedError(
      `persist: ifupdown lists the ports of a bridge in the bridge's own stanza, and ${main} does not exist on ${host}: persist the bridge first (ensure_bridge ${bridge} with persist: ifupdown, before this task)`,
    );
  }
  let content = withIfupdownPorts(current, [...new Set([...ifupdownPorts(current), iface])]);
  // The port's VLAN set as `post-up bridge vlan` lines in the bridge's stanza (bridge-utils has no keyword for it).
  if (args.vlans !== undefined)
    content = withIfupdownPortVlanLines(
      content,
      iface,
      ifupdownPortVlanLines(iface, ifupdownDefaultPvid(current), wantedVlans(args.vlans, args.pvid, args.untagged)),
    );
  const wants: FileWant[] = [{ path: main, content }];
  // A port belongs to one bridge: moving it takes it out of the other bridge's stanza too.
  for (const [path, content] of Object.entries(persisted(facts))) {
    const c = classifyPath(path);
    if (path === main || c?.format !== 'ifupdown' || c.role !== 'main' || !ifupdownPorts(content).includes(iface)) continue;
    wants.push({ path, content: withoutIfupdownPort(content, iface) });
  }
  return wants;
}

/** A bridge stanza without PORT: out of bridge_ports, and its `bridge vlan` lines gone. */
const withoutIfupdownPort = (content: string, port: string) =>
  withIfupdownPortVlanLines(
    withIfupdownPorts(
      content,
      ifupdownPorts(content).filter((p) => p !== port),
    ),
    port,
    [],
  );

/** The port's VLAN set as [BridgeVLAN] sections (systemd.network(5)), when the task gives one. */
function withBridgeVlans(network: string, args: EnsurePortArgs): string {
  if (!hasVlanArgs(args) || args.vlans === undefined) return network;
  const vlans = wantedVlans(args.vlans, args.pvid, args.untagged);
  const sections: string[] = [];
  // Consecutive VLANs with the same flags share one section (VLAN=200-299).
  for (let i = 0; i < vlans.length;) {
    const v = vlans[i]!;
    let j = i;
    while (!v.pvid && j + 1 < vlans.length && vlans[j + 1]!.id === vlans[j]!.id + 1 && !vlans[j + 1]!.pvid && vlans[j + 1]!.untagged === v.untagged) j++;
    const ids = j > i ? `${v.id}-${vlans[j]!.id}` : String(v.id);
    sections.push(['', '[BridgeVLAN]', `VLAN=${ids}`, ...(v.pvid ? [`PVID=${ids}`] : []), ...(v.untagged ? [`EgressUntagged=${ids}`] : [])].join('\n'));
    i = j + 1;
  }
  return `${network}${sections.join('\n')}\n`;
}

/** The ports kvmnet's files define: networkd .network files with Bridge=, ifupdown bridge_ports lists. */
export function persistedPorts(files: Record<string, string>): Array<{ iface: string; bridge: string; format: PersistFormat }> {
  const out: Array<{ iface: string; bridge: string; format: PersistFormat }> = [];
  for (const [path, content] of Object.entries(files).sort(([a], [b]) => a.localeCompare(b))) {
    const c = classifyPath(path);
    if (c?.format !== 'networkd' || c.role !== 'network') continue;
    const bridge = iniValue(content, 'Bridge');
    if (bridge) out.push({ iface: iniValue(content, 'Name') ?? c.name, bridge, format: 'networkd' });
  }
  for (const b of persistedBridges(files)) for (const port of b.ports ?? []) out.push({ iface: port, bridge: b.name, format: 'ifupdown' });
  return out;
}

function portDrift(facts: Facts, files: Record<string, string>): string[] {
  const ports = persistedPorts(files);
  const out: string[] = [];
  for (const p of ports) {
    const link = facts.links[p.iface];
    if (!link) out.push(`${p.iface}: persisted (${p.format}) as a port of ${p.bridge} but not present at runtime`);
    else if (link.master !== p.bridge)
      out.push(`${p.iface}: persisted (${p.format}) as a port of ${p.bridge}, but ${link.master ? `a port of ${link.master}` : 'not a port'} at runtime`);
  }
  // ifupdown: the set the stanza's `bridge vlan` lines leave each port with, against `bridge vlan show`.
  for (const [path, content] of Object.entries(files)) {
    if (classifyPath(path)?.format !== 'ifupdown') continue;
    for (const [port, set] of ifupdownPortVlans(content)) {
      const link = facts.links[port];
      const bridge = persistedBridges({ [path]: content })[0];
      if (!link || !bridge || link.master !== bridge.name || !facts.links[bridge.name]?.bridge?.vlanFiltering) continue;
      const want = describeVlans(set);
      const have = describeVlans(link.vlans);
      if (want !== have) out.push(`${port}: VLANs ${want} persisted (ifupdown), ${have} at runtime`);
    }
  }
  const bridges = new Set(persistedBridges(files).map((b) => b.name));
  const known = new Set(ports.map((p) => `${p.iface} ${p.bridge}`));
  for (const link of Object.values(facts.links)) {
    // Guests' tap devices (kind tun) are plugged in again by libvirt when the guests start.
    if (!link.master || !bridges.has(link.master) || link.kind === 'tun' || known.has(`${link.name} ${link.master}`)) continue;
    out.push(`${link.name}: port of ${link.master} at runtime but not persisted`);
  }
  return out;
}
