// Changes of a link that several task types plan the same way (bridges, bonds, VLANs, ports).
import { shellJoin } from '../connection/quote.js';
import type { Change } from '../model/plan.js';

export function linkUpChange(name: string, up: boolean): Change {
  return {
    summary: `bring ${name} ${up ? 'up' : 'down'}`,
    commands: [shellJoin(['ip', 'link', 'set', name, up ? 'up' : 'down'])],
    touches: [{ kind: 'link', name, op: up ? 'up' : 'down' }],
    effect: (f) => {
      f.links[name]!.up = up;
    },
  };
}

export function linkMtuChange(name: string, from: number, to: number): Change {
  return {
    summary: `set ${name} mtu ${from} → ${to}`,
    commands: [shellJoin(['ip', 'link', 'set', name, 'mtu', String(to)])],
    touches: [{ kind: 'link', name, op: 'mtu' }],
    effect: (f) => {
      f.links[name]!.mtu = to;
    },
  };
}
