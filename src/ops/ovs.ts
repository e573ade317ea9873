// Open vSwitch operations through ovs-vsctl. A bridge comes with its own internal port of the same
// name (a link, down until brought up); a port leaves the kernel's view with master `ovs-system`.
import { shellJoin } from '../connection/quote.js';
import type { Facts } from '../model/facts.js';
import { recreateLink, removeLink } from './link.js';
import type { Op, OpKind, OvsOp } from './types.js';
import { shown } from '../text/shown.js';

type Of<K extends OvsOp['op']> = Extract<OvsOp, { op: K }>;

const q = (argv: string[]) => [shellJoin(argv)];
const bridges = (f: Facts) => f.ovs?.bridges;
const portOf = (f: Facts, port: string): { bridge: string; tag: number | null; trunks?: number[] } | undefined => {
  for (const [bridge, b] of Object.entries(bridges(f) ?? {})) if (b.ports[port]) return { bridge, ...b.ports[port] };
  return undefined;
};
const tagText = (t: number | null | undefined) => (t === null || t === undefined ? 'untagged' : `tag ${t}`);
const trunksText = (t: readonly number[] | undefined) => (t?.length ? ` trunks ${t.join(',')}` : '');
/** The port as the facts hold it: trunks only when it has some (sorted). */
const portFact = (tag: number | null, trunks: readonly number[] | undefined) => (trunks?.length ? { tag, trunks: [...trunks].sort((a, b) => a - b) } : { tag });
const sameTrunks = (a: readonly number[] | undefined, b: readonly number[] | undefined) => (a ?? []).join(',') === (b ?? []).join(',');

function checkOvs(what: string, want: unknown, got: unknown): string | undefined {
  return JSON.stringify(want) === JSON.stringify(got)
    ? undefined
    : `${what} is ${got === undefined ? 'absent' : shown(got)}, expected ${want === undefined ? 'absent' : shown(want)}`;
}
const portState = (f: Facts, port: string) => {
  const p = portOf(f, port);
  return p ? `on ${p.bridge} ${tagText(p.tag)}${trunksText(p.trunks)}` : undefined;
};

/**
 * A re-added bridge's internal port as `before` had it (add-br makes it down, MTU 1500, bare): its
 * MTU, addresses, state, routes and the VLANs on it — what recreateLink does for a link ip makes.
 */
function internalPortBack(before: Facts, name: string): Op[] {
  const l = before.links[name];
  if (!l) return [];
  const ops: Op[] = [];
  if (l.mtu !== 1500) ops.push({ op: 'link.mtu', name, mtu: l.mtu });
  for (const a of before.addrs.filter((x) => x.dev === name && x.scope === 'global'))
    ops.push({ op: 'addr.add', dev: name, address: a.address, prefix: a.prefix, family: a.family, replace: true });
  if (l.up) ops.push({ op: 'link.up', name, up: true });
  for (const r of before.routes.filter((x) => x.dev === name && x.protocol !== 'kernel')) ops.push({ op: 'route.replace', route: { ...r, dev: name } });
  for (const upper of Object.values(before.links).filter((x) => x.lower === name && x.kind === 'vlan')) ops.push(...recreateLink(before, upper.name));
  return ops;
}

