// ensure_port: an interface as a port of a bridge, up; with `migrate`, the interface's addresses
// and routes move to the bridge in the same step (the way onto a bridge for the SSH interface).
import { z } from 'zod';
import { shellJoin } from '../connection/quote.js';
import { RefusedError } from '../errors.js';
import { portsOf } from '../facts/describe.js';
import type { Facts } from '../model/facts.js';
import { noop, type Change, type Plan } from '../model/plan.js';
import type { PersistFormat } from '../model/persist-kinds.js';
import { classifyPath, ifupdownPaths, networkdPaths } from '../persist/paths.js';
import { iniValue, ifupdownPorts, networkdPortNetwork, withIfupdownPorts } from '../persist/render.js';
import { interfaceName, persist, presence } from './common-args.js';
import type { FileWant, PlannedTaskModule } from './contract.js';
import { persistedBridges } from './ensure-bridge.js';
import { planMigration } from './migrate.js';

const schema = z.strictObject({
  bridge: interfaceName,
  interface: interfaceName,
  state: presence,
  migrate: z.boolean().default(false).meta({ description: "move the interface's addresses and routes to the bridge in the same step (safe for the interface that carries SSH)" }),
  force: z.boolean().default(false).meta({ description: 'add the interface even if it carries the SSH session, without migrating (guarded by an automatic rollback)' }),
  persist,
});

export type EnsurePortArgs = z.output<typeof schema>;

export const ensurePort: PlannedTaskModule<'ensure_port', typeof schema> = {
  kind: 'planned',
  type: 'ensure_port',
  schema,
  defaultName: (args) => `ensure_port ${String(args.interface)} → ${String(args.bridge)}`,
  plan: planPort,
  persistence: { files: portFiles, drift: portDrift },
};

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
          commands: [shellJoin(['ip', 'link', 'set', iface, 'nomaster'])],
          touches: [{ kind: 'link', name: iface, op: 'nomaster' }],
          effect: (f) => {
            delete f.links[iface]!.master;
          },
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
  if (!link!.up) {
    changes.push({
      summary: `bring ${iface} up`,
      commands: [shellJoin(['ip', 'link', 'set', iface, 'up'])],
      touches: [{ kind: 'link', name: iface, op: 'up' }],
      effect: (f) => {
        f.links[iface]!.up = true;
      },
    });
  }
  if (link!.master !== bridge) {
    changes.push({
      summary: link!.master ? `move ${iface} from ${link!.master} to ${bridge}` : `add ${iface} to ${bridge}`,
      commands: [shellJoin(['ip', 'link', 'set', iface, 'master', bridge])],
      touches: [{ kind: 'link', name: iface, op: 'master' }],
      effect: (f) => {
        f.links[iface]!.master = bridge;
      },
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
    const candidates = Object.values(facts.links).filter((l) => l.kind !== 'bridge' && l.name !== 'lo').map((l) => l.name);
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
    if (args.state === 'present') return [{ path, content: networkdPortNetwork(iface, bridge) }];
    // Only the file that makes iface a port of THIS bridge goes, as `ip link set nomaster` only would.
    return current !== undefined && iniValue(current, 'Bridge') === bridge ? [{ path, content: null }] : [];
  }
  // bridge-utils lists ports in the bridge's own stanza, which ensure_bridge writes: edit it in place.
  const main = ifupdownPaths.main(bridge);
  const current = persisted(facts)[main];
  if (args.state === 'absent') {
    if (current === undefined || !ifupdownPorts(current).includes(iface)) return [];
    return [{ path: main, content: withIfupdownPorts(current, ifupdownPorts(current).filter((p) => p !== iface)) }];
  }
  if (BRIDGE_PORTS_KEYWORDS.has(iface)) throw new RefusedError(`persist: ifupdown cannot list an interface named '${iface}' in bridge_ports: bridge-utils reads it as a keyword`);
  if (current === undefined) {
    throw new RefusedError(
      `persist: ifupdown lists the ports of a bridge in the bridge's own stanza, and ${main} does not exist on ${host}: persist the bridge first (ensure_bridge ${bridge} with persist: ifupdown, before this task)`,
    );
  }
  const wants: FileWant[] = [{ path: main, content: withIfupdownPorts(current, [...new Set([...ifupdownPorts(current), iface])]) }];
  // A port belongs to one bridge: moving it takes it out of the other bridge's stanza too.
  for (const [path, content] of Object.entries(persisted(facts))) {
    const c = classifyPath(path);
    if (path === main || c?.format !== 'ifupdown' || c.role !== 'main' || !ifupdownPorts(content).includes(iface)) continue;
    wants.push({ path, content: withIfupdownPorts(content, ifupdownPorts(content).filter((p) => p !== iface)) });
  }
  return wants;
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
    else if (link.master !== p.bridge) out.push(`${p.iface}: persisted (${p.format}) as a port of ${p.bridge}, but ${link.master ? `a port of ${link.master}` : 'not a port'} at runtime`);
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
