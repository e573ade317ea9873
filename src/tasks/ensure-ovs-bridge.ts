// ensure_ovs_bridge: an Open vSwitch bridge (ovs-vsctl) and, when `ports` is given, exactly those
// ports with their access VLAN tags and trunk VLANs (compared as the sorted set ovs-vsctl reports;
// others are removed), each brought up. Open vSwitch keeps its
// configuration in its own database, so nothing is persisted by kvmnet. A libvirt network with
// `<virtualport type='openvswitch'/>` can then sit on the bridge (ensure_libvirt_net).
import { z } from 'zod';
import { RefusedError } from '../errors.js';
import type { Facts, OvsPortFact } from '../model/facts.js';
import { factsAfter, noop, type Change, type Plan } from '../model/plan.js';
import { interfaceName, presence } from './common-args.js';
import type { ArgProblem, PlannedTaskModule } from './contract.js';
import { linkUpChange } from './link-changes.js';

const port = z.strictObject({
  name: interfaceName.meta({ description: 'an existing interface to add as a port' }),
  tag: z
    .number()
    .int()
    .min(1)
    .max(4094)
    .optional()
    .meta({ description: "the port's access VLAN (untagged on the wire, tagged inside the bridge); omitted: no tag" }),
  trunks: z.array(z.number().int().min(1).max(4094)).optional().meta({
    description:
      'the VLANs the port carries tagged (a trunk; with tag too, tag is its native VLAN); omitted or empty: no trunk list (OVS then carries every VLAN on a port without a tag)',
  }),
});

const schema = z.strictObject({
  name: interfaceName,
  state: presence,
  ports: z.array(port).optional().meta({ description: 'the whole set of ports (others are removed); omitted: the ports are left alone' }),
  up: z.boolean().default(true),
});

export type EnsureOvsBridgeArgs = z.output<typeof schema>;

function ovsProblems(args: Record<string, unknown>): ArgProblem[] {
  if (!Array.isArray(args.ports)) return [];
  const names = args.ports.map((p) => (p as { name?: unknown }).name).filter((n): n is string => typeof n === 'string' && !n.includes('{{'));
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  const problems: ArgProblem[] = dup ? [{ field: 'ports', message: `${dup} is listed twice` }] : [];
  args.ports.forEach((p, i) => {
    const { tag, trunks } = p as { tag?: unknown; trunks?: unknown };
    if (typeof tag === 'number' && Array.isArray(trunks) && trunks.includes(tag))
      problems.push({ field: 'ports', at: [i, 'trunks'], message: `VLAN ${tag} is the port's tag (its native VLAN): leave it out of trunks` });
  });
  return problems;
}

/** `ovs-vsctl --format=json list Bridge` then `list Port` (one invocation, two JSON lines). Pure. */
export function parseOvs(text: string): NonNullable<Facts['ovs']> {
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith('{'));
  const [bridgeJson, portJson] = lines.map((l) => JSON.parse(l) as { data: unknown[][]; headings: string[] });
  const uuids = (v: unknown): string[] => {
    const x = v as [string, unknown];
    if (x[0] === 'uuid') return [x[1] as string];
    if (x[0] === 'set') return (x[1] as Array<[string, string]>).map((u) => u[1]);
    return [];
  };
  // By heading: facts gathered before the trunks column have three.
  const col = (h: string) => portJson?.headings.indexOf(h) ?? -1;
  const [iUuid, iName, iTag, iTrunks] = ['_uuid', 'name', 'tag', 'trunks'].map(col) as [number, number, number, number];
  // An OVSDB set of one element is the element itself; an empty one is ["set", []].
  const numbers = (v: unknown): number[] =>
    typeof v === 'number' ? [v] : Array.isArray(v) && v[0] === 'set' ? (v[1] as unknown[]).filter((x): x is number => typeof x === 'number') : [];
  const ports = new Map<string, { name: string; port: OvsPortFact }>();
  for (const row of portJson?.data ?? []) {
    const uuid = row[iUuid] as [string, string];
    const tag = row[iTag];
    const trunks = iTrunks >= 0 ? numbers(row[iTrunks]).sort((a, b) => a - b) : [];
    ports.set(uuid[1], { name: row[iName] as string, port: { tag: typeof tag === 'number' ? tag : null, ...(trunks.length ? { trunks } : {}) } });
  }
  const bridges: NonNullable<Facts['ovs']>['bridges'] = {};
  for (const row of bridgeJson?.data ?? []) {
    const [name, portSet] = row as [string, unknown];
    const own: Record<string, OvsPortFact> = {};
    for (const u of uuids(portSet)) {
      const p = ports.get(u);
      // The bridge's own internal port has its name: not one of "its ports".
      if (p && p.name !== name) own[p.name] = p.port;
    }
    bridges[name] = { ports: own };
  }
  return { bridges };
}

const tagText = (t: number | null) => (t === null ? 'untagged' : `tag ${t}`);
const trunksText = (t: readonly number[] | undefined) => (t?.length ? ` trunks ${t.join(',')}` : '');
const portText = (p: OvsPortFact) => `${tagText(p.tag)}${trunksText(p.trunks)}`;
/** Trunks as ovs-vsctl reports them: a sorted set. */
const trunkSet = (t: readonly number[] | undefined) => [...new Set(t ?? [])].sort((a, b) => a - b);

