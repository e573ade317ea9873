// A port's VLANs on a VLAN-aware bridge (`bridge vlan add|del`).
import { shellJoin } from '../connection/quote.js';
import type { Facts, PortVlan } from '../model/facts.js';
import type { BridgeVlanOp, OpKind } from './types.js';

type Of<K extends BridgeVlanOp['op']> = Extract<BridgeVlanOp, { op: K }>;

const ids = (vid: number | [number, number]): number[] => {
  const [from, to] = typeof vid === 'number' ? [vid, vid] : vid;
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
};
const vidText = (vid: number | [number, number]) => (typeof vid === 'number' ? String(vid) : `${vid[0]}-${vid[1]}`);
const flags = (v: PortVlan | undefined) => (v ? [v.pvid && 'PVID', v.untagged && 'untagged'].filter(Boolean).join(' ') || 'tagged' : 'absent');

function check(dev: string, vid: number | [number, number], expected: Facts, actual: Facts): string | undefined {
  // Without the bridge's VLAN table in the read-back there is nothing to compare.
  if (!expected.links[dev] || actual.links[dev]?.vlans === undefined) return undefined;
  for (const id of ids(vid)) {
    const want = flags(expected.links[dev].vlans?.find((v) => v.id === id));
    const got = flags(actual.links[dev].vlans.find((v) => v.id === id));
    if (want !== got) return `VLAN ${id} of ${dev} is ${got}, expected ${want}`;
  }
  return undefined;
}

/** The operations that put `dev`'s VLANs among `vid` back as `before` had them. */
function restore(dev: string, vid: number | [number, number], before: Facts): BridgeVlanOp[] {
  const had = before.links[dev]?.vlans ?? [];
  return ids(vid).map((id): BridgeVlanOp => {
    const v = had.find((x) => x.id === id);
    return v ? { op: 'bridge-vlan.add', dev, vid: id, pvid: v.pvid, untagged: v.untagged } : { op: 'bridge-vlan.del', dev, vid: id };
  });
}

export const bridgeVlanOps: { [K in BridgeVlanOp['op']]: OpKind<Of<K>> } = {
  'bridge-vlan.add': {
    lines: (op) => [
      shellJoin(['bridge', 'vlan', 'add', 'dev', op.dev, 'vid', vidText(op.vid), ...(op.pvid ? ['pvid'] : []), ...(op.untagged ? ['untagged'] : [])]),
    ],
    touches: (op) => [{ kind: 'link', name: op.dev, op: 'settings' }],
    effect: (op, f) => {
      const l = f.links[op.dev];
      if (!l) return;
      const added = new Set(ids(op.vid));
      // A port has one PVID: a new one takes the flag from the old.
      const kept = (l.vlans ?? []).filter((v) => !added.has(v.id)).map((v) => (op.pvid ? { ...v, pvid: false } : v));
      l.vlans = [...kept, ...[...added].map((id) => ({ id, pvid: op.pvid, untagged: op.untagged }))].sort((a, b) => a.id - b.id);
    },
    inverse: (op, before) => {
      const back = restore(op.dev, op.vid, before);
      // A new PVID took the flag from the port's old one (outside `vid`): that one gets it back.
      const old = op.pvid ? before.links[op.dev]?.vlans?.find((v) => v.pvid && !ids(op.vid).includes(v.id)) : undefined;
      return old ? [...back, { op: 'bridge-vlan.add', dev: op.dev, vid: old.id, pvid: true, untagged: old.untagged }] : back;
    },
    check: (op, expected, actual) => check(op.dev, op.vid, expected, actual),
  },
  'bridge-vlan.del': {
    lines: (op) => [shellJoin(['bridge', 'vlan', 'del', 'dev', op.dev, 'vid', vidText(op.vid)])],
    touches: (op) => [{ kind: 'link', name: op.dev, op: 'settings' }],
    effect: (op, f) => {
      const l = f.links[op.dev];
      if (!l) return;
      const gone = new Set(ids(op.vid));
      l.vlans = (l.vlans ?? []).filter((v) => !gone.has(v.id));
    },
    inverse: (op, before) => restore(op.dev, op.vid, before),
    check: (op, expected, actual) => check(op.dev, op.vid, expected, actual),
  },
};