export const ovsOps: { [K in OvsOp['op']]: OpKind<Of<K>> } = {
  'ovs.add-br': {
    lines: (op) => q(['ovs-vsctl', '--may-exist', 'add-br', op.name]),
    touches: (op) => [{ kind: 'link', name: op.name, op: 'create' }],
    effect: (op, f) => {
      if (f.ovs && !f.ovs.bridges[op.name]) f.ovs.bridges[op.name] = { ports: {} };
      if (!f.links[op.name]) f.links[op.name] = { name: op.name, kind: 'openvswitch', up: false, operstate: 'DOWN', mtu: 1500 };
    },
    inverse: (op, before) => (bridges(before)?.[op.name] ? [] : [{ op: 'ovs.del-br', name: op.name }]),
    check: (op, expected, actual) =>
      bridges(expected) && bridges(actual)
        ? checkOvs(`OVS bridge ${op.name}`, bridges(expected)![op.name] ? 'present' : undefined, bridges(actual)![op.name] ? 'present' : undefined)
        : undefined,
  },
  'ovs.del-br': {
    lines: (op) => q(['ovs-vsctl', '--if-exists', 'del-br', op.name]),
    touches: (op, f) => [
      { kind: 'link', name: op.name, op: 'delete' },
      ...Object.keys(bridges(f)?.[op.name]?.ports ?? {}).map((p) => ({ kind: 'link' as const, name: p, op: 'nomaster' as const })),
    ],
    effect: (op, f) => {
      for (const p of Object.keys(bridges(f)?.[op.name]?.ports ?? {})) if (f.links[p]?.master === 'ovs-system') delete f.links[p].master;
      if (f.ovs) delete f.ovs.bridges[op.name];
      // Its internal port goes, and with it (as with any link) its addresses, routes and VLANs.
      removeLink(f, op.name);
    },
    inverse: (op, before) => {
      const b = bridges(before)?.[op.name];
      if (!b) return [];
      return [
        { op: 'ovs.add-br', name: op.name },
        ...Object.entries(b.ports).map(([port, p]): Op => ({
          op: 'ovs.add-port',
          bridge: op.name,
          port,
          tag: p.tag,
          ...(p.trunks?.length ? { trunks: p.trunks } : {}),
        })),
        ...internalPortBack(before, op.name),
      ];
    },
    check: (op, expected, actual) => (bridges(actual)?.[op.name] && !bridges(expected)?.[op.name] ? `OVS bridge ${op.name} still exists` : undefined),
  },
  'ovs.add-port': {
    lines: (op) =>
      q([
        'ovs-vsctl',
        '--may-exist',
        'add-port',
        op.bridge,
        op.port,
        ...(op.tag !== null ? [`tag=${op.tag}`] : []),
        ...(op.trunks?.length ? [`trunks=${op.trunks.join(',')}`] : []),
      ]),
    touches: (op) => [{ kind: 'link', name: op.port, op: 'master' }],
    effect: (op, f) => {
      const b = bridges(f)?.[op.bridge];
      if (b) b.ports[op.port] = portFact(op.tag, op.trunks);
      if (f.links[op.port]) f.links[op.port]!.master = 'ovs-system';
    },
    inverse: (op, before) => {
      const was = portOf(before, op.port);
      if (!was) return [{ op: 'ovs.del-port', bridge: op.bridge, port: op.port }];
      return [
        ...(was.tag === op.tag ? [] : [{ op: 'ovs.set-tag' as const, port: op.port, tag: was.tag }]),
        ...(sameTrunks(was.trunks, op.trunks) ? [] : [{ op: 'ovs.set-trunks' as const, port: op.port, trunks: was.trunks ?? [] }]),
      ];
    },
    check: (op, expected, actual) =>
      bridges(expected) && bridges(actual) ? checkOvs(`OVS port ${op.port}`, portState(expected, op.port), portState(actual, op.port)) : undefined,
  },
  'ovs.del-port': {
    lines: (op) => q(['ovs-vsctl', '--if-exists', 'del-port', op.bridge, op.port]),
    touches: (op) => [{ kind: 'link', name: op.port, op: 'nomaster' }],
    effect: (op, f) => {
      const b = bridges(f)?.[op.bridge];
      if (b) delete b.ports[op.port];
      if (f.links[op.port]?.master === 'ovs-system') delete f.links[op.port]!.master;
    },
    inverse: (op, before) => {
      const was = portOf(before, op.port);
      return was ? [{ op: 'ovs.add-port', bridge: was.bridge, port: op.port, tag: was.tag, ...(was.trunks?.length ? { trunks: was.trunks } : {}) }] : [];
    },
    check: (op, expected, actual) =>
      bridges(expected) && bridges(actual) ? checkOvs(`OVS port ${op.port}`, portState(expected, op.port), portState(actual, op.port)) : undefined,
  },
  'ovs.set-tag': {
    lines: (op) => q(op.tag === null ? ['ovs-vsctl', 'clear', 'port', op.port, 'tag'] : ['ovs-vsctl', 'set', 'port', op.port, `tag=${op.tag}`]),
    touches: (op) => [{ kind: 'link', name: op.port, op: 'settings' }],
    effect: (op, f) => {
      const p = portOf(f, op.port);
      if (p) bridges(f)![p.bridge]!.ports[op.port] = portFact(op.tag, p.trunks);
    },
    inverse: (op, before) => {
      const was = portOf(before, op.port);
      return was && was.tag !== op.tag ? [{ op: 'ovs.set-tag', port: op.port, tag: was.tag }] : [];
    },
    check: (op, expected, actual) =>
      bridges(expected) && bridges(actual) ? checkOvs(`OVS port ${op.port}`, portState(expected, op.port), portState(actual, op.port)) : undefined,
  },
  'ovs.set-trunks': {
    lines: (op) =>
      q(op.trunks.length === 0 ? ['ovs-vsctl', 'clear', 'port', op.port, 'trunks'] : ['ovs-vsctl', 'set', 'port', op.port, `trunks=${op.trunks.join(',')}`]),
    touches: (op) => [{ kind: 'link', name: op.port, op: 'settings' }],
    effect: (op, f) => {
      const p = portOf(f, op.port);
      if (p) bridges(f)![p.bridge]!.ports[op.port] = portFact(p.tag, op.trunks);
    },
    inverse: (op, before) => {
      const was = portOf(before, op.port);
      return was && !sameTrunks(was.trunks, op.trunks) ? [{ op: 'ovs.set-trunks', port: op.port, trunks: was.trunks ?? [] }] : [];
    },
    check: (op, expected, actual) =>
      bridges(expected) && bridges(actual) ? checkOvs(`OVS port ${op.port}`, portState(expected, op.port), portState(actual, op.port)) : undefined,
  },
};