function planOvs(args: EnsureOvsBridgeArgs, facts: Facts, host: string): Plan {
  const { name } = args;
  if (!facts.ovs)
    throw new RefusedError(
      `Open vSwitch is not running on ${host} (no ovs-vsctl, or it cannot reach ovsdb-server): install and start openvswitch-switch first`,
    );
  const bridge = facts.ovs.bridges[name];
  if (args.state === 'absent') {
    if (!bridge) return noop(`OVS bridge ${name} does not exist`);
    return {
      changes: [
        {
          summary: `delete OVS bridge ${name}${Object.keys(bridge.ports).length ? ` (ports ${Object.keys(bridge.ports).join(', ')} released)` : ''}`,
          ops: [{ op: 'ovs.del-br', name }],
        },
      ],
      devices: [name],
    };
  }
  if (!bridge && facts.links[name])
    throw new RefusedError(`${name} exists on ${host} but is not an Open vSwitch bridge (${facts.links[name].kind ?? 'a NIC'}); refusing to replace it`);
  const changes: Change[] = [];
  if (!bridge) changes.push({ summary: `create OVS bridge ${name}`, ops: [{ op: 'ovs.add-br', name }] });
  const have = bridge?.ports ?? {};
  for (const p of args.ports ?? []) {
    const tag = p.tag ?? null;
    const link = facts.links[p.name];
    if (!link) throw new RefusedError(`port ${p.name} of OVS bridge ${name} does not exist on ${host}`);
    const elsewhere = Object.entries(facts.ovs.bridges).find(([b, x]) => b !== name && x.ports[p.name]);
    if (elsewhere) throw new RefusedError(`${p.name} is a port of OVS bridge ${elsewhere[0]} on ${host}; remove it there first`);
    if (link.master && link.master !== 'ovs-system') throw new RefusedError(`${p.name} is a port of ${link.master} on ${host}; release it first`);
    const trunks = trunkSet(p.trunks);
    const was = have[p.name];
    if (!was)
      changes.push({
        summary: `add ${p.name} to OVS bridge ${name} (${portText({ tag, trunks })})`,
        ops: [{ op: 'ovs.add-port', bridge: name, port: p.name, tag, ...(trunks.length ? { trunks } : {}) }],
      });
    else {
      if (was.tag !== tag)
        changes.push({ summary: `OVS port ${p.name}: ${tagText(was.tag)} → ${tagText(tag)}`, ops: [{ op: 'ovs.set-tag', port: p.name, tag }] });
      if (trunkSet(was.trunks).join(',') !== trunks.join(','))
        changes.push({
          summary: `OVS port ${p.name}: trunks ${trunkSet(was.trunks).join(',') || 'none'} → ${trunks.join(',') || 'none'}`,
          ops: [{ op: 'ovs.set-trunks', port: p.name, trunks }],
        });
    }
    if (!link.up) changes.push(linkUpChange(p.name, true));
  }
  if (args.ports) {
    const wanted = new Set(args.ports.map((p) => p.name));
    for (const old of Object.keys(have).filter((p) => !wanted.has(p)))
      changes.push({ summary: `remove ${old} from OVS bridge ${name} (not listed)`, ops: [{ op: 'ovs.del-port', bridge: name, port: old }] });
  }
  const up = factsAfter(changes, facts).links[name]?.up ?? false;
  if (args.up !== up) changes.push(linkUpChange(name, args.up));
  if (changes.length === 0)
    return noop(
      `OVS bridge ${name} is as wanted (${
        Object.entries(have)
          .map(([p, x]) => `${p} ${portText(x)}`)
          .join(', ') || 'no ports'
      })`,
    );
  return { changes, devices: [name, ...(args.ports ?? []).map((p) => p.name)] };
}

export const ensureOvsBridge: PlannedTaskModule<'ensure_ovs_bridge', typeof schema> = {
  kind: 'planned',
  type: 'ensure_ovs_bridge',
  schema,
  defaultName: (args) => `ensure_ovs_bridge ${String(args.name)}`,
  argProblems: ovsProblems,
  plan: planOvs,
  facts: {
    id: 'ovs',
    // Only where ovsdb-server listens (no process at all on other hosts; a short timeout: a hung one does not hang the facts).
    shell: `if [ -S /run/openvswitch/db.sock ] && command -v ovs-vsctl >/dev/null 2>&1; then echo '@@kvmnet:ovs@@'; ovs-vsctl --timeout=3 --format=json -- --columns=name,ports list Bridge -- --columns=_uuid,name,tag,trunks list Port; fi\n`,
    parse(sections, facts) {
      const s = sections.find((x) => x.key === 'ovs');
      // Both tables, or ovs-vsctl could not read the database: then nothing is known.
      if (s && s.body.split('\n').filter((l) => l.trim().startsWith('{')).length === 2) facts.ovs = parseOvs(s.body);
    },
  },
  factsView: {
    json: (f) => ({
      ovs_bridges: f.ovs
        ? Object.entries(f.ovs.bridges).map(([name, b]) => ({
            name,
            ports: Object.entries(b.ports).map(([p, x]) => ({ name: p, tag: x.tag, trunks: x.trunks ?? [] })),
          }))
        : null,
    }),
    sections: (f) =>
      f.ovs
        ? [
            {
              title: 'open vswitch bridges',
              columns: ['name', 'ports'],
              rows: Object.entries(f.ovs.bridges).map(([name, b]) => [
                name,
                Object.entries(b.ports)
                  .map(([p, x]) => `${p}${x.tag !== null ? `:${x.tag}` : ''}${x.trunks?.length ? `[${x.trunks.join(',')}]` : ''}`)
                  .join(' ') || '-',
              ]),
            },
          ]
        : [],
  },
};
